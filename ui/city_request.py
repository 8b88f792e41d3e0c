"""The UI's only write: ask the sidecar to start ingesting a city (docs/architecture.md §1)."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.vocabulary import C


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
