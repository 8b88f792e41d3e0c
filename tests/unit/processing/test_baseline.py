"""Zone yardsticks: high-day peak and typical 311 volume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.processing.baseline import zone_profiles
from tests.unit.processing.factories import T0, hourly_frame


def test_high_day_peak_is_the_90th_percentile_of_daily_peaks() -> None:
    # z01 peaks at 100, 110, ..., 140 over 5 days: a high day peaks near the top of that
    frame = hourly_frame(["z01"], T0, 24 * 5,
                         demand_mw=lambda ts, z: np.where(ts.hour == 18, 100 + 10 * ts.day
                                                          - 10 * T0.day, 50.0),
                         incident_count=2.0)
    profiles = zone_profiles(frame, pd.Timestamp(T0) + pd.Timedelta(days=5))
    expected = np.quantile([100, 110, 120, 130, 140], 0.9)
    assert profiles.loc["z01", "high_day_peak_mw"] == pytest.approx(expected)
    assert profiles.loc["z01", "typical_daily_incidents"] == pytest.approx(48.0)


def test_estimated_demand_and_thin_days_do_not_count() -> None:
    frame = hourly_frame(["z01"], T0, 24 * 5, demand_mw=100.0)
    frame["demand_estimated"] = False
    frame.loc[frame["ts"].dt.hour == 12, ["demand_mw", "demand_estimated"]] = [900.0, True]
    profiles = zone_profiles(frame, pd.Timestamp(T0) + pd.Timedelta(days=5))
    assert profiles.loc["z01", "high_day_peak_mw"] == pytest.approx(100.0)
    sparse = hourly_frame(["z01"], T0, 24 * 5, demand_mw=lambda ts, z: np.where(
        ts.hour < 6, 100.0, np.nan))
    assert np.isnan(zone_profiles(sparse, pd.Timestamp(T0) + pd.Timedelta(days=5))
                    .loc["z01", "high_day_peak_mw"])


def test_too_little_history_gives_no_yardstick() -> None:
    frame = hourly_frame(["z01"], T0, 24 * 2, demand_mw=100.0, incident_count=1.0)
    profiles = zone_profiles(frame, pd.Timestamp(T0) + pd.Timedelta(days=2))
    assert profiles.loc["z01"].isna().all()


def test_only_the_days_before_as_of_count() -> None:
    frame = hourly_frame(["z01"], T0, 24 * 10,
                         demand_mw=lambda ts, z: np.where(ts >= pd.Timestamp(T0)
                                                          + pd.Timedelta(days=5), 999.0, 100.0))
    profiles = zone_profiles(frame, pd.Timestamp(T0) + pd.Timedelta(days=5))
    assert profiles.loc["z01", "high_day_peak_mw"] == pytest.approx(100.0)
