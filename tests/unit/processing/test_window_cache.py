"""What a steady processing pass reads and writes again (pipeline/processing/window_cache.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.storage import insert_new
from core.vocabulary import C
from pipeline.processing.window_cache import RawHourCache, SettledWrites
from tests.unit.processing.fake_db import FakeDb

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)


def _weather(at: datetime) -> dict:
    return {"_id": f"nyc|z01|{at:%Y-%m-%dT%H:%M}Z|simulated", "city_id": "nyc",
            "zone_id": "z01", "observed_at": at, "source": "simulated"}


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_settled_hours_are_read_once_and_fresh_hours_every_pass() -> None:
    db, clock = FakeDb(), Clock()
    insert_new(db, C.RAW_WEATHER, [_weather(NOW - timedelta(hours=h)) for h in range(10)])
    cache = RawHourCache(fresh=timedelta(hours=3), ttl_s=3600, clock=clock)
    first = cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)
    assert len(first[C.RAW_WEATHER]) == 9
    reads = len(db[C.RAW_WEATHER].finds)
    assert reads == 9  # hours 04..12
    # a late row lands in a fresh hour and a new row arrives: both are seen
    insert_new(db, C.RAW_WEATHER, [_weather(NOW - timedelta(hours=1, minutes=20))])
    clock.t = 120
    second = cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)
    assert len(second[C.RAW_WEATHER]) == 10
    again = [q["city_hour"] for q in db[C.RAW_WEATHER].finds[reads:]]
    assert again == ["nyc|2026-11-29T09", "nyc|2026-11-29T10", "nyc|2026-11-29T11",
                     "nyc|2026-11-29T12"]


def test_settled_hours_are_read_again_after_the_ttl() -> None:
    db, clock = FakeDb(), Clock()
    insert_new(db, C.RAW_WEATHER, [_weather(NOW - timedelta(hours=6))])
    cache = RawHourCache(fresh=timedelta(hours=3), ttl_s=60, clock=clock)
    cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)
    late = _weather(NOW - timedelta(hours=6, minutes=-10))
    insert_new(db, C.RAW_WEATHER, [late])
    clock.t = 30
    assert len(cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)[C.RAW_WEATHER]) == 1
    clock.t = 90
    assert len(cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)[C.RAW_WEATHER]) == 2


def test_a_cleared_city_is_read_again() -> None:
    db, clock = FakeDb(), Clock()
    insert_new(db, C.RAW_WEATHER, [_weather(NOW - timedelta(hours=6))])
    cache = RawHourCache(clock=clock)
    cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)
    reads = len(db[C.RAW_WEATHER].finds)
    cache.clear("nyc")
    cache.read(db, "nyc", NOW - timedelta(hours=8), NOW)
    assert len(db[C.RAW_WEATHER].finds) == 2 * reads


def test_settled_writes_skip_what_was_written_but_keep_revisions() -> None:
    writes = SettledWrites()
    docs = [{"_id": f"h{h}", "ts": NOW - timedelta(hours=h)} for h in (5, 4, 3)]
    assert writes.only_new("nyc", docs, "ts", set()) == docs  # nothing known yet: all
    writes.mark("nyc", docs, "ts")
    later = [*docs, {"_id": "h2", "ts": NOW - timedelta(hours=2)}]
    assert [d["_id"] for d in writes.only_new("nyc", later, "ts", {"h4"})] == ["h4", "h2"]
    assert writes.only_new("chicago", later, "ts", set()) == later
    writes.clear("nyc")
    assert writes.only_new("nyc", later, "ts", set()) == later
