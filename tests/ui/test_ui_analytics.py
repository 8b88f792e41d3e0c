"""ui.analytics: time ranges, the shown series (= the CSV), fit, heatmap, anomalies, 311."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ui.analytics import (
    anomalies_frame,
    fit_line,
    incidents_breakdown,
    series_frame,
    temperature_demand,
    time_range,
    to_csv,
    zone_hour_matrix,
)

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 28, 15, 20, tzinfo=UTC)
NAMES = {"z1": "Harlem", "z2": "Chelsea"}


def history(hours: int = 48) -> pd.DataFrame:
    ts = pd.date_range("2026-11-27T00:00Z", periods=hours, freq="h")
    rows = []
    for k, zone in enumerate(("z1", "z2")):
        rows.append(pd.DataFrame({"zone_id": zone, "ts": ts,
                                  "demand_mw": np.arange(hours, dtype=float) + 100 * k,
                                  "temperature_c": np.arange(hours) / 2.0,
                                  "congestion": 0.5}))
    return pd.concat(rows, ignore_index=True)


def test_preset_ranges_end_after_the_current_hour() -> None:
    start, end = time_range("24 h", NOW)
    assert end == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=24)
    assert time_range("30 d", NOW)[1] - time_range("30 d", NOW)[0] == timedelta(days=30)


def test_custom_range_is_whole_local_days_in_any_order() -> None:
    start, end = time_range("custom", NOW, (date(2026, 11, 27), date(2026, 11, 26)), NY)
    assert start == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # local midnight, EST
    assert end == datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        time_range("custom", NOW, None, NY)


def test_series_for_chosen_zones_in_local_time() -> None:
    shown = series_frame(history(), "demand_mw", ["z2"], NAMES, NY)
    assert list(shown.columns) == ["time", "zone", "Demand (MW)"]
    assert set(shown["zone"]) == {"Chelsea"}
    assert shown["Demand (MW)"].iloc[0] == 100.0
    assert str(shown["time"].dt.tz) == "America/New_York"
    assert shown["time"].iloc[0].hour == 19  # 00:00Z on 27 Nov = 19:00 EST on 26 Nov


def test_city_aggregate_sums_demand_and_averages_the_rest() -> None:
    total = series_frame(history(), "demand_mw", [], NAMES, NY)
    assert set(total["zone"]) == {"City total"}
    assert total["Demand (MW)"].iloc[0] == 100.0  # 0 + 100
    mean = series_frame(history(), "congestion", [], NAMES, NY)
    assert set(mean["zone"]) == {"City average"}
    assert mean["Congestion (%)"].iloc[0] == 50.0  # mean 0.5, shown as percent


def test_csv_round_trips_exactly_the_shown_table() -> None:
    shown = series_frame(history(), "demand_mw", ["z1", "z2"], NAMES, NY)
    back = pd.read_csv(io.BytesIO(to_csv(shown)))
    assert list(back.columns) == list(shown.columns)
    assert len(back) == len(shown)
    assert back["Demand (MW)"].tolist() == shown["Demand (MW)"].tolist()
    assert pd.to_datetime(back["time"], utc=True).tolist() == \
        shown["time"].dt.tz_convert(UTC).tolist()


def test_fit_line_recovers_a_known_line() -> None:
    x = np.linspace(0, 30, 50)
    fit = fit_line(x, 3.0 * x + 7.0)
    assert fit.slope == pytest.approx(3.0) and fit.intercept == pytest.approx(7.0)
    assert fit.r2 == pytest.approx(1.0)
    assert fit_line(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) is None
    assert fit_line(np.array([1.0, np.nan]), np.array([1.0, 2.0])) is None


def test_temperature_demand_points_per_hour() -> None:
    points = temperature_demand(history(4))
    assert len(points) == 4
    assert points["demand_mw"].tolist() == [100.0, 102.0, 104.0, 106.0]


def test_zone_hour_matrix_is_local_hour_means() -> None:
    matrix = zone_hour_matrix(history(), "demand_mw", NAMES, NY)
    assert list(matrix.index) == ["Chelsea", "Harlem"]
    assert list(matrix.columns) == list(range(24))
    # Harlem at local 19:00 = UTC hours 0 and 24 -> values 0 and 24 -> mean 12
    assert matrix.loc["Harlem", 19] == 12.0


def test_anomalies_and_incidents() -> None:
    frame = anomalies_frame([{"zone_id": "z1", "ts": NOW, "metric": "congestion",
                              "value": 0.9, "zscore": 4.0}], NAMES, NY)
    assert frame.iloc[0]["zone"] == "Harlem" and frame.iloc[0]["value"] == 90
    assert incidents_breakdown({"Noise": 3, "Heat": 9, "None": 0})["complaint type"].tolist() \
        == ["Heat", "Noise"]
