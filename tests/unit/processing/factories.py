"""Hand-built canonical records and a toy city for the processing tests (source "simulated")."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import Bounds, City, Zone
from pipeline.history import FRAME_COLUMNS, HOURLY_METRICS

T0 = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday midnight, UTC


def toy_city() -> City:
    """Three zones; z01 carries half the city's load. BA share 0.5 of NYIS."""
    zones = [
        Zone(zone_id="z01", city_id="toy", name="Harbour", lat=40.70, lon=-74.00, weight=0.5),
        Zone(zone_id="z02", city_id="toy", name="Hill", lat=40.72, lon=-73.98, weight=0.3),
        Zone(zone_id="z03", city_id="toy", name="Park", lat=40.74, lon=-73.96, weight=0.2),
    ]
    return City(city_id="toy", name="Toy", timezone="America/New_York",
                bounds=Bounds(min_lat=40.6, min_lon=-74.1, max_lat=40.8, max_lon=-73.9),
                eia_respondent="NYIS", ba_share=0.5, zones=zones)


def _base(zone_id: str, observed_at: datetime, city_id: str = "toy") -> dict[str, Any]:
    return {"schema_version": 1, "source": "simulated", "city_id": city_id, "zone_id": zone_id,
            "observed_at": observed_at, "ingested_at": observed_at}


def weather(zone_id: str, at: datetime, temperature_c: float | None = 20.0,
            relative_humidity_pct: float | None = 50.0, wind_speed_kmh: float | None = 10.0,
            precipitation_mm: float | None = 0.0) -> dict[str, Any]:
    return {**_base(zone_id, at), "temperature_c": temperature_c,
            "relative_humidity_pct": relative_humidity_pct, "wind_speed_kmh": wind_speed_kmh,
            "precipitation_mm": precipitation_mm}


def aqi(zone_id: str, at: datetime, us_aqi: int | None = 40, pm2_5: float | None = 8.0
        ) -> dict[str, Any]:
    return {**_base(zone_id, at), "us_aqi": us_aqi, "pm2_5": pm2_5, "pm10": None,
            "ozone": None, "nitrogen_dioxide": None}


def traffic(zone_id: str, link_id: str, at: datetime, speed_kmh: float | None = 40.0,
            free_flow_kmh: float | None = 50.0, congestion: float | None = 0.2
            ) -> dict[str, Any]:
    return {**_base(zone_id, at), "link_id": link_id, "speed_kmh": speed_kmh,
            "free_flow_kmh": free_flow_kmh, "congestion": congestion}


def power(zone_id: str, at: datetime, demand_mw: float | None = None,
          ba_demand_mw: float | None = None, ba_forecast_mw: float | None = None
          ) -> dict[str, Any]:
    return {**_base(zone_id, at), "respondent": "NYIS", "ba_demand_mw": ba_demand_mw,
            "ba_forecast_mw": ba_forecast_mw, "demand_mw": demand_mw}


def incident(zone_id: str, incident_id: str, created_at: datetime,
             complaint_type: str = "Noise - Residential", status: str | None = "Open",
             observed_at: datetime | None = None) -> dict[str, Any]:
    return {**_base(zone_id, observed_at or created_at), "incident_id": incident_id,
            "complaint_type": complaint_type, "descriptor": None, "status": status,
            "agency": "NYPD", "created_at": created_at, "lat": 40.7, "lon": -74.0}


def hours(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(count)]


def hourly_frame(zone_ids: list[str], start: datetime, count: int, city_id: str = "toy",
                 **metrics: Any) -> pd.DataFrame:
    """A complete hourly zone frame (history.FRAME_COLUMNS); metrics are scalars, arrays of
    len(zone_ids) * count (zone-major), or callables (ts: DatetimeIndex, zone index) -> array."""
    ts = pd.date_range(start, periods=count, freq="h", tz="UTC", unit="us")
    parts = []
    for z, zone_id in enumerate(zone_ids):
        part = pd.DataFrame({"city_id": city_id, "zone_id": zone_id, "ts": ts})
        for metric in HOURLY_METRICS:
            value = metrics.get(metric, np.nan)
            if callable(value):
                value = value(ts, z)
            elif isinstance(value, np.ndarray | list):
                value = np.asarray(value, dtype="float64")[z * count:(z + 1) * count]
            part[metric] = value
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    for metric in HOURLY_METRICS:
        frame[metric] = frame[metric].astype("float64")
    return frame[list(FRAME_COLUMNS)]


def assert_mongo_safe(value: Any, path: str = "") -> None:
    """No NaN/Inf, no nested arrays, no unsafe keys, no pandas objects (docs/architecture.md §8)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert "." not in key and not key.startswith("$"), path + key
            assert_mongo_safe(item, f"{path}{key}.")
    elif isinstance(value, list):
        for item in value:
            assert not isinstance(item, list), path
            assert_mongo_safe(item, path)
    elif isinstance(value, float):
        assert math.isfinite(value), path
    else:
        assert not isinstance(value, pd.Timestamp | pd.Series), path


def simulated_raw(city: City, start: datetime, n_hours: int, seed: int = 0,
                  incident_rate: float = 0.3, with_power: bool = True
                  ) -> dict[str, list[dict[str, Any]]]:
    """Hourly records for every zone of `city` with daily cycles and noise (raw_* by name)."""
    rng = np.random.default_rng(seed)
    raw: dict[str, list[dict[str, Any]]] = {
        "raw_weather": [], "raw_aqi": [], "raw_traffic": [], "raw_power": [], "raw_311": []}
    count = 0
    for h in range(n_hours):
        at = start + timedelta(hours=h)
        cycle = math.sin((at.hour - 9) / 24 * 2 * math.pi)
        ba = 10_000 + 2_500 * cycle + rng.normal(0, 80)
        for zone in city.zones:
            z = zone.zone_id

            def rec(fn: Any, *args: Any, z: str = z, **kw: Any) -> dict[str, Any]:
                return {**fn(z, *args, **kw), "city_id": city.city_id}

            raw["raw_weather"].append(rec(weather, at + timedelta(minutes=5),
                                          temperature_c=22 + 6 * cycle + rng.normal(0, 0.7),
                                          relative_humidity_pct=55.0))
            raw["raw_aqi"].append(rec(aqi, at, us_aqi=int(40 + 8 * cycle + rng.normal(0, 3))))
            raw["raw_traffic"].append(rec(traffic, "l1", at,
                                          congestion=float(np.clip(0.3 + 0.15 * cycle
                                                                   + rng.normal(0, 0.03), 0, 1))))
            if with_power:
                raw["raw_power"].append(rec(power, at, ba_demand_mw=ba, ba_forecast_mw=ba * 1.01))
            for _ in range(rng.poisson(incident_rate)):
                count += 1
                created = at + timedelta(minutes=int(rng.integers(0, 60)))
                raw["raw_311"].append(rec(incident, f"{city.city_id}-{count}", created,
                                          complaint_type="Noise - Street/Sidewalk"))
    return raw
