"""Raw frames -> hourly zone frame: means, traffic over links, incident counts, type counts."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest

from pipeline.history import FRAME_COLUMNS
from pipeline.processing.hourly import (
    hour_range,
    hourly_zone_frame,
    incidents_by_type,
    sanitise_key,
)
from pipeline.processing.raw_frames import raw_frames
from tests.unit.processing.factories import T0, incident, toy_city, traffic, weather

M = timedelta(minutes=1)
H = timedelta(hours=1)


def _row(frame: pd.DataFrame, zone_id: str, ts) -> pd.Series:
    hit = frame[(frame["zone_id"] == zone_id) & (frame["ts"] == pd.Timestamp(ts))]
    assert len(hit) == 1
    return hit.iloc[0]


def _frame(raw: dict, start=T0, end=T0 + 3 * H) -> pd.DataFrame:
    city = toy_city()
    return hourly_zone_frame(raw_frames(raw, city), city, start, end)


def test_grid_has_every_zone_and_hour_with_the_history_columns() -> None:
    frame = _frame({"raw_weather": [weather("z01", T0)]})
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert len(frame) == 3 * 3  # 3 zones x 3 hours
    assert frame["ts"].dt.tz is not None


def test_sub_hourly_observations_are_averaged_within_their_hour() -> None:
    raw = {"raw_weather": [weather("z01", T0 + 5 * M, temperature_c=10.0),
                           weather("z01", T0 + 35 * M, temperature_c=14.0),
                           weather("z01", T0 + H + 5 * M, temperature_c=30.0)]}
    frame = _frame(raw)
    assert _row(frame, "z01", T0)["temperature_c"] == pytest.approx(12.0)
    assert _row(frame, "z01", T0 + H)["temperature_c"] == pytest.approx(30.0)


def test_missing_observations_stay_missing_not_zero() -> None:
    frame = _frame({"raw_weather": [weather("z01", T0, precipitation_mm=None)]})
    assert math.isnan(_row(frame, "z01", T0)["precipitation_mm"])
    assert math.isnan(_row(frame, "z02", T0)["temperature_c"])
    assert math.isnan(_row(frame, "z01", T0)["us_aqi"])


def test_traffic_is_averaged_per_link_then_over_links() -> None:
    # link a reports four times at 0.8, link b once at 0.2: the zone is 0.5, not 0.68
    raw = {"raw_traffic": [traffic("z01", "a", T0 + i * 10 * M, congestion=0.8)
                           for i in range(4)] + [traffic("z01", "b", T0, congestion=0.2)]}
    assert _row(_frame(raw), "z01", T0)["congestion"] == pytest.approx(0.5)


def test_incidents_count_in_their_created_hour_zero_until_last_report_then_unknown() -> None:
    raw = {"raw_311": [
        incident("z01", "a", T0 + 10 * M),
        incident("z01", "b", T0 + 50 * M),
        incident("z02", "c", T0 + H + 5 * M),
    ]}
    frame = _frame(raw)
    assert _row(frame, "z01", T0)["incident_count"] == 2
    assert _row(frame, "z02", T0 + H)["incident_count"] == 1
    assert _row(frame, "z03", T0)["incident_count"] == 0  # the source reported past it
    # the newest 311 report is from hour 1: hour 2 is unknown, not zero
    assert math.isnan(_row(frame, "z01", T0 + 2 * H)["incident_count"])


def test_no_311_data_means_unknown_counts() -> None:
    frame = _frame({"raw_weather": [weather("z01", T0)]})
    assert frame["incident_count"].isna().all()


def test_partial_first_hour_is_left_out() -> None:
    hours = hour_range(T0 + 30 * M, T0 + 3 * H)
    assert list(hours) == [pd.Timestamp(T0 + H), pd.Timestamp(T0 + 2 * H)]


def test_complaint_types_are_counted_per_created_day_with_safe_keys() -> None:
    city = toy_city()
    raw = {"raw_311": [
        incident("z01", "a", T0 + H, complaint_type="St. Light Out"),
        incident("z02", "b", T0 + 2 * H, complaint_type="St. Light Out"),
        incident("z02", "c", T0 + 3 * H, complaint_type="$where"),
        incident("z03", "d", T0 + 25 * H, complaint_type="Noise"),
    ]}
    counts = incidents_by_type(raw_frames(raw, city).incidents, T0, T0 + 48 * H)
    day1, day2 = pd.Timestamp(T0), pd.Timestamp(T0 + 24 * H)
    assert counts[day1] == {"St Light Out": 2, "where": 1}
    assert counts[day2] == {"Noise": 1}
    for per_day in counts.values():
        assert all("." not in k and not k.startswith("$") for k in per_day)


def test_sanitise_key_never_returns_an_empty_or_unsafe_key() -> None:
    assert sanitise_key("...") == "Unknown"
    assert sanitise_key("$$a.b") == "ab"
    assert len(sanitise_key("x" * 500)) <= 100
