"""The sidecar's side of "Add a city…" in the UI, through `city_searches` documents.

The UI never geocodes (a user action never waits on an external API, and the gazetteer is the
sidecar's memory to spend): it writes {query, status: "pending"}; this job answers with the
candidates ("found") or a message ("error"); the UI writes the analyst's `choice` with status
"chosen"; this job adds the city (pipeline.cities.add_city) and answers "added" with its
city_id. Answered documents are kept a day (docs/architecture.md §6).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from core.gazetteer import PlaceNameError
from core.vocabulary import C
from pipeline.cities import (
    CityLimitError,
    UnknownPlaceError,
    add_city,
    find_places,
    place_doc,
    place_from_doc,
)
from pipeline.cycle import Services

log = logging.getLogger(__name__)
KEEP = timedelta(days=1)
MAX_PER_TICK = 20


def serve_city_searches(svc: Services, now: datetime | None = None) -> int:
    """Answer pending searches and add chosen cities; returns how many documents it answered."""
    now = now or datetime.now(UTC)
    coll = svc.db[C.CITY_SEARCHES]
    docs = list(coll.find({"status": {"$in": ["pending", "chosen"]}}).limit(MAX_PER_TICK))
    for doc in docs:
        update = _answer(svc, doc)
        coll.update_one({"_id": doc["_id"], "status": doc["status"]},
                        {"$set": {**update, "updated_at": datetime.now(UTC)}})
    coll.delete_many({"updated_at": {"$lt": now - KEEP}})
    return len(docs)


def _answer(svc: Services, doc: dict[str, Any]) -> dict[str, Any]:
    try:
        if doc["status"] == "pending":
            found = find_places(str(doc.get("query") or ""), svc.settings, svc.http)
            return {"status": "found", "note": found.note,
                    "candidates": [{**place_doc(p), "label": p.label()} for p in found.places]}
        candidates = doc.get("candidates") or []
        choice = doc.get("choice")
        if not isinstance(choice, int) or not 0 <= choice < len(candidates):
            return {"status": "error", "error": "the chosen candidate is not in the list"}
        city, created = add_city(svc.db, place_from_doc(candidates[choice]), svc.settings)
        return {"status": "added", "city_id": city.city_id, "city_name": city.name,
                "created": created}
    except (PlaceNameError, UnknownPlaceError, CityLimitError) as exc:
        return {"status": "error", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - answer the UI instead of leaving it waiting
        log.exception("city search %s failed", doc["_id"])
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
