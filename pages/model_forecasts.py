"""Models: a drill-down per model for the city's series (its EIA subregion) or a zone.

Forecast with its band against actuals and EIA's day-ahead forecast (DF); the day-ahead
backtest by horizon and hour of day, its calibration, residuals and weekly error against EIA
DF; TFT importances and attention, the GNN's subregion graph; the models side by side and the
live day-ahead scorecard. Reads precomputed documents only (model_outputs, model_registry,
model_scorecard, city_day); nothing here loads or runs a model.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import streamlit as st

from ui import charts, components, loaders
from ui.formatting import local_time, md_escape
from ui.model_tables import (
    actuals_frame,
    attention_frame,
    backtest_metrics,
    calibration_frame,
    city_forecast,
    comparison_table,
    edges_frame,
    forecast_caption,
    forecast_frame,
    graph_nodes,
    importances_frame,
    live_scored_frame,
    model_title,
    next_score_text,
    profile_frame,
    residuals_frame,
    same_profile,
    scorecard_table,
    series_label,
    training_window,
    weekly_frame,
    zone_share,
)
from ui.sidebar import current_context

ctx = current_context()
tz_name = str(ctx.timezone)
series = loaders.load_city_series(ctx.city_id)
series_code = md_escape(f"{series['parent']} {series['code']}" if series["code"]
                        else "city load")
st.title(f"Model forecasts · {ctx.city_label}")
st.caption(f"Zone: {ctx.zone_label(ctx.zone_id)} · the city's demand: "
           f"{'EIA subregion ' if series['code'] else ''}{series_code} · times in {tz_name}")
train_hint = (f"models are trained offline by `python -m models.train --city {ctx.city_id}`; "
              "none registered yet.")

meta = loaders.load_model_meta(ctx.city_id)
city_docs = {m: loaders.load_city_forecasts(ctx.city_id, m) for m in loaders.MODEL_NAMES}
zone_docs = {m: loaders.load_model_output(ctx.city_id, m, ctx.zone_id) if ctx.zone_id else None
             for m in loaders.MODEL_NAMES}
if not any(m["registry"] for m in meta.values()) and not any(zone_docs.values()) and not any(
        city_forecast(d) for d in city_docs.values()):
    components.empty_state(f"No forecast models for {ctx.city_name}", train_hint)
    st.stop()

scopes = {"city": md_escape(series_label(ctx.city_name, series["parent"], series["code"]))}
if ctx.zone_id:
    scopes["zone"] = f"Zone · {ctx.zone_label(ctx.zone_id)} (estimate)"
scope = st.radio("Forecast of", list(scopes), format_func=scopes.get, horizontal=True,
                 key="mf_scope")
if scope == "zone":
    st.caption(f"Zone demand and its forecasts are **estimates**: the city's series "
               f"({series_code}) × the zone's fixed share of it. The backtest below is the "
               "city series'; a zone estimate has the same percentage errors and coverage.")

hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
recent = loaders.load_history(ctx.city_id, hour - timedelta(hours=24), hour + timedelta(hours=48))
actuals = actuals_frame(recent.frame, ctx.zone_id if scope == "zone" else None)


def forecast_section(model: str) -> None:
    """The latest forecast of the chosen series with band, actuals and EIA DF."""
    city_doc = city_forecast(city_docs[model])
    output = zone_docs[model] if scope == "zone" else city_doc
    if output is None:
        where = ctx.zone_name(ctx.zone_id) if scope == "zone" else "the city series"
        components.empty_state(f"No {model_title(model)} forecast for {where} yet",
                               "the precompute job writes model_outputs every hour for "
                               "registered models.")
        return
    caption = forecast_caption(output, ctx.timezone)
    share = zone_share(city_docs[model].get("next-24h"), output) if scope == "zone" else None
    if share is not None:
        caption += f" · estimate: city series × {share:.1%}"
    st.caption(md_escape(caption))
    st.plotly_chart(charts.forecast_band(actuals, forecast_frame(output), ctx.timezone,
                                         tz_name, estimate=scope == "zone"),
                    key=f"forecast_{model}")
    if actuals.empty:
        st.caption("No recent actual demand in city_day yet.")
    else:
        st.caption("EIA DF: the parent balancing authority's day-ahead forecast, apportioned "
                   "to this series like the demand.")


def backtest_section(model: str, registry: dict[str, Any], card: dict[str, Any] | None) -> None:
    """Day-ahead backtest of the city series: tiles, error profiles, calibration, residuals,
    and model vs EIA DF over the held-out weeks and the live scored days."""
    st.markdown(f"**Backtest** · version {md_escape(str(registry.get('version', '?')))}, "
                f"trained {local_time(registry.get('trained_at'), ctx.timezone)} on "
                f"{training_window(registry, ctx.timezone)} · day-ahead issuances of the "
                f"city series ({series_code})")
    tiles = backtest_metrics(registry)
    for col, (name, (value, meaning)) in zip(st.columns(max(1, len(tiles))), tiles.items(),
                                             strict=False):
        col.metric(md_escape(name), value, border=True, help=meaning or None)
    by_horizon = profile_frame(registry, "by_horizon", model)
    by_hour = profile_frame(registry, "by_hour", model)
    left, right = st.columns(2)
    with left:
        if by_horizon.empty:
            components.empty_state("No error by horizon", "this version did not record one.")
        else:
            st.plotly_chart(charts.error_profile(by_horizon, "horizon step (h after the first "
                                                 "target hour)", "Error by horizon"),
                            key=f"by_horizon_{model}")
    with right:
        if by_hour.empty:
            components.empty_state("No error by hour of day", "this version did not record one.")
        else:
            st.plotly_chart(charts.error_profile(by_hour, f"hour of day ({tz_name})",
                                                 "Error by hour of day"),
                            key=f"by_hour_{model}")
    if same_profile(by_horizon, by_hour):
        st.caption("Day-ahead targets start at local midnight, so horizon step h is hour h of "
                   "the day: the two profiles coincide.")
    left, right = st.columns(2)
    with left:
        calibration = calibration_frame(registry)
        if calibration.empty:
            components.empty_state("No calibration", "this version recorded no coverage.")
        else:
            st.plotly_chart(charts.calibration_plot(calibration), key=f"calibration_{model}")
            st.caption("Share of actuals below p10, p50, p90 and inside p10–p90 (percent); "
                       "on the diagonal is calibrated.")
    with right:
        residuals = residuals_frame(registry)
        if residuals.empty:
            components.empty_state("No residuals", "this version kept no backtest predictions.")
        else:
            st.plotly_chart(charts.residuals_chart(residuals, ctx.timezone, tz_name),
                            key=f"residuals_{model}")
    weekly = weekly_frame(registry, ctx.timezone)
    live = live_scored_frame(card, ctx.timezone)
    if weekly.empty and live.empty:
        components.empty_state("No weekly comparison with EIA DF",
                               f"this version recorded none; live day-ahead scores: "
                               f"{next_score_text(card, ctx.timezone)}.")
    else:
        st.plotly_chart(charts.weekly_mape(weekly, live, model_title(model)),
                        key=f"weekly_{model}")
        if live.empty:
            st.caption(f"Live day-ahead scores: {next_score_text(card, ctx.timezone)}.")


def tft_section(registry: dict[str, Any]) -> None:
    st.markdown("**Variable importances** · static, encoder (past) and decoder (known "
                "future) variables")
    importances = importances_frame(registry)
    if importances.empty:
        components.empty_state("No variable importances", "this TFT version did not record any.")
    else:
        st.plotly_chart(charts.importance_groups(importances), key="tft_importances")
    attention = attention_frame(registry)
    if attention.empty:
        components.empty_state("No attention weights", "this TFT version did not record any.")
    else:
        st.plotly_chart(charts.attention_bar(attention), key="tft_attention")


def gnn_section(registry: dict[str, Any]) -> None:
    own = (city_forecast(city_docs["gnn"]) or {}).get("series") or series["code"]
    nodes, edges = graph_nodes(registry, own), edges_frame(registry)
    parent = md_escape(series["parent"] or "the parent BA")
    st.markdown(f"**Subregion graph** · {len(nodes)} subregions of {parent}, "
                f"{len(edges)} edges")
    if nodes.empty:
        components.empty_state("No subregion graph", "this GNN version recorded none.")
    else:
        st.plotly_chart(charts.subregion_graph(nodes, edges), key="gnn_graph")


for model, tab in zip(loaders.MODEL_NAMES, st.tabs([model_title(m) for m in loaders.MODEL_NAMES]),
                      strict=True):
    registry, card = meta[model]["registry"], meta[model]["scorecard"]
    with tab:
        if registry is None and zone_docs[model] is None and city_forecast(
                city_docs[model]) is None:
            components.empty_state(f"{model_title(model)} is not trained for {ctx.city_name}",
                                   f"train it offline with `python -m models.train --city "
                                   f"{ctx.city_id} --models {model}`.")
            continue
        forecast_section(model)
        if registry is None:
            continue
        backtest_section(model, registry, card)
        if model == "tft":
            tft_section(registry)
        if model == "gnn":
            gnn_section(registry)

st.subheader("Model comparison · day-ahead backtest")
st.dataframe(comparison_table(meta, loaders.MODEL_NAMES), hide_index=True,
             key="comparison_table")
st.caption("On the held-out weeks, every model, seasonal naive (naive 168 h: the same hour a "
           "week earlier), the 24 h naive and EIA DF are scored on the same day-ahead hours of "
           "the city series. MAPE, EIA-DF hours: the model's MAPE on exactly the hours EIA DF "
           "is scored on. Coverage: share of actuals inside p10–p90, in percent (80 % is "
           "ideal). Bias: mean of p50 − actual.")

st.subheader("Live scorecard · rolling 7 days")
scorecard = scorecard_table(meta, ctx.timezone)
if scorecard.empty:
    components.empty_state("No scorecard yet", "day-ahead forecasts are scored against actual "
                           "demand once their whole target day has passed.")
else:
    st.dataframe(scorecard, hide_index=True, key="scorecard_table")
    st.caption("Day-ahead issuances (10:00 local, for the next local day) scored against "
               "actual demand once the day is complete. Coverage in percent (80 % is ideal); "
               "skill: 1 − MAPE / naive-168-h MAPE.")
