"""Model inputs from the hourly zone history: panels, calendar, scaling and windows (pure numpy).

A `Panel` is the history frame (pipeline/history.py FRAME_COLUMNS) pivoted to one [hours x zones]
array per metric on a complete hourly UTC grid. A `Scaler` is fitted on the training hours only
and saved with the artifact; inference reuses it and never refits. `make_windows` cuts, for each
forecast origin o (the first forecast hour), the encoder hours [o - L, o) and the horizon
[o, o + H) into arrays every model shares. Demand enters relative to the zone's mean over the
7 days before the origin (`level`), so zones of any size and a season's drift look alike:

- past   [N, K, L, len(PAST_FEATURES)]   demand, weather, AQI, congestion, incidents, calendar;
- future [N, K, H, len(FUTURE_FEATURES)] inputs known when the forecast is issued: calendar,
  a persistence temperature forecast (same hour yesterday; the history has no weather forecast),
  and demand one day and one week before each target hour (known because H <= 24);
- target [N, K, H]                        scaled demand, NaN where no actual exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import holidays
import numpy as np
import pandas as pd

from core.clock import floor_hour

HORIZON = 24
WEEK_HOURS = 168
DAY_HOURS = 24

DEMAND = "demand_mw"
DEMAND_FORECAST = "demand_forecast_mw"
COVARIATES = ("temperature_c", "us_aqi", "congestion", "incident_count")
PANEL_METRICS = (DEMAND, DEMAND_FORECAST, *COVARIATES)
LOG_METRICS = frozenset({"incident_count"})  # counts: log1p before scaling

CALENDAR_FEATURES = ("hour_sin", "hour_cos", "dow_sin", "dow_cos", "weekend", "holiday")
PAST_FEATURES = ("demand", "temperature", "aqi", "congestion", "incidents", *CALENDAR_FEATURES)
FUTURE_FEATURES = (*CALENDAR_FEATURES, "temperature_forecast", "demand_lag_24h",
                   "demand_lag_168h")
STATIC_FEATURES = ("zone", "lat", "lon")


def calendar_features(times: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """[T, 6] cyclic local hour/day-of-week, weekend and US public holiday flags.

    Local time, because demand follows the city's clock, not UTC.
    """
    local = times.tz_convert(timezone)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60.0
    dow = local.dayofweek.to_numpy()
    years = range(int(local.year.min()), int(local.year.max()) + 1) if len(local) else []
    us_holidays = holidays.country_holidays("US", years=list(years))
    dates = local.date
    holiday = np.fromiter((d in us_holidays for d in dates), dtype=float, count=len(dates))
    return np.stack([
        np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24),
        np.sin(2 * np.pi * dow / 7), np.cos(2 * np.pi * dow / 7),
        (dow >= 5).astype(float), holiday,
    ], axis=1).astype(np.float32)


@dataclass(frozen=True)
class Panel:
    """Raw hourly metrics of one city as [hours x zones] arrays (NaN where missing)."""

    start: pd.Timestamp
    zone_ids: tuple[str, ...]
    values: dict[str, np.ndarray]
    timezone: str

    @property
    def n_hours(self) -> int:
        return self.values[DEMAND].shape[0]

    def times(self, extra_hours: int = 0) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_hours + extra_hours, freq="h")

    def index_of(self, ts: datetime | pd.Timestamp) -> int:
        return int((floor_hour(ts) - self.start) // pd.Timedelta(hours=1))


def build_panel(frame: pd.DataFrame, zone_ids: list[str] | tuple[str, ...], start: datetime,
                end: datetime, timezone: str) -> Panel:
    """Pivot the history frame onto the complete hourly grid [start, end) x zone_ids."""
    start_ts, end_ts = floor_hour(start), floor_hour(end)
    hours = pd.date_range(start_ts, end_ts, freq="h", inclusive="left")
    zones = tuple(zone_ids)
    values: dict[str, np.ndarray] = {}
    if frame.empty:
        for metric in PANEL_METRICS:
            values[metric] = np.full((len(hours), len(zones)), np.nan)
        return Panel(start_ts, zones, values, timezone)
    ts = pd.to_datetime(frame["ts"], utc=True)
    for metric in PANEL_METRICS:
        if metric not in frame:
            values[metric] = np.full((len(hours), len(zones)), np.nan)
            continue
        table = pd.DataFrame({"ts": ts, "zone_id": frame["zone_id"].astype(str),
                              "v": pd.to_numeric(frame[metric], errors="coerce")})
        wide = table.pivot_table(index="ts", columns="zone_id", values="v", aggfunc="mean")
        wide = wide.reindex(index=hours, columns=list(zones))
        values[metric] = wide.to_numpy(dtype=float, copy=True)
    return Panel(start_ts, zones, values, timezone)


def _transform(metric: str, values: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(values, 0, None)) if metric in LOG_METRICS else values


def trailing_level(demand: np.ndarray, origins: np.ndarray, hours: int = WEEK_HOURS
                   ) -> np.ndarray:
    """Mean demand of each zone over the `hours` before each origin: [N, Z] (NaN-aware).

    Demand enters the networks relative to this level, so a season's or a zone's level
    change is a scale, not an input the network never saw.
    """
    filled = np.nan_to_num(demand, nan=0.0)
    count = np.isfinite(demand).astype(float)
    csum = np.vstack([np.zeros((1, demand.shape[1])), np.cumsum(filled, axis=0)])
    ccount = np.vstack([np.zeros((1, demand.shape[1])), np.cumsum(count, axis=0)])
    lo = np.clip(origins - hours, 0, None)
    with np.errstate(all="ignore"):
        level = (csum[origins] - csum[lo]) / (ccount[origins] - ccount[lo])
    return level


@dataclass
class Scaler:
    """Fitted on training hours only, saved with the model, never refitted at inference.

    Demand: relative to its trailing 7-day level (demand / level - 1) divided by `rel_std`;
    covariates: standardised (incident counts after log1p).
    """

    rel_std: float
    cov_mean: dict[str, float]
    cov_std: dict[str, float]

    @classmethod
    def fit(cls, panel: Panel, end_index: int) -> Scaler:
        demand = panel.values[DEMAND][:end_index]
        hours = np.arange(WEEK_HOURS, demand.shape[0])
        rel = np.full((0,), np.nan)
        if hours.size:
            level = trailing_level(demand, hours)
            with np.errstate(all="ignore"):
                rel = (demand[hours] / level - 1).ravel()
        rel = rel[np.isfinite(rel)]
        rel_std = float(rel.std()) if rel.size else 0.1
        cov_mean, cov_std = {}, {}
        for metric in COVARIATES:
            data = _transform(metric, panel.values[metric][:end_index])
            finite = data[np.isfinite(data)]
            cov_mean[metric] = float(finite.mean()) if finite.size else 0.0
            spread = float(finite.std()) if finite.size else 1.0
            cov_std[metric] = spread if spread > 1e-6 else 1.0
        return cls(rel_std if rel_std > 1e-6 else 0.1, cov_mean, cov_std)

    def scale_demand(self, values: np.ndarray, level: np.ndarray) -> np.ndarray:
        """MW -> model units, `level` broadcast against `values`."""
        with np.errstate(all="ignore"):
            return (values / level - 1.0) / self.rel_std

    def unscale_demand(self, scaled: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Model units -> MW; `level` [N, Z] against [N, Z, ...] forecasts."""
        level = level.reshape(level.shape + (1,) * (scaled.ndim - level.ndim))
        return (scaled * self.rel_std + 1.0) * level

    def scale_covariate(self, metric: str, values: np.ndarray) -> np.ndarray:
        return (_transform(metric, values) - self.cov_mean[metric]) / self.cov_std[metric]

    def to_dict(self) -> dict[str, Any]:
        return {"rel_std": self.rel_std, "cov_mean": dict(self.cov_mean),
                "cov_std": dict(self.cov_std)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        return cls(float(data["rel_std"]),
                   {k: float(v) for k, v in data["cov_mean"].items()},
                   {k: float(v) for k, v in data["cov_std"].items()})


def _fill(values: np.ndarray, fallback: float = 0.0) -> np.ndarray:
    """Carry the last value forward (then backward) through gaps; what is left is `fallback`."""
    filled = pd.DataFrame(values).ffill().bfill().to_numpy(dtype=np.float64, copy=True)
    return np.where(np.isnan(filled), fallback, filled)


@dataclass(frozen=True)
class FeatureCube:
    """Gap-filled inputs of a panel (demand in MW, covariates scaled), ready for windows."""

    covariates: np.ndarray  # [T, Z, len(COVARIATES)] scaled
    calendar: np.ndarray  # [T + HORIZON, 6]
    demand: np.ndarray  # [T, Z] MW, gaps filled
    actual: np.ndarray  # [T, Z] MW, NaN where no actual
    scaler: Scaler


def feature_cube(panel: Panel, scaler: Scaler) -> FeatureCube:
    actual = panel.values[DEMAND].astype(np.float64)
    demand = _fill(actual)
    covs = np.stack([_fill(scaler.scale_covariate(m, panel.values[m])) for m in COVARIATES],
                    axis=-1)
    calendar = calendar_features(panel.times(HORIZON), panel.timezone)
    return FeatureCube(covs.astype(np.float32), calendar, demand, actual, scaler)


@dataclass(frozen=True)
class Windows:
    """Model-ready windows: per origin, the zones in `zone_index` (all zones by default)."""

    origins: np.ndarray  # [N] panel indices of the first forecast hour
    zone_index: np.ndarray  # [N, K] which zones (catalog positions) each window row holds
    level: np.ndarray  # [N, K] trailing 7-day mean demand (MW): the demand scale
    past: np.ndarray  # [N, K, L, Fp]
    future: np.ndarray  # [N, K, H, Fk]
    target: np.ndarray  # [N, K, H] scaled, NaN where unknown

    @property
    def n_zones(self) -> int:
        return self.past.shape[1]

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(past, future, zone index, target) with origins and zones merged into samples."""
        n, k = self.past.shape[:2]
        return (self.past.reshape(n * k, *self.past.shape[2:]),
                self.future.reshape(n * k, *self.future.shape[2:]),
                self.zone_index.reshape(-1).astype(np.int64),
                self.target.reshape(n * k, -1))


def make_windows(cube: FeatureCube, origins: np.ndarray | list[int], encoder_hours: int,
                 horizon: int = HORIZON, zone_index: np.ndarray | None = None) -> Windows:
    """Cut windows at `origins` (needs WEEK_HOURS of history before each origin)."""
    origins = np.asarray(origins, dtype=np.int64)
    if horizon > DAY_HOURS or encoder_hours > WEEK_HOURS:
        raise ValueError("horizon must be <= 24 h and the encoder <= 168 h")
    if origins.size and origins.min() < WEEK_HOURS:
        raise ValueError(f"an origin needs {WEEK_HOURS} hours of history before it")
    n_hours, zones = cube.demand.shape
    if origins.size and origins.max() > n_hours:
        raise ValueError("origin beyond the end of the panel")
    if zone_index is None:
        zone_index = np.tile(np.arange(zones), (len(origins), 1))
    zone_index = np.asarray(zone_index, dtype=np.int64)
    rows = np.arange(len(origins))[:, None]
    level = trailing_level(cube.demand, origins)[rows, zone_index]  # [N, K]
    level = np.where(np.isfinite(level) & (level > 1e-6), level, 1.0)
    scale = cube.scaler

    def demand_at(idx: np.ndarray, series: np.ndarray) -> np.ndarray:
        """series[idx] for each window's zones, scaled by its level: [N, K, len(idx)]."""
        picked = np.take_along_axis(series[idx], zone_index[:, None, :], axis=2)  # [N, S, K]
        return scale.scale_demand(picked.transpose(0, 2, 1), level[:, :, None])

    past_idx = origins[:, None] + np.arange(-encoder_hours, 0)[None, :]  # [N, L]
    covs = np.take_along_axis(cube.covariates[past_idx], zone_index[:, None, :, None], axis=2)
    past_cal = np.broadcast_to(cube.calendar[past_idx][:, None],
                               (len(origins), zone_index.shape[1], encoder_hours,
                                cube.calendar.shape[1]))
    past = np.concatenate([demand_at(past_idx, cube.demand)[..., None],
                           covs.transpose(0, 2, 1, 3), past_cal], axis=-1)
    fut_idx = origins[:, None] + np.arange(horizon)[None, :]  # [N, H]
    fut_cal = np.broadcast_to(cube.calendar[fut_idx][:, None],
                              (len(origins), zone_index.shape[1], horizon,
                               cube.calendar.shape[1]))
    temperature = np.take_along_axis(cube.covariates[fut_idx - DAY_HOURS][..., 0],
                                     zone_index[:, None, :], axis=2).transpose(0, 2, 1)
    known = np.stack([temperature, demand_at(fut_idx - DAY_HOURS, cube.demand),
                      demand_at(fut_idx - WEEK_HOURS, cube.demand)], axis=-1)
    future = np.concatenate([fut_cal, known], axis=-1)
    padded = np.vstack([cube.actual, np.full((horizon, zones), np.nan)])
    target = demand_at(fut_idx, padded)
    return Windows(origins, zone_index, level.astype(np.float64),
                   np.ascontiguousarray(past, dtype=np.float32),
                   np.ascontiguousarray(future, dtype=np.float32),
                   np.ascontiguousarray(target, dtype=np.float32))


def zone_statics(lats: list[float], lons: list[float]) -> np.ndarray:
    """[Z, 2] standardised zone centroids: the static real covariates."""
    coords = np.column_stack([np.asarray(lats, float), np.asarray(lons, float)])
    std = coords.std(axis=0)
    return ((coords - coords.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)).astype(np.float32)
