"""Injected events (heat waves, cold snaps, grid stress, AQI spikes) so anomalies exist.

Time is cut into fixed blocks per event kind, aligned to the epoch; each block holds at most
one event, drawn from the block's own counter-based random numbers and ending inside the
block. So whether an event exists, and its exact shape, depends only on (seed, city, kind,
block): every window sees the same events, and events of one kind never overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from core.catalog import City
from ingest.simulator.clock import EPOCH
from ingest.simulator.noise import stable_key, uniform

ALL_MONTHS = frozenset(range(1, 13))


@dataclass(frozen=True)
class EventSpec:
    """How often, when, how long and how strong one kind of event is."""

    kind: str
    block_days: int
    probability: float              # chance that a block holds one event
    months: frozenset[int]          # months (northern-hemisphere) in which a block may hold one
    hours: tuple[int, int]          # duration range
    magnitude: tuple[float, float]  # strength range, in `unit`
    unit: str
    ramp_h: float                   # raised-cosine ramp in and out, inside [start, end)
    local_start_hour: tuple[int, int]
    max_zones: int | None = None    # None: the whole city


SPECS: dict[str, EventSpec] = {
    s.kind: s
    for s in (
        EventSpec("heat_wave", 15, 0.55, frozenset({5, 6, 7, 8, 9}), (48, 96), (6.0, 10.0),
                  "degC added to temperature", 12.0, (8, 12)),
        EventSpec("cold_snap", 15, 0.45, frozenset({11, 12, 1, 2, 3}), (36, 72), (6.0, 10.0),
                  "degC taken from temperature", 10.0, (0, 6)),
        EventSpec("grid_stress", 12, 0.5, ALL_MONTHS, (3, 6), (0.10, 0.20),
                  "fraction added to BA demand", 0.75, (14, 19)),
        EventSpec("aqi_spike", 12, 0.5, ALL_MONTHS, (4, 10), (3.0, 5.0),
                  "factor on pm2_5", 1.0, (6, 18), max_zones=3),
    )
}
EVENT_KINDS = tuple(SPECS)


@dataclass(frozen=True)
class SimEvent:
    """One injected event; `zone_ids` are the zones it touches (all zones when city-wide)."""

    kind: str
    city_id: str
    start: datetime
    end: datetime
    magnitude: float
    unit: str
    zone_ids: tuple[str, ...]
    ramp_h: float

    def envelope(self, epoch_h: np.ndarray) -> np.ndarray:
        """0 outside [start, end), 1 in the plateau, smooth raised-cosine ramps between."""
        s = (self.start - EPOCH).total_seconds() / 3600.0
        e = (self.end - EPOCH).total_seconds() / 3600.0
        up = np.clip((epoch_h - s) / self.ramp_h, 0.0, 1.0)
        down = np.clip((e - epoch_h) / self.ramp_h, 0.0, 1.0)
        return (0.5 - 0.5 * np.cos(np.pi * up)) * (0.5 - 0.5 * np.cos(np.pi * down))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "city_id": self.city_id, "start": self.start,
                "end": self.end, "magnitude": self.magnitude, "unit": self.unit,
                "zone_ids": list(self.zone_ids)}


def _nearest_zones(city: City, centre: int, n: int) -> tuple[str, ...]:
    """The n zones closest to zone `centre` (itself first): a spike is local, not scattered."""
    c = city.zones[centre]
    scale = math.cos(math.radians(c.lat))
    dist = [((z.lat - c.lat) ** 2 + ((z.lon - c.lon) * scale) ** 2, i)
            for i, z in enumerate(city.zones)]
    return tuple(city.zones[i].zone_id for _, i in sorted(dist)[:n])


def _block_event(city: City, spec: EventSpec, block: int, seed: int) -> SimEvent | None:
    key = stable_key(seed, city.city_id, "event", spec.kind)
    u = uniform(key, block, np.arange(7))
    block_start = EPOCH + timedelta(days=block * spec.block_days)
    month = block_start.month
    if city.bounds.min_lat < 0:  # southern hemisphere: seasons flip
        month = (month + 5) % 12 + 1
    if month not in spec.months or u[0] >= spec.probability:
        return None
    lo, hi = spec.hours
    hours = int(round(lo + u[1] * (hi - lo)))
    spare_days = spec.block_days - 2 - math.ceil(hours / 24)
    day = block_start.date() + timedelta(days=int(u[2] * (spare_days + 1)))
    h_lo, h_hi = spec.local_start_hour
    local = datetime.combine(day, time(h_lo + int(u[3] * (h_hi - h_lo + 1))),
                             tzinfo=ZoneInfo(city.timezone))
    start = local.astimezone(UTC)
    m_lo, m_hi = spec.magnitude
    magnitude = round(m_lo + u[4] * (m_hi - m_lo), 3)
    if spec.max_zones is None:
        zone_ids = tuple(z.zone_id for z in city.zones)
    else:
        count = 1 + int(u[6] * spec.max_zones)
        zone_ids = _nearest_zones(city, int(u[5] * len(city.zones)), count)
    return SimEvent(kind=spec.kind, city_id=city.city_id, start=start,
                    end=start + timedelta(hours=hours), magnitude=magnitude, unit=spec.unit,
                    zone_ids=zone_ids, ramp_h=spec.ramp_h)


def list_events(city: City, start: datetime, end: datetime, seed: int = 0,
                kinds: tuple[str, ...] = EVENT_KINDS) -> list[SimEvent]:
    """Every injected event of `city` that overlaps [start, end), sorted by start."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("naive datetime; the simulator works in timezone-aware UTC")
    found: list[SimEvent] = []
    for kind in kinds:
        spec = SPECS[kind]
        span = timedelta(days=spec.block_days)
        first = math.floor((start - EPOCH - span) / span)
        last = math.floor((end - EPOCH) / span)
        for block in range(first, last + 1):
            event = _block_event(city, spec, block, seed)
            if event is not None and event.end > start and event.start < end:
                found.append(event)
    return sorted(found, key=lambda e: (e.start, e.kind))
