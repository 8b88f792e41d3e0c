"""Pure builders for Live Stream: latest messages, rates, lag and the DLQ summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from core.vocabulary import DATA_TOPICS
from ui.formatting import age_seconds, format_age, local_time, md_escape


def latest_messages(feed: pd.DataFrame, topic: str, limit: int, zone_names: dict[str, str],
                    tz: ZoneInfo) -> pd.DataFrame:
    """The newest `limit` messages of one topic (feed is newest first)."""
    if feed.empty:
        return pd.DataFrame()
    part = feed[feed["topic"] == topic].head(limit)
    return pd.DataFrame({
        "Consumed": [local_time(t.to_pydatetime(), tz, with_date=False)
                     for t in part["consumed_at"]],
        "Zone": part["zone_id"].map(zone_names).fillna(part["zone_id"]),
        "Observed": [local_time(t.to_pydatetime(), tz) for t in part["observed_at"]],
        "Summary": part["summary"].fillna(""),
        "Source": part["source"].fillna(""),
        "Partition/offset": [f"{p}/{o}" for p, o in zip(part["partition"], part["offset"],
                                                        strict=True)],
    }).reset_index(drop=True)


def per_minute(feed: pd.DataFrame, now: datetime, minutes: int, tz: ZoneInfo) -> pd.DataFrame:
    """Messages consumed per minute and topic over the last `minutes` (zeros included)."""
    end = pd.Timestamp(now).floor("min") + pd.Timedelta(minutes=1)
    index = pd.date_range(end - pd.Timedelta(minutes=minutes), end, freq="min", inclusive="left")
    topics = list(DATA_TOPICS)
    if feed.empty:
        counts = pd.DataFrame(0, index=index, columns=topics)
    else:
        minute = feed["consumed_at"].dt.floor("min")
        counts = (pd.crosstab(minute, feed["topic"]).reindex(index=index, fill_value=0)
                  .reindex(columns=sorted(set(topics) | set(feed["topic"])), fill_value=0))
    counts.index = counts.index.tz_convert(tz)
    counts.index.name = "minute"
    return counts


def counts_from_snapshots(minute_counts: dict[str, dict[str, int]], now: datetime,
                          minutes: int, tz: ZoneInfo) -> pd.DataFrame:
    """Messages consumed per minute and topic over the last `minutes` (zeros included), from
    the per-minute counts of the live_feed_latest read model (UTC minute keys)."""
    end = pd.Timestamp(now).floor("min") + pd.Timedelta(minutes=1)
    index = pd.date_range(end - pd.Timedelta(minutes=minutes), end, freq="min", inclusive="left")
    topics = sorted(set(DATA_TOPICS) | set(minute_counts))
    counts = pd.DataFrame(0, index=index, columns=topics)
    for topic, by_minute in minute_counts.items():
        for minute, n in by_minute.items():
            ts = pd.Timestamp(minute, tz="UTC")
            if ts in counts.index:
                counts.loc[ts, topic] = int(n)
    counts.index = counts.index.tz_convert(tz)
    counts.index.name = "minute"
    return counts


def rate_table(counts: pd.DataFrame, status: dict[str, Any] | None, window_min: int
               ) -> pd.DataFrame:
    """Per topic: messages/min over the last `window_min` minutes, and consumer lag."""
    lag = (status or {}).get("lag") or {}
    recent = counts.tail(window_min)
    return pd.DataFrame([{"Topic": topic,
                          f"msg/min ({window_min} min)": round(float(recent[topic].sum())
                                                               / max(1, window_min), 1),
                          "Lag (msgs)": lag.get(topic)} for topic in counts.columns])


def dlq_table(latest: list[dict[str, Any]], now: datetime, tz: ZoneInfo) -> pd.DataFrame:
    rows = [{"Received": local_time(d.get("received_at"), tz),
             "Age": format_age(age_seconds(d.get("received_at"), now)),
             "Stage": d.get("stage") or "", "Topic": d.get("topic") or "",
             "Key": d.get("key") or "", "Reason": d.get("reason") or ""} for d in latest]
    return pd.DataFrame(rows, columns=["Received", "Age", "Stage", "Topic", "Key", "Reason"])


def consumer_state(status: dict[str, Any] | None, now: datetime,
                   stale_after: timedelta = timedelta(minutes=2)) -> tuple[str, str, str]:
    """(level, sentence, short note) about the Kafka consumer, from its last report to Mongo."""
    if not status or not status.get("updated_at"):
        return ("unknown", "The consumer has not reported yet (no consumer_status document).",
                "no report yet")
    age = age_seconds(status["updated_at"], now) or 0.0
    when = f"last report {format_age(age)} ago"
    if age > stale_after.total_seconds():
        return "stale", f"Consumer silent: {when}. Is the sidecar running?", when
    if status.get("state") == "reconnecting":
        error = md_escape(str(status.get("last_error") or "unknown error"))[:300]
        return ("reconnecting", f"Consumer reconnecting after an outage ({when}): {error}. "
                "It resumes by itself; nothing is committed until messages are stored.",
                f"reconnecting · {when}")
    return "ok", f"Consumer reporting: {when}.", when
