"""Deterministic, realistic simulator for every source kind (labelled source "simulated").

    records = simulate("weather", city, start, end, ingested_at)
    events = list_events(city, start, end)

Values are pure functions of (seed, city, zone, time): a live cycle and a 90-day backfill give
the same observation for the same instant. See world.py for the shared latent state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.catalog import City
from ingest.simulator import aqi, incidents, power, traffic, weather
from ingest.simulator.events import EVENT_KINDS, SimEvent, list_events
from ingest.simulator.world import CityWorld

Generator = Callable[[CityWorld, datetime, datetime, datetime], list[dict[str, Any]]]
GENERATORS: dict[str, Generator] = {
    "weather": weather.generate,
    "aqi": aqi.generate,
    "traffic": traffic.generate,
    "power": power.generate,
    "incidents": incidents.generate,
}
KINDS = tuple(GENERATORS)

__all__ = ["EVENT_KINDS", "KINDS", "CityWorld", "SimEvent", "list_events", "simulate"]


def simulate(kind: str, city: City, start: datetime, end: datetime, ingested_at: datetime,
             seed: int = 0, world: CityWorld | None = None) -> list[dict[str, Any]]:
    """Canonical records of `kind` for `city` observed in [start, end) (UTC-aware datetimes).

    Hourly on the hour; a window under 3 hours also gets the source's live cadence. Pass a
    `world` to reuse one across kinds (or to switch events off with with_events=False).
    """
    if kind not in GENERATORS:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {KINDS}")
    for name, ts in (("start", start), ("end", end), ("ingested_at", ingested_at)):
        if ts.tzinfo is None:
            raise ValueError(f"{name} is a naive datetime; use timezone-aware UTC")
    return GENERATORS[kind](world or CityWorld(city, seed), start, end, ingested_at)
