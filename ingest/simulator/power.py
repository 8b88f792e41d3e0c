"""Simulated power_demand: every series of the city's grid (EIA-930 subregions of its parent
BA), the BA's actual load (EIA 'D') and day-ahead forecast ('DF'), and each zone's estimate
(docs/architecture.md §4).

A series' load = base (its share x the BA's base) x its daily/weekly shape x (1 + its
heating/cooling response, U-shaped around its balance temperature) x its own small noise.
The city's own subregion feels the city's population-weighted temperature (and the grid-stress
events) with the BA's response; every other subregion feels the city's temperature shifted by
its latitude plus weather of its own that departs further with distance, and has its own
response, shape mix and noise (fixed per subregion by a stable key). The BA is their sum.

EIA's DF is the same load model run on the temperature forecast issued at 10:00 local the day
before (forecast.py), with a persistent model error of its own: it misses what the weather
forecast missed, never sees grid-stress events and knows nothing of the load noise.

A zone's demand is an estimate: the city's series x the zone's weight. A city without a
subregion has one series, "CITY": the BA's load x ba_share, as before subregions existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from core.geo import haversine_km
from core.subregions import CITY_SERIES, has_subregion, series_ids, subregions
from core.vocabulary import CADENCE_MIN
from ingest.simulator.climate import BalancingArea, summer_weight
from ingest.simulator.clock import TimeGrid, observation_times, time_grid
from ingest.simulator.forecast import city_forecast, temperature_forecasts
from ingest.simulator.noise import smooth_noise, stable_key, uniform
from ingest.simulator.records import column, common_fields, zone_time_keys
from ingest.simulator.world import CityWorld

# load relative to the daily mean, by local hour 0..24 (24 repeats 0 so days join smoothly)
WEEKDAY_SHAPE = np.array([0.80, 0.76, 0.74, 0.73, 0.73, 0.76, 0.83, 0.91, 0.96, 0.99, 1.01,
                          1.02, 1.03, 1.03, 1.04, 1.05, 1.07, 1.10, 1.12, 1.11, 1.08, 1.03,
                          0.95, 0.87, 0.80])
WEEKEND_SHAPE = np.array([0.80, 0.76, 0.73, 0.72, 0.71, 0.71, 0.73, 0.76, 0.81, 0.86, 0.90,
                          0.92, 0.93, 0.93, 0.93, 0.94, 0.96, 0.99, 1.02, 1.02, 1.00, 0.96,
                          0.90, 0.85, 0.80])
SHAPE_MEAN = float(WEEKDAY_SHAPE[:24].mean())  # a series' daily swing scales around this
SOFTNESS_C = 2.0  # how gradually heating/cooling switch on around the balance temperature
COOLING_CAP_C = 15.0  # air conditioning saturates: most of it is already on in a heat wave

LAPSE_PER_DEG_LAT_C = 0.7  # a subregion further north is cooler, by about this per degree
OWN_WEATHER_MAX_SD_C = 3.0  # far-away subregions have weather of their own, up to this much
OWN_WEATHER_KM_PER_C = 200.0  # ... growing by 1 °C per this distance from the city
RESPONSE_SPREAD = 0.25  # a subregion's cooling/heating response: the BA's +-25 %
LOAD_NOISE = (0.010, 0.015)  # relative smooth load noise of a series, drawn per series
OWN_LOAD_NOISE = 0.012  # ... and of the city's own series
LOAD_NOISE_SPACING_H = 6.0

DF_ISSUE_LOCAL_HOUR = 10  # EIA's day-ahead forecast uses the weather issued at 10:00 the day before
DF_ERROR_FAST = 0.020  # the day-ahead load model's own error (relative), fast part
DF_ERROR_SLOW = 0.010  # ... and a bias that persists for days
SIMULATED_RESPONDENT = "CITY"  # a city that is its own (simulated) balancing area
DEMAND_METHOD = "estimate"  # a zone's demand: the city's series x the zone's weight


@dataclass(frozen=True)
class SeriesLoad:
    """The load character of one series: its size, weather and response (fixed per series)."""

    code: str
    base_mw: float
    cool_per_c: float
    heat_per_c: float
    balance_c: float
    peak_scale: float  # the daily swing relative to the BA's shape
    weekend_depth: float  # how much of the weekend dip the series has
    clock_shift_h: float  # its clock vs the city's (eastward subregions peak earlier)
    temp_offset_c: float  # static temperature offset vs the city
    own_weather_sd_c: float  # departure of its weather from the city's (grows with distance)
    noise: float  # relative load noise
    noise_key: int
    temp_key: int


def _city_centre(world: CityWorld) -> tuple[float, float]:
    b = world.city.bounds
    return (b.min_lat + b.max_lat) / 2.0, (b.min_lon + b.max_lon) / 2.0


def _own_series(world: CityWorld, code: str, base_mw: float, noise_key: int) -> SeriesLoad:
    ba = world.ba
    return SeriesLoad(code=code, base_mw=base_mw, cool_per_c=ba.cool_per_c,
                      heat_per_c=ba.heat_per_c, balance_c=ba.balance_c, peak_scale=1.0,
                      weekend_depth=1.0, clock_shift_h=0.0, temp_offset_c=0.0,
                      own_weather_sd_c=0.0, noise=OWN_LOAD_NOISE, noise_key=noise_key,
                      temp_key=0)


def series_loads(world: CityWorld) -> list[SeriesLoad]:
    """One SeriesLoad per series of the city, in core.subregions.series_ids order.

    The city's own series has the BA's response and no weather of its own; the others draw
    theirs from stable keys of (seed, parent BA, subregion code), so they are the same for
    every city of the same parent.
    """
    city, ba = world.city, world.ba
    if not has_subregion(city):
        return [_own_series(world, CITY_SERIES, ba.base_mw, world.city_key("load"))]
    parent = str(city.eia_respondent)
    by_code = {s.code: s for s in subregions(parent)}
    lat0, lon0 = _city_centre(world)
    loads = []
    for i, code in enumerate(series_ids(city)):
        sub = by_code[code]
        key = stable_key(world.seed, parent, code, "load-character")
        noise_key = stable_key(world.seed, parent, code, "load")
        if i == 0:
            loads.append(_own_series(world, code, sub.share * ba.base_mw, noise_key))
            continue
        u = [float(x) for x in uniform(key, np.arange(7))]
        km = haversine_km(lat0, lon0, sub.lat, sub.lon)
        loads.append(SeriesLoad(
            code=code, base_mw=sub.share * ba.base_mw,
            cool_per_c=ba.cool_per_c * (1.0 + RESPONSE_SPREAD * (2.0 * u[0] - 1.0)),
            heat_per_c=ba.heat_per_c * (1.0 + RESPONSE_SPREAD * (2.0 * u[1] - 1.0)),
            balance_c=ba.balance_c + 2.0 * (u[2] - 0.5),
            peak_scale=0.85 + 0.3 * u[3], weekend_depth=0.7 + 0.5 * u[4],
            clock_shift_h=(sub.lon - lon0) / 15.0,
            temp_offset_c=-LAPSE_PER_DEG_LAT_C * (sub.lat - lat0) + 1.5 * (u[5] - 0.5),
            own_weather_sd_c=min(OWN_WEATHER_MAX_SD_C, 0.5 + km / OWN_WEATHER_KM_PER_C),
            noise=LOAD_NOISE[0] + (LOAD_NOISE[1] - LOAD_NOISE[0]) * u[6],
            noise_key=noise_key, temp_key=stable_key(world.seed, parent, code, "temp")))
    return loads


def _param(loads: list[SeriesLoad], name: str) -> np.ndarray:
    return np.array([getattr(s, name) for s in loads], dtype=float)[None, :]


def series_temperature(loads: list[SeriesLoad], city_temperature: np.ndarray, grid: TimeGrid
                       ) -> np.ndarray:
    """(times, series) °C each series feels: the city's, shifted and with its own weather."""
    keys = np.array([s.temp_key for s in loads], dtype=np.uint64)[None, :]
    own = smooth_noise(keys, grid.epoch_h, 36.0) * _param(loads, "own_weather_sd_c")
    return city_temperature + _param(loads, "temp_offset_c") + own


def load_shape(local_hour: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    """The BA's load relative to its daily mean, by local clock hour and weekend flag."""
    hours = np.arange(25.0)
    weekday = np.interp(local_hour, hours, WEEKDAY_SHAPE)
    return np.where(weekend > 0.5, np.interp(local_hour, hours, WEEKEND_SHAPE), weekday)


def series_shape(loads: list[SeriesLoad], grid: TimeGrid) -> np.ndarray:
    """(times, series) each series' own mix of the weekday/weekend shapes on its own clock."""
    hour = np.mod(grid.local_hour + _param(loads, "clock_shift_h"), 24.0)
    hours = np.arange(25.0)
    weekday = np.interp(hour.ravel(), hours, WEEKDAY_SHAPE).reshape(hour.shape)
    weekend = np.interp(hour.ravel(), hours, WEEKEND_SHAPE).reshape(hour.shape)
    shape = weekday + _param(loads, "weekend_depth") * grid.weekend * (weekend - weekday)
    return SHAPE_MEAN + _param(loads, "peak_scale") * (shape - SHAPE_MEAN)


def _softplus(x: np.ndarray) -> np.ndarray:
    return SOFTNESS_C * np.logaddexp(0.0, x / SOFTNESS_C)


def expected_load(loads: list[SeriesLoad], ba: BalancingArea, temperature: np.ndarray,
                  shape: np.ndarray, doy: np.ndarray) -> np.ndarray:
    """(times, series) MW the load model expects at these temperatures: no noise, no events.

    The BA's seasonal offsets (its hinterland vs the city, e.g. California's hot interior)
    shift every series' driving temperature.
    """
    summer = summer_weight(doy)
    driver = temperature + ba.winter_offset_c + (ba.summer_offset_c - ba.winter_offset_c) * summer
    balance = _param(loads, "balance_c")
    cooling = COOLING_CAP_C * np.tanh(_softplus(driver - balance) / COOLING_CAP_C)
    response = (_param(loads, "cool_per_c") * cooling
                + _param(loads, "heat_per_c") * _softplus(balance - driver))
    return _param(loads, "base_mw") * shape * (1.0 + response)


def df_issue_times(times: list[datetime], timezone: str) -> list[datetime]:
    """Per target time, the issue hour (UTC) of the weather forecast EIA's DF is made from:
    10:00 local on the previous local day (floored to the UTC hour)."""
    tz = ZoneInfo(timezone)
    by_day: dict[date, datetime] = {}
    out = []
    for t in times:
        day = t.astimezone(tz).date()
        if day not in by_day:
            issued = datetime.combine(day - timedelta(days=1), time(DF_ISSUE_LOCAL_HOUR), tz)
            by_day[day] = issued.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        out.append(by_day[day])
    return out


def forecast_city_temperature(world: CityWorld, times: list[datetime]) -> np.ndarray:
    """(times, 1) the city temperature EIA's DF for each time was made from.

    One temperature_forecasts call over the distinct issue hours; a target between hours is
    interpolated along its issuance (an hourly target is read as issued).
    """
    issues = df_issue_times(times, world.city.timezone)
    distinct = sorted(set(issues))
    forecasts = city_forecast(world, temperature_forecasts(world, distinct))  # [issues, hours]
    row = {issued: k for k, issued in enumerate(distinct)}
    k = np.array([row[i] for i in issues])
    lead = np.array([(t - i).total_seconds() / 3600.0 for t, i in zip(times, issues,
                                                                           strict=True)])
    j0 = np.floor(lead).astype(int)
    j1 = np.minimum(j0 + 1, forecasts.shape[1] - 1)
    frac = lead - j0
    return (forecasts[k, j0] * (1.0 - frac) + forecasts[k, j1] * frac)[:, None]


@dataclass(frozen=True)
class GridLoad:
    """Every series and the BA over one TimeGrid, in MW."""

    codes: list[str]
    series: np.ndarray  # (times, series)
    city: np.ndarray  # (times, 1): the city's own series (its demand)
    ba_actual: np.ndarray  # (times, 1)
    ba_forecast: np.ndarray  # (times, 1): EIA's day-ahead forecast


def grid_load(world: CityWorld, grid: TimeGrid) -> GridLoad:
    """Actual load of every series, the BA, and the BA's day-ahead forecast over `grid`."""
    loads = series_loads(world)
    city_temp = world.city_temperature(grid)
    stress = world.event_field(grid, "grid_stress")[:, :1]
    temperature = series_temperature(loads, city_temp, grid)
    shape = series_shape(loads, grid)
    expected = expected_load(loads, world.ba, temperature, shape, grid.doy)
    keys = np.array([s.noise_key for s in loads], dtype=np.uint64)[None, :]
    noise = _param(loads, "noise") * smooth_noise(keys, grid.epoch_h, LOAD_NOISE_SPACING_H)
    actual = expected * (1.0 + noise)
    actual[:, :1] *= 1.0 + stress

    # the forecast misses what the weather forecast missed: every series shares the city's error
    forecast_temp = temperature + (forecast_city_temperature(world, grid.times) - city_temp)
    planned = expected_load(loads, world.ba, forecast_temp, shape, grid.doy)
    planned = planned.sum(axis=1, keepdims=True)
    t = grid.epoch_h
    error = (DF_ERROR_FAST * smooth_noise(world.city_key("df-error"), t, 8.0)
             + DF_ERROR_SLOW * smooth_noise(world.city_key("df-bias"), t, 72.0))
    ba_actual = actual.sum(axis=1, keepdims=True)
    if has_subregion(world.city):
        city = actual[:, :1]
        series = actual
    else:
        city = actual * world.city.ba_share
        series = city
    return GridLoad(codes=[s.code for s in loads], series=series, city=city,
                    ba_actual=ba_actual, ba_forecast=planned * (1.0 + error))


def generate(world: CityWorld, start: datetime, end: datetime,
             ingested_at: datetime) -> list[dict[str, Any]]:
    times = observation_times(start, end, CADENCE_MIN["power"])
    if not times:
        return []
    load = grid_load(world, time_grid(times, world.city.timezone))
    series = np.round(load.series, 1)
    city = series[:, :1]
    weights = np.array([z.weight for z in world.city.zones])[None, :]
    n = len(world.zone_ids)
    per_time = [dict(zip(load.codes, row, strict=True)) for row in series.tolist()]
    observed, zones = zone_time_keys(times, world.zone_ids)
    base = {**common_fields(world.city.city_id, ingested_at),
            "respondent": world.city.eia_respondent or SIMULATED_RESPONDENT,
            "subba": load.codes[0], "demand_method": DEMAND_METHOD}
    return [
        {**base, "zone_id": z, "observed_at": o, "ba_demand_mw": a, "ba_forecast_mw": f,
         "city_demand_mw": c, "series_mw": s, "demand_mw": d}
        for z, o, a, f, c, s, d in zip(
            zones, observed, column(np.repeat(load.ba_actual, n, axis=1), 1),
            column(np.repeat(load.ba_forecast, n, axis=1), 1),
            column(np.repeat(city, n, axis=1), 1), [s for s in per_time for _ in range(n)],
            column(city * weights, 3), strict=True)
    ]
