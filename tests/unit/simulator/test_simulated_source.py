"""SimulatedSource behind the Source interface: one request per city, valid canonical records,
the same observation for the same instant whatever the window, and a fast 90-day backfill."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.catalog import City
from core.settings import Settings
from core.vocabulary import KIND_TOPIC, SOURCE_KINDS, Topic
from ingest.http import RequestCounter
from ingest.schema import to_wire, validate_record
from ingest.simulator import CityWorld
from ingest.simulator.forecast import forecast_store_documents
from ingest.sources.base import FetchContext
from ingest.sources.simulated import SimulatedSource
from ingest.weather_forecast import forecast_document

NOW = datetime(2026, 11, 28, 21, 7, 12, tzinfo=UTC)
HOURLY_KINDS = ("weather", "aqi", "power")


def _ctx(city: City, start: datetime, end: datetime, watermark: datetime | None = None,
         ingested_at: datetime = NOW) -> FetchContext:
    return FetchContext(city=city, settings=Settings(), start=start, end=end,
                        ingested_at=ingested_at, watermark=watermark)


def _collect(kind: str, ctx: FetchContext, seed: int = 0) -> tuple[list[dict], RequestCounter]:
    counter = RequestCounter()
    result = SimulatedSource(kind, seed=seed).collect(ctx, None, counter)  # type: ignore[arg-type]
    assert result.rejects == []
    return result.records, counter


def _key(record: dict) -> tuple:
    return (record["zone_id"], record.get("link_id"), record.get("incident_id"),
            record["observed_at"])


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_every_record_validates_after_a_json_round_trip(nyc: City, kind: str) -> None:
    records, counter = _collect(kind, _ctx(nyc, NOW - timedelta(days=3), NOW))
    assert counter.requests == 1 and counter.attempts == 1
    assert records
    zone_ids = {z.zone_id for z in nyc.zones}
    for record in records:
        assert record["source"] == "simulated" and record["schema_version"] == 1
        assert record["city_id"] == "nyc" and record["zone_id"] in zone_ids
        assert record["ingested_at"] == NOW
        assert record["observed_at"].tzinfo is not None
        assert NOW - timedelta(days=3) <= record["observed_at"] < NOW
        assert validate_record(KIND_TOPIC[kind], to_wire(record)) == record


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_same_inputs_same_records_and_seed_matters(nyc: City, kind: str) -> None:
    ctx = _ctx(nyc, NOW - timedelta(hours=30), NOW)
    first, _ = _collect(kind, ctx)
    assert first == _collect(kind, ctx)[0]
    assert first != _collect(kind, ctx, seed=7)[0]


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_live_cycle_and_backfill_agree_on_shared_instants(nyc: City, kind: str) -> None:
    live_start = NOW.replace(minute=0, second=0) - timedelta(hours=2)
    live, _ = _collect(kind, _ctx(nyc, live_start, NOW))
    backfill, _ = _collect(kind, _ctx(nyc, NOW - timedelta(days=20), NOW))
    by_key = {_key(r): r for r in backfill}
    shared = [r for r in live if _key(r) in by_key]
    assert all(by_key[_key(r)] == r for r in shared)
    hourly_live = [r for r in live if r["observed_at"].minute == 0]
    if kind == "incidents":
        assert shared == live  # an incident is the same incident in any window
    else:
        assert len(shared) == len(hourly_live) > 0
        assert len(live) > len(hourly_live)  # the live window also moves between hours


@pytest.mark.parametrize(("kind", "minutes"), [("weather", 10), ("aqi", 10), ("traffic", 5),
                                               ("power", 15)])
def test_live_window_uses_the_source_cadence(nyc: City, kind: str, minutes: int) -> None:
    start = NOW.replace(minute=0, second=0) - timedelta(hours=2)
    records, _ = _collect(kind, _ctx(nyc, start, NOW))
    instants = sorted({r["observed_at"] for r in records})
    assert {b - a for a, b in zip(instants, instants[1:], strict=False)} == {
        timedelta(minutes=minutes)}
    assert instants[0] == start and instants[-1] > NOW - timedelta(minutes=minutes)


def test_incident_watermark_is_applied_and_advanced(nyc: City) -> None:
    start = NOW - timedelta(hours=2)
    everything, _ = _collect("incidents", _ctx(nyc, start, NOW))
    cut = everything[len(everything) // 2]["created_at"]
    source = SimulatedSource("incidents")
    ctx = _ctx(nyc, start, NOW, watermark=cut)
    result = source.parse(source.fetch(ctx, None, RequestCounter()), ctx)  # type: ignore[arg-type]
    assert result.records == [r for r in everything if r["created_at"] > cut]
    assert result.watermark == max(r["created_at"] for r in everything)


def test_parse_rejects_bad_items_without_dropping_the_rest(nyc: City) -> None:
    source = SimulatedSource("weather")
    ctx = _ctx(nyc, NOW - timedelta(hours=5), NOW)
    good, _ = _collect("weather", ctx)
    broken = dict(good[0], temperature_c=float("nan"))
    extra = dict(good[1], colour="blue")
    elsewhere = dict(good[2], city_id="sf")
    result = source.parse([broken, extra, elsewhere, "junk", *good[3:]], ctx)
    assert len(result.records) == len(good) - 3
    assert len(result.rejects) == 4 and all(r.reason for r in result.rejects)
    with pytest.raises(ValueError):
        SimulatedSource("tides")


def test_ninety_day_backfill_is_complete_and_fast(nyc: City) -> None:
    start = datetime(2026, 8, 30, tzinfo=UTC)
    end = start + timedelta(days=90)
    zones = len(nyc.zones)
    timings, counts = {}, {}
    began = time.perf_counter()
    for kind in SOURCE_KINDS:
        t0 = time.perf_counter()
        records, counter = _collect(kind, _ctx(nyc, start, end, ingested_at=end))
        timings[kind] = time.perf_counter() - t0
        counts[kind] = len(records)
        assert counter.requests == 1
    total = time.perf_counter() - began
    for kind in HOURLY_KINDS:
        assert counts[kind] == 90 * 24 * zones
    assert 2 * 90 * 24 * zones <= counts["traffic"] <= 3 * 90 * 24 * zones
    assert counts["traffic"] % (90 * 24) == 0
    assert 50 * 90 * 24 < counts["incidents"] < 150 * 90 * 24
    print(f"\n90-day backfill, {zones} zones, all kinds: {total:.2f} s "
          + ", ".join(f"{k} {timings[k]:.2f}s/{counts[k]}" for k in SOURCE_KINDS))


def test_the_weather_reply_carries_the_forecast_issued_this_hour(nyc: City) -> None:
    result = SimulatedSource("weather").collect(_ctx(nyc, NOW - timedelta(hours=2), NOW), None,
                                                RequestCounter())  # type: ignore[arg-type]
    [record] = result.extra[Topic.WEATHER_FORECAST]
    issued = NOW.replace(minute=0, second=0)
    assert record["issued_at"] == issued and record["ingested_at"] == NOW
    assert record["hours"][-1] == issued + timedelta(hours=47)
    assert record["zone_ids"] == [z.zone_id for z in nyc.zones]
    assert validate_record(Topic.WEATHER_FORECAST, to_wire(record)) == record
    # the backfill's document of the same issue hour is the same forecast
    [backfilled] = forecast_store_documents(CityWorld(nyc), [issued], NOW)
    assert forecast_document(record) == backfilled
    for kind in ("aqi", "power"):
        assert SimulatedSource(kind).collect(_ctx(nyc, NOW - timedelta(hours=2), NOW), None,
                                             RequestCounter()).extra == {}  # type: ignore[arg-type]
