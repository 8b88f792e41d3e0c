"""Simulated power_demand: a balancing authority's load (EIA 'D') and day-ahead forecast
('DF'), apportioned to zones as ba_demand x city.ba_share x zone.weight (docs/architecture.md §4).

Load = base x daily/weekly shape x (1 + heating/cooling response, U-shaped around the balance
temperature) x small noise; grid-stress events add 10-20% that the forecast did not expect.
The forecast misses the actual by a persistent ~3% error (MAPE ~2-4%).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from core.vocabulary import CADENCE_MIN
from ingest.simulator.climate import summer_weight
from ingest.simulator.clock import TimeGrid, observation_times, time_grid
from ingest.simulator.noise import smooth_noise
from ingest.simulator.records import column, common_fields, zone_time_keys
from ingest.simulator.world import CityWorld

# load relative to the daily mean, by local hour 0..24 (24 repeats 0 so days join smoothly)
WEEKDAY_SHAPE = np.array([0.80, 0.76, 0.74, 0.73, 0.73, 0.76, 0.83, 0.91, 0.96, 0.99, 1.01,
                          1.02, 1.03, 1.03, 1.04, 1.05, 1.07, 1.10, 1.12, 1.11, 1.08, 1.03,
                          0.95, 0.87, 0.80])
WEEKEND_SHAPE = np.array([0.80, 0.76, 0.73, 0.72, 0.71, 0.71, 0.73, 0.76, 0.81, 0.86, 0.90,
                          0.92, 0.93, 0.93, 0.93, 0.94, 0.96, 0.99, 1.02, 1.02, 1.00, 0.96,
                          0.90, 0.85, 0.80])
SOFTNESS_C = 2.0  # how gradually heating/cooling switch on around the balance temperature
COOLING_CAP_C = 15.0  # air conditioning saturates: most of it is already on in a heat wave


def load_shape(local_hour: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    hours = np.arange(25.0)
    weekday = np.interp(local_hour, hours, WEEKDAY_SHAPE)
    return np.where(weekend > 0.5, np.interp(local_hour, hours, WEEKEND_SHAPE), weekday)


def _softplus(x: np.ndarray) -> np.ndarray:
    return SOFTNESS_C * np.logaddexp(0.0, x / SOFTNESS_C)


def ba_load(world: CityWorld, grid: TimeGrid) -> tuple[np.ndarray, np.ndarray]:
    """(actual, day-ahead forecast) BA demand in MW, each shaped (times, 1)."""
    ba, t = world.ba, grid.epoch_h
    summer = summer_weight(grid.doy)
    driver = (world.city_temperature(grid) + ba.winter_offset_c
              + (ba.summer_offset_c - ba.winter_offset_c) * summer)
    cooling = COOLING_CAP_C * np.tanh(_softplus(driver - ba.balance_c) / COOLING_CAP_C)
    response = ba.cool_per_c * cooling + ba.heat_per_c * _softplus(ba.balance_c - driver)
    expected = ba.base_mw * load_shape(grid.local_hour, grid.weekend) * (1.0 + response)
    unstressed = expected * (1.0 + 0.012 * smooth_noise(world.city_key("load"), t, 6.0))
    stress = world.event_field(grid, "grid_stress")[:, :1]
    actual = unstressed * (1.0 + stress)
    error = (0.030 * smooth_noise(world.city_key("df-error"), t, 8.0)
             + 0.012 * smooth_noise(world.city_key("df-bias"), t, 72.0))
    return actual, unstressed * (1.0 + error)


SIMULATED_RESPONDENT = "CITY"  # a city that is its own (simulated) balancing area


def generate(world: CityWorld, start: datetime, end: datetime,
             ingested_at: datetime) -> list[dict[str, Any]]:
    times = observation_times(start, end, CADENCE_MIN["power"])
    if not times:
        return []
    actual, forecast = ba_load(world, time_grid(times, world.city.timezone))
    actual = np.round(actual, 1)
    weights = np.array([z.weight for z in world.city.zones])[None, :]
    demand = actual * world.city.ba_share * weights
    n = len(world.zone_ids)
    observed, zones = zone_time_keys(times, world.zone_ids)
    base = {**common_fields(world.city.city_id, ingested_at),
            "respondent": world.city.eia_respondent or SIMULATED_RESPONDENT}
    return [
        {**base, "zone_id": z, "observed_at": o, "ba_demand_mw": a, "ba_forecast_mw": f,
         "demand_mw": d}
        for z, o, a, f, d in zip(
            zones, observed, column(np.repeat(actual, n, axis=1), 1),
            column(np.repeat(forecast, n, axis=1), 1), column(demand, 3), strict=True)
    ]
