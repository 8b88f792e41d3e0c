"""Analytics: history of a metric by zone, temperature vs demand, zone x hour, anomalies, 311."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import streamlit as st

from core.units import metric_label
from ui import charts, components, loaders
from ui.analytics import (
    CUSTOM,
    RANGES,
    anomalies_frame,
    fit_line,
    incidents_breakdown,
    series_frame,
    temperature_demand,
    time_range,
    to_csv,
    zone_hour_matrix,
)
from ui.formatting import local_time
from ui.sidebar import current_context

SERIES_METRICS = ("demand_mw", "temperature_c", "us_aqi", "pm2_5", "congestion", "speed_kmh",
                  "relative_humidity_pct", "wind_speed_kmh", "precipitation_mm",
                  "incident_count", "risk_score", "demand_forecast_mw")

ctx = current_context()
tz_name = str(ctx.timezone)
st.title(f"Analytics · {ctx.city_label}")
now = datetime.now(UTC)

range_col, metric_col, zone_col = st.columns([3, 2, 3])
with range_col:
    choice = st.radio("Time range", [*RANGES, CUSTOM], index=1, horizontal=True, key="an_range")
    custom = None
    if choice == CUSTOM:
        today = now.astimezone(ctx.timezone).date()
        picked = st.date_input("Local dates", value=(today - timedelta(days=6), today),
                               max_value=today, key="an_dates")
        custom = tuple(picked) if isinstance(picked, tuple | list) else (picked, picked)
        if len(custom) == 1:
            custom = (custom[0], custom[0])
with metric_col:
    metric = st.selectbox("Metric", SERIES_METRICS, format_func=metric_label, key="an_metric")
with zone_col:
    zones = st.multiselect("Zones (none = whole city)", list(ctx.zone_names),
                           format_func=ctx.zone_name, key="an_zones")

start, end = time_range(choice, now, custom, ctx.timezone)
history = loaders.load_history(ctx.city_id, start, end)
st.caption(f"{local_time(start, ctx.timezone)} → {local_time(end, ctx.timezone)} · "
           f"{history.days_found} of {history.days_requested} days of history found")
if history.frame.empty:
    components.empty_state(
        f"No history for {ctx.city_name} in this range",
        "city_day documents are written by processing and by the backfill when the sidecar "
        "starts ingesting a city; pick a more recent range or wait for the first run.")
    st.stop()

scope = history.frame[history.frame["zone_id"].isin(zones)] if zones else history.frame
series = series_frame(history.frame, metric, zones, ctx.zone_names, ctx.timezone)
value_column = series.columns[-1]

st.subheader(metric_label(metric))
if metric in ("demand_mw", "demand_forecast_mw"):
    st.caption("Per zone an estimate: the city's demand (its EIA subregion's hourly series) "
               "times the zone's share; the city total is the subregion's own value.")
if series[value_column].notna().any():
    st.plotly_chart(charts.time_series(series, value_column, tz_name), key="series_chart")
else:
    components.empty_state(f"No {metric_label(metric)} values in this range",
                           "the source for this metric reported nothing for these hours.")
st.download_button("Download CSV of this chart's data", data=partial(to_csv, series),
                   file_name=f"citylive_{ctx.city_id}_{metric}_{start:%Y%m%d}-{end:%Y%m%d}.csv",
                   mime="text/csv", icon=":material/download:", key="csv_download",
                   on_click="ignore")
with st.expander(f"Data shown ({len(series)} rows)"):
    st.dataframe(series, hide_index=True, key="series_table")

left, right = st.columns(2)
with left:
    st.subheader("Temperature vs demand")
    points = temperature_demand(scope)
    fit = fit_line(points["temperature_c"].to_numpy(), points["demand_mw"].to_numpy())
    if points.empty:
        components.empty_state("No hours with both temperature and demand",
                               "weather or power data is missing for this range.")
    else:
        st.plotly_chart(charts.temperature_demand(points, fit), key="temp_demand_chart")
        st.caption("No fit: fewer than 3 hours or no temperature spread." if fit is None else
                   f"Least-squares line: {fit.slope:+,.1f} MW per °C, R² = {fit.r2:.2f}, "
                   f"{len(points)} hours.")
with right:
    st.subheader("311 incidents by complaint type")
    breakdown = incidents_breakdown(history.incidents_by_type)
    if breakdown.empty:
        components.empty_state("No 311 incidents in this range",
                               "the city has no 311 feed, or none were reported.")
    else:
        st.plotly_chart(charts.incidents_bar(breakdown), key="incidents_chart")
        st.caption(f"{int(breakdown['incidents'].sum()):,} incidents, whole city.")

st.subheader(f"{metric_label(metric)} by zone and hour of day")
matrix = zone_hour_matrix(scope, metric, ctx.zone_names, ctx.timezone)
if matrix.empty or matrix.isna().all().all():
    components.empty_state("Nothing to show", "no values for this metric in this range.")
else:
    st.plotly_chart(charts.zone_hour_heatmap(matrix, metric_label(metric), tz_name),
                    key="heatmap_chart")

st.subheader("Anomalies")
anomaly_rows = [a for a in history.anomalies if not zones or a.get("zone_id") in zones]
anomalies = anomalies_frame(anomaly_rows, ctx.zone_names, ctx.timezone)
if anomalies.empty:
    components.empty_state("No anomalies in this range",
                           "no hourly value was far enough from its zone's baseline.")
else:
    st.plotly_chart(charts.anomaly_timeline(anomalies, tz_name), key="anomaly_chart")
