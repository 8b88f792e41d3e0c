"""Pipeline Health: services, the last run of every job and source, freshness, precompute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from core.vocabulary import C
from ui import charts, components, loaders
from ui.formatting import age_seconds, format_age
from ui.health_tables import (
    failures_table,
    for_city,
    freshness_table,
    last_runs,
    precompute_durations,
    sidecars_table,
)
from ui.sidebar import current_context
from ui.stream_tables import consumer_state

RUN_WINDOW_H = 24
FEED_WINDOW_MIN = 30
SIDECAR_QUIET_S = 10 * 60

ctx = current_context()
tz_name = str(ctx.timezone)
st.title(f"Pipeline Health · {ctx.city_label}")
now = datetime.now(UTC)
runs = for_city(loaders.load_pipeline_runs(RUN_WINDOW_H, ctx.city_id), ctx.city_id)
statuses = loaders.load_consumer_statuses()
consumer = statuses[0] if statuses else None

st.subheader("Services")
ping = loaders.mongo_ping()
level, sentence, note = consumer_state(consumer, now)
newest_run = runs["started_at"].max().to_pydatetime() if not runs.empty else None
sidecar_age = age_seconds(newest_run, now)
cols = st.columns(3)
with cols[0]:
    st.metric("MongoDB", "up" if ping["ok"] else "down", border=True,
              delta=f"ping {ping['latency_ms']} ms" if ping["ok"] else ping["error"],
              delta_color="off", delta_arrow="off")
with cols[1]:
    st.metric("Kafka consumer", {"ok": "reporting", "stale": "silent",
                                     "reconnecting": "reconnecting"}.get(level, "unknown"),
              border=True, delta=note, delta_color="off", delta_arrow="off",
              help=f"{sentence} As reported by the consumer to consumer_status; the UI never "
                   "talks to Kafka.")
with cols[2]:
    st.metric("Sidecar jobs", "running" if sidecar_age is not None
              and sidecar_age < SIDECAR_QUIET_S else "quiet", border=True,
              delta=f"last job {format_age(sidecar_age)} ago" if newest_run else "no runs in 24 h",
              delta_color="off", delta_arrow="off")

if len(statuses) > 1:  # several sidecars share the work (docs/architecture.md §13)
    st.caption(f"{len(statuses)} sidecars reported in the last 24 h; cities are shared among "
               "the running ones by Kafka's group coordination.")
    st.dataframe(sidecars_table(statuses, now), hide_index=True, key="sidecars_table")

st.subheader(f"Last run per job and source · last {RUN_WINDOW_H} h")
if runs.empty:
    components.empty_state(f"No pipeline runs in the last {RUN_WINDOW_H} h",
                           "the sidecar records every job in pipeline_runs; start it with "
                           "`make run` or `python -m pipeline.scheduler`.")
else:
    st.dataframe(last_runs(runs, ctx.timezone, now), hide_index=True, key="runs_table",
                 column_config={"OK": st.column_config.CheckboxColumn("OK"),
                                "Duration (s)": st.column_config.NumberColumn(format="%.2f s")})

st.subheader("Freshness per collection")
zone_docs = loaders.load_zone_latest(ctx.city_id)
city_doc = loaders.load_city_latest(ctx.city_id) or {}
recs = loaders.load_recommendations(ctx.city_id)
dlq = loaders.load_dlq(1)
feed = loaders.load_live_feed(ctx.city_id, FEED_WINDOW_MIN)["feed"]  # shared with Live Stream
midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
today = loaders.load_history(ctx.city_id, midnight, midnight + timedelta(days=1)).frame
filled = today.dropna(subset=["demand_mw", "temperature_c", "us_aqi"], how="all") \
    if not today.empty else today
model_zone = ctx.zone_id or (ctx.zones["zone_id"].iloc[0] if len(ctx.zones) else None)
outputs = [loaders.load_model_output(ctx.city_id, m, model_zone) for m in loaders.MODEL_NAMES
           if model_zone]
freshness = {
    C.ZONE_LATEST: max((d["updated_at"] for d in zone_docs if d.get("updated_at")), default=None),
    C.CITY_LATEST: city_doc.get("updated_at"),
    "city_day (today)": filled["ts"].max().to_pydatetime() if not filled.empty else None,
    C.RECOMMENDATIONS: max((r["issued_at"] for r in recs if r.get("issued_at")), default=None),
    C.ALERTS: loaders.load_newest_alert_change(ctx.city_id),
    f"{C.LIVE_FEED} (last {FEED_WINDOW_MIN} min)":
        feed["consumed_at"].max().to_pydatetime() if not feed.empty else None,
    C.CONSUMER_STATUS: (consumer or {}).get("updated_at"),
    C.DLQ: dlq["latest"][0]["received_at"] if dlq["latest"] else None,
    C.PIPELINE_RUNS: newest_run,
    C.MODEL_OUTPUTS: max((o["issued_at"] for o in outputs if o and o.get("issued_at")),
                         default=None),
}
st.dataframe(freshness_table(freshness, now, ctx.timezone), hide_index=True,
             key="freshness_table")
st.caption("Raw observations (raw_*) are large; their freshness shows as the last ingest run "
           "per source above. 'event-driven' collections change only when something happens.")

st.subheader("Precompute durations")
durations = precompute_durations(runs, ctx.timezone)
if durations.empty:
    components.empty_state("No precompute runs yet", "the sidecar runs precompute hourly once "
                           "models are registered (budget: 15 s for 3 models × 40 zones).")
else:
    cols = st.columns(3)
    cols[0].metric("Last", f"{durations['duration_s'].iloc[-1]:.1f} s", border=True)
    cols[1].metric("Median", f"{durations['duration_s'].median():.1f} s", border=True)
    cols[2].metric("Max", f"{durations['duration_s'].max():.1f} s", border=True)
    st.plotly_chart(charts.precompute_chart(durations, ctx.timezone, tz_name),
                    key="precompute_chart")

failures = failures_table(runs, ctx.timezone)
if not failures.empty:
    st.subheader("Recent failures")
    st.dataframe(failures, hide_index=True, key="failures_table")
