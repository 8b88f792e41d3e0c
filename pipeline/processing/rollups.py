"""Hourly zone frame -> the stored rollups: city_day, processed_zone_data, meter_readings.

city_day documents have the shape of pipeline/history.py (`frame_to_city_days`), built here
with arrays instead of per-value loops so a 90-day backfill of 40 zones takes a fraction of a
second. `merge_city_day` folds a processing window into an existing day document without
losing the hours (or the incidents and anomalies) the window did not cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.ids import make_id
from pipeline.history import HOURLY_METRICS, day_id, empty_grid, merge_grid

DECIMALS = 4


def _as_utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _none_for_nan(values: np.ndarray) -> np.ndarray:
    """Rounded float array -> object array of Python floats with None for NaN/Inf."""
    rounded = np.round(values, DECIMALS)
    out = rounded.astype(object)
    out[~np.isfinite(rounded)] = None
    return out


def city_day_docs(frame: pd.DataFrame, anomalies: pd.DataFrame | None = None,
                  incidents_by_type: Mapping[pd.Timestamp, dict[str, int]] | None = None,
                  extras: Mapping[str, Mapping[str, Any]] | None = None
                  ) -> list[dict[str, Any]]:
    """Hourly zone frame of one city -> city_day documents (one per UTC day with rows).

    `anomalies` (anomalies.ANOMALY_COLUMNS) and `incidents_by_type` (hourly.incidents_by_type)
    are filed under the day they fall on; `extras` maps a day id to further fields (the
    `grid`, history.grid_extras), as in history.frame_to_city_days.
    """
    if frame.empty:
        return []
    city_id = str(frame["city_id"].iloc[0])
    day = frame["ts"].dt.floor("D")
    day_codes, days = pd.factorize(day, sort=True)
    zone_codes, zones = pd.factorize(frame["zone_id"], sort=True)
    hours = frame["ts"].dt.hour.to_numpy()
    present = np.zeros((len(days), len(zones)), dtype=bool)
    present[day_codes, zone_codes] = True
    cubes = {}
    for metric in HOURLY_METRICS:
        cube = np.full((len(days), len(zones), 24), np.nan)
        if metric in frame.columns:
            cube[day_codes, zone_codes, hours] = frame[metric].to_numpy(dtype="float64")
        cubes[metric] = _none_for_nan(cube)
    by_day_anomalies = _anomalies_by_day(anomalies)
    incidents_by_type = incidents_by_type or {}
    extras = extras or {}
    docs = []
    for d, start in enumerate(days):
        start_dt = pd.Timestamp(start).to_pydatetime()
        zone_docs = {
            str(zones[z]): {m: cubes[m][d, z].tolist() for m in HOURLY_METRICS}
            for z in np.flatnonzero(present[d])
        }
        _id = day_id(city_id, start_dt)
        docs.append({
            "_id": _id, "city_id": city_id, "day_start": start_dt,
            "hours": [start_dt + timedelta(hours=h) for h in range(24)], "zones": zone_docs,
            "incidents_by_type": dict(incidents_by_type.get(pd.Timestamp(start), {})),
            "anomalies": by_day_anomalies.get(pd.Timestamp(start), []),
            "grid": empty_grid(), **extras.get(_id, {}),
        })
    return docs


def _anomalies_by_day(anomalies: pd.DataFrame | None) -> dict[pd.Timestamp, list[dict]]:
    out: dict[pd.Timestamp, list[dict]] = {}
    if anomalies is None or anomalies.empty:
        return out
    for row in anomalies.itertuples(index=False):
        ts = pd.Timestamp(row.ts)
        out.setdefault(ts.floor("D"), []).append({
            "zone_id": str(row.zone_id), "ts": ts.to_pydatetime(), "metric": str(row.metric),
            "value": round(float(row.value), DECIMALS), "zscore": round(float(row.zscore), 3),
        })
    return out


def merge_city_day(existing: Mapping[str, Any] | None, new: dict[str, Any],
                   since: datetime) -> dict[str, Any]:
    """Fold `new` (built from a window starting at `since`) into the stored day document.

    Hours before `since` keep their stored values; from `since` on, a value in `new` replaces
    the stored one and a missing value (None) keeps it. Anomalies from `since` on come from
    `new`; incident counts per type take the larger of the two (the window may have seen only
    part of the day). The `grid` merges hour by hour like the zones.
    """
    if existing is None:
        return new
    since = _as_utc(since)
    touched = [i for i, h in enumerate(new["hours"]) if _as_utc(h) >= since]
    zones = {z: {m: list(v) for m, v in metrics.items()}
             for z, metrics in existing.get("zones", {}).items()}
    for zone_id, metrics in new["zones"].items():
        target = zones.setdefault(zone_id, {})
        for metric, values in metrics.items():
            row = list(target.get(metric) or [None] * 24)
            for i in touched:
                if values[i] is not None:
                    row[i] = values[i]
            target[metric] = row
    for metrics in zones.values():
        for metric in HOURLY_METRICS:
            metrics.setdefault(metric, [None] * 24)
    kept = [a for a in existing.get("anomalies", []) if _as_utc(a["ts"]) < since]
    fresh = [a for a in new.get("anomalies", []) if _as_utc(a["ts"]) >= since]
    counts = dict(existing.get("incidents_by_type", {}))
    for kind, n in new.get("incidents_by_type", {}).items():
        counts[kind] = max(int(counts.get(kind, 0)), int(n))
    grid = merge_grid(existing.get("grid"), new.get("grid") or empty_grid(), touched)
    return {**new, "zones": zones, "anomalies": kept + fresh, "incidents_by_type": counts,
            "grid": grid}


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Frame rows -> dicts with Python floats and None for NaN."""
    data = {c: _none_for_nan(frame[c].to_numpy(dtype="float64")) for c in columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*data.values(), strict=True)]


def processed_docs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """processed_zone_data documents, one per zone-hour row of the enriched frame.

    The frame carries every HOURLY_METRIC (demand_mw including estimates), risk_level and
    demand_estimated.
    """
    if frame.empty:
        return []
    keys = _keys(frame)
    metrics = _records(frame, HOURLY_METRICS)
    levels = [lvl if isinstance(lvl, str) else None for lvl in frame["risk_level"].tolist()]
    estimated = frame["demand_estimated"].astype(bool).tolist()
    return [{"_id": key, "city_id": city, "zone_id": zone, "ts": ts, **values,
             "risk_level": level, "demand_estimated": est}
            for (key, city, zone, ts), values, level, est
            in zip(keys, metrics, levels, estimated, strict=True)]


def meter_docs(frame: pd.DataFrame, sources: Mapping[str, str] | None = None,
               estimate_sources: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """meter_readings documents: one per zone-hour with a demand value (metered or estimated).

    `sources` maps a zone to the provider of its power data, `estimate_sources` to the provider
    of the temperature an estimate was made from.
    """
    rows = frame[frame["demand_mw"].notna()]
    if rows.empty:
        return []
    sources = sources or {}
    estimate_sources = estimate_sources or {}
    out = []
    for (key, city, zone, ts), demand, est in zip(
            _keys(rows), rows["demand_mw"].round(DECIMALS).tolist(),
            rows["demand_estimated"].astype(bool).tolist(), strict=True):
        source = (estimate_sources if est else sources).get(zone)
        out.append({"_id": key, "city_id": city, "zone_id": zone, "observed_at": ts,
                    "demand_mw": float(demand), "source": source, "estimated": est})
    return out


def _keys(frame: pd.DataFrame) -> Iterable[tuple[str, str, str, datetime]]:
    minutes = frame["ts"].dt.strftime("%Y-%m-%dT%H:%MZ").tolist()
    cities = frame["city_id"].astype(str).tolist()
    zones = frame["zone_id"].astype(str).tolist()
    stamps = list(frame["ts"].dt.to_pydatetime())
    return [(make_id(c, z, m), c, z, t)
            for c, z, m, t in zip(cities, zones, minutes, stamps, strict=True)]
