"""Time splits and the rolling-origin backtest over the held-out weeks.

The history is cut into train | validation | test hours. Networks learn on train, pick their
best epoch and calibrate intervals on validation, and are scored on test only: at origins every
`stride` hours through the test weeks, each forecasts 24 h and is compared with the actuals,
with the seasonal-naive baseline (same hour last week) and, where stored, the EIA day-ahead
forecast (DF) for the very same hours. The model is fixed over the test weeks (trained once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.base import Forecaster
from models.baselines import seasonal_naive, values_at
from models.exceptions import InsufficientHistoryError
from models.features import (
    DEMAND,
    DEMAND_FORECAST,
    HORIZON,
    WEEK_HOURS,
    FeatureCube,
    Panel,
    make_windows,
)
from models.metrics import coverage, finite_or_none, mape, rmse

MIN_TRAIN_ORIGINS = 48  # hours of origins the networks need at the very least


@dataclass(frozen=True)
class Split:
    """Panel indices: train [0, train_end), validation [train_end, val_end), test [val_end, n)."""

    train_end: int
    val_end: int
    n_hours: int


def split_hours(n_hours: int, test_hours: int, val_hours: int, city_id: str = "?") -> Split:
    train_end = n_hours - test_hours - val_hours
    need = WEEK_HOURS + HORIZON + MIN_TRAIN_ORIGINS + val_hours + test_hours
    if train_end - WEEK_HOURS - HORIZON < MIN_TRAIN_ORIGINS:
        raise InsufficientHistoryError(city_id, n_hours, need)
    return Split(train_end, train_end + val_hours, n_hours)


def origins_between(start: int, end: int, stride: int, horizon: int = HORIZON) -> np.ndarray:
    """Origins o in [start, end) whose whole horizon [o, o + H) also ends by `end`."""
    first = max(start, WEEK_HOURS)
    return np.arange(first, end - horizon + 1, max(1, stride), dtype=np.int64)


def backtest(forecaster: Forecaster, panel: Panel, cube: FeatureCube, origins: np.ndarray
             ) -> tuple[dict[str, float | None], dict[str, Any]]:
    """(metrics for the registry, details) of a trained forecaster at `origins`."""
    horizon = forecaster.context.horizon
    windows = make_windows(cube, origins, forecaster.context.encoder_hours, horizon)
    pred = forecaster.predict(windows)  # [N, Z, H, 3] MW
    actual = values_at(panel.values[DEMAND], origins, horizon)
    naive = seasonal_naive(panel.values[DEMAND], origins, horizon)
    day_ahead = values_at(panel.values[DEMAND_FORECAST], origins, horizon)
    comparable = np.isfinite(actual) & np.isfinite(naive)
    actual = np.where(comparable, actual, np.nan)
    p10, p50, p90 = pred[..., 0], pred[..., 1], pred[..., 2]
    on_df = np.isfinite(day_ahead) & comparable
    model_mape, naive_mape = mape(actual, p50), mape(actual, naive)
    metrics = {
        "mape": finite_or_none(model_mape),
        "rmse": finite_or_none(rmse(actual, p50)),
        "coverage_p10_p90": finite_or_none(coverage(actual, p10, p90)),
        "baseline_mape": finite_or_none(naive_mape),
        "eia_df_mape": finite_or_none(mape(actual, day_ahead)) if on_df.any() else None,
    }
    by_step = [finite_or_none(mape(actual[..., h], p50[..., h])) for h in range(horizon)]
    details = {
        "origins": len(origins), "points": int(comparable.sum()),
        "baseline_rmse": finite_or_none(rmse(actual, naive)),
        "skill_vs_baseline": finite_or_none(1 - model_mape / naive_mape)
        if model_mape is not None and naive_mape else None,
        "mape_by_horizon": by_step,
        "eia_df_points": int(on_df.sum()),
        "mape_on_eia_df_points": finite_or_none(mape(np.where(on_df, actual, np.nan), p50))
        if on_df.any() else None,
    }
    return metrics, details
