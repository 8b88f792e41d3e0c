"""Open-Meteo forecast (weather) and air-quality APIs: one request per city for all its zones.

Open-Meteo takes comma-separated latitude/longitude lists and answers a JSON list in request
order (a single location answers a plain object). The coordinates it returns are snapped to
its grid cell and only later items carry `location_id`, so items map to zones by position,
never by coordinates. We ask for GMT so one `utc_offset_seconds` is exact across DST changes;
parse still applies whatever offset the reply states.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.vocabulary import SCHEMA_VERSION, Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter, get_json
from ingest.sources.base import FetchContext, ParseResult, Source

PROVIDER = "open-meteo"
WEATHER_PATH = "/v1/forecast"
AIR_QUALITY_PATH = "/v1/air-quality"
# provider hourly variable -> canonical field (units are the provider defaults: °C, %, km/h, mm)
WEATHER_FIELDS = {
    "temperature_2m": "temperature_c",
    "relative_humidity_2m": "relative_humidity_pct",
    "wind_speed_10m": "wind_speed_kmh",
    "precipitation": "precipitation_mm",
}
AIR_QUALITY_FIELDS = {  # µg/m³ except us_aqi (index)
    "us_aqi": "us_aqi",
    "pm2_5": "pm2_5",
    "pm10": "pm10",
    "ozone": "ozone",
    "nitrogen_dioxide": "nitrogen_dioxide",
}


class _OpenMeteo(Source):
    provider = PROVIDER
    path: str
    url_setting: str
    fields: dict[str, str]
    topic: str

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        base = getattr(ctx.settings, self.url_setting)
        return get_json(http, PROVIDER, base + self.path, request_params(ctx, self.fields),
                        max_attempts=ctx.settings.http_max_attempts, counter=counter,
                        sleep=self._sleep)

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        return parse_hourly(raw, ctx, self.fields, self.topic)


class OpenMeteoWeather(_OpenMeteo):
    kind = "weather"
    path = WEATHER_PATH
    url_setting = "open_meteo_url"
    fields = WEATHER_FIELDS
    topic = Topic.WEATHER


class OpenMeteoAirQuality(_OpenMeteo):
    kind = "aqi"
    path = AIR_QUALITY_PATH
    url_setting = "open_meteo_aq_url"
    fields = AIR_QUALITY_FIELDS
    topic = Topic.AQI


def request_params(ctx: FetchContext, fields: dict[str, str]) -> dict[str, str]:
    """All zones in catalog order (the order parse relies on), dates covering [start, end)."""
    zones = ctx.city.zones
    last = ctx.end - timedelta(microseconds=1)
    return {
        "latitude": ",".join(f"{z.lat:.4f}" for z in zones),
        "longitude": ",".join(f"{z.lon:.4f}" for z in zones),
        "hourly": ",".join(fields),
        "timezone": "GMT",
        "start_date": ctx.start.astimezone(UTC).date().isoformat(),
        "end_date": last.astimezone(UTC).date().isoformat(),
    }


def parse_hourly(raw: Any, ctx: FetchContext, fields: dict[str, str], topic: str) -> ParseResult:
    """Reply item i belongs to zone i; hours outside [start, end) and all-null hours are dropped."""
    items = _items(raw, len(ctx.city.zones))
    result = ParseResult()
    for zone, item in zip(ctx.city.zones, items, strict=True):
        hourly = item.get("hourly") if isinstance(item, dict) else None
        if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
            raise ProviderShapeError(PROVIDER, f"item for zone {zone.zone_id} has no hourly.time")
        offset = timedelta(seconds=item.get("utc_offset_seconds") or 0)
        columns = {name: hourly.get(name) or [] for name in fields}
        for i, stamp in enumerate(hourly["time"]):
            observed = _utc(stamp, offset)
            if observed is None or not ctx.start <= observed < ctx.end:
                continue
            values = {fields[n]: _value(col, i) for n, col in columns.items()}
            if all(v is None for v in values.values()):
                continue
            record = {"schema_version": SCHEMA_VERSION, "source": PROVIDER,
                      "city_id": ctx.city.city_id, "zone_id": zone.zone_id,
                      "observed_at": observed, "ingested_at": ctx.ingested_at, **values}
            if "us_aqi" in record and record["us_aqi"] is not None:
                record["us_aqi"] = round(record["us_aqi"])
            result.add(topic, record, record)
    return result


def _items(raw: Any, n_zones: int) -> list[Any]:
    if isinstance(raw, dict) and raw.get("error"):
        raise ProviderError(PROVIDER, str(raw.get("reason") or "error without reason"))
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or len(items) != n_zones:
        got = len(items) if isinstance(items, list) else type(raw).__name__
        raise ProviderShapeError(PROVIDER, f"expected {n_zones} location(s), got {got}")
    return items


def _utc(stamp: Any, offset: timedelta) -> datetime | None:
    """Local wall time without offset (iso8601) or unixtime -> aware UTC."""
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC)
    try:
        local = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    return (local - offset).replace(tzinfo=UTC)


def _value(column: Any, i: int) -> float | None:
    try:
        value = column[i]
    except (IndexError, KeyError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
