"""Gradient boosting with quantile loss (LightGBM): the honest strong baseline.

As OpenSTEF does for its quantile models, one booster per quantile (p10, p50, p90), each
trained on the pinball loss of its quantile (lightgbm.train with objective "quantile": the
engine LGBMRegressor wraps, without a scikit-learn dependency). Direct multi-horizon: a
training sample is one (window, series, step h), and its features are read from the window
arrays every model gets: the step h, every known-future input at step h, the last 24 hours of
demand before the issue, the same hour a week before the issue and the mean of the last 7
days at that hour, the mean of the encoder's hours at the target's local hour, the series
(categorical) and its position.
Columns are found by name in PAST_FEATURES / FUTURE_FEATURES, never by position.

The quantiles are native; the base class widens them by split-conformal calibration
(models/base.py). This module is imported only when a gbm is built or loaded
(models.registry.forecaster_class), so the registry and the UI stay free of LightGBM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import lightgbm
import numpy as np

from models.base import QUANTILES, Forecaster, Progress
from models.features import DAY_HOURS, FUTURE_FEATURES, PAST_FEATURES, WEEK_HOURS, Windows
from models.registry import LightGBMFlavour

DEMAND_COLUMN = PAST_FEATURES.index("demand")
HOUR_COLUMNS = ("hour_sin", "hour_cos")  # the local hour, in both the past and future inputs
QUANTILE_KEYS = tuple(f"p{round(q * 100)}" for q in QUANTILES)  # p10, p50, p90
SERIES_FEATURE = "series"


@dataclass
class QuantileBoosters:
    """The network of a gbm: one booster per quantile key (empty until fitted or loaded)."""

    boosters: dict[str, lightgbm.Booster] = field(default_factory=dict)


def _has_hour_columns() -> bool:
    return all(c in PAST_FEATURES and c in FUTURE_FEATURES for c in HOUR_COLUMNS)


def feature_names(encoder_hours: int) -> list[str]:
    """Column names of the design matrix for an encoder of `encoder_hours`."""
    lags = [f"issue_lag_{j}h" for j in range(1, min(DAY_HOURS, encoder_hours) + 1)]
    week = (["issue_lag_168h", "issue_hour_mean_7d"] if encoder_hours >= WEEK_HOURS else [])
    target_hour = ["target_hour_mean"] if _has_hour_columns() else []
    names = ["step", *FUTURE_FEATURES, *lags, *week, *target_hour, SERIES_FEATURE, "lat", "lon"]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate gbm feature names: {names}")
    return names


def target_hour_mean(windows: Windows) -> np.ndarray:
    """[N, K, H] mean scaled demand of the encoder hours at each target's local hour.

    Matched on the calendar inputs rather than on offsets, so it needs no knowledge of the gap
    between the issue and the first target hour. NaN where the encoder holds no such hour.
    """
    past_cal = windows.past[:, 0][..., [PAST_FEATURES.index(c) for c in HOUR_COLUMNS]]
    future_cal = windows.future[:, 0][..., [FUTURE_FEATURES.index(c) for c in HOUR_COLUMNS]]
    # the calendar is the city's, the same for every series of a window: [N, H, L]
    same = (np.abs(future_cal[:, :, None, :] - past_cal[:, None, :, :]) < 1e-4).all(axis=-1)
    demand = windows.past[..., DEMAND_COLUMN].astype(np.float64)  # [N, K, L]
    total = np.einsum("nhl,nkl->nkh", same.astype(np.float64), demand)
    count = same.sum(axis=-1)[:, None, :]
    with np.errstate(all="ignore"):
        return np.where(count > 0, total / count, np.nan)


def design_matrix(windows: Windows, zone_static: np.ndarray) -> np.ndarray:
    """[N * K * H, F] float32 rows in (window, series, step) order, columns `feature_names`."""
    n, k, length, _ = windows.past.shape
    horizon = windows.future.shape[2]
    shape = (n, k, horizon)
    demand = windows.past[..., DEMAND_COLUMN]  # [N, K, L], scaled
    recent = [demand[..., length - j] for j in range(1, min(DAY_HOURS, length) + 1)]
    if length >= WEEK_HOURS:
        recent.append(demand[..., length - WEEK_HOURS])
        recent.append(demand[..., length - DAY_HOURS * np.arange(1, 8)].mean(axis=-1))
    static = zone_static[windows.zone_index]  # [N, K, 2]
    series = [windows.zone_index, static[..., 0], static[..., 1]]
    columns: list[np.ndarray] = [np.broadcast_to(np.arange(horizon), shape)]
    columns += [windows.future[..., i] for i in range(windows.future.shape[-1])]
    columns += [np.broadcast_to(c[..., None], shape) for c in recent]
    if _has_hour_columns():
        columns.append(target_hour_mean(windows))
    columns += [np.broadcast_to(c[..., None], shape) for c in series]
    out = np.empty((*shape, len(columns)), dtype=np.float32)
    for i, column in enumerate(columns):
        out[..., i] = column
    return out.reshape(-1, len(columns))


def pinball_loss(target: np.ndarray, predicted: np.ndarray,
                 quantiles: tuple[float, ...] = QUANTILES) -> float:
    """Mean pinball loss over `quantiles`: target [M], predicted [M, Q] (NaN if M = 0)."""
    if target.size == 0:
        return float("nan")
    diff = target[:, None] - predicted
    q = np.asarray(quantiles)[None, :]
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


class GBMForecaster(Forecaster):
    name = "gbm"
    flavour = LightGBMFlavour()
    native_quantiles = True
    default_params: ClassVar[dict[str, Any]] = {
        "encoder_hours": 168, "origin_stride": 3, "zones_per_origin": None,
        "n_estimators": 400, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8,
        "early_stopping_rounds": 50, "n_jobs": 2, "epochs": 1, "seed": 0,
        "linear_tree": True, "linear_lambda": 1.0,
    }

    def build(self) -> QuantileBoosters:
        return QuantileBoosters()

    def _booster_params(self, seed: int) -> dict[str, Any]:
        p = self.params
        return {"objective": "quantile", "metric": "quantile",
                "learning_rate": float(p["learning_rate"]), "num_leaves": int(p["num_leaves"]),
                "min_data_in_leaf": int(p["min_child_samples"]),
                "bagging_fraction": float(p["subsample"]),
                "bagging_freq": int(p["subsample_freq"]),
                "feature_fraction": float(p["colsample_bytree"]),
                "seed": int(seed), "deterministic": True, "force_row_wise": True,
                "num_threads": int(p["n_jobs"]), "verbosity": -1,
                # linear leaves: load keeps rising past the coldest or hottest hour it trained
                # on, which constant leaves cannot say (a first cold spell after a summer)
                "linear_tree": bool(p.get("linear_tree", True)),
                "linear_lambda": float(p.get("linear_lambda", 1.0))}

    def _samples(self, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
        """(features, target) of the samples whose target is known."""
        x = design_matrix(windows, self.context.zone_static)
        y = windows.target.reshape(-1).astype(np.float64)
        keep = np.isfinite(y)
        return x[keep], y[keep]

    def fit(self, train: Windows, val: Windows, seed: int,
            progress: Progress | None = None) -> list[float]:
        """One booster per quantile, each stopped early on `val`; returns [val pinball loss]."""
        if train.past.shape[2] != self.context.encoder_hours:
            raise ValueError("training windows do not match the model's encoder length")
        p = self.params
        x, y = self._samples(train)
        xv, yv = self._samples(val)
        params = self._booster_params(seed)
        data = lightgbm.Dataset(x, y, feature_name=feature_names(self.context.encoder_hours),
                                categorical_feature=[SERIES_FEATURE], free_raw_data=False,
                                params={"verbosity": -1})
        valid = [lightgbm.Dataset(xv, yv, reference=data)] if len(yv) else None
        callbacks = ([lightgbm.early_stopping(int(p["early_stopping_rounds"]), verbose=False)]
                     if valid else [])
        for key, quantile in zip(QUANTILE_KEYS, QUANTILES, strict=True):
            booster = lightgbm.train({**params, "alpha": quantile}, data,
                                     num_boost_round=int(p["n_estimators"]), valid_sets=valid,
                                     callbacks=callbacks)
            # keep exactly what the registry saves: the best iteration's trees, nothing more
            self.network.boosters[key] = lightgbm.Booster(model_str=booster.model_to_string())
        loss = pinball_loss(yv, self._predict_rows(xv)) if len(yv) else float("nan")
        if progress is not None:
            progress(0, loss)
        return [loss]

    def _predict_rows(self, x: np.ndarray) -> np.ndarray:
        """[M, 3] scaled quantiles of design-matrix rows."""
        if set(self.network.boosters) != set(QUANTILE_KEYS):
            raise RuntimeError("the gbm has no boosters: fit it or load an artifact first")
        if len(x) == 0:
            return np.zeros((0, len(QUANTILE_KEYS)))
        threads = int(self.params["n_jobs"])
        return np.stack([self.network.boosters[key].predict(x, num_threads=threads)
                         for key in QUANTILE_KEYS], axis=-1)

    def predict_scaled(self, windows: Windows) -> np.ndarray:
        rows = self._predict_rows(design_matrix(windows, self.context.zone_static))
        return rows.reshape(len(windows.origins), windows.n_zones, self.context.horizon,
                            len(QUANTILE_KEYS))
