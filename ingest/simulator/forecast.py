"""Simulated weather forecasts: what a forecast issued at hour i said about hour t.

A forecast is the world's actual temperature plus an error that grows with the lead time
t - i: about 0.8 °C for the next hour, 1.8 °C a day ahead and 2.8 °C two days ahead (typical
of 2 m temperature forecasts). The error is smooth along the target hours of one issuance (a
front arrives early or late for hours on end) and partly shared by neighbouring issuances
(forecasts are revised gradually, not redrawn each hour). Pure functions of (seed, city, issue
hour, target hour), like the rest of the simulator, so a backfill and a live cycle agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from core.vocabulary import FORECAST_HOURS
from ingest.simulator.clock import time_grid
from ingest.simulator.noise import smooth_noise
from ingest.simulator.records import SOURCE
from ingest.simulator.world import CityWorld
from ingest.weather_forecast import forecast_documents, forecast_record

BASE_SD_C = 0.8
SD_PER_HOUR_C = 0.042
_SMOOTH_SD = 0.8  # smooth_noise has std ~0.8 between knots; errors are scaled back to 1


def error_sd(lead_h: np.ndarray) -> np.ndarray:
    """Standard deviation (°C) of the forecast error at `lead_h` hours ahead."""
    return BASE_SD_C + SD_PER_HOUR_C * np.maximum(np.asarray(lead_h, dtype=float), 0.0)


def forecast_errors(world: CityWorld, issue_epoch_h: np.ndarray, target_epoch_h: np.ndarray
                    ) -> np.ndarray:
    """Error (°C) of the forecast issued at each issue hour for each target hour (broadcast).

    Two parts: a slow one shared by issuances of the same 12 h (a forecast run's view of the
    coming weather), and a per-issuance revision; both smooth over target hours.
    """
    issue = np.asarray(issue_epoch_h, dtype=float)
    target = np.asarray(target_epoch_h, dtype=float)
    lead = target - issue
    run = np.floor(issue / 12.0)
    run_key = np.vectorize(lambda r: world.city_key(f"fc-run-{int(r)}"), otypes=[np.uint64])(run)
    hour_key = np.vectorize(lambda h: world.city_key(f"fc-issue-{int(h)}"),
                            otypes=[np.uint64])(issue)
    shared = smooth_noise(run_key, target, 10.0)
    revision = smooth_noise(hour_key, target, 6.0)
    return error_sd(lead) * (0.85 * shared + 0.53 * revision) / _SMOOTH_SD


def temperature_forecasts(world: CityWorld, issued: list[datetime],
                          hours: int = FORECAST_HOURS) -> np.ndarray:
    """[issues, hours, zones] °C: the forecasts issued at each hour in `issued`.

    Target j of issuance k is issued[k] + j hours. The actual weather is computed once on the
    grid spanning every target, so a 90-day backfill costs one weather evaluation.
    """
    if not issued:
        return np.zeros((0, hours, len(world.zone_ids)))
    first, last = min(issued), max(issued) + timedelta(hours=hours - 1)
    span = int((last - first).total_seconds() // 3600) + 1
    grid_times = [first + timedelta(hours=h) for h in range(span)]
    actual = world.weather(time_grid(grid_times, world.city.timezone)).temperature_c
    offsets = np.array([int((t - first).total_seconds() // 3600) for t in issued])
    index = offsets[:, None] + np.arange(hours)[None, :]  # [issues, hours]
    epoch0 = first.timestamp() / 3600.0
    issue_h = (epoch0 + offsets)[:, None]
    target_h = epoch0 + index
    error = forecast_errors(world, issue_h, target_h)  # [issues, hours]
    zone_spread = 0.3 * smooth_noise(world.zone_keys("fc-zone"), target_h[..., None], 8.0)
    return actual[index] + error[..., None] + zone_spread * error_sd(target_h - issue_h)[..., None]


def city_forecast(world: CityWorld, zone_values: np.ndarray) -> np.ndarray:
    """Population-weighted city mean of [..., zones] forecasts (what drives load)."""
    w = world.population / world.population.sum()
    return (np.asarray(zone_values) * w).sum(axis=-1)


def forecast_records(world: CityWorld, issued: list[datetime],
                     ingested_at: datetime) -> list[dict[str, Any]]:
    """Canonical weather_forecast records of the issuances in `issued` (a live cycle: one)."""
    values = temperature_forecasts(world, issued)
    return [forecast_record(city_id=world.city.city_id, source=SOURCE, issued_at=at,
                            ingested_at=ingested_at, zone_ids=world.zone_ids,
                            zone_values=values[k].T, weights=world.population)
            for k, at in enumerate(issued)]


def forecast_store_documents(world: CityWorld, issued: list[datetime],
                             ingested_at: datetime) -> list[dict[str, Any]]:
    """Stored weather_forecasts documents of every issuance in `issued` (the backfill: one
    temperature_forecasts call for all of them)."""
    return forecast_documents(city_id=world.city.city_id, source=SOURCE, issued=issued,
                              ingested_at=ingested_at, zone_ids=world.zone_ids,
                              zone_values=temperature_forecasts(world, issued),
                              weights=world.population)
