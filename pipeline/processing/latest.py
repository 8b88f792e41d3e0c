"""Current readings per zone and the zone_latest / city_latest documents built from them.

Missing data stays missing: a metric whose newest reading is older than its source's MAX_AGE
keeps value None together with the time it was last seen, so the UI can say "no data (last
seen 3 h ago)"; a metric never seen has value None and observed_at None. Nothing is zero-
filled or interpolated. Demand is the one deliberate exception: with no current meter value
but a current temperature, the zone's temperature-adjusted estimate is shown, flagged
demand_estimated=True.

A zone's demand is always an estimate (`demand_method: "estimate"`): the city's demand, which
is its EIA subregion's series (`city_demand_mw`, `subba`), times the zone's weight
(docs/architecture.md §4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from core.aqi import aqi_category_doc
from core.catalog import City
from core.ids import make_id
from core.subregions import series_ids
from core.units import quantity
from pipeline.processing.demand import estimate_demand
from pipeline.processing.metrics import LATEST_METRICS, MAX_AGE
from pipeline.processing.raw_frames import RawFrames, finite_or_none
from pipeline.processing.rules import risk_level

TRAFFIC_LINK_SPAN = pd.Timedelta(minutes=20)  # links read this close to the newest one count
DEMAND_METHOD = "estimate"  # zone demand = the city's series x the zone's weight
CLOSED_STATUSES = frozenset({"closed", "resolved", "completed", "cancelled", "canceled",
                             "duplicate"})


class Reading(NamedTuple):
    value: float | None
    observed_at: datetime | None
    source: str | None


ZoneReadings = dict[str, Reading]  # metric -> reading


def _py_time(ts: Any) -> datetime | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts).to_pydatetime()


def _newest(frame: pd.DataFrame, field: str) -> pd.DataFrame:
    """Per zone: the newest non-null value of `field`, its time and its source."""
    seen = frame.loc[frame[field].notna(), ["zone_id", "observed_at", "source", field]]
    return seen.groupby("zone_id").last()


def _traffic_newest(frame: pd.DataFrame, field: str) -> pd.DataFrame:
    """Per zone: mean over links of each link's newest value, among links read recently."""
    seen = frame.loc[frame[field].notna(), ["zone_id", "link_id", "observed_at", "source", field]]
    links = seen.groupby(["zone_id", "link_id"]).last().reset_index()
    newest = links.groupby("zone_id")["observed_at"].transform("max")
    recent = links[links["observed_at"] >= newest - TRAFFIC_LINK_SPAN]
    return recent.groupby("zone_id").agg(
        observed_at=("observed_at", "max"), source=("source", "last"), **{field: (field, "mean")})


def _readings_from(newest: pd.DataFrame, metric: str, now: pd.Timestamp, kind: str,
                   out: dict[str, ZoneReadings]) -> None:
    max_age = MAX_AGE[kind]
    for zone_id, row in newest.iterrows():
        observed = pd.Timestamp(row["observed_at"])
        fresh = now - observed <= max_age
        value = finite_or_none(row[metric]) if fresh else None
        out.setdefault(str(zone_id), {})[metric] = Reading(value, _py_time(observed),
                                                           str(row["source"]))


def _incident_readings(incidents: pd.DataFrame, zone_ids: Iterable[str], now: pd.Timestamp,
                       out: dict[str, ZoneReadings]) -> None:
    if incidents.empty:
        return
    reported = incidents["observed_at"].max()
    fresh = now - reported <= MAX_AGE["incidents"]
    source = str(incidents["source"].iloc[-1])
    created = incidents["created_at"]
    last_day = incidents[(created > now - pd.Timedelta(hours=24)) & (created <= now)]
    per_zone_24h = last_day.groupby("zone_id").size()
    status = incidents["status"].fillna("").astype(str).str.strip().str.lower()
    is_open = (status != "") & ~status.isin(CLOSED_STATUSES)
    per_zone_open = incidents[is_open.to_numpy()].groupby("zone_id").size()
    for zone_id in zone_ids:
        zone = out.setdefault(zone_id, {})
        for metric, counts in (("incidents_24h", per_zone_24h), ("open_incidents", per_zone_open)):
            value = float(counts.get(zone_id, 0)) if fresh else None
            zone[metric] = Reading(value, _py_time(reported), source)


def latest_readings(frames: RawFrames, city: City, now: datetime) -> dict[str, ZoneReadings]:
    """zone_id -> metric -> Reading for every catalog zone and every LATEST_METRICS metric."""
    now_ts = pd.Timestamp(now)
    out: dict[str, ZoneReadings] = {}
    sources = frames.sources()
    for metric, kind in LATEST_METRICS.items():
        frame = sources[kind]
        if kind == "incidents" or frame.empty or metric not in frame.columns:
            continue
        newest = _traffic_newest(frame, metric) if kind == "traffic" else _newest(frame, metric)
        _readings_from(newest, metric, now_ts, kind, out)
    zone_ids = [z.zone_id for z in city.zones]
    _incident_readings(frames.incidents, zone_ids, now_ts, out)
    missing = Reading(None, None, None)
    return {z: {m: out.get(z, {}).get(m, missing) for m in LATEST_METRICS} for z in zone_ids}


def city_demand_reading(power: pd.DataFrame, now: datetime) -> Reading:
    """The city's newest demand (its own series, `city_demand_mw`), None when stale."""
    if power.empty or "city_demand_mw" not in power.columns:
        return Reading(None, None, None)
    seen = power[power["city_demand_mw"].notna()]
    if seen.empty:
        return Reading(None, None, None)
    newest = seen.iloc[-1]  # RawFrames are sorted by observed_at
    observed = pd.Timestamp(newest["observed_at"])
    fresh = pd.Timestamp(now) - observed <= MAX_AGE["power"]
    value = finite_or_none(newest["city_demand_mw"]) if fresh else None
    return Reading(value, _py_time(observed), str(newest["source"]))


def with_demand_estimates(readings: dict[str, ZoneReadings], demand_profile: pd.DataFrame,
                          city: City, now: datetime) -> tuple[dict[str, ZoneReadings], set[str]]:
    """Fill a zone's missing current demand from its current temperature (demand.py).

    Returns the readings and the zones whose demand is an estimate. The estimate's
    observed_at and source are the temperature's.
    """
    need = [z for z, r in readings.items()
            if r["demand_mw"].value is None and r["temperature_c"].value is not None]
    if not need:
        return readings, set()
    hour = pd.Timestamp(now).floor("h")
    frame = pd.DataFrame({
        "zone_id": need, "ts": [hour] * len(need), "demand_mw": [np.nan] * len(need),
        "temperature_c": [readings[z]["temperature_c"].value for z in need],
    })
    filled = estimate_demand(frame, demand_profile, city)
    out = {z: dict(r) for z, r in readings.items()}
    estimated = set()
    for zone_id, value, used in zip(need, filled["demand_mw"], filled["demand_estimated"],
                                    strict=True):
        if used:
            temp = readings[zone_id]["temperature_c"]
            out[zone_id]["demand_mw"] = Reading(float(value), temp.observed_at, temp.source)
            estimated.add(zone_id)
    return out, estimated


def source_label(providers: Iterable[str]) -> str | None:
    """"simulated" when every input is simulated, "live" when none is, else "mixed"."""
    labels = set(providers)
    if not labels:
        return None
    if labels == {"simulated"}:
        return "simulated"
    return "mixed" if "simulated" in labels else "live"


def zone_sources(readings: ZoneReadings) -> dict[str, str]:
    """Source kind -> provider label of the zone's newest reading of that kind."""
    out: dict[str, str] = {}
    for metric, kind in LATEST_METRICS.items():
        source = readings[metric].source
        if source is not None and kind not in out:
            out[kind] = source
    return out


def is_reporting(readings: ZoneReadings) -> bool:
    return any(r.value is not None for r in readings.values())


def zone_latest_doc(city: City, zone_id: str, readings: ZoneReadings, now: datetime, *,
                    demand_estimated: bool, risk_score: float | None,
                    risk_factors: list[dict[str, Any]], anomalies: list[dict[str, Any]],
                    open_alerts: int) -> dict[str, Any]:
    """One zone_latest document (read-model contract)."""
    zone = city.zone(zone_id)
    if zone is None:
        raise KeyError(f"zone {zone_id!r} is not in the {city.city_id} catalog")
    sources = zone_sources(readings)
    score = risk_score if is_reporting(readings) else None
    return {
        "_id": make_id(city.city_id, zone_id), "city_id": city.city_id, "zone_id": zone_id,
        "zone_name": zone.name, "lat": zone.lat, "lon": zone.lon, "updated_at": now,
        "source": source_label(sources.values()), "sources": sources,
        "metrics": {m: {"value": r.value, "observed_at": r.observed_at,
                        "unit": quantity(m).stored_unit} for m, r in readings.items()},
        "demand_estimated": demand_estimated, "demand_method": DEMAND_METHOD,
        "aqi_category": aqi_category_doc(readings["us_aqi"].value),
        "risk_score": score, "risk_level": risk_level(score),
        "risk_factors": risk_factors if score is not None else [],
        "anomalies": anomalies, "open_alerts": int(open_alerts),
    }


def _values(docs: Iterable[Mapping[str, Any]], metric: str) -> list[tuple[float, str]]:
    out = []
    for doc in docs:
        value = doc["metrics"][metric]["value"]
        if value is not None:
            out.append((float(value), doc["zone_id"]))
    return out


def city_latest_doc(city: City, zone_docs: list[dict[str, Any]], now: datetime,
                    open_alerts: int, city_demand: Reading | None = None) -> dict[str, Any]:
    """The city's headline KPIs from its zone_latest documents (None where no zone reports).

    `city_demand` is the city's own series (city_demand_reading): the demand of its EIA
    subregion, `subba`; `demand_mw` is the sum of the zone estimates.
    """
    city_demand = city_demand or Reading(None, None, None)

    def total(metric: str) -> float | None:
        values = _values(zone_docs, metric)
        return round(sum(v for v, _ in values), 3) if values else None

    def mean(metric: str) -> float | None:
        values = _values(zone_docs, metric)
        return round(sum(v for v, _ in values) / len(values), 3) if values else None

    aqi = _values(zone_docs, "us_aqi")
    worst = max(aqi, default=None)
    seen = [m["observed_at"] for d in zone_docs for m in d["metrics"].values()
            if m["value"] is not None and m["observed_at"] is not None]
    newest = max(seen, default=None)
    scores = [d["risk_score"] for d in zone_docs if d["risk_score"] is not None]
    providers = [p for d in zone_docs for p in d["sources"].values()]
    return {
        "_id": city.city_id, "city_id": city.city_id, "updated_at": now,
        "source": source_label(providers),
        "demand_mw": total("demand_mw"), "demand_forecast_mw": total("demand_forecast_mw"),
        "demand_estimated": any(d["demand_estimated"] for d in zone_docs),
        "demand_method": DEMAND_METHOD, "subba": series_ids(city)[0],
        "city_demand_mw": city_demand.value, "city_demand_observed_at": city_demand.observed_at,
        "avg_aqi": mean("us_aqi"), "worst_aqi": worst[0] if worst else None,
        "worst_aqi_zone": worst[1] if worst else None,
        "avg_congestion": mean("congestion"),
        "open_incidents": total("open_incidents"), "incidents_24h": total("incidents_24h"),
        "open_alerts": int(open_alerts),
        "max_risk_score": max(scores, default=None),
        "zones_reporting": sum(1 for d in zone_docs if is_reporting_doc(d)),
        "data_age_s": int((now - newest).total_seconds()) if newest else None,
    }


def is_reporting_doc(doc: Mapping[str, Any]) -> bool:
    return any(m["value"] is not None for m in doc["metrics"].values())
