"""Time splits, the windows each part of them yields, and the day-ahead backtest.

The history is cut into train | validation | calibration | test hours. Networks learn on
train and keep the epoch best on validation (early stopping); their p10-p90 intervals are
calibrated on the calibration week, which early stopping never saw; they are scored on test
only. Scoring is day-ahead, the way EIA issues DF: one forecast a day, issued at 10:00 local
time from what is known then, for the 24 hours of the next local day. Every model, the
seasonal naive (168 h), a 24 h naive and EIA's own DF are scored on the very same hours at the
same lead time (models/baselines.py). The model is fixed over the test weeks (trained once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from models.base import Forecaster
from models.baselines import eia_day_ahead, naive_24h, seasonal_naive, values_at
from models.exceptions import InsufficientHistoryError
from models.features import (
    DEMAND,
    HORIZON,
    MAX_GAP,
    WEEK_HOURS,
    FeatureCube,
    Panel,
    make_windows,
)
from models.metrics import bias, coverage, finite_or_none, mape, pinball, rmse, share_below

MIN_TRAIN_ORIGINS = 48  # hours of origins the networks need at the very least
DAY_AHEAD_ISSUE_HOUR = 10  # local clock hour of the daily day-ahead issuance
CALIBRATION_GAPS = tuple(range(0, MAX_GAP + 1, 4))  # leads 0..47 all covered


@dataclass(frozen=True)
class Split:
    """Panel indices: train [0, train_end), validation [train_end, val_end), calibration
    [val_end, calib_end), test [calib_end, n_hours)."""

    train_end: int
    val_end: int
    calib_end: int
    n_hours: int


def split_hours(n_hours: int, test_hours: int, val_hours: int, city_id: str = "?",
                calib_hours: int | None = None) -> Split:
    calib_hours = val_hours if calib_hours is None else calib_hours
    train_end = n_hours - test_hours - calib_hours - val_hours
    need = WEEK_HOURS + HORIZON + MIN_TRAIN_ORIGINS + val_hours + calib_hours + test_hours
    if train_end - WEEK_HOURS - HORIZON < MIN_TRAIN_ORIGINS:
        raise InsufficientHistoryError(city_id, n_hours, need)
    return Split(train_end, train_end + val_hours, train_end + val_hours + calib_hours, n_hours)


def sampled_windows(start: int, end: int, stride: int, seed: int,
                    horizon: int = HORIZON) -> tuple[np.ndarray, np.ndarray]:
    """(issues, gaps) of windows whose whole horizon lies in [start, end): one every `stride`
    hours of first target hour, each with a random gap 0..MAX_GAP (seeded), so a model learns
    every lead time from the live next 24 h to day-ahead."""
    origins = np.arange(max(start, WEEK_HOURS), end - horizon + 1, max(1, stride))
    gaps = np.random.default_rng(seed).integers(0, MAX_GAP + 1, len(origins))
    gaps = np.minimum(gaps, origins - WEEK_HOURS)
    return origins - gaps, gaps


def calibration_windows(start: int, end: int, horizon: int = HORIZON
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(issues, gaps): every first target hour in [start, end) with every CALIBRATION_GAPS."""
    origins = np.arange(max(start, WEEK_HOURS), end - horizon + 1)
    grid_o, grid_g = np.meshgrid(origins, np.asarray(CALIBRATION_GAPS), indexing="ij")
    keep = (grid_o - grid_g) >= WEEK_HOURS
    return (grid_o - grid_g)[keep], grid_g[keep]


def day_ahead_schedule(times: pd.DatetimeIndex, timezone: str, start: int, end: int,
                       issue_hour: int = DAY_AHEAD_ISSUE_HOUR, horizon: int = HORIZON
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(issues, gaps) of the day-ahead forecasts whose next local day starts in [start, end).

    Issued at `issue_hour` local time, for the 24 hours from the next local midnight (a DST
    day's 23 or 25 hours are cut or extended to 24)."""
    tz = ZoneInfo(timezone)
    if len(times) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = times[0]
    issues, gaps = [], []
    day = times[max(start - 48, 0)].tz_convert(tz).date()
    last = times[min(end, len(times)) - 1].tz_convert(tz).date()
    while day <= last:
        issued = datetime.combine(day, time(issue_hour), tz)
        target = datetime.combine(day + timedelta(days=1), time(0), tz)
        i = int((pd.Timestamp(issued) - first) // pd.Timedelta(hours=1))
        o = int((pd.Timestamp(target) - first) // pd.Timedelta(hours=1))
        if i >= WEEK_HOURS and start <= o and o + horizon <= end and o - i <= MAX_GAP:
            issues.append(i)
            gaps.append(o - i)
        day += timedelta(days=1)
    return np.asarray(issues, dtype=np.int64), np.asarray(gaps, dtype=np.int64)


def _local_hours(times: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    return np.asarray(times.tz_convert(timezone).hour)


def _floats(values: np.ndarray, digits: int = 1) -> list[float | None]:
    return [round(float(v), digits) if np.isfinite(v) else None for v in np.ravel(values)]


def _mape_by(groups: np.ndarray, actual: np.ndarray, forecast: np.ndarray, n: int
             ) -> list[float | None]:
    return [finite_or_none(mape(actual[groups == g], forecast[groups == g]), 3)
            for g in range(n)]


def score_day_ahead(actual: np.ndarray, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray,
                    naive168: np.ndarray, naive24: np.ndarray, eia_df: np.ndarray
                    ) -> dict[str, float | None]:
    """Pure: the registry/scorecard metrics of [N, H] day-ahead forecasts of one series.

    Every measure uses the hours where the actual and both naive forecasts exist; the EIA DF
    comparison (eia_df_mape against mape_same_points) only the hours where DF exists too."""
    comparable = np.isfinite(actual) & np.isfinite(naive168) & np.isfinite(naive24)
    actual = np.where(comparable, actual, np.nan)
    on_df = comparable & np.isfinite(eia_df)
    same = np.where(on_df, actual, np.nan)
    model_mape, naive_mape = mape(actual, p50), mape(actual, naive168)
    mean_actual = float(np.nanmean(actual)) if np.isfinite(actual).any() else None
    drift = bias(actual, p50)
    return {
        "mape": finite_or_none(model_mape),
        "rmse": finite_or_none(rmse(actual, p50)),
        "coverage_p10_p90": finite_or_none(coverage(actual, p10, p90)),
        "baseline_mape": finite_or_none(naive_mape),
        "naive24_mape": finite_or_none(mape(actual, naive24)),
        "eia_df_mape": finite_or_none(mape(same, eia_df)) if on_df.any() else None,
        "mape_same_points": finite_or_none(mape(same, p50)) if on_df.any() else None,
        "bias_mw": finite_or_none(drift, 2),
        "bias_pct": finite_or_none(drift / mean_actual * 100)
        if drift is not None and mean_actual else None,
        "pinball_mw": finite_or_none(pinball(actual, {0.1: p10, 0.5: p50, 0.9: p90}), 2),
        "coverage_p10": finite_or_none(share_below(actual, p10)),
        "coverage_p50": finite_or_none(share_below(actual, p50)),
        "coverage_p90": finite_or_none(share_below(actual, p90)),
        "skill_vs_baseline": finite_or_none(1 - model_mape / naive_mape)
        if model_mape is not None and naive_mape else None,
        "n_issuances": int(np.isfinite(actual).any(axis=-1).sum()) if actual.ndim > 1 else 1,
        "n_points": int(np.isfinite(actual).sum()),
        "eia_df_points": int(on_df.sum()),
    }


def backtest(forecaster: Forecaster, panel: Panel, cube: FeatureCube, issues: np.ndarray,
             gaps: np.ndarray) -> tuple[dict[str, float | None], dict[str, Any]]:
    """(metrics for the registry, details) of a trained forecaster's day-ahead forecasts.

    Scored on the city's own series (position 0); the details keep the predictions, errors by
    lead and by local hour, the calibration points and the weekly errors for the Models page.
    """
    horizon = forecaster.context.horizon
    windows = make_windows(cube, issues, forecaster.context.encoder_hours, horizon, gaps=gaps)
    pred = forecaster.predict(windows)  # [N, Z, H, 3] MW
    origins = windows.origins
    demand = panel.values[DEMAND]
    actual_all = values_at(demand, origins, horizon)
    actual = actual_all[:, 0]
    p10, p50, p90 = pred[:, 0, :, 0], pred[:, 0, :, 1], pred[:, 0, :, 2]
    naive168 = seasonal_naive(demand, origins, horizon)[:, 0]
    naive24 = naive_24h(demand, origins, gaps, horizon)[:, 0]
    eia_df = eia_day_ahead(panel.ba_forecast, demand, panel.ba_demand, origins, gaps,
                           horizon)[:, 0]
    metrics = score_day_ahead(actual, p10, p50, p90, naive168, naive24, eia_df)
    comparable = np.isfinite(actual) & np.isfinite(naive168) & np.isfinite(naive24)
    actual_c = np.where(comparable, actual, np.nan)
    on_df = comparable & np.isfinite(eia_df)
    times = panel.times(horizon + MAX_GAP)
    hours = times[(origins[:, None] + np.arange(horizon)[None, :]).ravel()]
    local_hour = _local_hours(hours, panel.timezone).reshape(len(origins), horizon)
    steps = np.broadcast_to(np.arange(horizon)[None, :], actual.shape)
    series = {"model": p50, "naive168": naive168, "naive24": naive24,
              "eia_df": np.where(on_df, eia_df, np.nan)}
    weeks = hours.tz_convert(panel.timezone).normalize().tz_localize(None).to_period("W-SUN")
    week_of = np.asarray([str(w.start_time.date()) for w in weeks]).reshape(actual.shape)
    weekly = []
    for week in sorted(set(week_of.ravel())):
        mask = week_of == week
        same = np.where(mask & on_df, actual_c, np.nan)
        weekly.append({"week_start": week,
                       "model_mape": finite_or_none(mape(np.where(mask, actual_c, np.nan), p50),
                                                    3),
                       "model_mape_same_points": finite_or_none(mape(same, p50), 3),
                       "eia_df_mape": finite_or_none(mape(same, eia_df), 3),
                       "naive168_mape": finite_or_none(
                           mape(np.where(mask, actual_c, np.nan), naive168), 3)})
    series_mape = {code: finite_or_none(mape(actual_all[:, z], pred[:, z, :, 1]), 3)
                   for z, code in enumerate(forecaster.context.zone_ids)}
    details = {
        "kind": "day-ahead", "issue_hour_local": DAY_AHEAD_ISSUE_HOUR,
        "series": forecaster.context.zone_ids[0],
        "by_horizon": {k: _mape_by(steps, actual_c, v, horizon) for k, v in series.items()},
        "by_hour": {k: _mape_by(local_hour, actual_c, v, 24) for k, v in series.items()},
        "calibration": [
            {"quantile": "p10", "nominal": 10.0, "observed": metrics["coverage_p10"]},
            {"quantile": "p50", "nominal": 50.0, "observed": metrics["coverage_p50"]},
            {"quantile": "p90", "nominal": 90.0, "observed": metrics["coverage_p90"]},
            {"quantile": "p10-p90", "nominal": 80.0, "observed": metrics["coverage_p10_p90"]}],
        "weekly": weekly,
        "series_mape": series_mape,
        "predictions": {
            "issued_at": [t.isoformat() for t in panel.times()[issues]],
            "hours": [t.isoformat() for t in hours],
            "actual": _floats(actual), "p10": _floats(p10), "p50": _floats(p50),
            "p90": _floats(p90), "naive168": _floats(naive168), "naive24": _floats(naive24),
            "eia_df": _floats(eia_df)},
    }
    return metrics, details
