"""When observations exist, and the city-local calendar features the models are driven by.

Hourly on the hour over any window; a window shorter than LIVE_WINDOW (a live cycle) also gets
points at the source's own cadence, so the live stream moves between hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

LIVE_WINDOW = timedelta(hours=3)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
YEAR_DAYS = 365.2425



def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("naive datetime; the simulator works in timezone-aware UTC")
    return ts.astimezone(UTC)


def _aligned(start: datetime, end: datetime, step_s: int) -> list[datetime]:
    """Every multiple of step_s seconds since the epoch in [start, end)."""
    first = -(-int((start - EPOCH).total_seconds()) // step_s) * step_s
    last = int(np.ceil((end - EPOCH).total_seconds()))
    return [EPOCH + timedelta(seconds=s) for s in range(first, last, step_s)]


def observation_times(start: datetime, end: datetime, cadence_min: int) -> list[datetime]:
    """Hourly points in [start, end); at `cadence_min` when the window is a live one."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    live = end - start < LIVE_WINDOW
    step = cadence_min * 60 if live else 3600
    if 3600 % step:
        raise ValueError(f"cadence {cadence_min} min does not divide an hour")
    return _aligned(start, end, step)


def hour_starts(start: datetime, end: datetime) -> list[datetime]:
    """Starts of every whole UTC hour that overlaps [start, end)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    return _aligned(start.replace(minute=0, second=0, microsecond=0), end, 3600)


@dataclass(frozen=True)
class TimeGrid:
    """Timestamps plus their features; arrays are shaped (T, 1) to broadcast against zones."""

    times: list[datetime]
    epoch_h: np.ndarray      # hours since 1970-01-01 UTC (continuous)
    local_hour: np.ndarray   # wall-clock hour in the city, fractional (0..24)
    weekend: np.ndarray      # 1.0 on local Saturday/Sunday
    doy: np.ndarray          # day of the year, continuous (no jump at New Year), for seasons

    @property
    def size(self) -> int:
        return len(self.times)


def time_grid(times: list[datetime], timezone: str) -> TimeGrid:
    """Features of `times` in the city's timezone (DST-aware: traffic follows the clock)."""
    tz = ZoneInfo(timezone)
    n = len(times)
    epoch_s = np.fromiter(((t - EPOCH).total_seconds() for t in times), float, n)
    local_hour = np.empty(n)
    weekend = np.empty(n)
    for i, t in enumerate(times):
        lt = t.astimezone(tz)
        local_hour[i] = lt.hour + lt.minute / 60.0 + lt.second / 3600.0
        weekend[i] = 1.0 if lt.weekday() >= 5 else 0.0
    col = (n, 1)
    doy = np.mod(epoch_s / 86400.0, YEAR_DAYS)  # 1970-01-01 is day 0; drifts < 1 day
    return TimeGrid(times=times, epoch_h=(epoch_s / 3600.0).reshape(col),
                    local_hour=local_hour.reshape(col), weekend=weekend.reshape(col),
                    doy=doy.reshape(col))


def daily_bump(local_hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A Gaussian bump around `centre` o'clock that wraps around midnight."""
    d = np.mod(local_hour - centre + 12.0, 24.0) - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def daily_window(local_hour: np.ndarray, on: float, off: float, soft: float) -> np.ndarray:
    """~1 between `on` and `off` o'clock, ~0 outside, logistic edges `soft` hours wide."""
    rise = 1.0 + np.exp(-(local_hour - on) / soft)
    fall = 1.0 + np.exp(-(off - local_hour) / soft)
    return 1.0 / (rise * fall)
