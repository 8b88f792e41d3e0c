"""Storage rules on the real local FerretDB-on-PostgreSQL (docs/architecture.md §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.ids import city_hour
from core.storage import apply_retention, insert_new, replace_one
from core.vocabulary import C

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)


def _weather(hours_ago: float, zone: str = "z01") -> dict:
    at = NOW - timedelta(hours=hours_ago)
    return {"_id": f"nyc|{zone}|{at:%Y-%m-%dT%H:%M}Z|simulated", "city_id": "nyc",
            "zone_id": zone, "observed_at": at, "source": "simulated", "temperature_c": 3.0}


def test_writes_stamp_the_buckets_that_reads_and_retention_query_by(db) -> None:
    insert_new(db, C.RAW_WEATHER, [_weather(1)])
    doc = db[C.RAW_WEATHER].find_one({"city_hour": city_hour("nyc", NOW - timedelta(hours=1))})
    assert doc is not None and doc["bucket_day"] == "2026-11-29"
    replace_one(db, C.ALERTS, {"_id": "a1", "city_id": "nyc", "opened_at": NOW, "status": "open"})
    assert db[C.ALERTS].find_one({"bucket_day": "2026-11-29"})["_id"] == "a1"


def test_retention_deletes_expired_buckets_only_and_remembers_where_it_stopped(db) -> None:
    # raw keeps 7 days: 9 and 8 days old go, 6 days and 1 hour old stay
    insert_new(db, C.RAW_WEATHER, [_weather(24 * 9), _weather(24 * 8), _weather(24 * 6),
                                   _weather(1)])
    # the live feed keeps 2 hours, by hour bucket
    feed = [{"_id": f"f{h}", "topic": "weather_obs", "consumed_at": NOW - timedelta(hours=h)}
            for h in (5, 4, 1, 0)]
    insert_new(db, C.LIVE_FEED, feed)
    deleted = apply_retention(db, NOW, raw_days=7)
    assert deleted[C.RAW_WEATHER] == 2
    assert deleted[C.LIVE_FEED] == 2
    left = sorted(round((NOW - d["observed_at"]).total_seconds() / 3600)
                  for d in db[C.RAW_WEATHER].find({}))
    assert left == [1, 24 * 6]
    assert {d["_id"] for d in db[C.LIVE_FEED].find({})} == {"f1", "f0"}
    state = db[C.RETENTION_STATE].find_one({"_id": C.RAW_WEATHER})
    assert state["purged_before"] == "2026-11-22"
    # the 6-day-old reading (bucket 2026-11-23) is kept one more day, then goes
    assert apply_retention(db, NOW + timedelta(days=1), raw_days=7)[C.RAW_WEATHER] == 0
    assert apply_retention(db, NOW + timedelta(days=2), raw_days=7)[C.RAW_WEATHER] == 1


def test_equality_filters_are_served_by_an_index_in_postgresql(db, local_services) -> None:
    """The companion GIN index (infra/postgres/citylive.sql) exists for _id and for every
    indexed field, so FerretDB's pushed-down equality never scans the table."""
    from core.storage import ensure_indexes

    ensure_indexes(db)
    insert_new(db, C.RAW_WEATHER, [_weather(1)])
    cluster = local_services.pg.cluster  # the session's private PostgreSQL under FerretDB
    rows = cluster.psql("-At", "-c", (
        "SELECT indexdef FROM pg_indexes WHERE schemaname = '" + db.name + "' "
        "AND indexdef LIKE '%USING gin%'"), database="ferretdb").splitlines()
    fields = {r.split("_jsonb -> '")[1].split("'")[0] for r in rows}
    assert {"_id", "city_hour", "bucket_day"} <= fields, rows
    plan = cluster.psql("-At", "-c", (
        "SELECT table_name FROM (SELECT _jsonb->>'table' AS table_name, _jsonb->>'_id' AS c "
        f"FROM \"{db.name}\"._ferretdb_database_metadata) m WHERE c = 'raw_weather'"),
        database="ferretdb").strip()
    explain = cluster.psql("-At", "-c", (
        f"EXPLAIN SELECT _jsonb FROM \"{db.name}\".\"{plan}\" "
        "WHERE _jsonb -> 'city_hour' @> '\"nyc|2026-11-29T11\"'"), database="ferretdb")
    assert "Index" in explain and "Seq Scan" not in explain, explain


def test_the_suite_runs_on_private_services_not_the_apps(test_env, local_services) -> None:
    """Nothing a test writes can reach what `make run` shows: the session's MongoDB and Kafka
    are private instances on their own ports (tests/conftest.py)."""
    from core.settings import DEFAULT_KAFKA, DEFAULT_MONGO_URI

    assert test_env.mongo_uri.get_secret_value() == local_services.ferret.uri != DEFAULT_MONGO_URI
    assert test_env.kafka_bootstrap_servers == local_services.kafka.bootstrap != DEFAULT_KAFKA
