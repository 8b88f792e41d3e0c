"""Models: each model's 24 h forecast for the chosen zone, backtest metrics and scorecard.

Reads precomputed documents only (model_outputs, model_registry, model_scorecard, city_day);
nothing here loads or runs a model.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from ui import charts, components, loaders
from ui.formatting import local_time, md_escape
from ui.model_tables import (
    MODEL_TITLES,
    backtest_metrics,
    edges_frame,
    forecast_frame,
    importances_frame,
    scorecard_table,
    training_window,
    zone_actuals,
)
from ui.sidebar import current_context

ctx = current_context()
tz_name = str(ctx.timezone)
st.title(f"Model forecasts · {ctx.city_label}")
st.caption(f"Zone: {ctx.zone_label(ctx.zone_id)} · demand forecasts, times in {tz_name}")
train_hint = (f"models are trained offline by `python -m models.train --city {ctx.city_id}`; "
              "none registered yet.")

meta = loaders.load_model_meta(ctx.city_id)
outputs = {m: loaders.load_model_output(ctx.city_id, m, ctx.zone_id) if ctx.zone_id else None
           for m in loaders.MODEL_NAMES}
if not any(m["registry"] for m in meta.values()) and not any(outputs.values()):
    components.empty_state(f"No forecast models for {ctx.city_name}", train_hint)
    st.stop()

now = datetime.now(UTC)
hour = now.replace(minute=0, second=0, microsecond=0)
recent = loaders.load_history(ctx.city_id, hour - timedelta(hours=23), hour + timedelta(hours=1))
actuals = zone_actuals(recent.frame, ctx.zone_id or "")

for model, tab in zip(loaders.MODEL_NAMES, st.tabs([MODEL_TITLES[m] for m in loaders.MODEL_NAMES]),
                      strict=True):
    title, registry, output = MODEL_TITLES[model], meta[model]["registry"], outputs[model]
    with tab:
        if registry is None and output is None:
            components.empty_state(f"{title} is not trained for {ctx.city_name}", train_hint)
            continue
        if output is None:
            components.empty_state(f"No {title} forecast for {ctx.zone_name(ctx.zone_id)} yet",
                                   "the precompute job writes model_outputs every hour for "
                                   "registered models.")
        else:
            st.caption(f"Issued {local_time(output.get('issued_at'), ctx.timezone)} · "
                       f"model version {md_escape(str(output.get('model_version', '?')))} · "
                       f"horizon {output.get('horizon_hours', 24)} h")
            st.plotly_chart(charts.forecast_band(actuals, forecast_frame(output), ctx.timezone,
                                                 tz_name), key=f"forecast_{model}")
            if actuals.empty:
                st.caption("No recent actual demand for this zone in city_day yet.")
        if registry is None:
            continue
        version = md_escape(str(registry.get("version", "?")))
        st.markdown(f"**Backtest** · version {version}, trained "
                    f"{local_time(registry.get('trained_at'), ctx.timezone)} on "
                    f"{training_window(registry, ctx.timezone)}")
        metrics = backtest_metrics(registry)
        for col, (name, value) in zip(st.columns(max(1, len(metrics))), metrics.items(),
                                      strict=False):
            col.metric(md_escape(name), "–" if value is None else f"{value:,.3g}", border=True)
        if model == "tft":
            importances = importances_frame(registry)
            st.markdown("**Variable importances**")
            if importances.empty:
                components.empty_state("No variable importances",
                                       "this TFT version did not record any.")
            else:
                st.plotly_chart(charts.importances_bar(importances), key="tft_importances")
        if model == "gnn":
            edges = edges_frame(registry)
            st.markdown(f"**Zone graph** · {len(edges)} edges")
            if edges.empty:
                components.empty_state("No zone graph", "this GNN version recorded no edges.")
            else:
                st.plotly_chart(charts.zone_graph(ctx.zones, edges), key="gnn_graph")

st.subheader("Scorecard · rolling 7 days")
scorecard = scorecard_table(meta, ctx.timezone)
if scorecard.empty:
    components.empty_state("No scorecard yet", "forecasts are scored against actual demand "
                           "once their 24 h horizon has passed.")
else:
    st.dataframe(scorecard, hide_index=True, key="scorecard_table")
    st.caption("MAPE: mean absolute percentage error of p50 vs actual demand; coverage: share "
               "of actuals inside p10–p90 (0.8 is ideal). Seasonal naive = same hour one week "
               "earlier; EIA day-ahead = the balancing authority's own forecast, apportioned.")
