"""The UI's only write: ask the sidecar to start ingesting a city (docs/architecture.md §1),
and how a failed request reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.vocabulary import C
from ui.formatting import age_seconds, format_age, local_time, md_escape


def request_document(city_id: str, now: datetime) -> dict:
    return {"_id": city_id, "city_id": city_id, "status": "requested", "requested_at": now,
            "updated_at": now}


def ensure_city_request(db: Database, city_id: str, now: datetime | None = None) -> bool:
    """Insert the request unless one exists (insert + duplicate key = one document, no race).

    Returns True when this call wrote it.
    """
    try:
        db[C.CITY_REQUESTS].insert_one(request_document(city_id, now or datetime.now(UTC)))
    except DuplicateKeyError:
        return False
    return True


def failure_text(request: dict[str, Any], city_name: str, now: datetime, tz: ZoneInfo) -> str:
    """Markdown-safe: why loading the city failed and when the sidecar tries again (a failed
    activation is retried with backoff; a city outside the catalog is not)."""
    attempts = request.get("attempts")
    text = (f"Loading {md_escape(city_name)} failed"
            f"{f' (attempt {int(attempts)})' if attempts else ''}: "
            f"{md_escape(request.get('error') or 'no reason recorded')}.")
    retry_at = request.get("next_attempt_at")
    if retry_at is None:
        return f"{text} It is not retried."
    wait = -(age_seconds(retry_at, now) or 0.0)
    if wait <= 0:
        return f"{text} The sidecar tries again now."
    return (f"{text} The sidecar tries again at {md_escape(local_time(retry_at, tz))} "
            f"(in {format_age(wait)}).")
