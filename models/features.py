"""Model inputs from the hourly grid history: panels, calendar, scaling and windows (pure numpy).

The models forecast the city's demand series: its EIA-930 subregion (NYIS ZONJ for New York),
alongside the parent balancing authority's other subregions (core/subregions.py). A `Panel`
holds, on a complete hourly UTC grid, demand per series [hours x series], the city's mean
temperature, the parent's demand and EIA day-ahead forecast (DF), and the weather forecasts as
they were issued: `forecast[i, lead]` is the city-mean temperature that the forecast issued
at hour i said for hour i + lead (pipeline/forecasts.py). A `Scaler` is fitted on the
training hours only and saved with the artifact; inference reuses it and never refits.

A window is issued at hour i (everything before i is known) and forecasts the 24 hours from
i + gap: gap 0 is the live next-24-h forecast, gap 14 the day-ahead forecast issued at 10:00
for the next local day (models/backtest.py). Demand enters relative to the series' mean over
the 7 days before the issue (`level`), so series of any size and a season's drift look alike:

- past   [N, K, L, len(PAST_FEATURES)]   demand, temperature, calendar of the hours [i - L, i);
- future [N, K, H, len(FUTURE_FEATURES)] inputs known at issue time for each target hour:
  calendar, the issued temperature forecast and its heating/cooling degrees, the lead time,
  the actual temperature and the demand of the same hour on the latest known day and one
  week before (so a model can relate the lagged demand to the weather it came with);
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

# the inputs' layout: an artifact trained on another version cannot be fed and is retrained
FEATURE_VERSION = 2  # 2: EIA subregion series, issued weather forecasts, lead times
HORIZON = 24
WEEK_HOURS = 168
DAY_HOURS = 24
FORECAST_LEADS = 48  # hours ahead each stored weather forecast covers
MAX_GAP = FORECAST_LEADS - HORIZON  # the latest start of a horizon after its issue
BALANCE_C = 18.0  # degree-hours are counted from here (heating below, cooling above)
DEGREE_SCALE_C = 10.0

DEMAND = "demand_mw"
TEMPERATURE = "temperature_c"
BA_DEMAND = "ba_demand_mw"
BA_FORECAST = "ba_forecast_mw"
COVARIATES = (TEMPERATURE,)
PANEL_METRICS = (DEMAND, TEMPERATURE)
SERIES_COLUMN = "series"

CALENDAR_FEATURES = ("hour_sin", "hour_cos", "dow_sin", "dow_cos", "weekend", "holiday")
PAST_FEATURES = ("demand", "temperature", *CALENDAR_FEATURES)
FUTURE_FEATURES = (*CALENDAR_FEATURES, "temperature_forecast", "heating_degrees",
                   "cooling_degrees", "lead", "temperature_lag_day", "temperature_lag_week",
                   "demand_lag_day", "demand_lag_week")
STATIC_FEATURES = ("series", "lat", "lon")


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
    """One city's hourly grid history, NaN where missing (see the module docstring)."""

    start: pd.Timestamp
    zone_ids: tuple[str, ...]  # the series (EIA subregion codes), the city's own first
    values: dict[str, np.ndarray]  # DEMAND and TEMPERATURE, [hours x series]
    timezone: str
    ba_demand: np.ndarray  # [hours] the parent BA's demand (EIA D)
    ba_forecast: np.ndarray  # [hours] the parent BA's day-ahead forecast (EIA DF)
    forecast: np.ndarray  # [hours, FORECAST_LEADS] issued city-mean temperature forecasts

    @property
    def n_hours(self) -> int:
        return self.values[DEMAND].shape[0]

    def times(self, extra_hours: int = 0) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_hours + extra_hours, freq="h")

    def index_of(self, ts: datetime | pd.Timestamp) -> int:
        return int((floor_hour(ts) - self.start) // pd.Timedelta(hours=1))


def model_frame(grid: pd.DataFrame, hourly: pd.DataFrame) -> pd.DataFrame:
    """Pure: the grid history (pipeline.history.load_grid_frame) joined with the city's mean
    temperature per hour (from the zone history) -> columns series, ts, demand_mw,
    temperature_c, ba_demand_mw, ba_forecast_mw."""
    columns = [SERIES_COLUMN, "ts", DEMAND, TEMPERATURE, BA_DEMAND, BA_FORECAST]
    if grid is None or grid.empty:
        return pd.DataFrame(columns=columns)
    out = grid.copy()
    out["ts"] = pd.to_datetime(out["ts"], utc=True)
    if hourly is not None and not hourly.empty and TEMPERATURE in hourly:
        temp = (hourly.assign(ts=pd.to_datetime(hourly["ts"], utc=True))
                .groupby("ts")[TEMPERATURE].mean())
        out[TEMPERATURE] = out["ts"].map(temp)
    else:
        out[TEMPERATURE] = np.nan
    for column in columns:
        if column not in out:
            out[column] = np.nan
    return out[columns]


def _pivot(frame: pd.DataFrame, column: str, hours: pd.DatetimeIndex,
           series: tuple[str, ...]) -> np.ndarray:
    table = pd.DataFrame({"ts": pd.to_datetime(frame["ts"], utc=True),
                          SERIES_COLUMN: frame[SERIES_COLUMN].astype(str),
                          "v": pd.to_numeric(frame[column], errors="coerce")})
    wide = table.pivot_table(index="ts", columns=SERIES_COLUMN, values="v", aggfunc="mean")
    return wide.reindex(index=hours, columns=list(series)).to_numpy(dtype=float, copy=True)


def _hourly(frame: pd.DataFrame, column: str, hours: pd.DatetimeIndex) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    by_hour = values.groupby(pd.to_datetime(frame["ts"], utc=True)).mean()
    return by_hour.reindex(hours).to_numpy(dtype=float, copy=True)


def build_panel(frame: pd.DataFrame, series_ids: list[str] | tuple[str, ...], start: datetime,
                end: datetime, timezone: str,
                forecast: tuple[pd.DatetimeIndex, np.ndarray] | None = None) -> Panel:
    """Pivot a model frame (model_frame) onto the complete hourly grid [start, end) x series.

    `forecast` is (issue times, [T, FORECAST_LEADS]) from pipeline.forecasts; issue hours it
    lacks stay NaN (feature_cube falls back on earlier issuances, then on persistence).
    """
    start_ts, end_ts = floor_hour(start), floor_hour(end)
    hours = pd.date_range(start_ts, end_ts, freq="h", inclusive="left")
    series = tuple(series_ids)
    empty = frame is None or frame.empty
    values = {m: (np.full((len(hours), len(series)), np.nan) if empty
                  else _pivot(frame, m, hours, series)) for m in PANEL_METRICS}
    if not empty:  # the temperature is the city's: one value per hour for every series
        temp = _hourly(frame, TEMPERATURE, hours)
        values[TEMPERATURE] = np.repeat(temp[:, None], len(series), axis=1)
    ba = np.full(len(hours), np.nan) if empty else _hourly(frame, BA_DEMAND, hours)
    df = np.full(len(hours), np.nan) if empty else _hourly(frame, BA_FORECAST, hours)
    issued = np.full((len(hours), FORECAST_LEADS), np.nan)
    if forecast is not None and len(forecast[0]):
        times, matrix = forecast
        position = pd.Index(pd.to_datetime(times, utc=True)).get_indexer(hours)
        found = position >= 0
        issued[found] = np.asarray(matrix, dtype=float)[position[found], :FORECAST_LEADS]
    return Panel(start_ts, series, values, timezone, ba, df, issued)


def _transform(metric: str, values: np.ndarray) -> np.ndarray:
    return values  # every covariate is scaled as it is (a hook for count-like inputs)


def trailing_level(demand: np.ndarray, origins: np.ndarray, hours: int = WEEK_HOURS
                   ) -> np.ndarray:
    """Mean demand of each series over the `hours` before each origin: [N, Z] (NaN-aware).

    Demand enters the networks relative to this level, so a season's or a series' level
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


def known_lag(leads: np.ndarray) -> np.ndarray:
    """Hours back to the same hour on the latest day known at issue time, for each lead.

    A target `lead` hours after the issue hour i can use demand before i only: 24 h back for
    leads 0..23, 48 h for 24..47."""
    return DAY_HOURS * ((np.asarray(leads) // DAY_HOURS) + 1)


def fill_forecasts(issued: np.ndarray, temperature: np.ndarray, back: int = 6) -> np.ndarray:
    """Issued forecasts [T, LEADS] with gaps filled from what was known at each issue hour.

    A missing issuance takes the latest earlier one (up to `back` hours before, same target
    hours); what is still missing is persistence: the actual temperature of the same hour on
    the latest day known at issue time; then the last known temperature.
    """
    out = np.array(issued, dtype=float, copy=True)
    n, leads = out.shape
    for k in range(1, back + 1):
        if not np.isnan(out).any():
            break
        shifted = np.full_like(out, np.nan)
        if k < n:
            shifted[k:, :leads - k] = out[:-k, k:]
        out = np.where(np.isnan(out), shifted, out)
    if np.isnan(out).any():
        temp = _fill(temperature[:, None], fallback=float(np.nanmean(temperature))
                     if np.isfinite(temperature).any() else 10.0)[:, 0]
        lead = np.arange(leads)
        idx = np.arange(n)[:, None] + lead[None, :] - known_lag(lead)[None, :]
        persistence = temp[np.clip(idx, 0, n - 1)]
        out = np.where(np.isnan(out), persistence, out)
    return out


@dataclass(frozen=True)
class FeatureCube:
    """Gap-filled inputs of a panel (demand in MW, covariates scaled), ready for windows."""

    covariates: np.ndarray  # [T, Z, len(COVARIATES)] scaled
    calendar: np.ndarray  # [T + FORECAST_LEADS, 6]
    demand: np.ndarray  # [T, Z] MW, gaps filled
    actual: np.ndarray  # [T, Z] MW, NaN where no actual
    forecast: np.ndarray  # [T, FORECAST_LEADS] °C, gaps filled (fill_forecasts)
    scaler: Scaler


def feature_cube(panel: Panel, scaler: Scaler) -> FeatureCube:
    actual = panel.values[DEMAND].astype(np.float64)
    demand = _fill(actual)
    covs = np.stack([_fill(scaler.scale_covariate(m, panel.values[m])) for m in COVARIATES],
                    axis=-1)
    calendar = calendar_features(panel.times(FORECAST_LEADS), panel.timezone)
    city_temp = panel.values[TEMPERATURE][:, 0] if panel.values[TEMPERATURE].shape[1] else \
        np.full(panel.n_hours, np.nan)
    forecast = fill_forecasts(panel.forecast, city_temp)
    return FeatureCube(covs.astype(np.float32), calendar, demand, actual, forecast, scaler)


@dataclass(frozen=True)
class Windows:
    """Model-ready windows: per issue, the series in `zone_index` (all series by default)."""

    origins: np.ndarray  # [N] panel indices of the first forecast hour (issue + gap)
    zone_index: np.ndarray  # [N, K] which series (context positions) each window row holds
    level: np.ndarray  # [N, K] trailing 7-day mean demand (MW) before the issue: the scale
    past: np.ndarray  # [N, K, L, Fp]
    future: np.ndarray  # [N, K, H, Fk]
    target: np.ndarray  # [N, K, H] scaled, NaN where unknown
    gaps: np.ndarray | None = None  # [N] hours from issue to the first forecast hour

    @property
    def n_zones(self) -> int:
        return self.past.shape[1]

    @property
    def gap_hours(self) -> np.ndarray:
        return (np.zeros(len(self.origins), dtype=np.int64) if self.gaps is None
                else np.asarray(self.gaps, dtype=np.int64))

    @property
    def issues(self) -> np.ndarray:
        return np.asarray(self.origins, dtype=np.int64) - self.gap_hours

    def leads(self, horizon: int) -> np.ndarray:
        """[N, H] hours from the issue to each target hour."""
        return self.gap_hours[:, None] + np.arange(horizon)[None, :]

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(past, future, zone index, target) with origins and zones merged into samples."""
        n, k = self.past.shape[:2]
        return (self.past.reshape(n * k, *self.past.shape[2:]),
                self.future.reshape(n * k, *self.future.shape[2:]),
                self.zone_index.reshape(-1).astype(np.int64),
                self.target.reshape(n * k, -1))


def make_windows(cube: FeatureCube, issues: np.ndarray | list[int], encoder_hours: int,
                 horizon: int = HORIZON, zone_index: np.ndarray | None = None,
                 gaps: np.ndarray | list[int] | int = 0) -> Windows:
    """Cut windows issued at `issues` for the horizons starting `gaps` hours later.

    An issue i needs WEEK_HOURS of history before it and a row of its own in the panel (the
    forecast issued at i); the demand of hour i itself is not used.
    """
    issues = np.asarray(issues, dtype=np.int64)
    gaps = np.broadcast_to(np.asarray(gaps, dtype=np.int64), issues.shape).copy()
    if horizon > DAY_HOURS or encoder_hours > WEEK_HOURS:
        raise ValueError("horizon must be <= 24 h and the encoder <= 168 h")
    if gaps.size and (gaps.min() < 0 or gaps.max() > MAX_GAP):
        raise ValueError(f"a gap must be 0..{MAX_GAP} hours (forecasts cover {FORECAST_LEADS} h)")
    if issues.size and issues.min() < WEEK_HOURS:
        raise ValueError(f"an issue needs {WEEK_HOURS} hours of history before it")
    n_hours, zones = cube.demand.shape
    if issues.size and issues.max() >= n_hours:
        raise ValueError("issue beyond the end of the panel (the panel must hold the issue hour)")
    if zone_index is None:
        zone_index = np.tile(np.arange(zones), (len(issues), 1))
    zone_index = np.asarray(zone_index, dtype=np.int64)
    n, k = zone_index.shape
    rows = np.arange(n)[:, None]
    level = trailing_level(cube.demand, issues)[rows, zone_index]  # [N, K]
    level = np.where(np.isfinite(level) & (level > 1e-6), level, 1.0)
    scale = cube.scaler
    padded_demand = np.vstack([cube.demand, np.full((FORECAST_LEADS, zones), np.nan)])

    def demand_at(idx: np.ndarray, series: np.ndarray) -> np.ndarray:
        """series[idx] for each window's series, scaled by its level: [N, K, len(idx)]."""
        picked = np.take_along_axis(series[idx], zone_index[:, None, :], axis=2)  # [N, S, K]
        return scale.scale_demand(picked.transpose(0, 2, 1), level[:, :, None])

    past_idx = issues[:, None] + np.arange(-encoder_hours, 0)[None, :]  # [N, L]
    covs = np.take_along_axis(cube.covariates[past_idx], zone_index[:, None, :, None], axis=2)
    past_cal = np.broadcast_to(cube.calendar[past_idx][:, None],
                               (n, k, encoder_hours, cube.calendar.shape[1]))
    past = np.concatenate([demand_at(past_idx, cube.demand)[..., None],
                           covs.transpose(0, 2, 1, 3), past_cal], axis=-1)
    leads = gaps[:, None] + np.arange(horizon)[None, :]  # [N, H]
    fut_idx = issues[:, None] + leads  # [N, H]
    fut_cal = np.broadcast_to(cube.calendar[fut_idx][:, None],
                              (n, k, horizon, cube.calendar.shape[1]))
    temp_c = cube.forecast[issues[:, None], leads]  # [N, H] °C as issued
    temp = scale.scale_covariate(TEMPERATURE, temp_c)
    heating = np.maximum(BALANCE_C - temp_c, 0.0) / DEGREE_SCALE_C
    cooling = np.maximum(temp_c - BALANCE_C, 0.0) / DEGREE_SCALE_C
    past_temp = np.vstack([cube.covariates[..., 0], np.full((FORECAST_LEADS, zones), 0.0)])
    temp_day = past_temp[fut_idx - known_lag(leads), 0]  # the city's: same for every series
    temp_week = past_temp[fut_idx - WEEK_HOURS, 0]
    per_window = np.stack([temp, heating, cooling, leads / DAY_HOURS, temp_day, temp_week],
                          axis=-1)  # [N, H, 6]
    per_window = np.broadcast_to(per_window[:, None], (n, k, horizon, per_window.shape[-1]))
    lags = np.stack([demand_at(fut_idx - known_lag(leads), padded_demand),
                     demand_at(fut_idx - WEEK_HOURS, padded_demand)], axis=-1)
    future = np.concatenate([fut_cal, per_window, lags], axis=-1)
    padded = np.vstack([cube.actual, np.full((FORECAST_LEADS, zones), np.nan)])
    target = demand_at(fut_idx, padded)
    return Windows(issues + gaps, zone_index, level.astype(np.float64),
                   np.ascontiguousarray(past, dtype=np.float32),
                   np.ascontiguousarray(np.nan_to_num(future), dtype=np.float32),
                   np.ascontiguousarray(target, dtype=np.float32), gaps)


def zone_statics(lats: list[float], lons: list[float]) -> np.ndarray:
    """[Z, 2] standardised series locations: the static real covariates."""
    coords = np.column_stack([np.asarray(lats, float), np.asarray(lons, float)])
    std = coords.std(axis=0)
    return ((coords - coords.mean(axis=0)) / np.where(std > 1e-9, std, 1.0)).astype(np.float32)
