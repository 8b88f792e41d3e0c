"""The IO job against an in-memory database: what it reads, what it writes, what it publishes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from core.ids import raw_id
from core.storage import insert_new, upsert_many
from core.vocabulary import RAW_COLLECTIONS, C
from pipeline.history import decode_city_day
from pipeline.processing.job import clear_history_cache, process_city, process_history
from tests.unit.processing.factories import T0, aqi, simulated_raw, toy_city
from tests.unit.processing.fake_db import FakeDb

DAYS = 20
END = T0 + timedelta(days=DAYS)


@pytest.fixture(autouse=True)
def _fresh_history_cache() -> None:
    clear_history_cache()


def _seeded() -> tuple[FakeDb, dict[str, list[dict[str, Any]]]]:
    """A database holding a 20-day backfill and the last 2 days of raw records."""
    db = FakeDb()
    raw = simulated_raw(toy_city(), T0, DAYS * 24, seed=5)
    summary = process_history(db, toy_city(), raw, T0, END - timedelta(days=1))
    assert summary["city_days"] == DAYS - 1
    for name in RAW_COLLECTIONS:
        insert_new(db, name, [{"_id": raw_id(name, r), **r} for r in raw[name]
                              if r["observed_at"] >= END - timedelta(days=2)])
    return db, raw


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = fail

    def __call__(self, topic: str, key: str, value: dict[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("broker down")
        self.sent.append((topic, key, value))


def _spike(db: FakeDb, at) -> None:
    record = {**aqi("z02", at, us_aqi=190), "city_id": "toy"}
    insert_new(db, C.RAW_AQI, [{"_id": raw_id(C.RAW_AQI, record), **record}])


def _open_alerts(db: FakeDb) -> list[dict[str, Any]]:
    return [a for a in db[C.ALERTS].docs.values() if a["status"] == "open"]


def test_backfill_writes_history_and_only_what_retention_keeps() -> None:
    db, _raw = _seeded()
    assert len(db[C.CITY_DAY].docs) == DAYS - 1
    hours = (DAYS - 1) * 24
    assert len(db[C.PROCESSED].docs) == 3 * hours  # 19 days < 35 days of retention
    assert len(db[C.METER_READINGS].docs) == 3 * 7 * 24  # 7 days of retention
    assert not db[C.ZONE_LATEST].docs  # latest values are the scheduled pass's job


def test_a_pass_reads_the_window_writes_every_read_model_and_publishes_alerts() -> None:
    db, _raw = _seeded()
    now = END - timedelta(minutes=2)
    _spike(db, now - timedelta(minutes=15))
    publish = Recorder()
    summary = process_city(db, toy_city(), now, publish=publish)

    # the 48 h window (and the hour ahead) is read as one equality query per hour
    queried = [q["city_hour"] for q in db[C.RAW_AQI].finds]
    first = (now - timedelta(hours=48)).replace(minute=0)
    assert queried == [f"toy|{first + timedelta(hours=h):%Y-%m-%dT%H}" for h in range(50)]
    assert len(db[C.ZONE_LATEST].docs) == 3 and set(db[C.CITY_LATEST].docs) == {"toy"}
    assert db[C.ZONE_LATEST].docs["toy|z02"]["metrics"]["us_aqi"]["value"] == 190.0
    today = decode_city_day(db[C.CITY_DAY].docs["toy|" + now.strftime("%Y-%m-%d")])
    assert today["zones"]["z01"]["temperature_c"][now.hour] is not None
    assert summary["alerts_opened"] >= 1 and summary["zones"] == 3
    kinds = {(a["zone_id"], a["kind"]) for a in _open_alerts(db)}
    assert ("z02", "air_quality") in kinds
    assert {r["zone_id"] for r in db[C.RECOMMENDATIONS].docs.values()} >= {"z02"}
    topics = {(topic, key) for topic, key, _ in publish.sent}
    assert ("grid_alerts", "toy:z02") in topics
    assert all("_id" not in value and value["alert_id"] for _, _, value in publish.sent)
    assert len(publish.sent) == summary["alerts_opened"]


def test_rerunning_updates_alerts_without_duplicates_or_republishing() -> None:
    db, _raw = _seeded()
    now = END - timedelta(minutes=2)
    _spike(db, now - timedelta(minutes=15))
    process_city(db, toy_city(), now)
    before = {a["_id"] for a in _open_alerts(db)}
    publish = Recorder()
    summary = process_city(db, toy_city(), now + timedelta(minutes=5), publish=publish)
    assert summary["alerts_opened"] == 0 and summary["alerts_updated"] == len(before)
    assert {a["_id"] for a in _open_alerts(db)} == before
    assert set(Counter((a["zone_id"], a["kind"]) for a in _open_alerts(db)).values()) == {1}
    assert publish.sent == []  # updates are not re-announced


def test_recommendations_are_replaced_as_a_set() -> None:
    db, _raw = _seeded()
    stale = {"_id": "toy|z03|heat", "city_id": "toy", "zone_id": "z03", "rule": "heat"}
    db[C.RECOMMENDATIONS].docs[stale["_id"]] = stale
    other_city = {"_id": "nyc|z01|heat", "city_id": "nyc", "zone_id": "z01", "rule": "heat"}
    db[C.RECOMMENDATIONS].docs[other_city["_id"]] = other_city
    process_city(db, toy_city(), END - timedelta(minutes=2))
    assert "toy|z03|heat" not in db[C.RECOMMENDATIONS].docs
    assert "nyc|z01|heat" in db[C.RECOMMENDATIONS].docs


def test_a_broken_publisher_does_not_lose_the_stored_alerts() -> None:
    db, _raw = _seeded()
    now = END - timedelta(minutes=2)
    _spike(db, now - timedelta(minutes=15))
    summary = process_city(db, toy_city(), now, publish=Recorder(fail=True))
    assert summary["publish_failed"] == summary["alerts_opened"] >= 1
    assert len(_open_alerts(db)) == summary["alerts_opened"]


def test_records_handed_over_in_memory_are_used_instead_of_the_database() -> None:
    db = FakeDb()
    raw = simulated_raw(toy_city(), END - timedelta(days=2), 48, seed=9)
    summary = process_city(db, toy_city(), END - timedelta(minutes=1), raw=raw)
    assert summary["records"] == sum(len(v) for v in raw.values())
    assert not db[C.RAW_WEATHER].finds
    assert db[C.ZONE_LATEST].docs["toy|z01"]["metrics"]["temperature_c"]["value"] is not None


@pytest.mark.parametrize("collection", [C.ZONE_LATEST, C.CITY_DAY, C.PROCESSED, C.ALERTS])
def test_written_documents_carry_deterministic_string_ids(collection: str) -> None:
    db, _raw = _seeded()
    now = END - timedelta(minutes=2)
    _spike(db, now - timedelta(minutes=15))
    process_city(db, toy_city(), now)
    assert db[collection].docs
    assert all(isinstance(k, str) and k.startswith("toy|") for k in db[collection].docs)


def test_upsert_many_inserts_new_and_replaces_existing_without_deleting() -> None:
    db = FakeDb()
    db["c"].docs["a"] = {"_id": "a", "v": 1}
    replaced = upsert_many(db, "c", [{"_id": "a", "v": 2}, {"_id": "b", "v": 3}])
    assert replaced == 1
    assert db["c"].docs == {"a": {"_id": "a", "v": 2}, "b": {"_id": "b", "v": 3}}
    assert db["c"].deletes == 0


def test_settled_days_are_read_once_then_served_from_the_cache() -> None:
    db, _raw = _seeded()
    now = END - timedelta(minutes=2)
    process_city(db, toy_city(), now)
    reads = len(db[C.CITY_DAY].finds)
    process_city(db, toy_city(), now + timedelta(minutes=5))
    # only the days the 48 h window touches (and the coming one) are read again
    again = {q["_id"] for q in db[C.CITY_DAY].finds[reads:]}
    window_days = {"toy|" + (now - timedelta(days=d)).strftime("%Y-%m-%d") for d in (-1, 0, 1, 2)}
    assert again and again <= window_days


def test_history_cache_survives_concurrent_readers_and_clearers() -> None:
    """Scheduler threads process different cities at once, and a backfill clears the cache."""
    import sys
    import threading

    from pipeline.processing.job import read_history

    db, errors = FakeDb(), []
    start = threading.Barrier(8)

    def reader(city_id: str) -> None:
        start.wait()
        try:
            for step in range(300):  # a new day each call: the cache grows while others sweep
                read_history(db, city_id, END + timedelta(hours=step * 25))
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    def clearer() -> None:
        start.wait()
        try:
            for i in range(3000):
                clear_history_cache(None if i % 2 else "c1")
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=reader, args=(f"c{i}",)) for i in range(6)]
        threads += [threading.Thread(target=clearer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []
