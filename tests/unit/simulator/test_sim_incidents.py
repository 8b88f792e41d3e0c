"""311 incidents: ids, times, places, volume, seasonal mix and status as of ingestion."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.catalog import City
from core.geo import nearest_zone_ids
from ingest.simulator import simulate


def _window(city: City, start: datetime, days: int) -> list[dict]:
    end = start + timedelta(days=days)
    return simulate("incidents", city, start, end, end)


@pytest.fixture(scope="module")
def january(nyc: City) -> list[dict]:
    return _window(nyc, datetime(2026, 1, 5, tzinfo=UTC), 14)


@pytest.fixture(scope="module")
def july(nyc: City) -> list[dict]:
    return _window(nyc, datetime(2026, 7, 6, tzinfo=UTC), 14)


def test_ids_times_and_places(nyc: City, january: list[dict]) -> None:
    ids = [r["incident_id"] for r in january]
    assert len(set(ids)) == len(ids)
    for r in january[:2000]:
        created = r["created_at"]
        assert r["observed_at"] == created and created.tzinfo is not None
        hour_tag = created.strftime("%Y%m%d%H")
        assert r["incident_id"].startswith(f"SIM-nyc-{r['zone_id']}-{hour_tag}-")
        assert nyc.bounds.contains(r["lat"], r["lon"])
    lats = np.array([r["lat"] for r in january])
    lons = np.array([r["lon"] for r in january])
    assert list(nearest_zone_ids(nyc, lats, lons)) == [r["zone_id"] for r in january]
    spread = {(r["lat"], r["lon"]) for r in january}
    assert len(spread) > 0.9 * len(january)  # jittered, not stacked on centroids


def test_volume_is_modest_and_scales_with_population(nyc: City, january: list[dict],
                                                     toy_city: City) -> None:
    per_hour = len(january) / (14 * 24)
    assert 50 < per_hour < 150
    toy = _window(toy_city, datetime(2026, 1, 5, tzinfo=UTC), 14)
    toy_per_hour = len(toy) / (14 * 24)
    nyc_pop = sum(z.population for z in nyc.zones)
    expected = per_hour * 400_000 / nyc_pop
    assert 0.6 * expected < toy_per_hour < 1.6 * expected
    by_zone = Counter(r["zone_id"] for r in january)
    pops = {z.zone_id: z.population for z in nyc.zones}
    big, small = max(pops, key=pops.get), min(pops, key=pops.get)
    assert by_zone[big] > by_zone[small]


def test_mix_follows_season_and_clock(january: list[dict], july: list[dict]) -> None:
    def share(recs: list[dict], kind: str) -> float:
        return sum(r["complaint_type"] == kind for r in recs) / len(recs)

    assert share(january, "HEAT/HOT WATER") > 0.08 > 0.01 > share(july, "HEAT/HOT WATER")
    assert share(july, "Noise - Street/Sidewalk") > share(january, "Noise - Street/Sidewalk")
    assert len(Counter(r["complaint_type"] for r in january)) >= 10
    for r in january:
        assert r["agency"] in {"NYPD", "HPD", "DOT", "DEP", "DSNY"}
        assert r["descriptor"]
    # residential noise is a night-time complaint (local time: UTC-5 in January)
    noise_hours = Counter((r["created_at"].hour - 5) % 24 for r in january
                          if r["complaint_type"] == "Noise - Residential")
    assert noise_hours[23] > 2 * noise_hours[10]


def test_status_reflects_age_at_ingestion(nyc: City) -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    end = start + timedelta(days=3)
    old = simulate("incidents", nyc, start, start + timedelta(hours=3), end)
    fresh = simulate("incidents", nyc, end - timedelta(hours=1), end, end)
    share_closed = lambda recs: sum(r["status"] == "Closed" for r in recs) / len(recs)  # noqa: E731
    assert share_closed(old) > share_closed(fresh) + 0.3
    assert {r["status"] for r in old + fresh} <= {"Open", "In Progress", "Closed"}
    assert any(r["status"] == "Open" for r in fresh)


def test_live_window_only_holds_incidents_created_in_it(nyc: City) -> None:
    end = datetime(2026, 1, 5, 14, 7, 30, tzinfo=UTC)
    start = end - timedelta(minutes=5)
    recs = simulate("incidents", nyc, start, end, end)
    assert recs and all(start <= r["created_at"] < end for r in recs)
