"""The hourly zone history read model: one `city_day` document per city and UTC day.

Pages and models read history here by exact `_id` (`nyc|2026-11-28`), the one lookup FerretDB
pushes down, instead of scanning per-zone-hour documents. Logical shape (what callers see):

    {_id, city_id, day_start, hours: [24 UTC datetimes],
     zones: {zone_id: {metric: [24 values or None]}},
     incidents_by_type: {complaint_type: count}, anomalies: [{zone_id, ts, metric, value, zscore}],
     grid: {series: [codes], demand_mw: {code: [24]}, ba_demand_mw: [24], ba_forecast_mw: [24]}}

`grid` is the city's grid for the day (docs/architecture.md §4): every series of the city
(its own EIA subregion first, then the parent BA's others; core/subregions.py) and the BA's
demand and EIA day-ahead forecast, hourly in MW. `load_grid_frame` reads it as a frame.

Stored shape: `zones` is packed into one binary field (`values`: float64 little-endian,
zones x metrics x 24, NaN = no value) with `zone_ids` and `metrics` naming its axes, and
`grid` likewise (`{series, values}`: series + BA demand + BA forecast rows x 24). FerretDB
converts every BSON value of a document on each read; one 40-zone day is ~11,500 numbers as
lists (~65 ms a read) but a single value packed. `encode_city_day` / `decode_city_day` are the
only places that know this; read and write through `read_city_day` / `write_city_days`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from bson.binary import Binary
from pymongo.database import Database

from core.ids import iso_day, make_id
from core.storage import upsert_many
from core.vocabulary import C

HOURLY_METRICS = (
    "demand_mw", "demand_forecast_mw", "temperature_c", "relative_humidity_pct",
    "wind_speed_kmh", "precipitation_mm", "us_aqi", "pm2_5", "congestion", "speed_kmh",
    "incident_count", "risk_score",
)
FRAME_COLUMNS = ("city_id", "zone_id", "ts", *HOURLY_METRICS)
GRID_BA_FIELDS = ("ba_demand_mw", "ba_forecast_mw")
GRID_COLUMNS = ("series", "ts", "demand_mw", *GRID_BA_FIELDS)


def day_id(city_id: str, day: datetime) -> str:
    return make_id(city_id, iso_day(day))


def day_starts(start: datetime, end: datetime) -> list[datetime]:
    """UTC midnights of every day that overlaps [start, end)."""
    first = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    while first < end:
        days.append(first)
        first += timedelta(days=1)
    return days


def _clean(value: Any) -> Any:
    if value is None:
        return None
    value = float(value)
    return None if not np.isfinite(value) else round(value, 4)


def frame_to_city_days(frame: pd.DataFrame, extras: dict[str, dict[str, Any]] | None = None
                       ) -> list[dict[str, Any]]:
    """Pure: hourly zone frame (FRAME_COLUMNS, one city) -> city_day documents.

    `extras` maps a day id to extra fields (incidents_by_type, anomalies, grid) for that day.
    """
    if frame.empty:
        return []
    extras = extras or {}
    docs = []
    frame = frame.assign(day=frame["ts"].dt.floor("D"))
    for (city_id, day), part in frame.groupby(["city_id", "day"], sort=True):
        day = day.to_pydatetime()
        hours = [day + timedelta(hours=h) for h in range(24)]
        hour_index = ((part["ts"] - day) // pd.Timedelta(hours=1)).astype(int).to_numpy()
        zones: dict[str, dict[str, list]] = {}
        for zone_id, zpart in part.groupby("zone_id", sort=True):
            zidx = hour_index[part.index.get_indexer(zpart.index)]
            metrics = {}
            for metric in HOURLY_METRICS:
                values: list[Any] = [None] * 24
                if metric in zpart:
                    for i, v in zip(zidx, zpart[metric].to_numpy(), strict=True):
                        values[i] = _clean(v) if v is not None and not pd.isna(v) else None
                metrics[metric] = values
            zones[str(zone_id)] = metrics
        _id = day_id(str(city_id), day)
        docs.append({"_id": _id, "city_id": str(city_id), "day_start": day, "hours": hours,
                     "zones": zones, "incidents_by_type": {}, "anomalies": [],
                     "grid": empty_grid(), **extras.get(_id, {})})
    return docs


def city_days_to_frame(docs: list[dict[str, Any]], start: datetime | None = None,
                       end: datetime | None = None) -> pd.DataFrame:
    """Pure: city_day documents -> hourly zone frame, optionally cut to [start, end)."""
    rows: dict[str, list] = {c: [] for c in FRAME_COLUMNS}
    for doc in docs:
        hours = [h if h.tzinfo else h.replace(tzinfo=UTC) for h in doc["hours"]]
        for zone_id, metrics in doc["zones"].items():
            rows["city_id"] += [doc["city_id"]] * 24
            rows["zone_id"] += [zone_id] * 24
            rows["ts"] += hours
            for metric in HOURLY_METRICS:
                rows[metric] += metrics.get(metric) or [None] * 24
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    for metric in HOURLY_METRICS:
        frame[metric] = pd.to_numeric(frame[metric], errors="coerce").astype("float64")
    if start is not None:
        frame = frame[frame["ts"] >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame["ts"] < pd.Timestamp(end)]
    return frame.sort_values(["zone_id", "ts"]).reset_index(drop=True)


def encode_city_day(doc: dict[str, Any]) -> dict[str, Any]:
    """Pure: logical city_day -> stored form (zones packed into one binary value)."""
    zone_ids = sorted(doc["zones"])
    metrics = list(HOURLY_METRICS)
    values = np.full((len(zone_ids), len(metrics), 24), np.nan, dtype="<f8")
    for zi, zone_id in enumerate(zone_ids):
        series = doc["zones"][zone_id]
        for mi, metric in enumerate(metrics):
            column = series.get(metric)
            if column:
                values[zi, mi] = [np.nan if v is None else v for v in column]
    stored = {k: v for k, v in doc.items() if k != "zones"}
    stored.update(zone_ids=zone_ids, metrics=metrics, values=Binary(values.tobytes()))
    if "grid" in doc:
        stored["grid"] = encode_grid(doc["grid"])
    return stored


def decode_city_day(stored: dict[str, Any]) -> dict[str, Any]:
    """Pure: stored city_day -> logical form (None where no value)."""
    if "zones" in stored:  # already logical
        return stored
    zone_ids, metrics = stored["zone_ids"], stored["metrics"]
    values = np.frombuffer(stored["values"], dtype="<f8").reshape(len(zone_ids), len(metrics), 24)
    zones = {}
    for zi, zone_id in enumerate(zone_ids):
        zones[zone_id] = {metric: [None if np.isnan(v) else float(v) for v in values[zi, mi]]
                          for mi, metric in enumerate(metrics)}
    doc = {k: v for k, v in stored.items() if k not in ("zone_ids", "metrics", "values")}
    doc["zones"] = zones
    doc["grid"] = decode_grid(stored.get("grid"))
    return doc


def read_city_day(db: Database, _id: str) -> dict[str, Any] | None:
    stored = db[C.CITY_DAY].find_one({"_id": _id})
    return decode_city_day(stored) if stored is not None else None


def write_city_days(db: Database, docs: list[dict[str, Any]], replace_existing: bool = True
                    ) -> int:
    """Write logical city_day docs: new ones inserted, existing ones replaced (by `_id`).

    Returns how many existing documents were replaced."""
    stored = [encode_city_day(d) for d in docs]
    return upsert_many(db, C.CITY_DAY, stored, replace=None if replace_existing else ())


def load_city_days(db: Database, city_id: str, start: datetime, end: datetime
                   ) -> list[dict[str, Any]]:
    """Read the city_day docs overlapping [start, end) by exact `_id` (FerretDB pushdown)."""
    docs = []
    for day in day_starts(start, end):
        doc = read_city_day(db, day_id(city_id, day))
        if doc is not None:
            docs.append(doc)
    return docs


def load_hourly_frame(db: Database, city_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Hourly zone history of a city over [start, end) as a frame (FRAME_COLUMNS)."""
    return city_days_to_frame(load_city_days(db, city_id, start, end), start, end)


# -- the city's grid (EIA series, BA demand and day-ahead forecast) ------------------------

def empty_grid() -> dict[str, Any]:
    return {"series": [], "demand_mw": {}, "ba_demand_mw": [None] * 24,
            "ba_forecast_mw": [None] * 24}


def _grid_rows(grid: dict[str, Any]) -> list[list[Any]]:
    """The grid's hourly rows: one per series, then the BA demand and the BA forecast."""
    return ([grid["demand_mw"].get(code) or [None] * 24 for code in grid["series"]]
            + [grid.get(name) or [None] * 24 for name in GRID_BA_FIELDS])


def encode_grid(grid: dict[str, Any]) -> dict[str, Any]:
    """Pure: logical grid -> stored form (its rows packed into one binary value)."""
    if "values" in grid:  # already stored form
        return grid
    rows = np.array([[np.nan if v is None else v for v in row] for row in _grid_rows(grid)],
                    dtype="<f8")
    return {"series": list(grid["series"]), "values": Binary(rows.tobytes())}


def decode_grid(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Pure: stored grid -> logical form; a day stored before grids existed has an empty one."""
    if not stored:
        return empty_grid()
    if "values" not in stored:
        return stored
    series = list(stored["series"])
    rows = np.frombuffer(stored["values"], dtype="<f8").reshape(len(series) + 2, 24)
    as_list = [[None if np.isnan(v) else float(v) for v in row] for row in rows]
    return {"series": series, "demand_mw": dict(zip(series, as_list, strict=False)),
            "ba_demand_mw": as_list[-2], "ba_forecast_mw": as_list[-1]}


def grid_extras(frame: pd.DataFrame, city_id: str) -> dict[str, dict[str, Any]]:
    """Pure: hourly grid frame (GRID_COLUMNS, one city, a row per series and hour) ->
    {day id: {"grid": grid}}, the `extras` frame_to_city_days and city_day_docs take.

    BA values are read from any row of their hour (the series rows of one hour carry the same
    BA values). Series keep the order of their first appearance (the city's own first).
    """
    if frame.empty:
        return {}
    order = list(dict.fromkeys(frame["series"].astype(str)))
    frame = frame.assign(day=frame["ts"].dt.floor("D"),
                         hour=frame["ts"].dt.hour.to_numpy())
    out: dict[str, dict[str, Any]] = {}
    for day, part in frame.groupby("day", sort=True):
        grid = empty_grid()
        present = set(part["series"].astype(str))
        grid["series"] = [code for code in order if code in present]
        hours = part["hour"].to_numpy()
        for code in grid["series"]:
            mask = (part["series"] == code).to_numpy()
            row: list[Any] = [None] * 24
            for h, v in zip(hours[mask], part["demand_mw"].to_numpy()[mask], strict=True):
                row[h] = _clean(v)
            grid["demand_mw"][code] = row
        for name in GRID_BA_FIELDS:
            by_hour = part.groupby("hour")[name].mean()
            grid[name] = [_clean(by_hour.get(h)) for h in range(24)]
        out[day_id(city_id, day.to_pydatetime())] = {"grid": grid}
    return out


def merge_grid(existing: dict[str, Any] | None, new: dict[str, Any], touched: list[int]
               ) -> dict[str, Any]:
    """Fold `new` into a stored grid: in the `touched` hours a value of `new` replaces the
    stored one and a missing one keeps it; other hours keep what was stored."""
    if not existing or not existing.get("series"):
        return new
    series = list(dict.fromkeys([*new["series"], *existing["series"]]))
    merged = empty_grid()
    merged["series"] = series

    def fold(old: list[Any] | None, fresh: list[Any] | None) -> list[Any]:
        row = list(old or [None] * 24)
        for i in touched:
            if fresh is not None and fresh[i] is not None:
                row[i] = fresh[i]
        return row

    for code in series:
        merged["demand_mw"][code] = fold(existing["demand_mw"].get(code),
                                         new["demand_mw"].get(code))
    for name in GRID_BA_FIELDS:
        merged[name] = fold(existing.get(name), new.get(name))
    return merged


def grid_frame_from_days(docs: list[dict[str, Any]], start: datetime | None = None,
                         end: datetime | None = None) -> pd.DataFrame:
    """Pure: city_day documents -> the grid as a frame (GRID_COLUMNS), one row per series and
    hour in [start, end) (ts UTC); hours with no value of a series are rows with NaN."""
    rows: dict[str, list] = {c: [] for c in GRID_COLUMNS}
    for doc in docs:
        grid = decode_grid(doc.get("grid"))
        hours = [h if h.tzinfo else h.replace(tzinfo=UTC) for h in doc["hours"]]
        for code in grid["series"]:
            rows["series"] += [code] * 24
            rows["ts"] += hours
            rows["demand_mw"] += grid["demand_mw"].get(code) or [None] * 24
            for name in GRID_BA_FIELDS:
                rows[name] += grid.get(name) or [None] * 24
    frame = pd.DataFrame(rows, columns=list(GRID_COLUMNS))
    frame["series"] = frame["series"].astype(str)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    for name in ("demand_mw", *GRID_BA_FIELDS):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    if start is not None:
        frame = frame[frame["ts"] >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame["ts"] < pd.Timestamp(end)]
    return frame.reset_index(drop=True)


GRID_PROJECTION = {"city_id": 1, "hours": 1, "grid": 1}


def load_grid_frame(db: Database, city_id: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The city's grid over [start, end): GRID_COLUMNS, one row per series and UTC hour.

    Reads only the `grid` of each day (by exact `_id`), not the packed zone values.
    """
    docs = []
    for day in day_starts(start, end):
        doc = next(iter(db[C.CITY_DAY].find({"_id": day_id(city_id, day)}, GRID_PROJECTION)),
                   None)
        if doc is not None:
            docs.append(doc)
    return grid_frame_from_days(docs, start, end)
