"""Weather looks like each city's climate, in city-local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from core.catalog import City, get_city
from ingest.simulator import CityWorld, simulate
from ingest.simulator.clock import observation_times, time_grid


def _month(city: City, year: int, month: int) -> list[dict]:
    start = datetime(year, month, 1, tzinfo=UTC)
    return simulate("weather", city, start, start + timedelta(days=28), start + timedelta(days=28))


def _mean(records: list[dict], field: str) -> float:
    return float(np.mean([r[field] for r in records]))


def test_seasons_and_climates(nyc: City) -> None:
    nyc_jan, nyc_jul = _mean(_month(nyc, 2026, 1), "temperature_c"), _mean(
        _month(nyc, 2026, 7), "temperature_c")
    assert -6.0 < nyc_jan < 6.0 and 20.0 < nyc_jul < 30.0
    assert nyc_jul - nyc_jan > 15.0
    sf = get_city("sf")
    sf_jan, sf_jul = _mean(_month(sf, 2026, 1), "temperature_c"), _mean(
        _month(sf, 2026, 7), "temperature_c")
    assert 7.0 < sf_jan < 14.0 and 13.0 < sf_jul < 21.0  # mild all year
    chi_jan = _mean(_month(get_city("chicago"), 2026, 1), "temperature_c")
    assert chi_jan < nyc_jan


def test_diurnal_cycle_in_local_time(nyc: City) -> None:
    """Coldest around dawn, warmest mid-afternoon, humidity the other way round."""
    world = CityWorld(nyc)
    times = observation_times(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 6, 30, tzinfo=UTC),
                              60)
    grid = time_grid(times, nyc.timezone)
    w = world.weather(grid)
    hour = np.floor(grid.local_hour[:, 0]).astype(int)
    temp_by_hour = np.array([w.temperature_c[hour == h].mean() for h in range(24)])
    rh_by_hour = np.array([w.relative_humidity_pct[hour == h].mean() for h in range(24)])
    assert int(temp_by_hour.argmin()) in (4, 5, 6, 7)
    assert int(temp_by_hour.argmax()) in (13, 14, 15, 16)
    assert rh_by_hour[6] > rh_by_hour[15] + 10.0


def test_precipitation_comes_in_episodes_and_is_plausible(nyc: City) -> None:
    world = CityWorld(nyc)
    times = observation_times(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
                              60)
    w = world.weather(time_grid(times, nyc.timezone))
    wet = w.precipitation_mm.mean(axis=1) > 0.05
    assert 0.04 < wet.mean() < 0.16
    annual_mm = w.precipitation_mm.mean(axis=1).sum()
    assert 600.0 < annual_mm < 1800.0
    # episodes: a wet hour is usually followed by another wet hour
    assert (wet[1:] & wet[:-1]).sum() / wet.sum() > 0.6
    assert w.wind_speed_kmh.min() >= 0.0 and 8.0 < w.wind_speed_kmh.mean() < 30.0
    assert w.relative_humidity_pct.min() >= 8.0 and w.relative_humidity_pct.max() <= 100.0


def test_sub_hourly_points_are_smooth_between_hours(nyc: City) -> None:
    now = datetime(2026, 11, 28, 21, 7, tzinfo=UTC)
    recs = simulate("weather", nyc, now - timedelta(hours=2, minutes=7), now, now)
    z01 = [r["temperature_c"] for r in recs if r["zone_id"] == "z01"]
    assert len(z01) == 13  # 20:00 .. 21:00 every 10 min, from 19:00
    assert max(abs(a - b) for a, b in zip(z01, z01[1:], strict=False)) < 0.8


def test_unknown_city_gets_a_latitude_climate(toy_city: City) -> None:
    jan, jul = _mean(_month(toy_city, 2026, 1), "temperature_c"), _mean(
        _month(toy_city, 2026, 7), "temperature_c")
    assert jan < 0.0 < 15.0 < jul


def test_south_of_the_equator_july_is_the_cold_month(toy_city: City) -> None:
    south = toy_city.model_copy(update={
        "bounds": toy_city.bounds.model_copy(update={"min_lat": -45.08, "max_lat": -44.95}),
        "zones": [z.model_copy(update={"lat": -z.lat}) for z in toy_city.zones]})
    jan, jul = _mean(_month(south, 2026, 1), "temperature_c"), _mean(
        _month(south, 2026, 7), "temperature_c")
    assert jul < jan
