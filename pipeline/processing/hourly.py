"""RawFrames -> the hourly zone frame: one row per zone and UTC hour.

Sub-hourly observations are averaged within the hour; traffic is averaged per link first and
then over links (a link reporting every minute must not outweigh one reporting every five);
311 incidents are counted in the hour they were created. A zone-hour with no observation of a
metric keeps NaN (missing), never 0, except the incident count, which is a true zero for every
hour the 311 source has already reported past.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from core.catalog import City
from pipeline.history import FRAME_COLUMNS, HOURLY_METRICS
from pipeline.processing.raw_frames import (
    AQI_FIELDS,
    POWER_FIELDS,
    TRAFFIC_FIELDS,
    WEATHER_FIELDS,
    RawFrames,
)

HOUR = pd.Timedelta(hours=1)
MAX_KEY_LEN = 100


def hour_range(start: datetime | pd.Timestamp, end: datetime | pd.Timestamp) -> pd.DatetimeIndex:
    """Whole UTC hours h with start <= h < end (a partial first hour is left out)."""
    first = pd.Timestamp(start).tz_convert("UTC").ceil("h")
    last = pd.Timestamp(end).tz_convert("UTC")
    hours = pd.date_range(first, last, freq="h", inclusive="left", unit="us")
    return hours.rename("ts")


def zone_hour_grid(zone_ids: Sequence[str], hours: pd.DatetimeIndex) -> pd.MultiIndex:
    return pd.MultiIndex.from_product([list(zone_ids), hours], names=["zone_id", "ts"])


def _hourly_means(frame: pd.DataFrame, fields: Sequence[str], keys: Sequence[str] = ()
                  ) -> pd.DataFrame:
    """Mean of each field per zone and hour (per `keys` first, then over them)."""
    if frame.empty:
        return pd.DataFrame(columns=list(fields), index=zone_hour_grid([], pd.DatetimeIndex([])))
    hourly = frame.assign(ts=frame["observed_at"].dt.floor("h"))
    grouped = hourly.groupby(["zone_id", *keys, "ts"], sort=False)[list(fields)].mean()
    if keys:
        grouped = grouped.groupby(level=["zone_id", "ts"], sort=False).mean()
    return grouped


def incident_counts(incidents: pd.DataFrame, grid: pd.MultiIndex) -> pd.Series:
    """311 incidents per zone and created hour over `grid`.

    Hours up to the newest report of the 311 source are real zeros when nothing was created;
    hours after it (or all hours, with no 311 data at all) are unknown (NaN).
    """
    counts = pd.Series(np.nan, index=grid, name="incident_count")
    if incidents.empty:
        return counts
    created = incidents["created_at"].dt.floor("h")
    per_hour = incidents.assign(ts=created).groupby(["zone_id", "ts"]).size()
    reported_until = incidents["observed_at"].max().floor("h")
    known = grid.get_level_values("ts") <= reported_until
    counts[known] = 0.0
    present = per_hour.reindex(grid)
    counts = counts.where(present.isna(), present.astype("float64"))
    return counts


def hourly_zone_frame(frames: RawFrames, city: City, start: datetime | pd.Timestamp,
                      end: datetime | pd.Timestamp) -> pd.DataFrame:
    """The hourly frame (history.FRAME_COLUMNS) of every catalog zone for hours in [start, end).

    demand_mw here is observed (apportioned) demand only; `risk_score` is left NaN for the
    risk step to fill.
    """
    grid = zone_hour_grid([z.zone_id for z in city.zones], hour_range(start, end))
    parts = [
        _hourly_means(frames.weather, WEATHER_FIELDS),
        _hourly_means(frames.aqi, AQI_FIELDS),
        _hourly_means(frames.traffic, TRAFFIC_FIELDS, keys=("link_id",)),
        _hourly_means(frames.power, POWER_FIELDS),
    ]
    columns = {name: part[name].reindex(grid) for part in parts for name in part.columns}
    columns["incident_count"] = incident_counts(frames.incidents, grid)
    frame = pd.DataFrame(columns, index=grid).reset_index()
    frame.insert(0, "city_id", city.city_id)
    for metric in HOURLY_METRICS:
        frame[metric] = frame[metric].astype("float64") if metric in frame else np.nan
    return frame[list(FRAME_COLUMNS)]


def sanitise_key(text: str) -> str:
    """A Mongo/FerretDB-safe document key: no '.', no leading '$', not empty, bounded."""
    key = str(text).replace(".", "").replace("\x00", "").strip().lstrip("$").strip()
    return key[:MAX_KEY_LEN] or "Unknown"


def incidents_by_type(incidents: pd.DataFrame, start: datetime | pd.Timestamp,
                      end: datetime | pd.Timestamp) -> dict[pd.Timestamp, dict[str, int]]:
    """UTC day -> {complaint type (safe key): incidents created that day} for [start, end)."""
    if incidents.empty:
        return {}
    created = incidents["created_at"]
    inside = incidents[(created >= pd.Timestamp(start)) & (created < pd.Timestamp(end))]
    if inside.empty:
        return {}
    keyed = inside.assign(day=inside["created_at"].dt.floor("D"),
                          kind=inside["complaint_type"].map(sanitise_key))
    counts = keyed.groupby(["day", "kind"]).size()
    out: dict[pd.Timestamp, dict[str, int]] = {}
    for (day, kind), n in counts.items():
        out.setdefault(day, {})[kind] = int(n)
    return out
