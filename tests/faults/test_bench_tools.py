"""The bench and fault-test tools themselves (no services): the stand-in speaks Open-Meteo well
enough for the real client, synthetic cities are valid catalog cities, verdicts and the
table say what they should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bench.common import MISS, NA, OK, Figure, at_least, at_most, not_available, synthetic_city
from bench.ingest_requests import seed_cycle
from bench.run_all import table
from bench.standin import StandIn
from core.settings import Settings
from ingest.exceptions import ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.open_meteo import OpenMeteoAirQuality, OpenMeteoWeather


def context(city, base_url: str, hours: int = 5) -> FetchContext:
    now = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    settings = Settings(_env_file=None, open_meteo_url=base_url, open_meteo_aq_url=base_url)
    return FetchContext(city=city, settings=settings, start=now - timedelta(hours=hours),
                        end=now, ingested_at=now)


@pytest.mark.parametrize("n_zones", [1, 7, 160])
def test_synthetic_cities_are_valid_catalog_cities(n_zones):
    city = synthetic_city(n_zones)
    assert len(city.zones) == n_zones
    assert len({z.zone_id for z in city.zones}) == n_zones
    assert all(city.bounds.contains(z.lat, z.lon) for z in city.zones)
    assert len({(z.lat, z.lon) for z in city.zones}) == n_zones


def test_the_real_open_meteo_clients_parse_the_stand_in_in_one_request_per_city():
    city = synthetic_city(12)
    with StandIn() as standin, httpx.Client() as http:
        ctx = context(city, standin.url)
        for source in (OpenMeteoWeather(), OpenMeteoAirQuality()):
            counter = RequestCounter()
            parsed = source.collect(ctx, http, counter)
            assert counter.requests == 1 and not parsed.rejects
            # the window [07:30, 12:30) holds the hours 08..12, for every zone
            assert len(parsed.records) == 12 * 5
        assert [h.locations for h in standin.hits] == [12, 12]


def test_the_seed_design_makes_three_calls_per_zone():
    city = synthetic_city(9)
    with StandIn() as standin, httpx.Client() as http:
        assert seed_cycle(http, standin.url, city) == 27
        assert standin.requests == 27
        assert all(h.locations == 1 for h in standin.hits)


def test_a_faulty_stand_in_fails_only_its_paths():
    city = synthetic_city(3)
    with StandIn() as standin, httpx.Client() as http:
        standin.fault, standin.fault_paths = "shape", ("/v1/forecast",)
        ctx = context(city, standin.url)
        with pytest.raises(ProviderShapeError):
            OpenMeteoWeather().collect(ctx, http, RequestCounter())
        assert len(OpenMeteoAirQuality().collect(ctx, http, RequestCounter()).records) == 15


def test_latency_is_seeded_and_within_bounds():
    a, b = StandIn((0.3, 2.0), seed=5), StandIn((0.3, 2.0), seed=5)
    try:
        delays = [a._delay() for _ in range(50)]
        assert delays == [b._delay() for _ in range(50)]
        assert all(0.3 <= d <= 2.0 for d in delays)
    finally:
        a.stop()
        b.stop()


def test_verdicts_and_table():
    assert at_most(0.2, 0.3) == OK and at_most(0.4, 0.3) == MISS and at_most(None, 1) == NA
    assert at_least(2500, 2000) == OK and at_least(1500, 2000) == MISS
    rows = [("x", Figure("consumer msg/s", 1500.0, "msg/s", ">= 2,000", MISS)),
            ("y", not_available("page times", "no UI yet"))]
    text = table(rows)
    assert "1,500 msg/s" in text and "MISS" in text
    assert "not available: no UI yet" in text and "n/a" in text


@pytest.mark.parametrize(("verdict", "code"), [(OK, 0), (MISS, 1), (NA, 1), ("error", 1)])
def test_make_bench_exits_non_zero_when_a_figure_misses_or_is_missing(monkeypatch, verdict,
                                                                      code) -> None:
    """A benchmark must be able to fail: run_all's exit code follows the verdicts."""
    import bench.run_all as run_all

    figure = Figure("a figure", 1.0, "s", verdict=verdict)
    monkeypatch.setattr(run_all, "run_module", lambda name, env, quick: ([figure], 0.1))
    monkeypatch.setattr(run_all, "write_result", lambda *a, **k: Path("/dev/null"))
    assert run_all.main(["--only", "pages", "--shared"]) == code
