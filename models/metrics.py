"""Forecast error measures shared by the backtest and the live scorecard (pure numpy).

MAPE and coverage are percentages. Points where the actual (or the forecast) is missing or the
actual is ~0 are left out, so a gap never turns into NaN or Inf; no usable point gives None.
"""

from __future__ import annotations

import numpy as np

MIN_ACTUAL = 1e-6


def _usable(actual: np.ndarray, *others: np.ndarray) -> np.ndarray:
    mask = np.isfinite(actual) & (np.abs(actual) > MIN_ACTUAL)
    for other in others:
        mask &= np.isfinite(other)
    return mask


def mape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Mean absolute percentage error, in percent."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    mask = _usable(actual, forecast)
    if not mask.any():
        return None
    return float(np.mean(np.abs(forecast[mask] - actual[mask]) / np.abs(actual[mask])) * 100)


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Root mean squared error, in the unit of the series (MW)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    mask = _usable(actual, forecast)
    if not mask.any():
        return None
    return float(np.sqrt(np.mean((forecast[mask] - actual[mask]) ** 2)))


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float | None:
    """Share of actuals inside [low, high], in percent (80 is ideal for p10-p90)."""
    actual, low, high = (np.asarray(a, float) for a in (actual, low, high))
    mask = _usable(actual, low, high)
    if not mask.any():
        return None
    inside = (actual[mask] >= low[mask]) & (actual[mask] <= high[mask])
    return float(np.mean(inside) * 100)


def error_sums(actual: np.ndarray, forecast: np.ndarray) -> tuple[int, float, float]:
    """(points, sum of absolute percentage errors, sum of squared errors) for running totals."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    mask = _usable(actual, forecast)
    err = forecast[mask] - actual[mask]
    return int(mask.sum()), float(np.sum(np.abs(err) / np.abs(actual[mask]))), float(
        np.sum(err ** 2))


def finite_or_none(value: float | None, digits: int = 4) -> float | None:
    """Documents never carry NaN/Inf: those become None."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits)


def bias(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Mean of forecast - actual (MW): positive when the forecast runs high."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    mask = _usable(actual, forecast)
    return float(np.mean(forecast[mask] - actual[mask])) if mask.any() else None


def pinball(actual: np.ndarray, quantiles: dict[float, np.ndarray]) -> float | None:
    """Mean pinball (quantile) loss over the given quantile levels, in MW."""
    actual = np.asarray(actual, float)
    losses = []
    for level, forecast in quantiles.items():
        forecast = np.asarray(forecast, float)
        mask = _usable(actual, forecast)
        if not mask.any():
            return None
        diff = actual[mask] - forecast[mask]
        losses.append(np.mean(np.maximum(level * diff, (level - 1) * diff)))
    return float(np.mean(losses)) if losses else None


def share_below(actual: np.ndarray, quantile: np.ndarray) -> float | None:
    """Share of actuals at or below a quantile forecast, in percent (its level is ideal)."""
    actual, quantile = np.asarray(actual, float), np.asarray(quantile, float)
    mask = _usable(actual, quantile)
    return float(np.mean(actual[mask] <= quantile[mask]) * 100) if mask.any() else None
