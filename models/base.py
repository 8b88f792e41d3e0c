"""What every forecaster shares: its context (scaler, zones, graph), the quantile output, and
interval calibration for models without native quantiles.

Framework-free on purpose: the registry and precompute import this without loading TF/torch.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from models.features import FORECAST_LEADS, HORIZON, Scaler, Windows

QUANTILES = (0.1, 0.5, 0.9)
Progress = Callable[[int, float], None]  # (epoch, validation loss) after each epoch
State = TypeVar("State")


class BestEpoch(Generic[State]):
    """The weights of the epoch with the lowest validation loss, for the training loops.

    A NaN or infinite loss is never best: NaN compares False with everything, so a NaN taken
    as best would never be beaten by a later, finite epoch. If no epoch is finite, the weights
    before training are kept. Without validation data there is nothing to compare and the
    last epoch is kept.
    """

    def __init__(self, initial: State, has_validation: bool) -> None:
        self.loss = math.inf
        self.state = initial
        self.has_validation = has_validation

    def offer(self, loss: float, snapshot: Callable[[], State]) -> None:
        """An epoch ended with `loss`; `snapshot()` copies its weights if they are kept."""
        if not self.has_validation or (math.isfinite(loss) and loss < self.loss):
            self.loss, self.state = loss, snapshot()


@dataclass
class ModelContext:
    """Everything inference needs besides the weights; saved beside them, never refitted."""

    city_id: str
    zone_ids: tuple[str, ...]
    timezone: str
    scaler: Scaler
    zone_static: np.ndarray  # [Z, 2] standardised lat/lon
    encoder_hours: int
    horizon: int = HORIZON
    edges: list[tuple[str, str, float]] = field(default_factory=list)  # (src, dst, km)

    @property
    def n_zones(self) -> int:
        return len(self.zone_ids)

    def to_dict(self) -> dict[str, Any]:
        return {"city_id": self.city_id, "zone_ids": list(self.zone_ids),
                "timezone": self.timezone, "scaler": self.scaler.to_dict(),
                "zone_static": self.zone_static.tolist(), "encoder_hours": self.encoder_hours,
                "horizon": self.horizon, "edges": [list(e) for e in self.edges]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelContext:
        return cls(data["city_id"], tuple(data["zone_ids"]), data["timezone"],
                   Scaler.from_dict(data["scaler"]),
                   np.asarray(data["zone_static"], dtype=np.float32),
                   int(data["encoder_hours"]), int(data["horizon"]),
                   [(str(s), str(d), float(km)) for s, d, km in data.get("edges", [])])


class Forecaster(ABC):
    """A trained-offline model: `fit` (offline job only) and `predict` (inference only)."""

    name: ClassVar[str]
    flavour: ClassVar[Any]  # a registry.Flavour: how the network's weights are saved/loaded
    native_quantiles: ClassVar[bool]
    default_params: ClassVar[dict[str, Any]]

    def __init__(self, context: ModelContext, params: dict[str, Any] | None = None) -> None:
        self.context = context
        self.params = {**self.default_params, **(params or {})}
        # [FORECAST_LEADS, 2] per lead time (hours from issue to target): quantiles of the
        # relative residual actual/p50 - 1 (point models), or the widening of native quantiles
        # in scaled units (quantile models); None = not calibrated.
        self.calibration: np.ndarray | None = None
        self.extras: dict[str, Any] = {}
        self.network = self.build()

    @abstractmethod
    def build(self) -> Any:
        """A fresh, untrained network from params and context."""

    @abstractmethod
    def fit(self, train: Windows, val: Windows, seed: int,
            progress: Progress | None = None) -> list[float]:
        """Train on `train`, keep the epoch best on `val`; returns validation losses."""

    @abstractmethod
    def predict_scaled(self, windows: Windows) -> np.ndarray:
        """[N, Z, H, Q] in scaled demand units; Q = 3 (p10, p50, p90) or 1 (point)."""

    def predict(self, windows: Windows) -> np.ndarray:
        """[N, Z, H, 3] demand in MW: p10, p50, p90 (sorted, so they never cross)."""
        scaled = self.predict_scaled(windows).astype(np.float64)
        horizon = scaled.shape[2]
        per_lead = self._calibration_by_lead(windows, horizon)  # [N, H, 2]
        if self.native_quantiles and not self.residual_band:
            if per_lead is not None:  # conformal widening, per lead time
                scaled[..., 0] -= per_lead[:, None, :, 0]
                scaled[..., 2] += per_lead[:, None, :, 1]
            out = self.context.scaler.unscale_demand(scaled, windows.level)
        else:  # the (native or only) median with the calibrated relative band around it
            median = scaled[..., 1] if self.native_quantiles else scaled[..., 0]
            p50 = self.context.scaler.unscale_demand(median, windows.level)
            rel = per_lead if per_lead is not None else np.zeros((p50.shape[0], horizon, 2))
            out = np.stack([p50 * (1 + rel[:, None, :, 0]), p50,
                            p50 * (1 + rel[:, None, :, 1])], axis=-1)
        return np.sort(out, axis=-1)

    def _calibration_by_lead(self, windows: Windows, horizon: int) -> np.ndarray | None:
        if self.calibration is None:
            return None
        leads = np.clip(windows.leads(horizon), 0, len(self.calibration) - 1)
        return np.asarray(self.calibration)[leads]

    def calibrate(self, val: Windows) -> None:
        """Fit the p10-p90 interval per lead time on held-out windows (never test weeks, and
        never the windows early stopping chose the epoch on)."""
        scaled = self.predict_scaled(val).astype(np.float64)
        target = val.target.astype(np.float64)
        horizon = target.shape[-1]
        leads = np.broadcast_to(val.leads(horizon)[:, None, :], target.shape)
        hours = np.asarray(val.origins)[:, None] + np.arange(horizon)[None, :]
        days = np.broadcast_to((hours // 24)[:, None, :], target.shape)
        if self.native_quantiles and not self.residual_band:
            self.calibration = conformal_widening(scaled, target, leads, days)
            return
        median = scaled[..., 1] if self.native_quantiles else scaled[..., 0]
        actual = self.context.scaler.unscale_demand(target, val.level)
        p50 = self.context.scaler.unscale_demand(median, val.level)
        self.calibration = residual_quantiles(actual, p50, leads, days)

    @property
    def residual_band(self) -> bool:
        """Whether the p10-p90 band is the calibrated relative residual band around p50 (every
        model by default: one estimator, so the models' coverage compares like with like) or,
        for a quantile model with params interval="conformal", its own p10/p90 widened by
        split-conformal calibration (CQR). On the simulator's held-out weeks CQR left TFT and
        GBM at 65-70 % coverage where the residual band gave the point models 85 %."""
        return not self.native_quantiles or self.params.get("interval", "residual") != \
            "conformal"


def interval_kind(forecaster: Forecaster) -> str:
    """How a forecaster's p10-p90 band is made (stored with each forecast)."""
    if forecaster.native_quantiles and not forecaster.residual_band:
        return "quantile" if forecaster.calibration is None else "quantile+conformal"
    if forecaster.native_quantiles:
        return "quantile-median+residuals"
    return "backtest-residuals"


def residual_quantiles(actual: np.ndarray, p50: np.ndarray, leads: np.ndarray,
                       days: np.ndarray, level: float = 0.8,
                       n_leads: int = FORECAST_LEADS) -> np.ndarray:
    """[n_leads, 2] per-lead (-q, +q): q the `level` quantile of |actual/p50 - 1| over
    [N, Z, H] arrays (robust_quantile over the target days); a lead without data takes its
    nearest neighbour's, none at all zeros.

    Symmetric on purpose: a held-out week's errors lean one way (its weather regime), and a
    one-sided fit would shift the band by that lean instead of sizing it."""
    with np.errstate(all="ignore"):
        rel = np.abs(actual / p50 - 1.0)
    rel = np.where(np.isfinite(rel) & (np.abs(p50) > 1e-6), rel, np.nan)

    def fit(mask: np.ndarray) -> np.ndarray:
        q = robust_quantile(rel[mask], days[mask], level)
        return np.array([-q, q])

    return _per_lead(leads, n_leads, fit, rel)


def conformal_widening(quantiles: np.ndarray, target: np.ndarray, leads: np.ndarray,
                       days: np.ndarray, n_leads: int = FORECAST_LEADS,
                       level: float = 0.8) -> np.ndarray:
    """[n_leads, 2] split-conformal correction of the p10-p90 band per lead (CQR).

    The score of a held-out point is how far it falls outside the band (negative inside);
    both ends move by its `level` quantile (robust_quantile over the target days), so about
    80 % of such points land inside. A negative value narrows a too-wide band. Symmetric,
    like residual_quantiles.
    """
    scores = np.maximum(quantiles[..., 0] - target, target - quantiles[..., 2])

    def fit(mask: np.ndarray) -> np.ndarray:
        e = robust_quantile(scores[mask], days[mask], level)
        return np.array([e, e])

    return _per_lead(leads, n_leads, fit, scores)


def robust_quantile(scores: np.ndarray, days: np.ndarray, level: float) -> float:
    """The `level` quantile of `scores` pooled over the target days, leaving out outlier days.

    Errors come in days (a storm, a grid-stress event, a heat wave the models never saw):
    such a day in the calibration weeks would otherwise widen the band of every week after
    it. A day is an outlier when its mean |score| lies more than 3 scaled MADs above the
    median day's; the other days are pooled, so the band fits ordinary days at `level`.
    """
    labels = np.unique(days)
    if labels.size < 4:
        return float(np.quantile(scores, level))
    spread = np.array([np.mean(np.abs(scores[days == d])) for d in labels])
    centre = float(np.median(spread))
    mad = 1.4826 * float(np.median(np.abs(spread - centre)))
    kept = labels[spread <= centre + 3 * mad] if mad > 0 else labels
    return float(np.quantile(scores[np.isin(days, kept)], level))


def _per_lead(leads: np.ndarray, n_leads: int, fit: Callable[[np.ndarray], Any],
              values: np.ndarray) -> np.ndarray:
    out = np.full((n_leads, 2), np.nan)
    finite = np.isfinite(values)
    for lead in range(n_leads):
        mask = (leads == lead) & finite
        if mask.any():
            result = fit(mask)
            if result is not None:
                out[lead] = result
    known = np.flatnonzero(np.isfinite(out[:, 0]))
    if not known.size:
        return np.zeros((n_leads, 2))
    for lead in range(n_leads):  # leads never seen: the nearest seen lead's values
        if not np.isfinite(out[lead, 0]):
            out[lead] = out[known[np.argmin(np.abs(known - lead))]]
    return out
