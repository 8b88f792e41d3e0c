"""Canonical records (docs/architecture.md §4): one pydantic model per topic.

Kafka values are JSON with ISO-8601 UTC strings; `validate_record` turns one into a typed,
Mongo-ready dict (timezone-aware datetimes, no NaN/Inf) or raises RecordRejected with a reason.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core.ids import iso_minute
from core.vocabulary import FORECAST_HOURS, Topic
from ingest.exceptions import RecordRejected

MAX_TEXT = 500
MAX_SERIES = 64  # subregions of one balancing authority (PJM has 20)
MAX_FUTURE = timedelta(days=1)  # clock skew and providers' local-time slips, not more
MAX_ZONES = 500
SourceName = Literal["open-meteo", "eia", "socrata", "nyc-dot", "tomtom", "simulated"]
ZoneId = Annotated[str, Field(min_length=1, max_length=40)]
TemperatureC = Annotated[float, Field(ge=-90, le=60)]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a UTC offset")
    return value.astimezone(UTC)


class _Canonical(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)

    schema_version: Literal[1]
    source: SourceName
    city_id: str = Field(min_length=1, max_length=40)
    zone_id: ZoneId
    observed_at: datetime
    ingested_at: datetime

    @field_validator("observed_at", "ingested_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class WeatherObs(_Canonical):
    temperature_c: float | None = Field(None, ge=-90, le=60)
    relative_humidity_pct: float | None = Field(None, ge=0, le=100)
    wind_speed_kmh: float | None = Field(None, ge=0, le=500)
    precipitation_mm: float | None = Field(None, ge=0, le=500)


class AqiObs(_Canonical):
    us_aqi: int | None = Field(None, ge=0, le=1000)
    pm2_5: float | None = Field(None, ge=0)
    pm10: float | None = Field(None, ge=0)
    ozone: float | None = Field(None, ge=0)
    nitrogen_dioxide: float | None = Field(None, ge=0)


class TrafficObs(_Canonical):
    link_id: str = Field(min_length=1, max_length=80)
    speed_kmh: float | None = Field(None, ge=0, le=300)
    free_flow_kmh: float | None = Field(None, gt=0, le=300)
    congestion: float | None = Field(None, ge=0, le=1)


class PowerObs(_Canonical):
    """One zone and hour of the grid (docs/architecture.md §4). The subregion fields are
    optional: records written before the city's demand was its EIA subregion lack them."""

    respondent: str = Field(min_length=1, max_length=20)
    subba: str | None = Field(None, min_length=1, max_length=20)
    ba_demand_mw: float | None = Field(None, ge=0)
    ba_forecast_mw: float | None = Field(None, ge=0)
    city_demand_mw: float | None = Field(None, ge=0)
    series_mw: dict[str, float | None] | None = None
    demand_mw: float | None = Field(None, ge=0)
    demand_method: Literal["estimate"] | None = None

    @field_validator("series_mw")
    @classmethod
    def _series(cls, value: dict[str, float | None] | None) -> dict[str, float | None] | None:
        if value is None:
            return None
        if len(value) > MAX_SERIES:
            raise ValueError(f"more than {MAX_SERIES} series")
        for code, mw in value.items():
            if not 0 < len(code) <= 20 or "." in code or code.startswith("$"):
                raise ValueError(f"bad series code {code[:30]!r}")
            if mw is not None and mw < 0:
                raise ValueError(f"negative load for series {code}")
        return value


class IncidentObs(_Canonical):
    incident_id: str = Field(min_length=1, max_length=80)
    complaint_type: str = Field(min_length=1)
    descriptor: str | None = None
    status: str | None = None
    agency: str | None = None
    created_at: datetime
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)

    @field_validator("created_at")
    @classmethod
    def _created_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a UTC offset")
        return value.astimezone(UTC)


class WeatherForecast(BaseModel):
    """A city's temperature forecast issued at one hour, for the FORECAST_HOURS after it
    (docs/architecture.md §4). City-wide: no zone_id; each zone's forecast is a row of
    `zone_temperature_c` ([zones][hours], null where the provider has no value)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MAX_TEXT)

    schema_version: Literal[1]
    source: SourceName
    city_id: str = Field(min_length=1, max_length=40)
    issued_at: datetime
    ingested_at: datetime
    hours: list[datetime] = Field(min_length=FORECAST_HOURS, max_length=FORECAST_HOURS)
    temperature_c: list[TemperatureC | None] = Field(min_length=FORECAST_HOURS,
                                                     max_length=FORECAST_HOURS)
    zone_ids: list[ZoneId] = Field(min_length=1, max_length=MAX_ZONES)
    zone_temperature_c: list[list[TemperatureC | None]] = Field(min_length=1,
                                                                max_length=MAX_ZONES)

    @field_validator("issued_at")
    @classmethod
    def _issued_on_the_hour(cls, value: datetime) -> datetime:
        value = _as_utc(value)
        if value != value.replace(minute=0, second=0, microsecond=0):
            raise ValueError("issued_at must be a whole UTC hour")
        return value

    @field_validator("ingested_at")
    @classmethod
    def _ingested_utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @field_validator("hours")
    @classmethod
    def _hours_utc(cls, value: list[datetime]) -> list[datetime]:
        return [_as_utc(v) for v in value]

    @model_validator(mode="after")
    def _shapes_agree(self) -> WeatherForecast:
        if any(h != self.issued_at + timedelta(hours=j) for j, h in enumerate(self.hours)):
            raise ValueError("hours must be issued_at + 0, 1, ... hours")
        if len(set(self.zone_ids)) != len(self.zone_ids):
            raise ValueError("zone_ids repeat")
        if len(self.zone_temperature_c) != len(self.zone_ids):
            raise ValueError("zone_temperature_c needs one row per zone_id")
        if any(len(row) != len(self.hours) for row in self.zone_temperature_c):
            raise ValueError("every zone_temperature_c row needs one value per hour")
        return self


TOPIC_MODEL: dict[str, type[BaseModel]] = {
    Topic.WEATHER: WeatherObs,
    Topic.AQI: AqiObs,
    Topic.TRAFFIC: TrafficObs,
    Topic.POWER: PowerObs,
    Topic.INCIDENTS: IncidentObs,
    Topic.WEATHER_FORECAST: WeatherForecast,
}
# the field a record's plausible time is checked on
TIME_FIELD: dict[str, str] = {Topic.WEATHER_FORECAST: "issued_at"}


def validate_record(topic: str, value: dict[str, Any] | bytes | str) -> dict[str, Any]:
    """Validate one canonical record for `topic`; return it as a Mongo-ready dict."""
    model = TOPIC_MODEL.get(topic)
    if model is None:
        raise RecordRejected(f"no canonical schema for topic {topic!r}")
    if isinstance(value, bytes | str):
        try:
            value = json.loads(value, parse_constant=_reject_constant)
        except (ValueError, RecordRejected) as exc:
            raise RecordRejected(f"value is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(value, dict):
        raise RecordRejected(f"value must be a JSON object, got {type(value).__name__}")
    try:
        record = model.model_validate(value)
    except ValidationError as exc:
        raise RecordRejected(_summarise(exc)) from None
    return record.model_dump()


def check_plausible_time(record: dict[str, Any], now: datetime, max_age: timedelta,
                         field: str = "observed_at") -> None:
    """Reject a record whose time cannot be right (docs/architecture.md §4, Plausible time).

    Its time (`observed_at`; a forecast's `issued_at`, TIME_FIELD) may be at most MAX_FUTURE
    ahead of `now` and at most `max_age` (the raw retention window: older rows would be
    deleted within the hour) behind it; a 311 `created_at` may be at most MAX_FUTURE ahead,
    and any age (a request is observed long after it was created)."""
    observed = record[field]
    if observed > now + MAX_FUTURE:
        raise RecordRejected(f"{field} {iso_minute(observed)} is more than "
                             f"{_span(MAX_FUTURE)} in the future")
    if observed < now - max_age:
        raise RecordRejected(f"{field} {iso_minute(observed)} is older than the "
                             f"{_span(max_age)} raw retention window")
    created = record.get("created_at")
    if created is not None and created > now + MAX_FUTURE:
        raise RecordRejected(f"created_at {iso_minute(created)} is more than "
                             f"{_span(MAX_FUTURE)} in the future")


def _span(delta: timedelta) -> str:
    if delta % timedelta(days=1):
        return str(delta)
    return f"{delta.days} day" if delta.days == 1 else f"{delta.days} days"


def _reject_constant(name: str) -> float:
    raise RecordRejected(f"{name} is not allowed")


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        loc = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def to_wire(record: dict[str, Any]) -> bytes:
    """Serialise a canonical record for Kafka: ISO-8601 UTC strings, no NaN."""
    return json.dumps(record, default=_iso, allow_nan=False, separators=(",", ":")).encode()


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def is_finite(value: object) -> bool:
    return not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))
