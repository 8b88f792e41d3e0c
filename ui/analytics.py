"""Pure transforms for the Analytics page: hourly zone history -> what each chart shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core.units import QUANTITIES, display_value

RANGES = {"24 h": timedelta(hours=24), "7 d": timedelta(days=7), "30 d": timedelta(days=30)}
CUSTOM = "custom"
SUMMED = {"demand_mw", "demand_forecast_mw", "incident_count", "precipitation_mm"}


@dataclass(frozen=True)
class LineFit:
    slope: float
    intercept: float
    r2: float

    def at(self, x: np.ndarray) -> np.ndarray:
        return self.slope * x + self.intercept


def time_range(choice: str, now: datetime, custom: tuple[date, date] | None = None,
               tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) in UTC. Custom dates are whole local days, end date included."""
    if choice in RANGES:
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return end - RANGES[choice], end
    if not custom:
        raise ValueError("a custom range needs a start and an end date")
    tz = tz or ZoneInfo("UTC")
    first, last = sorted(custom)
    start = datetime.combine(first, time(0), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC)
    return start, end


def aggregate_label(metric: str) -> str:
    return "City total" if metric in SUMMED else "City average"


def series_frame(frame: pd.DataFrame, metric: str, zone_ids: list[str],
                 zone_names: dict[str, str], tz: ZoneInfo) -> pd.DataFrame:
    """Long table [time, zone, value] of one metric: chosen zones, or the city aggregate.

    This table is both what the time-series chart draws and what the CSV download holds.
    """
    column = _column_name(metric)
    if frame.empty or metric not in frame:
        return pd.DataFrame(columns=["time", "zone", column])
    info = QUANTITIES.get(metric)
    scale = info.scale if info else 1.0
    if zone_ids:
        part = frame[frame["zone_id"].isin(zone_ids)]
        out = pd.DataFrame({"time": part["ts"], "zone": part["zone_id"].map(zone_names)
                            .fillna(part["zone_id"]), column: part[metric] * scale})
    else:
        grouped = frame.groupby("ts")[metric]
        values = grouped.sum(min_count=1) if metric in SUMMED else grouped.mean()
        out = pd.DataFrame({"time": values.index, "zone": aggregate_label(metric),
                            column: values.to_numpy() * scale})
    out["time"] = pd.DatetimeIndex(out["time"]).tz_convert(tz)
    out[column] = out[column].round(3)
    return out.sort_values(["zone", "time"]).reset_index(drop=True)


def _column_name(metric: str) -> str:
    info = QUANTITIES.get(metric)
    return f"{info.label} ({info.unit})" if info else metric


def temperature_demand(frame: pd.DataFrame) -> pd.DataFrame:
    """Per hour: city-average temperature and city-total demand (hours with both only)."""
    if frame.empty:
        return pd.DataFrame(columns=["ts", "temperature_c", "demand_mw"])
    grouped = frame.groupby("ts")
    out = pd.DataFrame({"temperature_c": grouped["temperature_c"].mean(),
                        "demand_mw": grouped["demand_mw"].sum(min_count=1)}).dropna()
    return out.reset_index()


def fit_line(x: np.ndarray, y: np.ndarray) -> LineFit | None:
    """Least-squares line (numpy.polyfit degree 1) with R²; None when it is not defined."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else 0.0
    return LineFit(float(slope), float(intercept), r2)


def zone_hour_matrix(frame: pd.DataFrame, metric: str, zone_names: dict[str, str],
                     tz: ZoneInfo) -> pd.DataFrame:
    """Mean of a metric per zone (rows, by name) and local hour of day (columns 0..23)."""
    if frame.empty or metric not in frame:
        return pd.DataFrame()
    hours = pd.DatetimeIndex(frame["ts"]).tz_convert(tz).hour
    info = QUANTITIES.get(metric)
    part = pd.DataFrame({"zone": frame["zone_id"].map(zone_names).fillna(frame["zone_id"]),
                         "hour": hours, "value": frame[metric] * (info.scale if info else 1.0)})
    matrix = part.pivot_table(index="zone", columns="hour", values="value", aggfunc="mean")
    return matrix.reindex(columns=range(24)).sort_index()


def anomalies_frame(anomalies: list[dict[str, Any]], zone_names: dict[str, str],
                    tz: ZoneInfo) -> pd.DataFrame:
    rows = [{"time": a.get("ts"), "zone": zone_names.get(a.get("zone_id", ""), a.get("zone_id")),
             "metric": a.get("metric"), "value": display_value(a.get("metric", ""), a.get("value")),
             "zscore": a.get("zscore")} for a in anomalies if a.get("ts") is not None]
    frame = pd.DataFrame(rows, columns=["time", "zone", "metric", "value", "zscore"])
    if frame.empty:
        return frame
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(tz)
    return frame.sort_values("time").reset_index(drop=True)


def incidents_breakdown(by_type: dict[str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])),
                         columns=["complaint type", "incidents"])
    return frame[frame["incidents"] > 0].reset_index(drop=True)


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV of a shown table, times as ISO-8601 with their offset."""
    return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z").encode("utf-8")
