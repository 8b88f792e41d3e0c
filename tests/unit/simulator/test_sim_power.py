"""Simulated grid: load shape and temperature response, BA magnitudes, distinct subregion
series, the city and zone estimates, EIA's day-ahead forecast made from forecast weather."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.catalog import City, get_city
from core.subregions import series_ids
from ingest.simulator import CityWorld, simulate
from ingest.simulator.clock import TimeGrid, observation_times, time_grid
from ingest.simulator.power import (
    GridLoad,
    df_issue_times,
    expected_load,
    forecast_city_temperature,
    grid_load,
    series_loads,
    series_shape,
    series_temperature,
)

YEAR = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def _grid(city: City, start: datetime, end: datetime) -> TimeGrid:
    return time_grid(observation_times(start, end, 60), city.timezone)


def _load(city: City, start: datetime, end: datetime, with_events: bool = False
          ) -> tuple[TimeGrid, CityWorld, GridLoad]:
    grid = _grid(city, start, end)
    world = CityWorld(city, with_events=with_events)
    return grid, world, grid_load(world, grid)


@cache
def _year(city_id: str, with_events: bool = False) -> tuple[TimeGrid, CityWorld, GridLoad]:
    """A year of one city's grid, computed once for the tests that read it."""
    return _load(get_city(city_id), *YEAR, with_events=with_events)


def _mape(forecast: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(forecast - actual) / actual))


def test_weekday_evening_peak_weekend_lower(nyc: City) -> None:
    grid, _, load = _year("nyc")
    actual = load.ba_actual[:, 0]
    hour = np.floor(grid.local_hour[:, 0])
    weekday = grid.weekend[:, 0] == 0
    at = {h: actual[(hour == h) & weekday].mean() for h in range(24)}
    assert at[18] > 1.3 * at[4]
    assert max(at, key=at.get) in (17, 18, 19)
    weekend_mean = actual[(hour >= 8) & (hour <= 20) & ~weekday].mean()
    weekday_mean = actual[(hour >= 8) & (hour <= 20) & weekday].mean()
    assert weekend_mean < 0.97 * weekday_mean


def test_u_shaped_temperature_response_of_the_city_series(nyc: City) -> None:
    grid, world, load = _year("nyc")
    city = load.city[:, 0]
    temp = world.city_temperature(grid)[:, 0]
    hour = np.floor(grid.local_hour[:, 0])
    afternoon = (hour >= 12) & (hour <= 18) & (grid.weekend[:, 0] == 0)
    cold = city[afternoon & (temp < 0)].mean()
    mild = city[afternoon & (temp > 14) & (temp < 20)].mean()
    hot = city[afternoon & (temp > 28)].mean()
    assert cold > mild and hot > 1.2 * mild


@pytest.mark.parametrize(("city_id", "low", "high", "city_mean"), [
    ("nyc", 10_000, 36_000, (4_800, 6_500)), ("chicago", 55_000, 175_000, (9_500, 13_500)),
    ("sf", 15_000, 52_000, (8_500, 12_500)), ("boston", 8_000, 28_000, (2_400, 3_500))])
def test_ba_and_city_magnitudes_are_realistic(city_id: str, low: float, high: float,
                                              city_mean: tuple[float, float]) -> None:
    _, _, load = _year(city_id, with_events=True)
    actual, forecast = load.ba_actual[:, 0], load.ba_forecast[:, 0]
    assert low < actual.min() and actual.max() < high
    assert low < forecast.min() and forecast.max() < high
    assert 0.015 < _mape(forecast, actual) < 0.045
    assert city_mean[0] < load.city.mean() < city_mean[1]  # ZONJ, CE, PGAE, 4008


def test_the_ba_is_the_sum_of_its_subregions_and_the_city_is_its_own(nyc: City) -> None:
    _, _, load = _year("nyc", with_events=True)
    assert load.codes == series_ids(nyc) and load.codes[0] == "ZONJ"
    np.testing.assert_allclose(load.series.sum(axis=1), load.ba_actual[:, 0], rtol=1e-12)
    np.testing.assert_array_equal(load.city[:, 0], load.series[:, 0])


def test_subregion_series_are_distinct(nyc: City) -> None:
    grid, world, load = _year("nyc")
    days = load.series.reshape(-1, 24, len(load.codes)).mean(axis=1)
    corr = np.corrcoef(np.diff(days, axis=0).T)
    np.fill_diagonal(corr, np.nan)
    assert np.nanmax(corr) < 0.98  # day-to-day changes differ for every pair
    # and they answer the weather differently: hot weekdays over mild ones, per series
    temp = world.city_temperature(grid)[:, 0].reshape(-1, 24).max(axis=1)
    weekday = grid.weekend[:, 0].reshape(-1, 24)[:, 12] == 0
    hot, mild = weekday & (temp > 30), weekday & (temp > 16) & (temp < 22)
    uplift = days[hot].mean(axis=0) / days[mild].mean(axis=0)
    assert uplift.min() > 1.05 and uplift.max() - uplift.min() > 0.1
    assert len(set(np.round(uplift, 3))) == len(load.codes)


def test_records_carry_the_series_the_city_and_zone_estimates(nyc: City) -> None:
    start = datetime(2026, 8, 1, tzinfo=UTC)
    records = simulate("power", nyc, start, start + timedelta(days=1), start + timedelta(days=1))
    weights = {z.zone_id: z.weight for z in nyc.zones}
    assert len(records) == 24 * len(nyc.zones)
    by_hour: dict = {}
    for r in records:
        assert r["respondent"] == "NYIS" and r["subba"] == "ZONJ"
        assert r["demand_method"] == "estimate"
        assert list(r["series_mw"]) == series_ids(nyc)
        assert r["city_demand_mw"] == r["series_mw"]["ZONJ"]
        assert r["demand_mw"] == pytest.approx(r["city_demand_mw"] * weights[r["zone_id"]],
                                               abs=1e-3)
        by_hour.setdefault(r["observed_at"], []).append(r)
    for group in by_hour.values():
        first = group[0]
        assert all(r["series_mw"] == first["series_mw"] for r in group)
        assert len({(r["ba_demand_mw"], r["ba_forecast_mw"]) for r in group}) == 1
        assert sum(r["demand_mw"] for r in group) == pytest.approx(first["city_demand_mw"],
                                                                   abs=0.05)
        assert sum(first["series_mw"].values()) == pytest.approx(first["ba_demand_mw"],
                                                                 abs=0.05 * len(nyc.zones))


def test_a_city_without_a_subregion_is_its_ba_share(toy_city: City) -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    records = simulate("power", toy_city, start, start + timedelta(hours=6), start)
    for r in records:
        assert r["subba"] == "CITY" and list(r["series_mw"]) == ["CITY"]
        assert r["city_demand_mw"] == pytest.approx(r["ba_demand_mw"] * toy_city.ba_share,
                                                    abs=0.1)
        assert r["demand_mw"] == pytest.approx(r["city_demand_mw"] * 0.25, abs=1e-3)


def test_df_is_issued_at_ten_local_the_day_before(nyc: City) -> None:
    times = observation_times(datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC),
                              60)  # across the spring DST change
    tz = ZoneInfo(nyc.timezone)
    for t, issued in zip(times, df_issue_times(times, nyc.timezone), strict=True):
        local = issued.astimezone(tz)
        assert local.hour == 10 and local.date() == t.astimezone(tz).date() - timedelta(days=1)
        assert timedelta(hours=13) <= t - issued <= timedelta(hours=39)


@pytest.mark.parametrize("month", [1, 9])
def test_df_misses_the_actual_by_a_few_percent(nyc: City, month: int) -> None:
    start = datetime(2025, month, 1, tzinfo=UTC)
    _, _, load = _load(nyc, start, start + timedelta(days=30), with_events=True)
    assert 0.015 < _mape(load.ba_forecast[:, 0], load.ba_actual[:, 0]) < 0.05


def test_df_is_made_from_the_forecast_weather_not_the_actual(nyc: City) -> None:
    start, end = datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC)
    grid, world, load = _load(nyc, start, end)
    loads = series_loads(world)
    city_temp = world.city_temperature(grid)
    temperature = series_temperature(loads, city_temp, grid)
    shape = series_shape(loads, grid)
    fc_error = forecast_city_temperature(world, grid.times) - city_temp

    def model(temp: np.ndarray) -> np.ndarray:
        return expected_load(loads, world.ba, temp, shape, grid.doy).sum(axis=1)

    df = load.ba_forecast[:, 0]
    on_forecast, on_actual = model(temperature + fc_error), model(temperature)
    assert _mape(df, on_forecast) < 0.6 * _mape(df, on_actual)
    # days whose weather forecast missed most are the days DF missed most
    daily_fc = np.abs(fc_error[:, 0]).reshape(-1, 24).mean(axis=1)
    daily_df = (np.abs(df - load.ba_actual[:, 0]) / load.ba_actual[:, 0]).reshape(-1, 24).mean(1)
    order = np.argsort(daily_fc)
    third = len(order) // 3
    assert daily_df[order[-third:]].mean() > 1.5 * daily_df[order[:third]].mean()


def test_same_window_same_values_and_a_day_inside_ten_agrees(nyc: City) -> None:
    start = datetime(2026, 7, 1, tzinfo=UTC)
    now = start + timedelta(days=10)
    ten = simulate("power", nyc, start, now, now)
    assert ten == simulate("power", nyc, start, now, now)
    day = simulate("power", nyc, start + timedelta(days=4), start + timedelta(days=5), now)
    inside = {(r["zone_id"], r["observed_at"]): r for r in ten}
    assert day and all(inside[(r["zone_id"], r["observed_at"])] == r for r in day)
    assert simulate("power", nyc, start, now, now, seed=3) != ten


def test_grid_stress_hits_the_city_series_not_the_forecast(nyc: City) -> None:
    world = CityWorld(nyc)
    event = next(e for e in world.events(_grid(nyc, *YEAR)) if e.kind == "grid_stress"
                 and e.end - e.start >= timedelta(hours=4))
    mid = event.start + (event.end - event.start) / 2
    window = (mid - timedelta(hours=1), mid + timedelta(hours=2))
    on = grid_load(CityWorld(nyc, with_events=True), _grid(nyc, *window))
    off = grid_load(CityWorld(nyc, with_events=False), _grid(nyc, *window))
    ratio = on.city.mean() / off.city.mean()
    assert 1.0 + 0.8 * event.magnitude < ratio < 1.0 + 1.01 * event.magnitude
    np.testing.assert_array_equal(on.series[:, 1:], off.series[:, 1:])  # the others feel nothing
    np.testing.assert_array_equal(on.ba_forecast, off.ba_forecast)
