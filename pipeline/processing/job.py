"""The processing jobs: read from Mongo, call the pure pass (compute.py), write the read models.

process_city is the scheduled job (last 48 h of raw records, or records handed over in
memory); process_history writes a backfill span held in memory. Every write is idempotent
(deterministic `_id`s), so a crashed run is simply run again.

Measured on FerretDB 1.24 (SQLite), 35 days of one 40-zone city: inserting is cheap, and so
is a replace_one that changes nothing, but changing or deleting a stored document scans its
collection (about 0.8 s per document in processed_zone_data; a `$in` delete of 100 ids about
5 s). So the job writes few changed documents: processed_zone_data and meter_readings once
per settled hour (inserts; duplicates are ignored) plus the rare revised hour; city_day only
for days whose content changed; a backfill inserts, and deletes its span with one filtered
delete only when it overlaps stored documents. city_day documents are read and written through
pipeline.history (packed storage); days wholly before the processing window, which a scheduled
pass no longer changes, are kept in a small per-process cache as frames.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from pymongo.database import Database

from core.catalog import City, get_city
from core.ids import zone_key
from core.retention import RETENTION
from core.storage import insert_new, upsert_many
from core.storage import replace_one as replace_one_doc
from core.vocabulary import C, Topic
from pipeline.history import (
    city_days_to_frame,
    day_id,
    day_starts,
    load_city_days,
    read_city_day,
    write_city_days,
)
from pipeline.processing.compute import BASELINE_SPAN, WINDOW, compute_city, compute_history
from pipeline.processing.rollups import merge_city_day
from pipeline.processing.window_cache import RawHourCache, SettledWrites

log = logging.getLogger(__name__)

Publish = Callable[[str, str, dict[str, Any]], None]
RawRecords = Mapping[str, Sequence[Mapping[str, Any]]]
DAY = timedelta(days=1)
RAW_AHEAD = timedelta(hours=1)  # records stamped a little ahead of the clock still count
SETTLED_CACHE_TTL_S = 3600.0  # a re-backfill elsewhere is picked up within the hour
_settled_days: dict[str, tuple[float, pd.DataFrame]] = {}
# scheduler threads process several cities at once; never held across a database read
_settled_lock = threading.Lock()
_raw_hours = RawHourCache()
_settled_writes = SettledWrites()


def _as_city(city: City | str) -> City:
    return city if isinstance(city, City) else get_city(city)


def clear_history_cache(city_id: str | None = None) -> None:
    """Forget cached settled days (of one city, or all); a backfill calls this."""
    with _settled_lock:
        for key in [k for k in _settled_days if city_id is None or k.split("|")[0] == city_id]:
            del _settled_days[key]
    _raw_hours.clear(city_id)
    _settled_writes.clear(city_id)


def read_raw(db: Database, city_id: str, since: datetime, until: datetime
             ) -> dict[str, list[dict[str, Any]]]:
    """The city's raw_* records observed in [since, until]: one equality query per hour on
    `city_hour` (docs/architecture.md §8), settled hours from this process's cache."""
    return _raw_hours.read(db, city_id, since, until)


def read_history(db: Database, city_id: str, now: datetime
                 ) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The stored hourly history for baselines, and the day documents the window touches.

    Days ending before the window starts are settled: read once, then served from the cache.
    """
    window_start = now - WINDOW
    clock = time.monotonic()
    frames, touched = [], []
    for day in day_starts(now - BASELINE_SPAN, now + timedelta(hours=1)):
        key = day_id(city_id, day)
        settled = day + DAY <= window_start
        with _settled_lock:
            cached = _settled_days.get(key)
        if settled and cached is not None and clock - cached[0] < SETTLED_CACHE_TTL_S:
            frames.append(cached[1])
            continue
        doc = read_city_day(db, key)
        frame = city_days_to_frame([doc] if doc is not None else [])
        if settled:  # a missing settled day is remembered as empty too
            with _settled_lock:
                _settled_days[key] = (clock, frame)
        elif doc is not None:
            touched.append(doc)
        frames.append(frame)
    with _settled_lock:
        for key in [k for k, (at, _) in _settled_days.items()
                    if clock - at >= SETTLED_CACHE_TTL_S]:
            del _settled_days[key]
    frames = [f for f in frames if not f.empty]
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return history, touched


def _publish_alerts(publish: Publish | None, alerts: Sequence[dict[str, Any]]) -> int:
    """Send opened/resolved alerts to grid_alerts; returns how many failed (logged, not raised:
    the alert is already stored and its next change is published again)."""
    if publish is None:
        return 0
    failed = 0
    for alert in alerts:
        payload = {k: v for k, v in alert.items() if k != "_id"}
        try:
            publish(Topic.ALERTS, zone_key(alert["city_id"], alert["zone_id"]), payload)
        except Exception:  # noqa: BLE001 - a broken producer must not undo the stored alerts
            failed += 1
            log.exception("publishing alert %s failed", alert["alert_id"])
    return failed


def process_city(db: Database, city: City | str, now: datetime, *,
                 publish: Publish | None = None, raw: RawRecords | None = None
                 ) -> dict[str, Any]:
    """One processing pass for a city at `now`; returns a summary for pipeline_runs.

    Reads raw records of [now - 48 h, now] from Mongo unless `raw` ({collection: records})
    hands them over, the stored city_day history for baselines and the open alerts; writes
    processed_zone_data and meter_readings (settled hours: new ones, and revised ones),
    city_day (days that changed), zone_latest,
    city_latest, alerts and the city's recommendations; publishes each opened or resolved
    alert to grid_alerts when `publish` is given.
    """
    city = _as_city(city)
    started = time.perf_counter()
    if raw is None:
        raw = read_raw(db, city.city_id, now - WINDOW, now + RAW_AHEAD)
    history, touched_days = read_history(db, city.city_id, now)
    open_alerts = list(db[C.ALERTS].find({"city_id": city.city_id, "status": "open"}))
    read_s = time.perf_counter() - started

    result = compute_city(city, raw, history, touched_days, open_alerts, now)
    computed_s = time.perf_counter() - started - read_s

    processed = _settled_writes.only_new(city.city_id, result.processed, "ts", result.revised)
    meters = _settled_writes.only_new(city.city_id, result.meter_readings, "observed_at",
                                      result.revised)
    upsert_many(db, C.PROCESSED, processed, replace=result.revised)
    upsert_many(db, C.METER_READINGS, meters, replace=result.revised)
    _settled_writes.mark(city.city_id, result.processed, "ts")
    write_city_days(db, result.city_days)
    upsert_many(db, C.ZONE_LATEST, result.zone_latest)
    replace_one_doc(db, C.CITY_LATEST, result.city_latest)
    for alert in result.alerts.changed:
        replace_one_doc(db, C.ALERTS, alert)
    db[C.RECOMMENDATIONS].delete_many({"city_id": city.city_id})
    insert_new(db, C.RECOMMENDATIONS, result.recommendations)
    publish_failed = _publish_alerts(publish, [*result.alerts.opened, *result.alerts.resolved])

    return {
        "city_id": city.city_id, "hours": result.hours, "zones": len(result.zone_latest),
        "records": sum(len(v) for v in raw.values()),
        "processed": len(result.processed), "meter_readings": len(result.meter_readings),
        "revised": len(result.revised),
        "city_days": len(result.city_days), "anomalies": len(result.enriched.anomalies),
        "alerts_opened": len(result.alerts.opened), "alerts_updated": len(result.alerts.updated),
        "alerts_resolved": len(result.alerts.resolved),
        "open_alerts": result.city_latest["open_alerts"],
        "recommendations": len(result.recommendations), "publish_failed": publish_failed,
        "read_s": round(read_s, 3), "compute_s": round(computed_s, 3),
        "duration_s": round(time.perf_counter() - started, 3),
    }


def process_history(db: Database, city: City | str, raw: RawRecords, start: datetime,
                    end: datetime) -> dict[str, Any]:
    """Write a backfill span [start, end) held in memory: city_day for every day, and
    processed_zone_data / meter_readings for the part their retention keeps.

    Latest values, alerts and recommendations are left to the first process_city pass.
    """
    city = _as_city(city)
    started = time.perf_counter()
    processed_since = max(start, end - RETENTION[C.PROCESSED].keep)
    meters_since = max(start, end - RETENTION[C.METER_READINGS].keep)
    result = compute_history(city, raw, start, end, processed_since=processed_since,
                             meters_since=meters_since)
    computed_s = time.perf_counter() - started

    clear_history_cache(city.city_id)
    stored = {d["_id"]: d for d in load_city_days(db, city.city_id, start, end)}
    days = [merge_city_day(stored.get(d["_id"]), d, start) for d in result.city_days]
    write_city_days(db, days)
    # large collections keep what a scheduled pass already wrote for the few overlapping hours
    # (the same observations; on FerretDB changing a stored document scans its collection)
    insert_new(db, C.PROCESSED, result.processed)
    insert_new(db, C.METER_READINGS, result.meter_readings)
    return {
        "city_id": city.city_id, "hours": int(result.enriched.frame["ts"].nunique()),
        "zones": len(city.zones), "records": sum(len(v) for v in raw.values()),
        "city_days": len(days), "processed": len(result.processed),
        "meter_readings": len(result.meter_readings),
        "anomalies": len(result.enriched.anomalies),
        "compute_s": round(computed_s, 3), "duration_s": round(time.perf_counter() - started, 3),
    }
