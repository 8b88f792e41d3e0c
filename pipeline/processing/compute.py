"""One processing pass for a city, pure: raw records + stored history -> every document to write.

`compute_city` is the scheduled pass (the last 48 h of raw records, history for baselines,
the open alerts); `compute_history` is the backfill pass over a long span held in memory.
`job.py` does the reading and writing around them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import City
from core.clock import floor_hour
from core.vocabulary import C
from pipeline.history import HOURLY_METRICS, grid_extras
from pipeline.processing.alerts import (
    AlertChanges,
    Condition,
    anomaly_condition,
    reconcile_alerts,
    rule_conditions,
)
from pipeline.processing.anomalies import ANOMALY_COLUMNS, zscore_anomalies
from pipeline.processing.baseline import zone_profiles
from pipeline.processing.demand import demand_profile, estimate_demand
from pipeline.processing.grid import grid_frame
from pipeline.processing.hourly import (
    HOUR,
    hour_range,
    hourly_zone_frame,
    incidents_by_type,
)
from pipeline.processing.latest import (
    ZoneReadings,
    city_demand_reading,
    city_latest_doc,
    latest_readings,
    with_demand_estimates,
    zone_latest_doc,
)
from pipeline.processing.raw_frames import RawFrames, raw_frames
from pipeline.processing.recommendations import zone_recommendations
from pipeline.processing.rollups import (
    DECIMALS,
    city_day_docs,
    merge_city_day,
    meter_docs,
    processed_docs,
)
from pipeline.processing.rules import (
    RULES,
    risk_levels,
    risk_score,
    rule_metrics,
    rule_points,
    zone_findings,
)

WINDOW = timedelta(hours=48)  # raw records each scheduled pass re-reads
BASELINE_SPAN = timedelta(days=29)  # stored history loaded for baselines (28 days + today)
CURRENT_SPAN = pd.Timedelta(hours=1)  # anomalies this close to now count as "current"
# processed_zone_data and meter_readings rows are written once their hour has settled (late
# EIA demand has arrived): rewriting a document costs a collection scan on FerretDB, inserting
# a new one does not. Later revisions of a settled hour are rewritten, and are rare.
SETTLE = pd.Timedelta(hours=3)
RISK_INPUTS = ("demand_mw", "us_aqi", "congestion", "incident_count", "temperature_c")
INCIDENT_WINDOW_MIN_HOURS = 20  # hours of 311 counts a trailing 24 h sum needs


@dataclass
class Enriched:
    """The hourly frame of the evaluated hours with everything derived from it."""

    frame: pd.DataFrame  # HOURLY_METRICS (demand incl. estimates), demand_estimated, risk_level
    anomalies: pd.DataFrame  # anomalies.ANOMALY_COLUMNS
    zone_profiles: pd.DataFrame
    demand_profile: pd.DataFrame


@dataclass
class CityResult:
    """Everything one scheduled pass writes."""

    enriched: Enriched
    city_days: list[dict[str, Any]]
    processed: list[dict[str, Any]]  # settled hours of the window
    meter_readings: list[dict[str, Any]]  # settled hours of the window
    zone_latest: list[dict[str, Any]]
    city_latest: dict[str, Any]
    alerts: AlertChanges
    recommendations: list[dict[str, Any]]
    revised: set[str] = field(default_factory=set)  # processed/meter ids whose values changed
    hours: int = 0


@dataclass
class HistoryResult:
    """Everything a backfill pass writes."""

    enriched: Enriched
    city_days: list[dict[str, Any]]
    processed: list[dict[str, Any]] = field(default_factory=list)
    meter_readings: list[dict[str, Any]] = field(default_factory=list)


def combine_history(window: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Window rows over stored history: window values win, its gaps fall back to history."""
    if history is None or history.empty:
        return window.reset_index(drop=True)
    keys = ["zone_id", "ts"]
    hist = history.drop_duplicates(keys, keep="last").set_index(keys)
    win = window.set_index(keys)
    combined = win.combine_first(hist[win.columns.intersection(hist.columns)])
    combined["city_id"] = combined["city_id"].fillna(window["city_id"].iloc[0]
                                                     if not window.empty else None)
    return combined.reset_index().sort_values(keys).reset_index(drop=True)


def trailing_incidents_24h(frame: pd.DataFrame) -> pd.Series:
    """311 incidents per zone over the 24 hours ending with each row's hour."""
    ordered = frame.sort_values(["zone_id", "ts"])
    rolled = (ordered.groupby("zone_id", sort=False)
              .rolling("24h", on="ts", min_periods=INCIDENT_WINDOW_MIN_HOURS)["incident_count"]
              .sum())
    values = pd.Series(rolled.to_numpy(), index=ordered.index)
    return values.reindex(frame.index)


def enrich(window: pd.DataFrame, history: pd.DataFrame | None, city: City,
           since: datetime | pd.Timestamp, until: datetime | pd.Timestamp | None = None
           ) -> Enriched:
    """Demand estimates, anomalies and risk for the hours in [since, until), judged on history.

    Stored day documents hold all 24 hours, so history may reach past `until` with empty
    hours; those are no part of the result.
    """
    combined = combine_history(window, history if history is not None else pd.DataFrame())
    dprofile = demand_profile(combined)
    combined = estimate_demand(combined, dprofile, city)
    since_ts = pd.Timestamp(since)
    anomalies = zscore_anomalies(combined, since=since_ts)
    if until is not None:
        as_of = pd.Timestamp(until)
    else:
        as_of = combined["ts"].max() + HOUR if not combined.empty else since_ts
    profiles = zone_profiles(combined, as_of)
    combined["incidents_24h"] = trailing_incidents_24h(combined)
    points = rule_points(rule_metrics(combined, profiles))
    score = risk_score(points)
    no_inputs = combined[list(RISK_INPUTS)].isna().all(axis=1)
    combined["risk_score"] = score.where(~no_inputs)
    combined["risk_level"] = risk_levels(score).where(~no_inputs, None)
    keep = combined["ts"] >= since_ts
    if until is not None:
        keep &= combined["ts"] < pd.Timestamp(until)
        anomalies = anomalies[anomalies["ts"] < pd.Timestamp(until)]
    frame = combined[keep].reset_index(drop=True)
    return Enriched(frame, anomalies, profiles, dprofile)


def observed_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as stored in city_day: estimated demand left out (history is observations)."""
    out = frame.copy()
    out["demand_mw"] = out["demand_mw"].where(~out["demand_estimated"].astype(bool))
    return out


def stored_values(frame: pd.DataFrame, stored: pd.DataFrame | None,
                  metrics: Sequence[str] = HOURLY_METRICS) -> pd.DataFrame:
    """The stored history's values of `metrics` for each (zone_id, ts) row of `frame`."""
    keys = ["zone_id", "ts"]
    index = pd.MultiIndex.from_frame(frame[keys])
    if stored is None or stored.empty:
        return pd.DataFrame(np.nan, index=index, columns=list(metrics))
    return (stored.drop_duplicates(keys, keep="last").set_index(keys)[list(metrics)]
            .reindex(index))


def changed_rows(frame: pd.DataFrame, stored: pd.DataFrame | None,
                 metrics: Sequence[str] = HOURLY_METRICS) -> np.ndarray:
    """Rows of `frame` whose `metrics` differ from the stored history (new hours too)."""
    if stored is None or stored.empty:
        return np.ones(len(frame), dtype=bool)
    new = frame[list(metrics)].to_numpy(dtype="float64").round(DECIMALS)
    was = stored_values(frame, stored, metrics).to_numpy(dtype="float64").round(DECIMALS)
    same = (new == was) | (np.isnan(new) & np.isnan(was))
    return ~same.all(axis=1)


def keep_stored_risk(frame: pd.DataFrame, stored: pd.DataFrame | None) -> pd.DataFrame:
    """An hour's risk score is fixed when its data is: where no input changed since it was
    stored, the stored score stays (the yardsticks move a little every pass, and a score
    flipping across a band without new data would rewrite settled hours for nothing)."""
    if stored is None or stored.empty or frame.empty:
        return frame
    inputs = [m for m in HOURLY_METRICS if m != "risk_score"]
    unchanged = ~changed_rows(observed_only(frame), stored, inputs)
    before = stored_values(frame, stored, ["risk_score"])["risk_score"].to_numpy()
    use = unchanged & ~np.isnan(before)
    out = frame.copy()
    out["risk_score"] = np.where(use, before, out["risk_score"].to_numpy(dtype="float64"))
    levels = risk_levels(out["risk_score"].fillna(0.0))
    out["risk_level"] = levels.where(out["risk_score"].notna(), None)
    return out


def provider_by_zone(frame: pd.DataFrame) -> dict[str, str]:
    """zone_id -> provider label of the zone's newest record in a raw frame."""
    if frame.empty:
        return {}
    return frame.groupby("zone_id")["source"].last().astype(str).to_dict()


def _zone_inputs(readings: ZoneReadings, profile: Mapping[str, float], as_of: datetime
                 ) -> dict[str, tuple[Any, datetime | None]]:
    inputs: dict[str, tuple[Any, datetime | None]] = {
        m: (r.value, r.observed_at) for m, r in readings.items()}
    for name in ("high_day_peak_mw", "typical_daily_incidents"):
        value = profile.get(name)
        if value is not None and np.isfinite(value):
            inputs[name] = (round(float(value), DECIMALS), as_of)
        else:
            inputs[name] = (None, None)
    return inputs


def current_anomalies(anomalies: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Per zone and metric, the newest anomaly of the last hour or so."""
    if anomalies.empty:
        return pd.DataFrame(columns=ANOMALY_COLUMNS)
    recent = anomalies[anomalies["ts"] >= floor_hour(now) - CURRENT_SPAN]
    return recent.sort_values("ts").groupby(["zone_id", "metric"]).tail(1)


def compute_city(city: City, raw: Mapping[str, Sequence[Mapping[str, Any]]],
                 history: pd.DataFrame | None, stored_days: Iterable[Mapping[str, Any]],
                 open_alerts: Iterable[Mapping[str, Any]], now: datetime,
                 window: timedelta = WINDOW) -> CityResult:
    """The scheduled pass: raw records of [now - window, now] -> every document to write.

    `history` is the stored hourly frame (history.city_days_to_frame) for baselines,
    `stored_days` the city_day documents the window's days will be merged into.
    """
    frames = raw_frames(raw, city, since=now - window, until=now)
    since = hour_range(now - window, now)[:1]
    since_ts = since[0] if len(since) else floor_hour(now)
    end = floor_hour(now) + HOUR
    window_frame = hourly_zone_frame(frames, city, since_ts, end)
    enriched = enrich(window_frame, history, city, since_ts, end)
    enriched.frame = keep_stored_risk(enriched.frame, history)

    day_frame = observed_only(enriched.frame)
    types = incidents_by_type(frames.incidents, since_ts, end)
    existing = {d["_id"]: d for d in stored_days}
    grid = grid_extras(grid_frame(raw.get(C.RAW_POWER, ()), city, since_ts, end), city.city_id)
    new_days = city_day_docs(day_frame, enriched.anomalies, types, grid)
    merged = [merge_city_day(existing.get(d["_id"]), d, since_ts.to_pydatetime())
              for d in new_days]
    city_days = [d for d in merged if d != existing.get(d["_id"])]  # unchanged: no write

    settled = (enriched.frame["ts"] < floor_hour(now) - SETTLE).to_numpy()
    revised_rows = settled & changed_rows(day_frame, history)
    rows = enriched.frame[settled]
    processed = processed_docs(rows)
    meters = meter_docs(rows, provider_by_zone(frames.power), provider_by_zone(frames.weather))
    revised = {doc["_id"] for doc in processed_docs(enriched.frame[revised_rows])}

    latest = _latest_documents(city, frames, enriched, open_alerts, now)
    return CityResult(enriched, city_days, processed, meters, *latest, revised=revised,
                      hours=int(enriched.frame["ts"].nunique()))


def _latest_documents(city: City, frames: RawFrames, enriched: Enriched,
                      open_alerts: Iterable[Mapping[str, Any]], now: datetime
                      ) -> tuple[list[dict], dict, AlertChanges, list[dict]]:
    """zone_latest, city_latest, alert changes and recommendations from current readings."""
    readings = latest_readings(frames, city, now)
    readings, estimated = with_demand_estimates(readings, enriched.demand_profile, city, now)
    zone_ids = [z.zone_id for z in city.zones]
    values = pd.DataFrame({
        "zone_id": zone_ids,
        **{m: [readings[z][m].value for z in zone_ids]
           for m in ("demand_mw", "us_aqi", "congestion", "incidents_24h", "temperature_c",
                     "relative_humidity_pct")},
    })
    for column in values.columns[1:]:
        values[column] = pd.to_numeric(values[column], errors="coerce").astype("float64")
    metrics = rule_metrics(values, enriched.zone_profiles)
    scores = risk_score(rule_points(metrics))
    anomalies_now = current_anomalies(enriched.anomalies, now)
    profile_as_of = enriched.frame["ts"].max()
    as_of = pd.Timestamp(profile_as_of).to_pydatetime() if len(enriched.frame) else now

    conditions: list[Condition] = []
    no_data: set[tuple[str, str]] = set()
    recommendations: list[dict[str, Any]] = []
    per_zone: dict[str, dict[str, Any]] = {}
    for i, zone_id in enumerate(zone_ids):
        zone_name = city.zone(zone_id).name  # type: ignore[union-attr]
        row = {k: (None if pd.isna(v) else float(v)) for k, v in metrics.iloc[i].items()}
        findings = zone_findings(row)
        profile = (enriched.zone_profiles.loc[zone_id].to_dict()
                   if zone_id in enriched.zone_profiles.index else {})
        inputs = _zone_inputs(readings[zone_id], profile, as_of)
        zone_anoms = anomalies_now[anomalies_now["zone_id"] == zone_id]
        conditions += rule_conditions(zone_id, zone_name, findings, inputs, now)
        anomaly = anomaly_condition(zone_id, zone_name, zone_anoms, now)
        if anomaly is not None:
            conditions.append(anomaly)
        no_data |= {(zone_id, r.alert_kind) for r in RULES if row.get(r.metric) is None}
        recommendations += zone_recommendations(city.city_id, zone_id, zone_name, findings,
                                                inputs, now, zone_anoms)
        per_zone[zone_id] = {
            "score": float(scores.iloc[i]),
            "factors": [{"rule": f.rule.name, "value": round(f.value, DECIMALS),
                         "points": f.band.points} for f in findings],
            "anomalies": [{"metric": str(a.metric), "value": round(float(a.value), DECIMALS),
                           "zscore": round(float(a.zscore), 3),
                           "baseline_mean": round(float(a.baseline_mean), DECIMALS)}
                          for a in zone_anoms.itertuples(index=False)],
        }

    changes = reconcile_alerts(city.city_id, open_alerts, conditions, now, no_data)
    open_by_zone: dict[str, int] = {}
    for alert in changes.open_now:
        open_by_zone[alert["zone_id"]] = open_by_zone.get(alert["zone_id"], 0) + 1
    zone_docs = [
        zone_latest_doc(city, z, readings[z], now, demand_estimated=z in estimated,
                        risk_score=per_zone[z]["score"], risk_factors=per_zone[z]["factors"],
                        anomalies=per_zone[z]["anomalies"], open_alerts=open_by_zone.get(z, 0))
        for z in zone_ids
    ]
    city_doc = city_latest_doc(city, zone_docs, now, len(changes.open_now),
                               city_demand_reading(frames.power, now))
    return zone_docs, city_doc, changes, recommendations


def compute_history(city: City, raw: Mapping[str, Sequence[Mapping[str, Any]]],
                    start: datetime, end: datetime, *, processed_since: datetime | None = None,
                    meters_since: datetime | None = None) -> HistoryResult:
    """The backfill pass over [start, end) held in memory: city_day, processed and meters.

    Baselines come from the span itself (each hour against the days before it); the zone
    yardsticks for risk (high-day peak, 311 volume) from its last 28 days. Processed rows are
    built from `processed_since` on and meter readings from `meters_since` on (retention).
    """
    frames = raw_frames(raw, city, since=start, until=end)
    window_frame = hourly_zone_frame(frames, city, start, end)
    since = window_frame["ts"].min() if not window_frame.empty else pd.Timestamp(start)
    enriched = enrich(window_frame, None, city, since, end)
    day_frame = observed_only(enriched.frame)
    types = incidents_by_type(frames.incidents, start, end)
    grid = grid_extras(grid_frame(raw.get(C.RAW_POWER, ()), city, start, end), city.city_id)
    days = city_day_docs(day_frame, enriched.anomalies, types, grid)
    result = HistoryResult(enriched, days)
    ts = enriched.frame["ts"]
    if processed_since is not None:
        result.processed = processed_docs(enriched.frame[ts >= pd.Timestamp(processed_since)])
    if meters_since is not None:
        rows = enriched.frame[ts >= pd.Timestamp(meters_since)]
        result.meter_readings = meter_docs(rows, provider_by_zone(frames.power),
                                           provider_by_zone(frames.weather))
    return result
