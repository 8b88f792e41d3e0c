"""Every MongoDB read of the UI, each a cached function of plain arguments.

FerretDB pushes down only an exact `_id` filter, so every function here either reads by `_id`
or scans a small, bounded collection (zone_latest, alerts, recommendations, kafka_live_feed,
consumer_status, pipeline_runs, dlq, model_* by id, the catalog). History comes from
`city_day` one document per day (pipeline.history), cached per day so a change of time range
only fetches the days not seen yet. Results are plain dicts / DataFrames (st.cache_data copies
them per caller, so pages may modify what they get).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st
from pymongo.errors import PyMongoError

from core.catalog import load_catalog
from core.ids import iso_day
from core.runs import scope_hour
from core.vocabulary import DATA_TOPICS, MODEL_NAMES, C
from pipeline.history import city_days_to_frame, day_starts, load_city_days
from ui.db import get_db

TTL_CATALOG = 300
TTL_LIVE = 15
TTL_STREAM = 5
TTL_CLOSED_DAY = 3600
TTL_OPEN_DAY = 60
LIVE_FEED_FIELDS = {"_id": 0, "topic": 1, "partition": 1, "offset": 1, "key": 1, "city_id": 1,
                    "zone_id": 1, "observed_at": 1, "consumed_at": 1, "summary": 1, "source": 1}
ZONE_FIELDS = {"_id": 0, "zone_id": 1, "name": 1, "lat": 1, "lon": 1, "h3": 1}
RUN_FIELDS = {"_id": 0, "job": 1, "city_id": 1, "source": 1, "provider": 1, "started_at": 1,
              "finished_at": 1, "duration_s": 1, "ok": 1, "error": 1, "attempts": 1,
              "requests": 1, "records": 1, "rejects": 1, "worker": 1}


# --- catalog ---------------------------------------------------------------------------------

@st.cache_data(ttl=TTL_CATALOG, max_entries=2, show_spinner=False)
def load_cities() -> list[dict[str, Any]]:
    """The catalog's cities (Mongo `cities`; the JSON catalog until the sidecar has loaded it)."""
    docs = list(get_db()[C.CITIES].find({}, {"city_id": 1, "name": 1, "timezone": 1,
                                              "active": 1, "sources": 1, "origin": 1}))
    if not docs:
        docs = [{"city_id": c.city_id, "name": c.name, "timezone": c.timezone, "active": False}
                for c in load_catalog().values()]
    cities = [{"city_id": str(d.get("city_id") or d["_id"]), "name": d.get("name") or d["_id"],
               "timezone": d.get("timezone") or "UTC", "active": bool(d.get("active")),
               "sources": d.get("sources") or {}, "origin": d.get("origin") or "curated"}
              for d in docs]
    return sorted(cities, key=lambda c: c["city_id"])


@st.cache_data(ttl=TTL_CATALOG, max_entries=16, show_spinner=False)
def load_zones(city_id: str) -> pd.DataFrame:
    """Zones of a city in catalog order: zone_id, name, lat, lon, h3.

    `h3` is the zone's H3 cell id where the zone document has one (generated cities), None
    otherwise (curated cities; ui.hexes derives a cell from the centre).
    """
    docs = list(get_db()[C.ZONES].find({"city_id": city_id}, ZONE_FIELDS))
    if not docs:
        city = load_catalog().get(city_id)
        docs = [z.model_dump(include={"zone_id", "name", "lat", "lon", "h3"})
                for z in (city.zones if city else [])]
    return zones_frame(docs)


def zones_frame(docs: list[dict[str, Any]]) -> pd.DataFrame:
    """Zone documents -> zone_id, name, lat, lon, h3 (None where absent), by zone_id."""
    frame = pd.DataFrame(docs, columns=["zone_id", "name", "lat", "lon", "h3"])
    frame["h3"] = frame["h3"].astype(object).where(frame["h3"].notna(), None)
    return frame.sort_values("zone_id").reset_index(drop=True)


@st.cache_data(ttl=2, max_entries=16, show_spinner=False)
def load_city_request(city_id: str) -> dict[str, Any] | None:
    return get_db()[C.CITY_REQUESTS].find_one({"_id": city_id})


# --- live read models ------------------------------------------------------------------------

@st.cache_data(ttl=TTL_LIVE, max_entries=16, show_spinner=False)
def load_zone_latest(city_id: str) -> list[dict[str, Any]]:
    """One document per zone (<= 40): latest metrics, risk, anomalies."""
    return list(get_db()[C.ZONE_LATEST].find({"city_id": city_id}))


@st.cache_data(ttl=2, max_entries=16, show_spinner=False)
def has_zone_data(city_id: str) -> bool:
    """Cheap poll for the loading state: has any zone of the city landed yet?"""
    return get_db()[C.ZONE_LATEST].find_one({"city_id": city_id}, {"_id": 1}) is not None


@st.cache_data(ttl=TTL_LIVE, max_entries=16, show_spinner=False)
def load_city_latest(city_id: str) -> dict[str, Any] | None:
    return get_db()[C.CITY_LATEST].find_one({"_id": city_id})


@st.cache_data(ttl=TTL_LIVE, max_entries=16, show_spinner=False)
def load_open_alerts(city_id: str) -> list[dict[str, Any]]:
    return list(get_db()[C.ALERTS].find({"city_id": city_id, "status": "open"}))


@st.cache_data(ttl=30, max_entries=16, show_spinner=False)
def load_recommendations(city_id: str) -> list[dict[str, Any]]:
    return list(get_db()[C.RECOMMENDATIONS].find({"city_id": city_id}))


# --- history (city_day, one document per UTC day) -----------------------------------------

@dataclass
class History:
    """Hourly zone history over a range plus the day-level extras of those days."""

    frame: pd.DataFrame
    incidents_by_type: dict[str, int] = field(default_factory=dict)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    days_found: int = 0
    days_requested: int = 0


def _read_day(city_id: str, day_iso: str) -> dict[str, Any] | None:
    day = datetime.fromisoformat(day_iso).replace(tzinfo=UTC)
    docs = load_city_days(get_db(), city_id, day, day + timedelta(days=1))
    if not docs:
        return None
    doc = docs[0]
    return {"frame": city_days_to_frame([doc]),
            "incidents_by_type": dict(doc.get("incidents_by_type") or {}),
            "anomalies": list(doc.get("anomalies") or [])}


@st.cache_data(ttl=TTL_CLOSED_DAY, max_entries=512, show_spinner=False)
def load_closed_day(city_id: str, day_iso: str) -> dict[str, Any] | None:
    """A finished UTC day changes rarely (late data, backfill): cached for an hour."""
    return _read_day(city_id, day_iso)


@st.cache_data(ttl=TTL_OPEN_DAY, max_entries=32, show_spinner=False,
               refresh_mode="background")
def load_open_day(city_id: str, day_iso: str) -> dict[str, Any] | None:
    """Today's document grows every processing run: short ttl, refreshed in the background."""
    return _read_day(city_id, day_iso)


def load_history(city_id: str, start: datetime, end: datetime) -> History:
    """History over [start, end) assembled from the cached per-day reads."""
    today = iso_day(datetime.now(UTC))
    frames, incidents, anomalies = [], {}, []
    days = day_starts(start, end)
    found = 0
    for day in days:
        key = iso_day(day)
        part = load_open_day(city_id, key) if key >= today else load_closed_day(city_id, key)
        if part is None:
            continue
        found += 1
        frames.append(part["frame"])
        for name, count in part["incidents_by_type"].items():
            incidents[name] = incidents.get(name, 0) + int(count or 0)
        anomalies += part["anomalies"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not frame.empty:
        frame = frame[(frame["ts"] >= pd.Timestamp(start)) & (frame["ts"] < pd.Timestamp(end))]
    anomalies = [a for a in anomalies if a.get("ts") is None or start <= _aware(a["ts"]) < end]
    return History(frame.reset_index(drop=True), incidents, anomalies, found, len(days))


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


# --- models ----------------------------------------------------------------------------------

@st.cache_data(ttl=60, max_entries=256, show_spinner=False)
def load_model_output(city_id: str, model: str, zone_id: str) -> dict[str, Any] | None:
    """The latest 24 h forecast of one model for one zone (`city|model|zone|latest`)."""
    return get_db()[C.MODEL_OUTPUTS].find_one({"_id": f"{city_id}|{model}|{zone_id}|latest"})


@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def load_city_forecasts(city_id: str, model: str) -> dict[str, dict[str, Any] | None]:
    """The latest city-series forecasts of one model, by exact `_id`: "next-24h"
    (`city|model|city|latest`) and "day-ahead" (`city|model|city|day-ahead|latest`)."""
    coll = get_db()[C.MODEL_OUTPUTS]
    return {"next-24h": coll.find_one({"_id": f"{city_id}|{model}|city|latest"}),
            "day-ahead": coll.find_one({"_id": f"{city_id}|{model}|city|day-ahead|latest"})}


@st.cache_data(ttl=TTL_CATALOG, max_entries=16, show_spinner=False)
def load_city_series(city_id: str) -> dict[str, str | None]:
    """The series a city's demand is: its parent BA and EIA subregion (`NYIS`, `ZONJ`), from
    the city's document (an added city) or the JSON catalog; both None without a subregion."""
    doc = get_db()[C.CITIES].find_one({"_id": city_id},
                                      {"eia_respondent": 1, "eia_subba": 1}) or {}
    city = load_catalog().get(city_id)
    parent = doc.get("eia_respondent") or (city.eia_respondent if city else None)
    code = doc.get("eia_subba") or (getattr(city, "eia_subba", None) if city else None)
    return {"parent": parent, "code": code} if parent and code else {"parent": None,
                                                                      "code": None}


@st.cache_data(ttl=TTL_CATALOG, max_entries=16, show_spinner=False)
def load_model_meta(city_id: str) -> dict[str, dict[str, Any]]:
    """Registry and scorecard documents per model (`city|model`); missing ones are absent."""
    db = get_db()
    meta: dict[str, dict[str, Any]] = {}
    for model in MODEL_NAMES:
        registry = db[C.MODEL_REGISTRY].find_one({"_id": f"{city_id}|{model}"})
        scorecard = db[C.MODEL_SCORECARD].find_one({"_id": f"{city_id}|{model}"})
        meta[model] = {"registry": registry, "scorecard": scorecard}
    return meta


# --- stream and health -----------------------------------------------------------------------

@st.cache_data(ttl=TTL_STREAM, max_entries=16, show_spinner=False)
def load_live_feed(city_id: str, minutes: int) -> dict[str, Any]:
    """The Live Stream read model of a city: per topic, the newest messages and per-minute
    counts (`live_feed_latest`, one document per city and topic, read by exact `_id`).

    Returns {"feed": frame of messages consumed in the last `minutes`, newest first,
    "minute_counts": {topic: {"YYYY-MM-DDTHH:MM" (UTC): count}}}.
    """
    db = get_db()
    rows: list[dict[str, Any]] = []
    counts: dict[str, dict[str, int]] = {}
    for topic in DATA_TOPICS:
        doc = db[C.LIVE_FEED_LATEST].find_one({"_id": f"{city_id}|{topic}"})
        if doc is not None:
            rows += doc.get("latest", [])
            counts[topic] = doc.get("minute_counts", {})
    since = datetime.now(UTC) - timedelta(minutes=minutes)
    frame = pd.DataFrame(rows, columns=[k for k in LIVE_FEED_FIELDS if k != "_id"])
    if not frame.empty:
        for col in ("observed_at", "consumed_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
        frame = frame[frame["consumed_at"] >= pd.Timestamp(since)]
        frame = frame.sort_values(["consumed_at", "offset"], ascending=False).reset_index(drop=True)
    return {"feed": frame, "minute_counts": counts}


@st.cache_data(ttl=TTL_STREAM, max_entries=2, show_spinner=False)
def load_consumer_statuses(hours: int = 24) -> list[dict[str, Any]]:
    """Each sidecar's consumer report of the last `hours`, newest first (one document per
    worker; a handful, so the sort is cheap on any backend)."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    docs = list(get_db()[C.CONSUMER_STATUS].find({"updated_at": {"$gte": since}}))
    return sorted(docs, key=lambda d: d["updated_at"], reverse=True)


def load_consumer_status() -> dict[str, Any] | None:
    """The newest consumer report of any sidecar."""
    statuses = load_consumer_statuses()
    return statuses[0] if statuses else None


@st.cache_data(ttl=10, max_entries=4, show_spinner=False)
def load_dlq(limit: int) -> dict[str, Any]:
    """DLQ size and its newest entries (the collection keeps 7 days)."""
    coll = get_db()[C.DLQ]
    latest = list(coll.find({}, {"_id": 0, "topic": 1, "key": 1, "reason": 1, "stage": 1,
                                 "received_at": 1}).sort("received_at", -1).limit(limit))
    return {"count": coll.estimated_document_count(), "latest": latest}


@st.cache_data(ttl=30, max_entries=4, show_spinner=False, refresh_mode="background")
def load_pipeline_runs(hours: int, city_id: str) -> pd.DataFrame:
    """The city's pipeline_runs (and the city-less ones: consume, retention) started in the
    last `hours`: one equality query per hour and scope on `scope_hour` (architecture §8)."""
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    coll = get_db()[C.PIPELINE_RUNS]
    docs = [doc for h in range(hours + 1) for scope in (city_id, None)
            for doc in coll.find({"scope_hour": scope_hour(scope, now - timedelta(hours=h))},
                                 RUN_FIELDS)
            if doc["started_at"] >= since]
    frame = pd.DataFrame(docs, columns=[k for k in RUN_FIELDS if k != "_id"])
    if not frame.empty:
        for col in ("started_at", "finished_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


@st.cache_data(ttl=TTL_LIVE, max_entries=16, show_spinner=False)
def load_newest_alert_change(city_id: str) -> datetime | None:
    """When any alert of the city (open or resolved; 30 days kept) last changed."""
    doc = next(iter(get_db()[C.ALERTS].find({"city_id": city_id}, {"updated_at": 1})
                    .sort("updated_at", -1).limit(1)), None)
    return doc.get("updated_at") if doc else None


@st.cache_data(ttl=5, max_entries=1, show_spinner=False)
def mongo_ping() -> dict[str, Any]:
    """Round trip of a `ping`; an unreachable server is reported, not raised."""
    t0 = time.perf_counter()
    try:
        get_db().command("ping")
    except PyMongoError as exc:
        return {"ok": False, "latency_ms": None, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - t0) * 1000, 1), "error": None}
