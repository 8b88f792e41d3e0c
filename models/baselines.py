"""Reference forecasts every model is measured against (pure numpy)."""

from __future__ import annotations

import numpy as np

from models.features import HORIZON, WEEK_HOURS


def values_at(series: np.ndarray, origins: np.ndarray | list[int], horizon: int = HORIZON,
              lag: int = 0) -> np.ndarray:
    """series[o + h - lag] for every origin o and step h: [N, Z, H], NaN outside the data."""
    origins = np.asarray(origins, dtype=np.int64)
    idx = origins[:, None] + np.arange(horizon)[None, :] - lag  # [N, H]
    out = np.full((len(origins), horizon, series.shape[1]), np.nan)
    ok = (idx >= 0) & (idx < series.shape[0])
    out[ok] = series[idx[ok]]
    return out.transpose(0, 2, 1)


def seasonal_naive(demand: np.ndarray, origins: np.ndarray | list[int],
                   horizon: int = HORIZON, season: int = WEEK_HOURS) -> np.ndarray:
    """Same hour last week, [N, Z, H]; every value it uses is known at the origin."""
    if horizon > season:
        raise ValueError("the seasonal-naive horizon must not exceed the season")
    return values_at(demand, origins, horizon, lag=season)
