"""Simulated weather_obs: temperature, humidity, wind and precipitation per zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.vocabulary import CADENCE_MIN
from ingest.simulator.clock import observation_times, time_grid
from ingest.simulator.records import column, common_fields, zone_time_keys
from ingest.simulator.world import CityWorld


def generate(world: CityWorld, start: datetime, end: datetime,
             ingested_at: datetime) -> list[dict[str, Any]]:
    times = observation_times(start, end, CADENCE_MIN["weather"])
    if not times:
        return []
    w = world.weather(time_grid(times, world.city.timezone))
    observed, zones = zone_time_keys(times, world.zone_ids)
    base = common_fields(world.city.city_id, ingested_at)
    return [
        {**base, "zone_id": z, "observed_at": o, "temperature_c": t,
         "relative_humidity_pct": rh, "wind_speed_kmh": ws, "precipitation_mm": p}
        for z, o, t, rh, ws, p in zip(
            zones, observed, column(w.temperature_c, 1), column(w.relative_humidity_pct, 0),
            column(w.wind_speed_kmh, 1), column(w.precipitation_mm, 1), strict=True)
    ]
