"""Plotly figure builders (pure: frames in, go.Figure out). No map tiles, no web fonts: the
zone map is a plain lon/lat scatter, so it draws without internet access.

plotly.js ignores UTC offsets in date strings, so times arrive here as local wall-clock
(naive) values and axis titles say which zone they are in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.aqi import aqi_category
from core.units import QUANTITIES
from ui.analytics import LineFit

RISK_HEX = {"low": "#2e7d32", "moderate": "#f9a825", "high": "#ef6c00", "critical": "#c62828"}
NO_DATA_HEX = "#9e9e9e"
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
LEGEND_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}


def naive_local(values: Any, tz: Any) -> pd.DatetimeIndex:
    """Aware timestamps -> naive wall-clock times in `tz` (what plotly.js displays as-is)."""
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return index.tz_convert(tz).tz_localize(None)


def _epa_hex(aqi: float) -> str:
    category = aqi_category(aqi)
    return category.color if category else NO_DATA_HEX


def zone_map(points: pd.DataFrame, metric: str, selected_zone: str | None) -> go.Figure:
    """Zone centroids coloured by a metric; equal km per pixel on both axes."""
    info = QUANTITIES.get(metric)
    label = f"{info.label} ({info.unit})" if info else metric
    has = points["value"].notna()
    fig = go.Figure()
    if (~has).any():
        missing = points[~has]
        fig.add_trace(go.Scatter(x=missing["lon"], y=missing["lat"], mode="markers",
                                 marker={"size": 14, "color": NO_DATA_HEX, "symbol": "x"},
                                 text=missing["name"], name="no data",
                                 hovertemplate="%{text}: no data<extra></extra>"))
    shown = points[has]
    marker: dict[str, Any] = {"size": 16, "line": {"width": 1, "color": "#333"}}
    if metric == "us_aqi":
        marker["color"] = [_epa_hex(v) for v in shown["value"]]
    elif metric == "risk_score":
        marker["color"] = [RISK_HEX.get(r or "", NO_DATA_HEX) for r in shown["risk_level"]]
    else:
        marker.update(color=shown["value"], colorscale="YlOrRd", showscale=True,
                      colorbar={"title": {"text": label}, "thickness": 12})
    fig.add_trace(go.Scatter(x=shown["lon"], y=shown["lat"], mode="markers", marker=marker,
                             customdata=shown["value"], text=shown["name"], name=label,
                             hovertemplate="%{text}: %{customdata} " + (info.unit if info else "")
                             + "<extra></extra>"))
    chosen = points[points["zone_id"] == selected_zone]
    if not chosen.empty:
        fig.add_trace(go.Scatter(x=chosen["lon"], y=chosen["lat"], mode="markers+text",
                                 marker={"size": 26, "color": "rgba(0,0,0,0)",
                                         "line": {"width": 3, "color": "#1565c0"}},
                                 text=chosen["name"], textposition="top center",
                                 hoverinfo="skip", name="selected zone"))
    lat0 = float(points["lat"].mean()) if len(points) else 0.0
    fig.update_layout(height=430, margin=MARGIN, showlegend=False, title=label,
                      xaxis={"title": "longitude", "showgrid": False},
                      yaxis={"title": "latitude", "showgrid": False, "scaleanchor": "x",
                             "scaleratio": 1 / max(0.2, math.cos(math.radians(lat0)))})
    return fig


def time_series(series: pd.DataFrame, value_column: str, tz_name: str) -> go.Figure:
    fig = go.Figure()
    for zone, part in series.groupby("zone", sort=True):
        fig.add_trace(go.Scatter(x=naive_local(part["time"], part["time"].dt.tz),
                                 y=part[value_column], mode="lines", name=str(zone)))
    fig.update_layout(height=360, margin=MARGIN, yaxis_title=value_column,
                      xaxis_title=f"local time ({tz_name})", legend=LEGEND_TOP)
    return fig


def temperature_demand(points: pd.DataFrame, fit: LineFit | None) -> go.Figure:
    fig = go.Figure(go.Scatter(x=points["temperature_c"], y=points["demand_mw"], mode="markers",
                               marker={"size": 5, "opacity": 0.6}, name="hourly"))
    if fit is not None:
        xs = np.linspace(points["temperature_c"].min(), points["temperature_c"].max(), 20)
        fig.add_trace(go.Scatter(x=xs, y=fit.at(xs), mode="lines", name="least-squares fit",
                                 line={"color": "#c62828"}))
    fig.update_layout(height=360, margin=MARGIN, xaxis_title="city average temperature (°C)",
                      yaxis_title="city demand (MW)", legend=LEGEND_TOP)
    return fig


def zone_hour_heatmap(matrix: pd.DataFrame, label: str, tz_name: str) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=matrix.to_numpy(), x=list(matrix.columns),
                               y=list(matrix.index), colorscale="YlOrRd",
                               colorbar={"title": {"text": label}, "thickness": 12},
                               hovertemplate="%{y}, %{x}:00: %{z:.1f}<extra></extra>"))
    fig.update_layout(height=max(300, 16 * len(matrix) + 80), margin=MARGIN,
                      xaxis={"title": f"hour of day ({tz_name})", "dtick": 2},
                      yaxis={"autorange": "reversed"})
    return fig


def anomaly_timeline(anomalies: pd.DataFrame, tz_name: str) -> go.Figure:
    fig = go.Figure()
    for metric, part in anomalies.groupby("metric", sort=True):
        fig.add_trace(go.Scatter(
            x=naive_local(part["time"], part["time"].dt.tz), y=part["zone"], mode="markers",
            name=str(metric),
            marker={"size": np.clip(part["zscore"].abs().fillna(3).to_numpy() * 3, 6, 24)},
            customdata=np.stack([part["value"], part["zscore"]], axis=1),
            hovertemplate="%{y}<br>value %{customdata[0]}, z=%{customdata[1]:.1f}<extra></extra>"))
    fig.update_layout(height=max(260, 18 * anomalies["zone"].nunique() + 100), margin=MARGIN,
                      xaxis_title=f"local time ({tz_name})", legend=LEGEND_TOP)
    return fig


def incidents_bar(breakdown: pd.DataFrame) -> go.Figure:
    top = breakdown.head(15).iloc[::-1]
    fig = go.Figure(go.Bar(x=top["incidents"], y=top["complaint type"], orientation="h"))
    fig.update_layout(height=max(240, 24 * len(top) + 60), margin=MARGIN,
                      xaxis_title="311 incidents")
    return fig


def forecast_band(actuals: pd.DataFrame, forecast: pd.DataFrame, tz: Any, tz_name: str
                  ) -> go.Figure:
    """p10-p90 band, p50 line, and the recent actual demand of the zone."""
    fig = go.Figure()
    if not forecast.empty:
        x = naive_local(forecast["time"], tz)
        fig.add_trace(go.Scatter(x=x, y=forecast["p90"], mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=forecast["p10"], mode="lines", line={"width": 0},
                                 fill="tonexty", fillcolor="rgba(21,101,192,0.2)",
                                 name="p10–p90"))
        fig.add_trace(go.Scatter(x=x, y=forecast["p50"], mode="lines",
                                 line={"color": "#1565c0"}, name="forecast p50"))
    if not actuals.empty:
        fig.add_trace(go.Scatter(x=naive_local(actuals["time"], tz), y=actuals["demand_mw"],
                                 mode="lines+markers", marker={"size": 4},
                                 line={"color": "#212121"}, name="actual"))
    fig.update_layout(height=360, margin=MARGIN, yaxis_title="demand (MW)",
                      xaxis_title=f"local time ({tz_name})", legend=LEGEND_TOP)
    return fig


def importances_bar(importances: pd.DataFrame) -> go.Figure:
    top = importances.head(20).iloc[::-1]
    fig = go.Figure(go.Bar(x=top["importance"], y=top["variable"], orientation="h"))
    fig.update_layout(height=max(220, 22 * len(top) + 60), margin=MARGIN,
                      xaxis_title="importance")
    return fig


def zone_graph(zones: pd.DataFrame, edges: pd.DataFrame) -> go.Figure:
    """The GNN's zone graph drawn on zone centroids."""
    pos = zones.set_index("zone_id")[["lon", "lat"]]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in edges.itertuples(index=False):
        if edge.source in pos.index and edge.target in pos.index:
            xs += [pos.at[edge.source, "lon"], pos.at[edge.target, "lon"], None]
            ys += [pos.at[edge.source, "lat"], pos.at[edge.target, "lat"], None]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 1, "color": "#90a4ae"},
                               hoverinfo="skip", name="edges"))
    fig.add_trace(go.Scatter(x=zones["lon"], y=zones["lat"], mode="markers", text=zones["name"],
                             marker={"size": 10, "color": "#1565c0"}, name="zones",
                             hovertemplate="%{text}<extra></extra>"))
    lat0 = float(zones["lat"].mean()) if len(zones) else 0.0
    fig.update_layout(height=420, margin=MARGIN, showlegend=False,
                      xaxis={"title": "longitude", "showgrid": False},
                      yaxis={"title": "latitude", "showgrid": False, "scaleanchor": "x",
                             "scaleratio": 1 / max(0.2, math.cos(math.radians(lat0)))})
    return fig


def precompute_chart(durations: pd.DataFrame, tz: Any, tz_name: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=naive_local(durations["started"], tz), y=durations["duration_s"],
                           marker={"color": ["#2e7d32" if ok else "#c62828"
                                             for ok in durations["ok"]]}))
    fig.update_layout(height=260, margin=MARGIN, yaxis_title="duration (s)",
                      xaxis_title=f"started, local time ({tz_name})")
    return fig


def stream_rates(counts: pd.DataFrame, tz_name: str) -> go.Figure:
    fig = go.Figure()
    x = counts.index.tz_localize(None)
    for topic in counts.columns:
        fig.add_trace(go.Bar(x=x, y=counts[topic], name=topic))
    fig.update_layout(barmode="stack", height=280, margin=MARGIN, yaxis_title="messages / min",
                      xaxis_title=f"minute ({tz_name})", legend=LEGEND_TOP)
    return fig
