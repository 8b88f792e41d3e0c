"""Simulated aqi_stream: PM2.5, PM10, ozone, NO2 (ug/m3) and the US AQI from PM2.5.

Pollution = regional background + local traffic, concentrated by low wind and the morning
inversion, washed out by rain; ozone builds on warm sunny afternoons. AQI-spike events
multiply PM2.5 (and PM10) in a few neighbouring zones for some hours.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from core.vocabulary import CADENCE_MIN
from ingest.simulator.climate import summer_weight
from ingest.simulator.clock import daily_bump, observation_times, time_grid
from ingest.simulator.noise import smooth_noise
from ingest.simulator.records import column, common_fields, zone_time_keys
from ingest.simulator.world import CityWorld

# EPA PM2.5 breakpoints (2024 revision): (C_lo, C_hi, I_lo, I_hi), concentration in ug/m3
PM25_BREAKPOINTS = (
    (0.0, 9.0, 0, 50),
    (9.1, 35.4, 51, 100),
    (35.5, 55.4, 101, 150),
    (55.5, 125.4, 151, 200),
    (125.5, 225.4, 201, 300),
    (225.5, 325.4, 301, 500),
)


def us_aqi_from_pm25(pm25: np.ndarray) -> np.ndarray:
    """EPA piecewise-linear AQI of PM2.5, concentration truncated to 0.1 ug/m3; capped at 500."""
    c = np.floor(np.asarray(pm25, dtype=float) * 10.0 + 1e-9) / 10.0
    out = np.full(c.shape, 500.0)
    for c_lo, c_hi, i_lo, i_hi in reversed(PM25_BREAKPOINTS):
        inside = c <= c_hi
        out = np.where(inside, (i_hi - i_lo) / (c_hi - c_lo) * (c - c_lo) + i_lo, out)
    return np.rint(np.clip(out, 0.0, 500.0)).astype(int)


def generate(world: CityWorld, start: datetime, end: datetime,
             ingested_at: datetime) -> list[dict[str, Any]]:
    times = observation_times(start, end, CADENCE_MIN["aqi"])
    if not times:
        return []
    grid = time_grid(times, world.city.timezone)
    w = world.weather(grid)
    _, cloud = world.storm(grid)
    traffic = world.zone_congestion(grid)
    t, hour = grid.epoch_h, grid.local_hour

    dispersion = (14.0 / (w.wind_speed_kmh + 4.0)) ** 0.6
    inversion = 1.0 + 0.3 * daily_bump(hour, 6.0, 2.5)
    washout = 1.0 / (1.0 + 0.6 * w.precipitation_mm)
    regional = world.climate.pm25_ug * np.exp(
        0.45 * smooth_noise(world.city_key("pm-regional"), t, 36.0) - 0.1)
    local = 1.0 + 0.08 * smooth_noise(world.zone_keys("pm-local"), t, 2.0)
    spike = 1.0 + world.event_field(grid, "aqi_spike", offset=1.0)
    pm25 = ((regional * (0.85 + 0.3 * world.zone_static("pm")) + 9.0 * traffic)
            * dispersion * inversion * washout * local * spike)
    dry_wind = 0.12 * w.wind_speed_kmh * (w.precipitation_mm < 0.1)
    pm10 = pm25 * (1.5 + 0.3 * world.zone_static("pm10")) + 6.0 * traffic + dry_wind
    winter = 1.0 - summer_weight(grid.doy)  # less photolysis: NO2 lingers in winter
    no2 = ((14.0 + 60.0 * traffic * world.density) * (1.0 + 0.25 * winter)
           * dispersion * inversion * local)
    sun = daily_bump(hour, 15.0, 3.5) * (1.0 - 0.5 * cloud)
    warmth = 50.0 + 3.0 * np.maximum(w.temperature_c - 10.0, 0.0)
    ozone = warmth * (0.5 + 0.7 * sun) * (1.0 - 0.35 * traffic) * (
        1.0 + 0.1 * smooth_noise(world.city_key("ozone"), t, 12.0))

    observed, zones = zone_time_keys(times, world.zone_ids)
    base = common_fields(world.city.city_id, ingested_at)
    pm25_col = column(pm25, 1)
    aqi_col = us_aqi_from_pm25(np.array(pm25_col)).tolist()
    return [
        {**base, "zone_id": z, "observed_at": o, "us_aqi": a, "pm2_5": p25, "pm10": p10,
         "ozone": o3, "nitrogen_dioxide": n}
        for z, o, a, p25, p10, o3, n in zip(
            zones, observed, aqi_col, pm25_col, column(pm10, 1), column(np.maximum(ozone, 0), 1),
            column(no2, 1), strict=True)
    ]
