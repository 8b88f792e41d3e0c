"""Open-Meteo forecast (weather) and air-quality APIs: one request per city for all its zones.

Open-Meteo takes comma-separated latitude/longitude lists and answers a JSON list in request
order (a single location answers a plain object). The coordinates it returns are snapped to
its grid cell and only later items carry `location_id`, so items map to zones by position,
never by coordinates. We ask for GMT so one `utc_offset_seconds` is exact across DST changes;
parse still applies whatever offset the reply states.

The weather request also covers the FORECAST_HOURS from the cycle's issue hour: the hours
of the window become observations, as before, and the hours [issue hour, +48 h) become the
city's forecast record (topic weather_forecast, ingest.weather_forecast).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np

from core.vocabulary import FORECAST_HOURS, SCHEMA_VERSION, Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter, get_json
from ingest.sources.base import FetchContext, ParseResult, Source
from ingest.weather_forecast import forecast_record, issue_hour, target_hours

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
    ahead_hours = 0  # hours after the issue hour the reply must also cover

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        base = getattr(ctx.settings, self.url_setting)
        return get_json(http, PROVIDER, base + self.path,
                        request_params(ctx, self.fields, self.ahead_hours),
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
    ahead_hours = FORECAST_HOURS

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        result = parse_hourly(raw, ctx, self.fields, self.topic)
        record = parse_forecast(raw, ctx)
        if record is not None:
            result.add_extra(Topic.WEATHER_FORECAST, record, record)
        return result


class OpenMeteoAirQuality(_OpenMeteo):
    kind = "aqi"
    path = AIR_QUALITY_PATH
    url_setting = "open_meteo_aq_url"
    fields = AIR_QUALITY_FIELDS
    topic = Topic.AQI


def request_params(ctx: FetchContext, fields: dict[str, str],
                   ahead_hours: int = 0) -> dict[str, str]:
    """All zones in catalog order (the order parse relies on), dates covering [start, end)
    and, with `ahead_hours`, the hours [issue hour, issue hour + ahead_hours)."""
    zones = ctx.city.zones
    last = ctx.end - timedelta(microseconds=1)
    if ahead_hours:
        last = max(last, issue_hour(ctx.end) + timedelta(hours=ahead_hours - 1))
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
        hourly, offset = _hourly(item, zone.zone_id)
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


def parse_forecast(raw: Any, ctx: FetchContext) -> dict[str, Any] | None:
    """The forecast record of the cycle's issue hour: every zone's temperature_2m for the
    hours [issue hour, +FORECAST_HOURS), NaN where the reply has none; the city mean weighs
    the zones by their catalog weight. None when the reply holds none of those hours."""
    issued = issue_hour(ctx.end)
    column = {at: j for j, at in enumerate(target_hours(issued))}
    zones = ctx.city.zones
    values = np.full((len(zones), FORECAST_HOURS), np.nan)
    for z, item in enumerate(_items(raw, len(zones))):
        hourly, offset = _hourly(item, zones[z].zone_id)
        temperatures = hourly.get("temperature_2m") or []
        for i, stamp in enumerate(hourly["time"]):
            j = column.get(_utc(stamp, offset))
            value = _value(temperatures, i) if j is not None else None
            if value is not None:
                values[z, j] = value
    if np.isnan(values).all():
        return None
    return forecast_record(city_id=ctx.city.city_id, source=PROVIDER, issued_at=issued,
                           ingested_at=ctx.ingested_at, zone_ids=[z.zone_id for z in zones],
                           zone_values=values, weights=[z.weight for z in zones])


def _items(raw: Any, n_zones: int) -> list[Any]:
    if isinstance(raw, dict) and raw.get("error"):
        raise ProviderError(PROVIDER, str(raw.get("reason") or "error without reason"))
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or len(items) != n_zones:
        got = len(items) if isinstance(items, list) else type(raw).__name__
        raise ProviderShapeError(PROVIDER, f"expected {n_zones} location(s), got {got}")
    return items


def _hourly(item: Any, zone_id: str) -> tuple[dict[str, Any], timedelta]:
    """An item's hourly columns and the offset of its local times from UTC."""
    hourly = item.get("hourly") if isinstance(item, dict) else None
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise ProviderShapeError(PROVIDER, f"item for zone {zone_id} has no hourly.time")
    return hourly, timedelta(seconds=item.get("utc_offset_seconds") or 0)


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
