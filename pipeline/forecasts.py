"""Issued weather forecasts as model inputs: the `weather_forecasts` collection read back.

One document per city and issue hour (written by the consumer and the backfill, shaped by
ingest.weather_forecast). The models read the city-mean temperature each issuance gave for
its next FORECAST_HOURS as a matrix F[issue hour, lead]: the forecast as it was issued,
never the actual. An hour without an issuance (a live city's history before its first cycle,
a missed cycle) is a row of NaN; the models fall back to persistence there.

Reads go by equality on the day bucket (`bucket_day`, stamped from `issued_at` by
core.retention), the filter FerretDB pushes down to PostgreSQL: one query per UTC day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pymongo.database import Database

from core.retention import RETENTION, bucket_of
from core.vocabulary import FORECAST_HOURS, C

MATRIX_FIELDS = ("issued_at", "temperature_c")


def issue_index(start: datetime, end: datetime) -> pd.DatetimeIndex:
    """The UTC hours in [start, end), from the first whole hour at or after `start`."""
    first = pd.Timestamp(start).tz_convert("UTC").ceil("h")
    return pd.date_range(first, pd.Timestamp(end).tz_convert("UTC"), freq="h",
                         inclusive="left").as_unit("us")


def forecast_matrix(docs: Iterable[dict[str, Any]], start: datetime, end: datetime
                    ) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Pure: the hourly issue times in [start, end) and F[T, FORECAST_HOURS], the city-mean
    °C each issuance gave for lead 0..47 h (NaN where no issuance or no value). Documents
    outside the range are ignored; leads follow the document's own `hours` when it has them."""
    index = issue_index(start, end)
    matrix = np.full((len(index), FORECAST_HOURS), np.nan)
    row = {ts: i for i, ts in enumerate(index)}
    for doc in docs:
        issued = pd.Timestamp(doc["issued_at"])
        issued = issued.tz_localize("UTC") if issued.tzinfo is None else issued.tz_convert("UTC")
        i = row.get(issued.as_unit("us"))
        if i is None:
            continue
        values = np.array([np.nan if v is None else v for v in doc["temperature_c"]],
                          dtype=float)[:FORECAST_HOURS]
        matrix[i, :len(values)] = values
    return index, matrix


def load_forecast_matrix(db: Database, city_id: str, start: datetime, end: datetime
                         ) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The city's issued forecasts for the issue hours in [start, end) (forecast_matrix)."""
    return forecast_matrix(_read_days(db, city_id, start, end, dict.fromkeys(MATRIX_FIELDS, 1)),
                           start, end)


def load_forecast_docs(db: Database, city_id: str, start: datetime, end: datetime
                       ) -> list[dict[str, Any]]:
    """The city's whole forecast documents issued in [start, end), oldest first."""
    index = issue_index(start, end)
    if not len(index):
        return []
    docs = [d for d in _read_days(db, city_id, start, end)
            if index[0] <= pd.Timestamp(d["issued_at"]) <= index[-1]]
    return sorted(docs, key=lambda d: d["issued_at"])


def decode_zone_temperatures(doc: dict[str, Any]) -> np.ndarray:
    """[zones, FORECAST_HOURS] °C of one stored document, rows in `zone_ids` order (NaN
    where missing). The stored value is float64 little-endian, zones x hours."""
    zones = len(doc["zone_ids"])
    hours = len(doc.get("hours") or ()) or FORECAST_HOURS
    values = np.frombuffer(bytes(doc["zone_temperature_c"]), dtype="<f8")
    return values.reshape(zones, hours).copy()


def _read_days(db: Database, city_id: str, start: datetime, end: datetime,
               projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Every document of the city whose issue day overlaps [start, end): one equality query
    per UTC day on the bucket field."""
    rule = RETENTION[C.WEATHER_FORECASTS]
    day = pd.Timestamp(start).tz_convert("UTC").floor("D").to_pydatetime()
    out: list[dict[str, Any]] = []
    while day < end:
        query = {rule.bucket_field: bucket_of(day.astimezone(UTC), rule.granularity),
                 "city_id": city_id}
        out += db[C.WEATHER_FORECASTS].find(query, projection)
        day += timedelta(days=1)
    return out
