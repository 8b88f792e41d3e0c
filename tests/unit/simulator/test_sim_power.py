"""Load shape, temperature response, BA magnitudes, forecast error and zone apportioning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.catalog import City, get_city
from ingest.simulator import CityWorld, simulate
from ingest.simulator.clock import observation_times, time_grid
from ingest.simulator.power import ba_load

YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def _year(city: City, with_events: bool = False):
    grid = time_grid(observation_times(*YEAR, 60), city.timezone)
    world = CityWorld(city, with_events=with_events)
    actual, forecast = ba_load(world, grid)
    return grid, world, actual[:, 0], forecast[:, 0]


def test_weekday_evening_peak_weekend_lower(nyc: City) -> None:
    grid, _, actual, _ = _year(nyc)
    hour = np.floor(grid.local_hour[:, 0])
    weekday = grid.weekend[:, 0] == 0
    at = {h: actual[(hour == h) & weekday].mean() for h in range(24)}
    assert at[18] > 1.3 * at[4]
    assert max(at, key=at.get) in (17, 18, 19)
    weekend_mean = actual[(hour >= 8) & (hour <= 20) & ~weekday].mean()
    weekday_mean = actual[(hour >= 8) & (hour <= 20) & weekday].mean()
    assert weekend_mean < 0.97 * weekday_mean


def test_u_shaped_temperature_response(nyc: City) -> None:
    grid, world, actual, _ = _year(nyc)
    temp = world.city_temperature(grid)[:, 0]
    hour = np.floor(grid.local_hour[:, 0])
    afternoon = (hour >= 12) & (hour <= 18) & (grid.weekend[:, 0] == 0)
    cold = actual[afternoon & (temp < 0)].mean()
    mild = actual[afternoon & (temp > 14) & (temp < 20)].mean()
    hot = actual[afternoon & (temp > 28)].mean()
    assert cold > mild and hot > 1.2 * mild


@pytest.mark.parametrize(("city_id", "low", "high"), [
    ("nyc", 10_000, 36_000), ("chicago", 55_000, 175_000), ("sf", 15_000, 52_000),
    ("boston", 8_000, 28_000)])
def test_ba_magnitudes_are_realistic(city_id: str, low: float, high: float) -> None:
    _, _, actual, forecast = _year(get_city(city_id), with_events=True)
    assert low < actual.min() and actual.max() < high
    assert low < forecast.min() and forecast.max() < high
    mape = np.mean(np.abs(forecast - actual) / actual)
    assert 0.015 < mape < 0.045


def test_zone_demand_is_ba_share_times_weight(nyc: City) -> None:
    start = datetime(2026, 8, 1, tzinfo=UTC)
    records = simulate("power", nyc, start, start + timedelta(days=1), start + timedelta(days=1))
    weights = {z.zone_id: z.weight for z in nyc.zones}
    assert len(records) == 24 * len(nyc.zones)
    for r in records:
        assert r["respondent"] == "NYIS"
        assert r["demand_mw"] == pytest.approx(
            r["ba_demand_mw"] * nyc.ba_share * weights[r["zone_id"]], rel=1e-5, abs=1e-3)
    by_hour: dict = {}
    for r in records:
        by_hour.setdefault(r["observed_at"], []).append(r)
    for group in by_hour.values():
        assert len({r["ba_demand_mw"] for r in group}) == 1  # one BA value per instant
        assert sum(r["demand_mw"] for r in group) == pytest.approx(
            group[0]["ba_demand_mw"] * nyc.ba_share, rel=1e-4)
