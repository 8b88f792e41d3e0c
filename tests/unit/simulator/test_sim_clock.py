"""Observation timestamps: hourly for backfills, the source cadence for live windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ingest.simulator.clock import hour_starts, observation_times, time_grid

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_long_window_is_hourly_on_the_hour() -> None:
    times = observation_times(T0 + timedelta(minutes=7), T0 + timedelta(days=2), 10)
    assert times[0] == T0 + timedelta(hours=1)
    assert len(times) == 47
    assert all(t.minute == 0 and t.second == 0 and t.tzinfo is not None for t in times)


def test_live_window_has_cadence_points_and_the_hours() -> None:
    start, end = T0 - timedelta(hours=2), T0 + timedelta(minutes=37)
    times = observation_times(start, end, 5)
    assert times[0] == start and times[-1] == T0 + timedelta(minutes=35)
    assert len(times) == 2 * 12 + 8
    assert {T0 - timedelta(hours=2), T0 - timedelta(hours=1), T0} <= set(times)
    assert all(start <= t < end for t in times)


def test_empty_and_naive_windows() -> None:
    assert observation_times(T0, T0, 10) == []
    with pytest.raises(ValueError):
        observation_times(datetime(2026, 1, 1), datetime(2026, 1, 2), 10)


def test_hour_starts_cover_partial_hours() -> None:
    hours = hour_starts(T0 + timedelta(minutes=50), T0 + timedelta(hours=1, minutes=5))
    assert hours == [T0, T0 + timedelta(hours=1)]


def test_time_grid_uses_city_local_clock() -> None:
    # 2026-07-04 (Saturday) 16:00 UTC is 12:00 in New York (EDT)
    grid = time_grid([datetime(2026, 7, 4, 16, 0, tzinfo=UTC),
                      datetime(2026, 7, 6, 16, 30, tzinfo=UTC)], "America/New_York")
    assert np.allclose(grid.local_hour[:, 0], [12.0, 12.5])
    assert grid.weekend[:, 0].tolist() == [1.0, 0.0]
