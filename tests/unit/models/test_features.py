"""Panels, calendar, scaling, issued forecasts and windows: the inputs every model shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.clock import floor_hour
from models.features import (
    BA_DEMAND,
    BA_FORECAST,
    CALENDAR_FEATURES,
    DEMAND,
    FORECAST_LEADS,
    FUTURE_FEATURES,
    HORIZON,
    MAX_GAP,
    PAST_FEATURES,
    SERIES_COLUMN,
    TEMPERATURE,
    WEEK_HOURS,
    FeatureCube,
    Scaler,
    build_panel,
    calendar_features,
    feature_cube,
    fill_forecasts,
    known_lag,
    make_windows,
    model_frame,
    trailing_level,
)
from tests.unit.models.conftest import SERIES, START, synthetic_forecasts, synthetic_frame

TZ = "America/New_York"
DAYS = 12
N_HOURS = DAYS * 24
FUT = {name: i for i, name in enumerate(FUTURE_FEATURES)}
PAST = {name: i for i, name in enumerate(PAST_FEATURES)}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame(zones=3, days=DAYS)


@pytest.fixture(scope="module")
def forecast(frame: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
    return synthetic_forecasts(frame)


def _panel(frame: pd.DataFrame, forecast=None, series=SERIES[:3]):
    return build_panel(frame, list(series), START, START + timedelta(days=DAYS), TZ, forecast)


def _cube(frame: pd.DataFrame, forecast=None) -> tuple[object, FeatureCube]:
    panel = _panel(frame, forecast)
    return panel, feature_cube(panel, Scaler.fit(panel, 200))


def _unscale_temperature(cube: FeatureCube, scaled: np.ndarray) -> np.ndarray:
    s = cube.scaler
    return scaled * s.cov_std[TEMPERATURE] + s.cov_mean[TEMPERATURE]


# -- calendar, frame and panel -----------------------------------------------------------

def test_calendar_uses_local_time_weekends_and_us_holidays() -> None:
    # 2026-07-04 is a Saturday and a US holiday; 2026-07-03 is the observed Friday holiday.
    times = pd.date_range("2026-07-02 16:00", periods=72, freq="h", tz="UTC")
    cal = calendar_features(times, TZ)
    col = {name: cal[:, i] for i, name in enumerate(CALENDAR_FEATURES)}
    local = times.tz_convert(TZ)
    expected_hour = np.sin(2 * np.pi * local.hour.to_numpy() / 24)
    assert np.allclose(col["hour_sin"], expected_hour, atol=1e-6)
    assert col["holiday"][local.date == pd.Timestamp("2026-07-04").date()].all()
    assert not col["holiday"][local.date == pd.Timestamp("2026-07-02").date()].any()
    assert col["weekend"][local.date == pd.Timestamp("2026-07-04").date()].all()
    # 16:00 UTC is noon in New York (EDT), so the first row is local hour 12, not 16.
    assert np.isclose(col["hour_cos"][0], np.cos(2 * np.pi * 12 / 24), atol=1e-6)


def test_model_frame_joins_the_city_mean_temperature_per_hour() -> None:
    hours = pd.date_range(START, periods=2, freq="h")
    grid = pd.DataFrame({SERIES_COLUMN: ["PGAE", "PGAE", "SCE"], "ts": [hours[0], hours[1],
                                                                        hours[0]],
                         DEMAND: [100.0, 110.0, 50.0], BA_DEMAND: [500.0, 510.0, 500.0]})
    hourly = pd.DataFrame({"zone_id": ["z01", "z02", "z01"], "ts": [hours[0], hours[0],
                                                                    hours[1]],
                           TEMPERATURE: [10.0, 14.0, 3.0]})
    out = model_frame(grid, hourly)
    assert list(out.columns) == [SERIES_COLUMN, "ts", DEMAND, TEMPERATURE, BA_DEMAND,
                                 BA_FORECAST]
    assert out[TEMPERATURE].tolist() == [12.0, 3.0, 12.0]  # the zones' mean, every series
    assert out[BA_FORECAST].isna().all()  # a column the grid lacks is NaN, not missing
    assert model_frame(grid, None)[TEMPERATURE].isna().all()
    empty = model_frame(pd.DataFrame(), hourly)
    assert empty.empty and list(empty.columns) == list(out.columns)


def test_build_panel_puts_series_ba_and_issued_forecasts_on_a_complete_grid(
        frame, forecast) -> None:
    own = frame[frame[SERIES_COLUMN] == "SCE"]
    holed = frame.drop(index=own.index[5:8])  # three missing hours of SCE
    times, matrix = forecast
    keep = np.ones(len(times), bool)
    keep[30] = False  # no issuance at hour 30
    panel = build_panel(holed, ["SCE", "PGAE", "ZZZ"], START, START + timedelta(days=2), TZ,
                        (times[keep], matrix[keep]))
    assert panel.values[DEMAND].shape == (48, 3) and panel.zone_ids == ("SCE", "PGAE", "ZZZ")
    assert np.isnan(panel.values[DEMAND][5:8, 0]).all()
    assert np.isfinite(panel.values[DEMAND][:, 1]).all()
    assert np.isnan(panel.values[DEMAND][:, 2]).all()  # unknown series: all missing
    assert panel.values[DEMAND][0, 0] == pytest.approx(own.iloc[0][DEMAND])
    first = frame[frame["ts"] == frame["ts"].min()].iloc[0]
    assert panel.ba_demand[0] == pytest.approx(first[BA_DEMAND])
    assert panel.ba_forecast[0] == pytest.approx(first[BA_FORECAST])
    assert panel.ba_demand.shape == panel.ba_forecast.shape == (48,)
    # the temperature is the city's: the same value in every series column
    assert np.allclose(panel.values[TEMPERATURE][:, 0], panel.values[TEMPERATURE][:, 2])
    assert panel.forecast.shape == (48, FORECAST_LEADS)
    assert np.array_equal(panel.forecast[29], matrix[29])
    assert np.isnan(panel.forecast[30]).all()  # left for feature_cube to fill
    assert panel.index_of(START + timedelta(hours=5, minutes=40)) == 5
    bare = build_panel(frame, ["PGAE"], START, START + timedelta(days=1), TZ)
    assert np.isnan(bare.forecast).all()


def test_scaler_is_fitted_on_training_hours_only(frame) -> None:
    panel = build_panel(frame, ["PGAE", "SCE"], START, START + timedelta(days=DAYS), "UTC")
    scaler = Scaler.fit(panel, end_index=240)
    panel.values[DEMAND][240:] *= 3  # later hours must not move the fitted statistics
    panel.values[TEMPERATURE][240:] += 40
    again = Scaler.fit(panel, end_index=240)
    assert again.to_dict() == scaler.to_dict()
    temps = panel.values[TEMPERATURE][:240]
    assert scaler.cov_mean[TEMPERATURE] == pytest.approx(np.nanmean(temps))
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


# -- issued forecasts and their gaps -----------------------------------------------------

def test_known_lag_is_the_latest_day_known_at_issue_time() -> None:
    leads = np.arange(FORECAST_LEADS)
    lag = known_lag(leads)
    assert (lag[:24] == 24).all() and (lag[24:] == 48).all()
    assert (leads - lag < 0).all()  # always an hour before the issue


def test_fill_forecasts_keeps_issued_values_and_takes_the_previous_issuance() -> None:
    n = 40
    issued = np.arange(n)[:, None] * 100.0 + np.arange(FORECAST_LEADS)[None, :]
    temperature = np.arange(n, dtype=float) * 0.5
    issued[20] = np.nan  # one missed issuance
    out = fill_forecasts(issued, temperature)
    assert np.array_equal(out[19], issued[19]) and np.array_equal(out[21], issued[21])
    # same target hours: hour 20 + lead l was hour 19 + (l + 1) in the previous issuance
    assert np.array_equal(out[20, :-1], issued[19, 1:])
    # the last lead lies beyond the previous issuance: persistence, the hour 48 h before
    assert out[20, -1] == temperature[20 + 47 - 48]


def test_fill_forecasts_falls_back_to_persistence_of_what_was_known() -> None:
    n = 60
    issued = np.full((n, FORECAST_LEADS), np.nan)
    issued[:10] = 99.0  # an old issuance, more than `back` hours before the rest
    temperature = np.arange(n, dtype=float)
    out = fill_forecasts(issued, temperature, back=6)
    i = 50
    for lead in (0, 5, 23, 24, 30, 47):
        source = i + lead - known_lag(lead)
        assert source < i  # never a temperature at or after the issue hour
        assert out[i, lead] == temperature[source]
    assert np.isfinite(out).all()
    assert (out[10, :FORECAST_LEADS - 1] == 99.0).all()  # hour 10 still sees hour 9's
    none = fill_forecasts(np.full((5, FORECAST_LEADS), np.nan), np.full(5, np.nan))
    assert (none == 10.0).all()  # nothing known at all: a neutral temperature, never NaN


def test_feature_cube_fills_missing_issuances(frame, forecast) -> None:
    times, matrix = forecast
    holes = matrix.copy()
    holes[100:110] = np.nan
    panel = _panel(frame, (times, holes))
    cube = feature_cube(panel, Scaler.fit(panel, 200))
    assert np.isfinite(cube.forecast).all()
    assert np.array_equal(cube.forecast[99], matrix[99])
    assert np.array_equal(cube.forecast[100, :-1], matrix[99, 1:])
    assert cube.calendar.shape == (panel.n_hours + FORECAST_LEADS, len(CALENDAR_FEATURES))


# -- windows -----------------------------------------------------------------------------

def test_windows_shapes_origins_and_leads(frame, forecast) -> None:
    _, cube = _cube(frame, forecast)
    issues, gaps = np.array([WEEK_HOURS, 200, N_HOURS - 1]), np.array([0, 14, MAX_GAP])
    w = make_windows(cube, issues, encoder_hours=48, gaps=gaps)
    assert w.past.shape == (3, 3, 48, len(PAST_FEATURES))
    assert w.future.shape == (3, 3, HORIZON, len(FUTURE_FEATURES))
    assert w.target.shape == (3, 3, HORIZON) and w.level.shape == (3, 3)
    assert w.origins.tolist() == (issues + gaps).tolist()
    assert w.issues.tolist() == issues.tolist() and w.gap_hours.tolist() == gaps.tolist()
    assert w.leads(HORIZON)[1].tolist() == list(range(14, 38))
    assert np.allclose(w.future[1, 0, :, FUT["lead"]], np.arange(14, 38) / 24)
    assert np.isnan(w.target[2]).all()  # issued at the last hour: no actuals yet
    assert np.isfinite(w.past).all() and np.isfinite(w.future).all()
    plain = make_windows(cube, [200], encoder_hours=24)
    assert plain.gap_hours.tolist() == [0] and plain.origins.tolist() == [200]


def test_windows_demand_inputs_are_relative_to_the_week_before_the_issue(frame) -> None:
    panel, cube = _cube(frame)
    scaler, demand = cube.scaler, panel.values[DEMAND]
    i, gap = 200, 14
    w = make_windows(cube, [i], encoder_hours=48, gaps=[gap])
    level = demand[i - WEEK_HOURS:i].mean(axis=0)
    assert np.allclose(w.level[0], level)

    def scaled(values, series):
        return (values / level[series] - 1) / scaler.rel_std

    t = i + gap + np.arange(HORIZON)  # the target hours
    lead = gap + np.arange(HORIZON)
    assert np.allclose(w.target[0, 1], scaled(demand[t, 1], 1), atol=1e-4)
    assert np.allclose(w.past[0, 2, :, PAST["demand"]], scaled(demand[i - 48:i, 2], 2),
                       atol=1e-4)
    assert np.allclose(w.future[0, 0, :, FUT["demand_lag_week"]],
                       scaled(demand[t - WEEK_HOURS, 0], 0), atol=1e-4)
    # same hour on the latest known day: 24 h back for leads < 24, 48 h back from lead 24 on
    day = w.future[0, 0, :, FUT["demand_lag_day"]]
    assert np.allclose(day[lead < 24], scaled(demand[t[lead < 24] - 24, 0], 0), atol=1e-4)
    assert np.allclose(day[lead >= 24], scaled(demand[t[lead >= 24] - 48, 0], 0), atol=1e-4)
    assert np.allclose(scaler.unscale_demand(w.target, w.level)[0, 1], demand[t, 1], rtol=1e-5)
    # the actual temperature that came with those lagged demands (scaled, the city's)
    temp = cube.covariates[:, 0, 0]
    back = np.where(lead < 24, 24, 48)
    assert np.allclose(w.future[0, 2, :, FUT["temperature_lag_day"]], temp[t - back], atol=1e-5)
    assert np.allclose(w.future[0, 2, :, FUT["temperature_lag_week"]], temp[t - WEEK_HOURS],
                       atol=1e-5)


@pytest.mark.parametrize("gap", [0, 14, MAX_GAP])
def test_windows_never_use_data_at_or_after_the_issue_hour(frame, forecast, gap) -> None:
    """Poison demand and actual temperature from the issue hour on: every input stays the
    same, only the target (the answer) changes."""
    panel, cube = _cube(frame, forecast)
    i = 220
    clean = make_windows(cube, [i], encoder_hours=WEEK_HOURS, gaps=[gap])
    panel.values[DEMAND][i:] = 1e6
    panel.values[TEMPERATURE][i:] = 60.0
    poisoned = make_windows(feature_cube(panel, cube.scaler), [i], encoder_hours=WEEK_HOURS,
                            gaps=[gap])
    assert np.array_equal(poisoned.past, clean.past)
    assert np.array_equal(poisoned.future, clean.future)
    assert np.array_equal(poisoned.level, clean.level)
    assert not np.allclose(poisoned.target, clean.target)


def test_missing_forecasts_are_filled_without_looking_ahead(frame) -> None:
    """Without issued forecasts the fallback (persistence) must not leak the actual
    temperature of the target hours either."""
    panel, cube = _cube(frame)  # no forecasts at all
    i = 230
    clean = make_windows(cube, [i], encoder_hours=24, gaps=[MAX_GAP])
    panel.values[TEMPERATURE][i:] = 60.0
    poisoned = make_windows(feature_cube(panel, cube.scaler), [i], encoder_hours=24,
                            gaps=[MAX_GAP])
    assert np.array_equal(poisoned.future, clean.future)


@pytest.mark.parametrize("gap", [0, 14, MAX_GAP])
def test_future_temperature_is_the_issue_rows_forecast_at_its_lead(frame, gap) -> None:
    times = pd.date_range(START, periods=N_HOURS, freq="h")
    issue_row = np.arange(N_HOURS)[:, None] * 0.01  # encodes the issue hour ...
    lead_col = np.arange(FORECAST_LEADS)[None, :] * 0.5  # ... and the lead
    matrix = 5.0 + issue_row + lead_col
    panel = _panel(frame, (times, matrix))
    cube = feature_cube(panel, Scaler.fit(panel, 200))
    i = 210
    w = make_windows(cube, [i, i + 1], encoder_hours=24, gaps=[gap, gap])
    expected = matrix[i, gap:gap + HORIZON]
    for series in range(3):  # the city's temperature: the same for every series
        got = _unscale_temperature(cube, w.future[0, series, :, FUT["temperature_forecast"]])
        assert np.allclose(got, expected, atol=1e-3)
    assert np.allclose(w.future[0, 0, :, FUT["heating_degrees"]],
                       np.maximum(18 - expected, 0) / 10, atol=1e-5)
    assert np.allclose(w.future[0, 0, :, FUT["cooling_degrees"]],
                       np.maximum(expected - 18, 0) / 10, atol=1e-5)
    later = _unscale_temperature(cube, w.future[1, 0, :, FUT["temperature_forecast"]])
    assert np.allclose(later, matrix[i + 1, gap:gap + HORIZON], atol=1e-3)


def test_future_calendar_is_that_of_the_target_hours(frame) -> None:
    panel, cube = _cube(frame)
    i, gap = 200, 14
    w = make_windows(cube, [i], encoder_hours=24, gaps=[gap])
    cal = calendar_features(panel.times(FORECAST_LEADS), TZ)
    n_cal = len(CALENDAR_FEATURES)
    assert np.allclose(w.future[0, 0, :, :n_cal], cal[i + gap:i + gap + HORIZON])
    assert np.allclose(w.past[0, 0, :, PAST["hour_sin"]:], cal[i - 24:i])


def test_windows_can_hold_a_subset_of_series_per_issue(frame) -> None:
    panel = build_panel(frame, list(SERIES[:3]) + ["PGAE"], START,
                        START + timedelta(days=10), "UTC")
    cube = feature_cube(panel, Scaler.fit(panel, 200))
    full = make_windows(cube, [180, 190], encoder_hours=24, gaps=[0, 5])
    picked = make_windows(cube, [180, 190], encoder_hours=24, gaps=[0, 5],
                          zone_index=np.array([[3, 0], [1, 2]]))
    assert picked.past.shape[1] == 2
    assert np.array_equal(picked.past[0, 0], full.past[0, 3])
    assert np.array_equal(picked.future[1, 1], full.future[1, 2])
    assert np.array_equal(picked.level[1], full.level[1, [1, 2]])
    assert picked.flat()[2].tolist() == [3, 0, 1, 2]


def test_windows_refuse_what_they_cannot_know(frame) -> None:
    _, cube = _cube(frame)
    with pytest.raises(ValueError, match="168 hours"):
        make_windows(cube, [WEEK_HOURS - 1], encoder_hours=24)
    with pytest.raises(ValueError, match="gap"):
        make_windows(cube, [200], encoder_hours=24, gaps=[MAX_GAP + 1])
    with pytest.raises(ValueError, match="beyond the end"):
        make_windows(cube, [N_HOURS], encoder_hours=24)
    with pytest.raises(ValueError, match="horizon"):
        make_windows(cube, [200], encoder_hours=24, horizon=HORIZON + 1)


def test_floor_hour_refuses_naive_datetimes() -> None:
    assert floor_hour(datetime(2026, 1, 1, 10, 59, tzinfo=UTC)) == pd.Timestamp(
        "2026-01-01 10:00", tz="UTC")
    with pytest.raises(ValueError):
        floor_hour(datetime(2026, 1, 1, 10))
