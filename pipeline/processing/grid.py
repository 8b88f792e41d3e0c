"""Raw power records -> the city's grid per series and UTC hour (the city_day `grid`).

Every power record of an instant carries the same grid: each series of the city (`series_mw`:
its own EIA subregion and the parent BA's others), the BA's demand and EIA's day-ahead
forecast. An hour's value is the mean over its records (one per zone, and live cycles every
15 minutes). Records written before the city's demand was its subregion have no `series_mw`:
they give the BA values and, where they carry it, the city's own series (`city_demand_mw`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import City
from core.subregions import series_ids
from pipeline.history import GRID_BA_FIELDS, GRID_COLUMNS
from pipeline.processing.raw_frames import utc_series


def empty_grid_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: [] for c in GRID_COLUMNS})
    frame["series"] = frame["series"].astype(str)
    frame["ts"] = utc_series(frame["ts"])
    for name in ("demand_mw", *GRID_BA_FIELDS):
        frame[name] = frame[name].astype("float64")
    return frame


def _series_values(record: Mapping[str, Any], own: str) -> Mapping[str, Any]:
    series = record.get("series_mw")
    if series:
        return series
    return {record.get("subba") or own: record.get("city_demand_mw")}


def grid_frame(records: Sequence[Mapping[str, Any]], city: City,
               start: datetime | pd.Timestamp | None = None,
               end: datetime | pd.Timestamp | None = None) -> pd.DataFrame:
    """The city's power records -> GRID_COLUMNS, one row per series and UTC hour in
    [start, end), series in core.subregions order (the city's own first)."""
    mine = [r for r in records if r.get("city_id") == city.city_id]
    if not mine:
        return empty_grid_frame()
    own = series_ids(city)[0]
    ts = utc_series([r["observed_at"] for r in mine]).dt.floor("h")
    wide = pd.DataFrame([_series_values(r, own) for r in mine])
    known = [c for c in series_ids(city) if c in wide.columns]
    codes = known + sorted(c for c in wide.columns if c not in known)
    wide = wide[codes].apply(pd.to_numeric, errors="coerce").astype("float64")
    for name in GRID_BA_FIELDS:
        wide[name] = pd.to_numeric(pd.Series([r.get(name) for r in mine]),
                                   errors="coerce").astype("float64")
    keep = np.ones(len(wide), dtype=bool)
    if start is not None:
        keep &= (ts >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (ts < pd.Timestamp(end)).to_numpy()
    hourly = wide[keep].groupby(pd.DatetimeIndex(ts[keep]), sort=True).mean()
    if hourly.empty:
        return empty_grid_frame()
    hours = utc_series(hourly.index)
    parts = [pd.DataFrame({"series": code, "ts": hours,
                           "demand_mw": hourly[code].to_numpy(),
                           **{name: hourly[name].to_numpy() for name in GRID_BA_FIELDS}})
             for code in codes]
    return pd.concat(parts, ignore_index=True)[list(GRID_COLUMNS)]
