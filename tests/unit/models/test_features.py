"""Panels, calendar, scaling and windows: the inputs every model shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.clock import floor_hour
from models.features import (
    CALENDAR_FEATURES,
    DEMAND,
    FUTURE_FEATURES,
    HORIZON,
    PAST_FEATURES,
    WEEK_HOURS,
    Scaler,
    build_panel,
    calendar_features,
    feature_cube,
    make_windows,
    trailing_level,
)

START = datetime(2026, 1, 5, tzinfo=UTC)


def test_calendar_uses_local_time_weekends_and_us_holidays() -> None:
    # 2026-07-04 is a Saturday and a US holiday; 2026-07-03 is the observed Friday holiday.
    times = pd.date_range("2026-07-02 16:00", periods=72, freq="h", tz="UTC")
    cal = calendar_features(times, "America/New_York")
    col = {name: cal[:, i] for i, name in enumerate(CALENDAR_FEATURES)}
    local = times.tz_convert("America/New_York")
    expected_hour = np.sin(2 * np.pi * local.hour.to_numpy() / 24)
    assert np.allclose(col["hour_sin"], expected_hour, atol=1e-6)
    assert col["holiday"][local.date == pd.Timestamp("2026-07-04").date()].all()
    assert not col["holiday"][local.date == pd.Timestamp("2026-07-02").date()].any()
    assert col["weekend"][local.date == pd.Timestamp("2026-07-04").date()].all()
    # 16:00 UTC is noon in New York (EDT), so the first row is local hour 12, not 16.
    assert np.isclose(col["hour_cos"][0], np.cos(2 * np.pi * 12 / 24), atol=1e-6)


def test_build_panel_puts_rows_on_a_complete_grid(tiny_frame) -> None:
    gap = tiny_frame.drop(index=tiny_frame.index[5:8])  # three missing hours of zone z01
    panel = build_panel(gap, ["z02", "z01", "zzz"], START, START + timedelta(days=2),
                        "America/New_York")
    assert panel.values[DEMAND].shape == (48, 3)
    assert panel.zone_ids == ("z02", "z01", "zzz")
    assert np.isnan(panel.values[DEMAND][5:8, 1]).all()
    assert np.isfinite(panel.values[DEMAND][:, 0]).all()
    assert np.isnan(panel.values[DEMAND][:, 2]).all()  # unknown zone: all missing
    first_z02 = tiny_frame[(tiny_frame.zone_id == "z02")].iloc[0]["demand_mw"]
    assert panel.values[DEMAND][0, 0] == pytest.approx(first_z02)


def test_scaler_is_fitted_on_training_hours_only(tiny_frame) -> None:
    panel = build_panel(tiny_frame, ["z01", "z02"], START, START + timedelta(days=14), "UTC")
    scaler = Scaler.fit(panel, end_index=240)
    panel.values[DEMAND][240:] *= 3  # later hours must not move the fitted statistics
    panel.values["temperature_c"][240:] += 40
    again = Scaler.fit(panel, end_index=240)
    assert again.to_dict() == scaler.to_dict()
    temps = panel.values["temperature_c"][:240]
    assert scaler.cov_mean["temperature_c"] == pytest.approx(np.nanmean(temps))
    assert 0 < scaler.rel_std < 1
    restored = Scaler.from_dict(scaler.to_dict())
    values = panel.values[DEMAND][:5].T[None]  # [N=1, Z=2, H=5]
    level = np.array([[80.0, 120.0]])  # [N, Z]
    scaled = restored.scale_demand(values, level[:, :, None])
    assert np.allclose(restored.unscale_demand(scaled, level), values)


def test_trailing_level_is_the_mean_of_the_week_before() -> None:
    demand = np.arange(400, dtype=float).reshape(200, 2)
    demand[10, 0] = np.nan  # a gap is left out of the mean, not counted as zero
    level = trailing_level(demand, np.array([168, 190]))
    assert level[1, 1] == pytest.approx(demand[190 - 168:190, 1].mean())
    assert level[0, 0] == pytest.approx(np.nanmean(demand[:168, 0]))


def test_windows_shapes_and_known_future_lags(tiny_frame) -> None:
    panel = build_panel(tiny_frame, ["z01", "z02", "z03"], START, START + timedelta(days=12),
                        "America/New_York")
    scaler = Scaler.fit(panel, 200)
    cube = feature_cube(panel, scaler)
    origins = [WEEK_HOURS, 200, panel.n_hours]  # the last one: forecasting past the data
    w = make_windows(cube, origins, encoder_hours=48)
    assert w.past.shape == (3, 3, 48, len(PAST_FEATURES))
    assert w.future.shape == (3, 3, HORIZON, len(FUTURE_FEATURES))
    assert w.target.shape == (3, 3, HORIZON) and w.level.shape == (3, 3)
    demand = panel.values[DEMAND]
    o = 200
    level = demand[o - WEEK_HOURS:o].mean(axis=0)
    assert np.allclose(w.level[1], level)

    def scaled(values, zone):
        return (values / level[zone] - 1) / scaler.rel_std

    lag168 = FUTURE_FEATURES.index("demand_lag_168h")
    lag24 = FUTURE_FEATURES.index("demand_lag_24h")
    assert np.allclose(w.future[1, 2, :, lag168], scaled(demand[o - 168:o - 144, 2], 2),
                       atol=1e-4)
    assert np.allclose(w.future[1, 0, :, lag24], scaled(demand[o - 24:o, 0], 0), atol=1e-4)
    assert np.allclose(w.past[1, 1, -1, 0], scaled(demand[o - 1, 1], 1), atol=1e-4)
    assert np.allclose(w.target[1, 1], scaled(demand[o:o + 24, 1], 1), atol=1e-4)
    assert np.allclose(scaler.unscale_demand(w.target[1:2], w.level[1:2])[0, 1],
                       demand[o:o + 24, 1], rtol=1e-5)
    assert np.isnan(w.target[2]).all()  # no actuals after the panel
    assert np.isfinite(w.past).all() and np.isfinite(w.future).all()


def test_windows_can_hold_a_subset_of_zones_per_origin(tiny_frame) -> None:
    panel = build_panel(tiny_frame, ["z01", "z02", "z03", "z04"], START,
                        START + timedelta(days=10), "UTC")
    cube = feature_cube(panel, Scaler.fit(panel, 200))
    full = make_windows(cube, [180, 190], encoder_hours=24)
    picked = make_windows(cube, [180, 190], encoder_hours=24,
                          zone_index=np.array([[3, 0], [1, 2]]))
    assert picked.past.shape[1] == 2
    assert np.array_equal(picked.past[0, 0], full.past[0, 3])
    assert np.array_equal(picked.future[1, 1], full.future[1, 2])
    assert picked.flat()[2].tolist() == [3, 0, 1, 2]


def test_windows_need_a_week_of_history(tiny_frame) -> None:
    panel = build_panel(tiny_frame, ["z01"], START, START + timedelta(days=9), "UTC")
    cube = feature_cube(panel, Scaler.fit(panel, 100))
    with pytest.raises(ValueError, match="168 hours"):
        make_windows(cube, [WEEK_HOURS - 1], encoder_hours=24)


def test_floor_hour_refuses_naive_datetimes() -> None:
    assert floor_hour(datetime(2026, 1, 1, 10, 59, tzinfo=UTC)) == pd.Timestamp(
        "2026-01-01 10:00", tz="UTC")
    with pytest.raises(ValueError):
        floor_hour(datetime(2026, 1, 1, 10))
