"""Pure builders for Pipeline Health: last run per job/source, precompute times, freshness."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ui.formatting import age_seconds, format_age, local_time

# collection -> age (s) after which its newest document counts as stale
FRESH_WITHIN_S = {"zone_latest": 900, "city_latest": 900, "kafka_live_feed (last 30 min)": 900,
                  "consumer_status": 120, "city_day (today)": 3 * 3600, "model_outputs": 2 * 3600,
                  "recommendations": 900, "alerts": None, "dlq": None, "pipeline_runs": 900}


def for_city(runs: pd.DataFrame, city_id: str) -> pd.DataFrame:
    """Runs of this city plus the city-less ones (consume, retention)."""
    if runs.empty:
        return runs
    return runs[runs["city_id"].isna() | (runs["city_id"] == city_id)]


def last_runs(runs: pd.DataFrame, tz: ZoneInfo, now: datetime) -> pd.DataFrame:
    """One row per (job, source): the newest run and the failure count over the window."""
    columns = ["Job", "Source", "Provider", "Worker", "Last run", "Age", "OK", "Duration (s)",
               "Records", "Requests", "Rejects", "Runs", "Failures", "Last error"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    runs = runs.assign(source=runs["source"].fillna("-"))
    rows = []
    for (job, source), part in runs.sort_values("started_at").groupby(["job", "source"]):
        last = part.iloc[-1]
        failed = part[~part["ok"].astype(bool)]
        started = last["started_at"].to_pydatetime()
        rows.append({
            "Job": job, "Source": source, "Provider": _text(last.get("provider")),
            "Worker": _text(last.get("worker")),
            "Last run": local_time(started, tz), "Age": format_age(age_seconds(started, now)),
            "OK": bool(last["ok"]), "Duration (s)": _number(last.get("duration_s")),
            "Records": _number(last.get("records")), "Requests": _number(last.get("requests")),
            "Rejects": _number(last.get("rejects")), "Runs": len(part), "Failures": len(failed),
            "Last error": (failed.iloc[-1]["error"] or "") if len(failed) else "",
        })
    return pd.DataFrame(rows, columns=columns).sort_values(["Job", "Source"]).reset_index(
        drop=True)


def sidecars_table(statuses: list[dict[str, Any]], now: datetime,
                   stale_after_s: float = 120) -> pd.DataFrame:
    """One row per sidecar whose consumer reported: worker, state, last report, totals."""
    columns = ["Worker", "State", "Last report", "Stored", "Duplicates", "Dead-lettered",
               "Restarts"]
    rows = []
    for doc in statuses:
        age = age_seconds(doc.get("updated_at"), now)
        state = doc.get("state") or "unknown"
        if state != "stopped" and age is not None and age > stale_after_s:
            state = "silent"
        rows.append({"Worker": _text(doc.get("worker")) or "-", "State": state,
                     "Last report": f"{format_age(age)} ago",
                     "Stored": _number(doc.get("stored_total")),
                     "Duplicates": _number(doc.get("duplicates_total")),
                     "Dead-lettered": _number(doc.get("dlq_total")),
                     "Restarts": _number(doc.get("restarts"))})
    return pd.DataFrame(rows, columns=columns)


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def precompute_durations(runs: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """Duration of each precompute run, oldest first, local time."""
    if runs.empty:
        return pd.DataFrame(columns=["started", "duration_s", "ok"])
    part = runs[runs["job"] == "precompute"].sort_values("started_at")
    return pd.DataFrame({"started": part["started_at"].dt.tz_convert(tz),
                         "duration_s": part["duration_s"].astype(float),
                         "ok": part["ok"].astype(bool)}).reset_index(drop=True)


def freshness_table(latest: dict[str, datetime | None], now: datetime, tz: ZoneInfo
                    ) -> pd.DataFrame:
    """Newest timestamp per collection with its age and whether that is within expectations."""
    rows = []
    for name, ts in latest.items():
        age = age_seconds(ts, now)
        limit = FRESH_WITHIN_S.get(name)
        if ts is None:
            state = "empty"
        elif limit is None:
            state = "event-driven"
        else:
            state = "fresh" if age is not None and age <= limit else "stale"
        rows.append({"Collection": name, "Newest": local_time(ts, tz),
                     "Age": format_age(age) if ts else "-", "State": state})
    return pd.DataFrame(rows, columns=["Collection", "Newest", "Age", "State"])


def failures_table(runs: pd.DataFrame, tz: ZoneInfo, limit: int = 20) -> pd.DataFrame:
    """The newest failed runs with their recorded reasons."""
    columns = ["Started", "Job", "Source", "Provider", "Error"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    failed = runs[~runs["ok"].astype(bool)].sort_values("started_at", ascending=False).head(limit)
    return pd.DataFrame({
        "Started": [local_time(t.to_pydatetime(), tz) for t in failed["started_at"]],
        "Job": failed["job"], "Source": failed["source"].fillna("-"),
        "Provider": failed["provider"].fillna(""), "Error": failed["error"].fillna(""),
    }, columns=columns).reset_index(drop=True)
