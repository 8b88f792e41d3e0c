"""Splits, the windows of each part, the day-ahead schedule, per-lead calibration and the
day-ahead backtest with its baselines (models/backtest.py, models/base.py)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from models.backtest import (
    CALIBRATION_GAPS,
    DAY_AHEAD_ISSUE_HOUR,
    backtest,
    calibration_windows,
    day_ahead_schedule,
    sampled_windows,
    score_day_ahead,
    split_hours,
)
from models.base import conformal_widening, residual_quantiles, robust_quantile
from models.baselines import seasonal_naive
from models.exceptions import InsufficientHistoryError
from models.features import (
    DEMAND,
    FORECAST_LEADS,
    HORIZON,
    MAX_GAP,
    WEEK_HOURS,
    build_panel,
    feature_cube,
    make_windows,
)
from tests.unit.models.conftest import TEST_HOURS

NY = "America/New_York"
METRIC_KEYS = {"mape", "rmse", "coverage_p10_p90", "baseline_mape", "eia_df_mape",
               "mape_same_points", "naive24_mape", "bias_mw", "bias_pct", "pinball_mw",
               "coverage_p10", "coverage_p50", "coverage_p90", "skill_vs_baseline",
               "n_issuances", "n_points", "eia_df_points"}
SERIES_KEYS = {"model", "naive168", "naive24", "eia_df"}
MODELS = ("lstm", "tft", "gnn", "gbm")


def _by_name(trained_set, name):
    return next(t for t in trained_set.trained if t.forecaster.name == name)


# -- splits and the windows of each part ----------------------------------------------------

def test_split_keeps_train_validation_calibration_and_test_apart() -> None:
    split = split_hours(1000, test_hours=168, val_hours=72, calib_hours=96)
    assert (split.train_end, split.val_end, split.calib_end, split.n_hours) == (
        664, 736, 832, 1000)
    assert split_hours(1000, 168, 72).calib_end - split_hours(1000, 168, 72).val_end == 72
    with pytest.raises(InsufficientHistoryError):
        split_hours(500, test_hours=168, val_hours=72)


def test_sampled_windows_cover_every_lead_inside_their_part() -> None:
    issues, gaps = sampled_windows(300, 600, stride=2, seed=3)
    origins = issues + gaps
    assert origins.min() >= 300 and (origins + HORIZON).max() <= 600  # whole horizon inside
    assert np.all(np.diff(origins) == 2)
    assert gaps.min() >= 0 and gaps.max() <= MAX_GAP and len(set(gaps.tolist())) > 10
    assert issues.min() >= WEEK_HOURS
    again, again_gaps = sampled_windows(300, 600, stride=2, seed=3)
    assert np.array_equal(again, issues) and np.array_equal(again_gaps, gaps)  # seeded
    assert not np.array_equal(sampled_windows(300, 600, stride=2, seed=4)[1], gaps)
    early, early_gaps = sampled_windows(0, 200, stride=1, seed=0)
    assert early.min() >= WEEK_HOURS  # a week of history before every issue


def test_calibration_windows_cover_leads_zero_to_47_in_their_part() -> None:
    issues, gaps = calibration_windows(400, 568)
    origins = issues + gaps
    assert origins.min() >= 400 and (origins + HORIZON).max() <= 568
    assert set(gaps.tolist()) == set(CALIBRATION_GAPS)
    leads = set((gaps[:, None] + np.arange(HORIZON)[None, :]).ravel().tolist())
    assert leads == set(range(FORECAST_LEADS))
    assert len(issues) == (568 - HORIZON + 1 - 400) * len(CALIBRATION_GAPS)


# -- the day-ahead schedule ---------------------------------------------------------------

def _schedule(timezone: str, first_day: str, days: int = 20):
    times = pd.date_range(first_day, periods=24 * days, freq="h", tz="UTC")
    issues, gaps = day_ahead_schedule(times, timezone, 0, len(times))
    return times, issues, gaps


@pytest.mark.parametrize("first_day", ["2026-02-25", "2026-10-20"])
def test_day_ahead_is_issued_at_ten_local_for_the_next_local_day(first_day) -> None:
    """Across New York's DST changes (2026-03-08, 2026-11-01): every issue at 10:00 local,
    the horizon from the next local midnight. New York switches at 02:00, after that
    midnight, so the gap stays 14 h even on the change days (only the UTC hour moves)."""
    times, issues, gaps = _schedule(NY, first_day)
    issued = times[issues].tz_convert(NY)
    first_target = times[issues + gaps].tz_convert(NY)
    assert (issued.hour == DAY_AHEAD_ISSUE_HOUR).all() and (issued.minute == 0).all()
    assert (first_target.hour == 0).all()
    assert all(t - i == timedelta(days=1) for t, i in zip(first_target.date, issued.date,
                                                          strict=True))
    assert len(set(issued.date)) == len(issues)  # one issuance a day
    assert np.all(np.diff(issued.date) == pd.Timedelta(days=1))  # no day skipped
    assert (gaps == 14).all()
    assert issues.min() >= WEEK_HOURS
    change = pd.Timestamp("2026-03-08" if first_day < "2026-06" else "2026-11-01").date()
    utc_hours = {d: t.hour for d, t in zip(issued.date, times[issues], strict=True)}
    before, after = change - timedelta(days=1), change + timedelta(days=1)
    assert utc_hours[before] != utc_hours[after]  # 10:00 local is another UTC hour
    assert {utc_hours[before], utc_hours[after]} == {14, 15}


def test_day_ahead_gap_is_13_or_15_when_dst_changes_before_the_next_midnight() -> None:
    """Nuuk switches at 01:00 UTC, 23:00 / 00:00 local: inside the issue-to-midnight gap."""
    times, issues, gaps = _schedule("America/Nuuk", "2026-03-18")
    by_day = dict(zip(times[issues].tz_convert("America/Nuuk").date, gaps.tolist(),
                      strict=True))
    assert by_day[pd.Timestamp("2026-03-28").date()] == 13
    assert by_day[pd.Timestamp("2026-03-27").date()] == by_day[
        pd.Timestamp("2026-03-29").date()] == 14
    times, issues, gaps = _schedule("America/Nuuk", "2026-10-15")
    by_day = dict(zip(times[issues].tz_convert("America/Nuuk").date, gaps.tolist(),
                      strict=True))
    assert by_day[pd.Timestamp("2026-10-24").date()] == 15
    first_target = times[issues + gaps].tz_convert("America/Nuuk")
    assert (first_target.hour == 0).all()


def test_day_ahead_schedule_keeps_to_its_part() -> None:
    times = pd.date_range("2026-01-05", periods=24 * 30, freq="h", tz="UTC")
    issues, gaps = day_ahead_schedule(times, NY, 500, 620)
    origins = issues + gaps
    assert len(issues) and origins.min() >= 500 and (origins + HORIZON).max() <= 620
    assert day_ahead_schedule(times[:0], NY, 0, 0)[0].size == 0


# -- scoring ------------------------------------------------------------------------------

def test_score_day_ahead_compares_eia_df_on_its_own_hours_only() -> None:
    actual = np.array([[100.0, 100.0, 100.0, 100.0], [200.0, 200.0, np.nan, 200.0]])
    p50 = np.array([[110.0, 90.0, 100.0, 100.0], [220.0, 200.0, 200.0, 190.0]])
    p10, p90 = p50 - 15, p50 + 15
    naive168 = np.array([[120.0, 120.0, 120.0, np.nan], [180.0, 180.0, 180.0, 180.0]])
    naive24 = np.full_like(actual, 105.0)
    eia_df = np.array([[105.0, np.nan, np.nan, 100.0], [190.0, np.nan, np.nan, 200.0]])
    m = score_day_ahead(actual, p10, p50, p90, naive168, naive24, eia_df)
    assert set(m) == METRIC_KEYS
    # comparable: actual, naive168 and naive24 exist: (0,0) (0,1) (0,2) (1,0) (1,1) (1,3)
    assert m["n_points"] == 6 and m["n_issuances"] == 2
    assert m["mape"] == pytest.approx(100 * np.mean([0.1, 0.1, 0, 0.1, 0, 0.05]), abs=1e-3)
    assert m["baseline_mape"] == pytest.approx(100 * np.mean([0.2] * 3 + [0.1] * 3), abs=1e-3)
    assert m["naive24_mape"] == pytest.approx(100 * np.mean([0.05] * 3 + [0.475] * 3),
                                              abs=1e-3)
    # EIA DF among them: (0,0) (1,0) (1,3); (0,3) has DF but no seasonal naive
    assert m["eia_df_points"] == 3
    assert m["eia_df_mape"] == pytest.approx(100 * np.mean([0.05, 0.05, 0.0]), abs=1e-3)
    assert m["mape_same_points"] == pytest.approx(100 * np.mean([0.1, 0.1, 0.05]), abs=1e-3)
    assert m["skill_vs_baseline"] == pytest.approx(1 - m["mape"] / m["baseline_mape"],
                                                   abs=1e-3)
    assert m["bias_mw"] == pytest.approx(10 / 6, abs=1e-2)  # +10 -10 0 +20 0 -10
    assert m["bias_pct"] == pytest.approx(10 / 6 / 150 * 100, abs=1e-3)
    assert m["coverage_p10_p90"] == pytest.approx(500 / 6, abs=1e-3)  # (1,0) is 20 MW off
    assert m["coverage_p50"] == pytest.approx(400 / 6, abs=1e-3)
    no_df = score_day_ahead(actual, p10, p50, p90, naive168, naive24, np.full_like(actual,
                                                                                   np.nan))
    assert no_df["eia_df_mape"] is None and no_df["mape_same_points"] is None
    assert no_df["eia_df_points"] == 0 and no_df["mape"] == m["mape"]


def test_score_day_ahead_without_actuals_is_none_not_nan() -> None:
    nan = np.full((1, 24), np.nan)
    m = score_day_ahead(nan, nan, nan, nan, nan, nan, nan)
    assert m["n_points"] == 0
    assert all(m[k] is None for k in METRIC_KEYS - {"n_points", "n_issuances", "eia_df_points"})


class NaiveForecaster:
    """A stand-in that forecasts the seasonal naive: the backtest's own arithmetic check."""

    def __init__(self, context, demand: np.ndarray) -> None:
        self.context, self.demand = context, demand

    def predict(self, windows) -> np.ndarray:
        p50 = seasonal_naive(self.demand, windows.origins, self.context.horizon)
        return np.stack([p50 * 0.95, p50, p50 * 1.05], axis=-1)


def test_backtest_scores_day_ahead_issuances_against_the_baselines(trained_set) -> None:
    context = _by_name(trained_set, "gnn").forecaster.context
    frame = trained_set.frame
    panel = build_panel(frame, context.zone_ids, frame["ts"].min(), trained_set.end,
                        context.timezone, trained_set.forecast)
    cube = feature_cube(panel, context.scaler)
    start = panel.n_hours - TEST_HOURS
    issues, gaps = day_ahead_schedule(panel.times(), context.timezone, start, panel.n_hours)
    metrics, details = backtest(NaiveForecaster(context, panel.values[DEMAND]), panel, cube,
                                issues, gaps)
    assert set(metrics) == METRIC_KEYS
    assert metrics["mape"] == pytest.approx(metrics["baseline_mape"])
    assert metrics["skill_vs_baseline"] == pytest.approx(0.0)
    assert metrics["n_issuances"] == len(issues) and metrics["n_points"] == 24 * len(issues)
    assert metrics["eia_df_mape"] is not None and metrics["eia_df_points"] == 24 * len(issues)
    assert details["by_horizon"]["model"] == details["by_horizon"]["naive168"]
    assert set(details["by_horizon"]) == set(details["by_hour"]) == SERIES_KEYS
    assert all(len(v) == 24 for v in details["by_horizon"].values())
    assert details["series"] == "PGAE" and set(details["series_mape"]) == set(context.zone_ids)
    predictions = details["predictions"]
    issued = pd.DatetimeIndex(predictions["issued_at"]).tz_convert(NY)
    hours = pd.DatetimeIndex(predictions["hours"]).tz_convert(NY)
    assert (issued.hour == DAY_AHEAD_ISSUE_HOUR).all() and len(issued) == len(issues)
    assert len(hours) == 24 * len(issues) and (hours[::24].hour == 0).all()
    for key in ("actual", "p10", "p50", "p90", "naive168", "naive24", "eia_df"):
        assert len(predictions[key]) == len(hours), key
    actual = panel.values[DEMAND][(issues + gaps)[0]:(issues + gaps)[0] + 24, 0]
    assert predictions["actual"][:24] == pytest.approx(actual.round(1).tolist())
    assert {c["nominal"] for c in details["calibration"]} == {10.0, 50.0, 90.0, 80.0}
    assert details["weekly"] and all(w["model_mape"] is not None for w in details["weekly"])


@pytest.mark.parametrize("name", MODELS)
def test_registry_metrics_and_details_follow_the_contract(trained_set, name) -> None:
    trained = _by_name(trained_set, name)
    assert set(trained.metrics) == METRIC_KEYS
    assert trained.metrics["n_issuances"] == 6  # one a day in the held-out week
    assert trained.metrics["n_points"] == 6 * 24
    assert trained.metrics["naive24_mape"] is not None and trained.metrics["pinball_mw"] > 0
    assert trained.backtest["kind"] == "day-ahead"
    assert trained.backtest["train_windows"] > 0 and trained.backtest["calibration_windows"] > 0
    window = trained.window
    assert window["start"] < window["end"] < window["validation_end"] < window[
        "calibration_end"] < window["test_end"]


# -- calibration per lead time ---------------------------------------------------------------

def test_residual_quantiles_are_per_lead_symmetric_and_fill_unseen_leads() -> None:
    rng = np.random.default_rng(0)
    p50 = np.full((400, 1, 2), 100.0)
    leads = np.broadcast_to(np.array([3, 30])[None, None, :], p50.shape)
    one_day = np.zeros(p50.shape, dtype=int)
    spread = np.array([0.01, 0.10])  # the later lead is ten times less certain
    actual = p50 * (1 + rng.normal(0, 1, p50.shape) * spread + 0.02)  # and leans high
    table = residual_quantiles(actual, p50, leads, one_day)
    assert table.shape == (FORECAST_LEADS, 2)
    assert np.allclose(table[:, 0], -table[:, 1])  # sized by the error, not shifted by its lean
    rel = np.abs(actual / p50 - 1)
    assert table[30, 1] == pytest.approx(np.quantile(rel[..., 1], 0.8))
    assert table[30, 1] > 3 * table[3, 1]
    assert np.array_equal(table[0], table[3]) and np.array_equal(table[47], table[30])
    assert np.array_equal(table[10], table[3]) and np.array_equal(table[20], table[30])
    empty = residual_quantiles(np.full((2, 1, 2), np.nan), p50[:2], leads[:2], one_day[:2])
    assert (empty == 0).all()


def test_conformal_widening_brings_coverage_to_80_per_lead() -> None:
    rng = np.random.default_rng(1)
    target = rng.normal(0, 1, (2000, 1, 2))
    too_narrow = np.stack([np.full(target.shape, -0.2), np.zeros(target.shape),
                           np.full(target.shape, 0.2)], axis=-1)
    leads = np.broadcast_to(np.array([0, 40])[None, None, :], target.shape)
    table = conformal_widening(too_narrow, target, leads, np.zeros(target.shape, dtype=int))
    assert table.shape == (FORECAST_LEADS, 2) and (table[[0, 40]] > 0).all()
    low, high = too_narrow[..., 0] - table[leads, 0], too_narrow[..., 2] + table[leads, 1]
    inside = (target >= low) & (target <= high)
    assert inside.mean() == pytest.approx(0.8, abs=0.02)
    too_wide = too_narrow * 20  # a band of +-4 sigma is narrowed
    narrowed = conformal_widening(too_wide, target, leads, np.zeros(target.shape, dtype=int))
    assert (narrowed[[0, 40]] < 0).all()


def test_one_bad_day_does_not_set_the_band() -> None:
    """The band is the quantile pooled over ordinary days: a storm day in the calibration
    weeks is left out and does not widen every forecast after it."""
    rng = np.random.default_rng(2)
    days = np.repeat(np.arange(7), 100)
    scores = np.abs(rng.normal(0, 1, days.size))
    calm = robust_quantile(scores, days, 0.8)
    stormy = scores.copy()
    stormy[days == 3] *= 50
    assert robust_quantile(stormy, days, 0.8) == pytest.approx(
        np.quantile(scores[days != 3], 0.8))
    assert robust_quantile(stormy, days, 0.8) == pytest.approx(calm, rel=0.1)
    assert calm == pytest.approx(np.quantile(scores, 0.8))  # no outlier day: plain pooling
    assert np.quantile(stormy, 0.8) > 1.3 * calm  # what a plain quantile would have done


@pytest.mark.parametrize("name", MODELS)
def test_intervals_are_calibrated_per_lead_on_the_calibration_weeks(trained_set, name) -> None:
    """Each model's calibration table has a row per lead time; on the calibration windows
    the p10-p90 band holds about 80 % of the actuals, pooled over days and per lead."""
    f = _by_name(trained_set, name).forecaster
    assert f.calibration is not None and np.shape(f.calibration) == (FORECAST_LEADS, 2)
    assert np.isfinite(f.calibration).all()
    frame = trained_set.frame
    panel = build_panel(frame, f.context.zone_ids, frame["ts"].min(), trained_set.end,
                        f.context.timezone, trained_set.forecast)
    window = _by_name(trained_set, name).window  # the weeks early stopping never saw
    issues, gaps = calibration_windows(panel.index_of(window["validation_end"]),
                                       panel.index_of(window["calibration_end"]))
    windows = make_windows(feature_cube(panel, f.context.scaler), issues,
                           f.context.encoder_hours, gaps=gaps)
    pred = f.predict(windows)
    actual = f.context.scaler.unscale_demand(windows.target.astype(float), windows.level)
    inside = (actual >= pred[..., 0]) & (actual <= pred[..., 2])
    leads = np.broadcast_to(windows.leads(HORIZON)[:, None, :], actual.shape)
    hours = windows.origins[:, None] + np.arange(HORIZON)[None, :]
    days = np.broadcast_to((hours // 24)[:, None, :], actual.shape)
    assert days.size and inside.mean() * 100 == pytest.approx(80.0, abs=6.0)
    per_lead = [inside[leads == lead].mean() * 100 for lead in range(FORECAST_LEADS)]
    assert all(60 <= c <= 95 for c in per_lead), np.round(per_lead)
