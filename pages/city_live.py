"""City Live: headline KPIs, the zone map and table, open alerts and recommendations."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.settings import get_settings
from core.units import format_value, metric_label
from ui import charts, components, loaders
from ui.city_tables import (
    alerts_table,
    city_kpis,
    city_metric_gap,
    map_frame,
    recommendations_table,
    simulated_kinds,
    zone_detail,
    zone_table,
)
from ui.formatting import local_time, md_escape
from ui.selection import zone_from_selection
from ui.sidebar import current_context, select_zone

MAP_METRICS = ("risk_score", "us_aqi", "demand_mw", "congestion", "temperature_c",
               "open_incidents", "pm2_5", "speed_kmh")
MAP_LEGENDS = {
    "risk_score": "Green low · yellow moderate · orange high · red critical; grey = no data.",
    "us_aqi": "EPA colours: green Good · yellow Moderate · orange Unhealthy for Sensitive "
              "Groups · red Unhealthy · purple Very Unhealthy · maroon Hazardous; grey = no data.",
}

ctx = current_context()
st.title(f"City Live · {ctx.city_label}")
zone_docs = loaders.load_zone_latest(ctx.city_id)
if not zone_docs:
    components.loading_state(ctx)
    st.stop()

now = datetime.now(UTC)
kpis = city_kpis(loaders.load_city_latest(ctx.city_id), zone_docs)
components.data_badges(kpis["source"], kpis["updated_at"], now, simulated_kinds(zone_docs))
st.caption(f"Updated {local_time(kpis['updated_at'], ctx.timezone)} · "
           f"{len(zone_docs)} of {len(ctx.zones)} zones reporting · times in {ctx.timezone}")


cols = st.columns(6)
demand, forecast = kpis["demand_mw"], kpis["demand_forecast_mw"]
with cols[0]:
    components.kpi_card(
        "Demand (MW)", "demand_mw", demand, city_metric_gap(zone_docs, "demand_mw", now),
        delta=None if demand is None or forecast is None else f"{demand - forecast:+,.0f} MW",
        delta_color="inverse", help=f"City demand now; the delta is against the forecast for "
                                    f"this hour ({format_value('demand_mw', forecast)}).")
with cols[1]:
    components.kpi_card("Average AQI", "us_aqi", kpis["avg_aqi"],
                        city_metric_gap(zone_docs, "us_aqi", now))
    components.aqi_note(kpis["avg_aqi"])
with cols[2]:
    components.kpi_card("Worst AQI", "us_aqi", kpis["worst_aqi"],
                        city_metric_gap(zone_docs, "us_aqi", now))
    components.aqi_note(kpis["worst_aqi"], ctx.zone_name(kpis["worst_aqi_zone"])
                        if kpis["worst_aqi_zone"] else None)
with cols[3]:
    components.kpi_card("Congestion (%)", "congestion", kpis["avg_congestion"],
                        city_metric_gap(zone_docs, "congestion", now))
with cols[4]:
    components.kpi_card("Open 311", "open_incidents", kpis["open_incidents"],
                        city_metric_gap(zone_docs, "open_incidents", now),
                        help="Open 311 incidents across the city")
with cols[5]:
    st.metric("Open alerts", f"{int(kpis['open_alerts'] or 0)}", border=True)

map_col, detail_col = st.columns([3, 2])
with map_col:
    metric = st.selectbox("Colour zones by", MAP_METRICS, format_func=metric_label,
                          key="map_metric")
    figure = charts.zone_map(map_frame(zone_docs, ctx.zones, metric), metric, ctx.zone_id,
                             tiles=get_settings().citylive_map_tiles)
    event = st.plotly_chart(figure, config={"displaylogo": False}, key="zone_map",
                            on_select="rerun", selection_mode="points")
    clicked = zone_from_selection(event, set(ctx.zones["zone_id"]))
    if clicked is not None and clicked != ctx.zone_id:
        select_zone(clicked)
        st.rerun()
    st.caption(MAP_LEGENDS.get(metric, "Darker = higher; grey = no data.")
               + " Blue outline: the chosen zone; click a hexagon to choose another.")
with detail_col:
    st.subheader(ctx.zone_label(ctx.zone_id))
    doc = next((d for d in zone_docs if d.get("zone_id") == ctx.zone_id), None)
    if doc is None:
        components.empty_state("No data for this zone", "processing has not written a "
                               "zone_latest document for it yet.")
    else:
        st.dataframe(zone_detail(doc, now, ctx.timezone), hide_index=True, key="zone_detail",
                     height=460)
        factors = doc.get("risk_factors") or []
        st.caption(md_escape(
            f"Risk {doc.get('risk_level', 'unknown')} ({doc.get('risk_score', '–')}/100)"
            + (": " + ", ".join(f"{f.get('rule')} +{f.get('points')}" for f in factors)
               if factors else "")))

st.subheader("Zones by risk")
table = zone_table(zone_docs, ctx.zone_names, now, ctx.timezone)
st.dataframe(table, hide_index=True, key="zone_table",
             height=420 if len(table) > 11 else "auto", column_config={
    "Risk score": st.column_config.ProgressColumn("Risk score", min_value=0, max_value=100,
                                                  format="%d"),
    "Demand, est. (MW)": st.column_config.NumberColumn(format="%.1f MW"),
    "Congestion (%)": st.column_config.NumberColumn(format="%d %%"),
    "Temperature (°C)": st.column_config.NumberColumn(format="%.1f °C"),
})

st.caption("Zone demand is an estimate: the city's demand (its EIA subregion's hourly series) "
           "times the zone's share of the city.")

st.subheader("Open alerts")
alerts = alerts_table(loaders.load_open_alerts(ctx.city_id), ctx.zone_names, now, ctx.timezone)
if alerts.empty:
    st.success("No open alerts: every rule is within its threshold.", icon=":material/check:")
else:
    st.dataframe(alerts, hide_index=True, key="alerts_table")

st.subheader("Recommendations")
recs = recommendations_table(loaders.load_recommendations(ctx.city_id), ctx.zone_names,
                             ctx.timezone)
if recs.empty:
    components.empty_state("No recommendations", "the last processing run found nothing to "
                           "act on for this city.")
else:
    st.dataframe(recs, hide_index=True, key="recommendations_table")
