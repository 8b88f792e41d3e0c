"""Reference forecasts every model is measured against (pure numpy).

All three use only what is known at the issue hour i of a forecast for hour t = i + lead:
- seasonal naive: the same hour one week earlier (t - 168);
- 24 h naive: the same hour on the latest day known at issue time (t - 24, or t - 48 when
  t - 24 is not yet known: a day-ahead forecast issued at 10:00 for tomorrow);
- EIA DF: the parent balancing authority's own day-ahead forecast for hour t, scaled to the
  series by the series' share of the BA's demand over the 7 days before the issue (EIA
  publishes DF for the BA only, not per subregion).
"""

from __future__ import annotations

import numpy as np

from models.features import HORIZON, WEEK_HOURS, known_lag, trailing_level


def values_at(series: np.ndarray, origins: np.ndarray | list[int], horizon: int = HORIZON,
              lag: int | np.ndarray = 0) -> np.ndarray:
    """series[o + h - lag] for every origin o and step h: [N, Z, H], NaN outside the data.

    `lag` is a number or an [N, H] array (a lag per origin and step)."""
    origins = np.asarray(origins, dtype=np.int64)
    idx = origins[:, None] + np.arange(horizon)[None, :] - np.asarray(lag, dtype=np.int64)
    idx = np.broadcast_to(idx, (len(origins), horizon))
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


def naive_24h(demand: np.ndarray, origins: np.ndarray | list[int], gaps: np.ndarray | int = 0,
              horizon: int = HORIZON) -> np.ndarray:
    """Same hour on the latest day known at issue time (origins - gaps), [N, Z, H]."""
    origins = np.asarray(origins, dtype=np.int64)
    gaps = np.broadcast_to(np.asarray(gaps, dtype=np.int64), origins.shape)
    leads = gaps[:, None] + np.arange(horizon)[None, :]
    return values_at(demand, origins, horizon, lag=known_lag(leads))


def series_share(demand: np.ndarray, ba_demand: np.ndarray, issues: np.ndarray) -> np.ndarray:
    """[N, Z] each series' share of the BA's demand over the 7 days before each issue."""
    both = np.isfinite(demand) & np.isfinite(ba_demand)[:, None]
    series = trailing_level(np.where(both, demand, np.nan), issues)
    ba = trailing_level(np.where(both, ba_demand[:, None], np.nan), issues)
    with np.errstate(all="ignore"):
        return series / ba


def eia_day_ahead(ba_forecast: np.ndarray, demand: np.ndarray, ba_demand: np.ndarray,
                  origins: np.ndarray | list[int], gaps: np.ndarray | int = 0,
                  horizon: int = HORIZON) -> np.ndarray:
    """EIA's DF for the BA, apportioned to each series by its trailing share: [N, Z, H]."""
    origins = np.asarray(origins, dtype=np.int64)
    issues = origins - np.broadcast_to(np.asarray(gaps, dtype=np.int64), origins.shape)
    share = series_share(demand, ba_demand, issues)  # [N, Z]
    df = values_at(ba_forecast[:, None], origins, horizon)  # [N, 1, H]
    return df * share[:, :, None]
