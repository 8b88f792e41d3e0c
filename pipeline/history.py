"""The hourly zone history read model: one `city_day` document per city and UTC day.

Pages and models read history here by exact `_id` (`nyc|2026-11-28`), the one lookup FerretDB
pushes down, instead of scanning per-zone-hour documents. Logical shape (what callers see):

    {_id, city_id, day_start, hours: [24 UTC datetimes],
     zones: {zone_id: {metric: [24 values or None]}},
     incidents_by_type: {complaint_type: count}, anomalies: [{zone_id, ts, metric, value, zscore}]}

Stored shape: `zones` is packed into one binary field (`values`: float64 little-endian,
zones x metrics x 24, NaN = no value) with `zone_ids` and `metrics` naming its axes. FerretDB
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

    `extras` maps a day id to extra fields (incidents_by_type, anomalies) for that day.
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
                     **extras.get(_id, {})})
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
