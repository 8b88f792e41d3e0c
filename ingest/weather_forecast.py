"""Weather forecast records and documents: one per city and issue hour (pure).

A weather source emits, besides its observations, the temperature forecast it received for
the cycle's issue hour (the UTC hour the cycle runs in) and the FORECAST_HOURS after it. On
the wire (topic `weather_forecast`) each zone's forecast is a list with null where the
provider has no value; in MongoDB (`weather_forecasts`) the zones x hours matrix is packed
into one binary value, float64 little-endian, NaN where missing: FerretDB stores no nested
arrays and converts every value of a document on each read (docs/architecture.md §6, §8).
`pipeline.forecasts.decode_zone_temperatures` reads it back.

    {_id: "nyc|2026-11-29T14", schema_version, source, city_id, issued_at, ingested_at,
     hours: [48 UTC hours], temperature_c: [48 city means or None], zone_ids: [...],
     zone_temperature_c: Binary(<f8 [zones x 48]>)}
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from bson.binary import Binary

from core.ids import make_id
from core.vocabulary import FORECAST_HOURS, SCHEMA_VERSION

DECIMALS = 2  # °C: providers give one decimal, the simulator is rounded like its observations


def issue_hour(ts: datetime) -> datetime:
    """The issue time of a forecast received at `ts`: its UTC hour."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime; use timezone-aware UTC datetimes")
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def forecast_id(city_id: str, issued_at: datetime) -> str:
    """`nyc|2026-11-29T14`: a later cycle of the same hour replaces the document."""
    return make_id(city_id, issue_hour(issued_at).strftime("%Y-%m-%dT%H"))


def target_hours(issued_at: datetime, hours: int = FORECAST_HOURS) -> list[datetime]:
    return [issued_at + timedelta(hours=j) for j in range(hours)]


def city_mean(zone_values: np.ndarray, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Weighted mean over the last axis (zones) of the zones that have a value; NaN where no
    zone has one. Weights need not sum to 1 (populations or catalog weights)."""
    values = np.asarray(zone_values, dtype=float)
    w = np.broadcast_to(np.asarray(weights, dtype=float), values.shape)
    present = np.isfinite(values)
    total = np.where(present, w, 0.0).sum(axis=-1)
    summed = np.where(present, values * w, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, summed / np.where(total > 0, total, 1.0), np.nan)


def forecast_record(*, city_id: str, source: str, issued_at: datetime, ingested_at: datetime,
                    zone_ids: Sequence[str], zone_values: np.ndarray,
                    weights: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """The canonical record (topic weather_forecast) of one issuance: `zone_values` is
    [zones, FORECAST_HOURS] °C (NaN missing) for the hours issued_at + 0..47 h."""
    values = np.round(np.asarray(zone_values, dtype=float), DECIMALS)
    if values.shape != (len(zone_ids), FORECAST_HOURS):
        raise ValueError(f"zone_values shaped {values.shape}, expected "
                         f"({len(zone_ids)}, {FORECAST_HOURS})")
    issued = issue_hour(issued_at)
    return {"schema_version": SCHEMA_VERSION, "source": source, "city_id": city_id,
            "issued_at": issued, "ingested_at": ingested_at, "hours": target_hours(issued),
            "temperature_c": _nullable(np.round(city_mean(values.T, weights), DECIMALS)),
            "zone_ids": list(zone_ids),
            "zone_temperature_c": [_nullable(row) for row in values]}


def forecast_document(record: dict[str, Any]) -> dict[str, Any]:
    """A validated record (ingest.schema.WeatherForecast) -> its stored document."""
    zones = np.array([[np.nan if v is None else v for v in row]
                      for row in record["zone_temperature_c"]], dtype="<f8")
    return {"_id": forecast_id(record["city_id"], record["issued_at"]), **record,
            "zone_temperature_c": Binary(zones.tobytes())}


def forecast_documents(*, city_id: str, source: str, issued: Sequence[datetime],
                       ingested_at: datetime, zone_ids: Sequence[str], zone_values: np.ndarray,
                       weights: Sequence[float] | np.ndarray) -> list[dict[str, Any]]:
    """Stored documents of many issuances at once (a backfill): `zone_values` is
    [issues, FORECAST_HOURS, zones] °C, as ingest.simulator.forecast gives it. Equal to
    forecast_document(forecast_record(...)) of each issuance, without the lists between."""
    values = np.round(np.asarray(zone_values, dtype=float), DECIMALS)
    if values.shape != (len(issued), FORECAST_HOURS, len(zone_ids)):
        raise ValueError(f"zone_values shaped {values.shape}, expected "
                         f"({len(issued)}, {FORECAST_HOURS}, {len(zone_ids)})")
    means = np.round(city_mean(values, weights), DECIMALS)  # [issues, hours]
    packed = np.ascontiguousarray(values.transpose(0, 2, 1), dtype="<f8")  # [issues, zones, h]
    docs = []
    for k, at in enumerate(issued):
        issued_at = issue_hour(at)
        docs.append({"_id": forecast_id(city_id, issued_at), "schema_version": SCHEMA_VERSION,
                     "source": source, "city_id": city_id, "issued_at": issued_at,
                     "ingested_at": ingested_at, "hours": target_hours(issued_at),
                     "temperature_c": _nullable(means[k]), "zone_ids": list(zone_ids),
                     "zone_temperature_c": Binary(packed[k].tobytes())})
    return docs


def _nullable(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]
