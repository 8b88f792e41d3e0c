"""MongoDB access for every process: one client per process, indexes, writes, retention.

Written for FerretDB 1.24 on PostgreSQL as well as MongoDB (docs/architecture.md §8): FerretDB
pushes equality filters down to SQL (served by GIN indexes, infra/postgres/citylive.sql) and
evaluates everything else in Go, so reads and deletes go by `_id` or by equality on indexed
fields, never by a range over a large collection.
- raw observations are immutable: `insert_new` inserts with deterministic `_id`s and ignores
  duplicate-key errors (a replay is a no-op);
- read models are replaced by `_id` (`replace_one`, `replace_docs`, `upsert_many`);
- every write stamps the retention bucket (core.retention), and `apply_retention` deletes
  whole expired buckets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from core import retention
from core.ids import city_hour
from core.settings import Settings
from core.vocabulary import RAW_COLLECTIONS, C

DUPLICATE_KEY = 11000
INSERT_CHUNK = 1000
DELETE_CHUNK = 500


# MongoDB uses them as they are; on FerretDB-on-PostgreSQL each field also gets a GIN twin
# (infra/postgres/citylive.sql) that serves FerretDB's equality pushdown.
INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    # raw_* are read by city hour and deleted by day bucket (added below); kafka_live_feed is
    # only written and expired: every index is paid for on the consumer's hot path
    **{name: [[("city_hour", ASCENDING)]] for name in RAW_COLLECTIONS},
    C.PROCESSED: [[("city_id", ASCENDING), ("ts", DESCENDING)]],
    C.ZONE_LATEST: [[("city_id", ASCENDING)]],
    C.ALERTS: [[("city_id", ASCENDING), ("status", ASCENDING)]],
    C.RECOMMENDATIONS: [[("city_id", ASCENDING)]],
    C.MODEL_OUTPUTS: [[("city_id", ASCENDING), ("model", ASCENDING), ("issued_at", DESCENDING)]],
    C.PIPELINE_RUNS: [[("started_at", DESCENDING)], [("scope_hour", ASCENDING)]],
    C.DLQ: [[("received_at", DESCENDING)]],
    C.ZONES: [[("city_id", ASCENDING)]],
    C.CITY_SEARCHES: [[("status", ASCENDING)]],
}
for _name, _field in retention.bucket_indexes().items():
    INDEXES.setdefault(_name, []).append([(_field, ASCENDING)])

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


def stamped(collection: str, docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `docs` with the keys the read and delete paths query by equality: the
    retention bucket (core.retention) and, for raw records, `city_hour`."""
    out = retention.stamp(collection, docs)
    if collection in RAW_COLLECTIONS:
        for doc in out:
            if isinstance(doc.get("observed_at"), datetime) and doc.get("city_id"):
                doc["city_hour"] = city_hour(doc["city_id"], doc["observed_at"])
    return out


def insert_new(db: Database, collection: str, docs: Sequence[dict[str, Any]]) -> int:
    """Insert documents that carry deterministic `_id`s; existing ids are left as they are.

    Returns how many were new. Any error other than a duplicate key is raised.
    """
    return len(insert_new_docs(db, collection, docs))


def insert_new_docs(db: Database, collection: str,
                    docs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Like `insert_new`, returning the documents (as stored) that were new."""
    return [doc for chunk, existing in _insert_chunks(db, collection, stamped(collection, docs))
            for j, doc in enumerate(chunk) if j not in existing]


def _insert_chunks(db: Database, collection: str, docs: Sequence[dict[str, Any]]
                   ) -> list[tuple[Sequence[dict[str, Any]], set[int]]]:
    """Insert in chunks, ignoring duplicate keys; per chunk, the positions that existed."""
    out = []
    for i in range(0, len(docs), INSERT_CHUNK):
        chunk = docs[i:i + INSERT_CHUNK]
        try:
            db[collection].insert_many(chunk, ordered=False)
            out.append((chunk, set()))
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            out.append((chunk, {e["index"] for e in errors}))
    return out


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
    [doc] = stamped(collection, [doc])
    db[collection].replace_one({"_id": doc["_id"]}, doc, upsert=True)


def upsert_many(db: Database, collection: str, docs: Sequence[dict[str, Any]],
                replace: Collection[str] | None = None) -> int:
    """Write documents by `_id`: insert the new ones in bulk, replace the ones that exist
    (only those named in `replace`, when given: the others are known to be unchanged)."""
    replaced = 0
    for chunk, existing in _insert_chunks(db, collection, stamped(collection, docs)):
        for j in sorted(existing):
            if replace is None or chunk[j]["_id"] in replace:
                replace_one(db, collection, chunk[j])
                replaced += 1
    return replaced


STATUS_KEEP_DAYS = 7


def apply_retention(db: Database, now: datetime | None = None,
                    raw_days: int = 7) -> dict[str, int]:
    """Delete the expired buckets of every collection with a retention rule (core.retention);
    returns deleted counts. Each bucket is one equality delete, so the cost follows what is
    deleted, not what is stored."""
    now = now or datetime.now(UTC)
    deleted: dict[str, int] = {}
    for name, rule in retention.rules_for(raw_days).items():
        state = db[C.RETENTION_STATE].find_one({"_id": name})
        purged_before = state.get("purged_before") if state else None
        deleted[name] = sum(db[name].delete_many({rule.bucket_field: bucket}).deleted_count
                            for bucket in retention.expired_buckets(rule, now, purged_before))
        replace_one(db, C.RETENTION_STATE, {
            "_id": name, "purged_before": retention.first_kept_bucket(rule, now),
            "granularity": rule.granularity, "updated_at": now})
    # one consumer_status document per sidecar process (host:pid): drop those of processes
    # silent for a week (a handful of small documents, so a range delete is cheap anywhere)
    deleted[C.CONSUMER_STATUS] = db[C.CONSUMER_STATUS].delete_many(
        {"updated_at": {"$lt": now - timedelta(days=STATUS_KEEP_DAYS)}}).deleted_count
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
