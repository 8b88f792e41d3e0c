"""MongoDB access for every process: one client per process, names, indexes, writes, retention.

Written for FerretDB 1.x (SQLite) as well as MongoDB: only an exact `_id` filter is pushed down
there, bulk updates/upserts are slow (and bulks over 100 updates stall), inserts are fast. So:
- raw observations are immutable: `insert_new` inserts with deterministic `_id`s and ignores
  duplicate-key errors (a replay is a no-op);
- read models are replaced: `replace_docs` deletes the given `_id`s and inserts the new docs;
- every collection is kept bounded by `apply_retention`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from core.settings import Settings
from core.vocabulary import RAW_COLLECTIONS, C

DUPLICATE_KEY = 11000
INSERT_CHUNK = 1000
DELETE_CHUNK = 500


# Indexes serve a real MongoDB; FerretDB accepts them (and only uses _id).
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    **{name: [[("city_id", ASCENDING), ("observed_at", DESCENDING)]] for name in RAW_COLLECTIONS},
    C.LIVE_FEED: [[("topic", ASCENDING), ("consumed_at", DESCENDING)]],
    C.PROCESSED: [[("city_id", ASCENDING), ("ts", DESCENDING)]],
    C.ZONE_LATEST: [[("city_id", ASCENDING)]],
    C.ALERTS: [[("city_id", ASCENDING), ("status", ASCENDING)]],
    C.RECOMMENDATIONS: [[("city_id", ASCENDING)]],
    C.MODEL_OUTPUTS: [[("city_id", ASCENDING), ("model", ASCENDING), ("issued_at", DESCENDING)]],
    C.PIPELINE_RUNS: [[("started_at", DESCENDING)]],
    C.DLQ: [[("received_at", DESCENDING)]],
}

# collection -> (time field, how long to keep); the retention job deletes older documents.
RETENTION: dict[str, tuple[str, timedelta]] = {
    C.LIVE_FEED: ("consumed_at", timedelta(hours=2)),
    C.METER_READINGS: ("observed_at", timedelta(days=7)),
    C.PROCESSED: ("ts", timedelta(days=35)),
    C.CITY_DAY: ("day_start", timedelta(days=400)),
    C.ALERTS: ("opened_at", timedelta(days=30)),
    C.MODEL_OUTPUTS: ("issued_at", timedelta(days=8)),
    C.PIPELINE_RUNS: ("started_at", timedelta(days=3)),
    C.DLQ: ("received_at", timedelta(days=7)),
}


def mongo_client(settings: Settings) -> MongoClient:
    """A new client; processes hold one through `get_db`."""
    return MongoClient(
        settings.mongo_uri.get_secret_value(),
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongo_timeout_ms,
        connectTimeoutMS=settings.mongo_timeout_ms,
        socketTimeoutMS=max(60_000, settings.mongo_timeout_ms),
        appname="citylive",
    )


@lru_cache(maxsize=4)
def _client_for(uri: str, timeout_ms: int) -> MongoClient:
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms,
                       connectTimeoutMS=timeout_ms, socketTimeoutMS=max(60_000, timeout_ms),
                       appname="citylive")


def get_db(settings: Settings) -> Database:
    """The process-wide database handle (one MongoClient per process and URI)."""
    client = _client_for(settings.mongo_uri.get_secret_value(), settings.mongo_timeout_ms)
    return client[settings.mongo_db]


def ensure_indexes(db: Database) -> None:
    for name, specs in INDEXES.items():
        for keys in specs:
            db[name].create_index(keys)


def insert_new(db: Database, collection: str, docs: Sequence[dict[str, Any]]) -> int:
    """Insert documents that carry deterministic `_id`s; existing ids are left as they are.

    Returns how many were new. Any error other than a duplicate key is raised.
    """
    inserted = 0
    for i in range(0, len(docs), INSERT_CHUNK):
        chunk = docs[i:i + INSERT_CHUNK]
        try:
            inserted += len(db[collection].insert_many(chunk, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            others = [e for e in errors if e.get("code") != DUPLICATE_KEY]
            if others:
                raise
            inserted += exc.details.get("nInserted", 0)
    return inserted


def delete_ids(db: Database, collection: str, ids: Iterable[str]) -> int:
    ids = list(ids)
    deleted = 0
    for i in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[i:i + DELETE_CHUNK]
        deleted += db[collection].delete_many({"_id": {"$in": chunk}}).deleted_count
    return deleted


def replace_docs(db: Database, collection: str, docs: Sequence[dict[str, Any]]) -> int:
    """Idempotently write read-model documents: delete their `_id`s, insert the new versions."""
    if not docs:
        return 0
    delete_ids(db, collection, [d["_id"] for d in docs])
    return insert_new(db, collection, docs)


def replace_one(db: Database, collection: str, doc: dict[str, Any]) -> None:
    """Write one read-model document by `_id` (a single-document upsert is fast enough)."""
    db[collection].replace_one({"_id": doc["_id"]}, doc, upsert=True)


def upsert_many(db: Database, collection: str, docs: Sequence[dict[str, Any]],
                replace: Collection[str] | None = None) -> int:
    """Write documents by `_id`: insert the new ones in bulk, replace the ones that exist
    (only those named in `replace`, when given: the others are known to be unchanged)."""
    replaced = 0
    for start in range(0, len(docs), INSERT_CHUNK):
        chunk = docs[start:start + INSERT_CHUNK]
        try:
            db[collection].insert_many(chunk, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            for error in errors:
                doc = chunk[error["index"]]
                if replace is None or doc["_id"] in replace:
                    replace_one(db, collection, doc)
                    replaced += 1
    return replaced


def apply_retention(db: Database, now: datetime | None = None,
                    raw_days: int = 7) -> dict[str, int]:
    """Delete documents past each collection's retention; returns deleted counts."""
    now = now or datetime.now(UTC)
    rules = dict(RETENTION)
    for name in RAW_COLLECTIONS:
        rules[name] = ("observed_at", timedelta(days=raw_days))
    deleted: dict[str, int] = {}
    for name, (field, keep) in rules.items():
        deleted[name] = db[name].delete_many({field: {"$lt": now - keep}}).deleted_count
    return deleted


def load_catalog_into(db: Database, cities: Iterable[Any]) -> None:
    """Write the catalog into `cities` and `zones` (deterministic ids; re-runs replace)."""
    city_docs, zone_docs = [], []
    for city in cities:
        data = city.model_dump(exclude={"zones"})
        city_docs.append({"_id": city.city_id, **data, "zone_ids": [z.zone_id for z in city.zones]})
        zone_docs += [{"_id": f"{city.city_id}|{z.zone_id}", **z.model_dump()} for z in city.zones]
    replace_docs(db, C.CITIES, city_docs)
    replace_docs(db, C.ZONES, zone_docs)
