"""Plotly figure builders (pure: frames in, go.Figure out). No web fonts. The zone map is
H3 hexagons on a MapLibre map (go.Choroplethmap) over the built-in "white-bg" style, with a
keyless raster basemap layer (CARTO) unless CITYLIVE_MAP_TILES=false. Either way the
hexagons draw offline.

plotly.js ignores UTC offsets in date strings, so times arrive here as local wall-clock
(naive) values and axis titles say which zone they are in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.aqi import aqi_category
from core.units import QUANTITIES, metric_label
from ui.analytics import LineFit
from ui.hexes import fit_view, geojson_bounds, zone_geojson

RISK_HEX = {"low": "#2e7d32", "moderate": "#f9a825", "high": "#ef6c00", "critical": "#c62828"}
NO_DATA_HEX = "#9e9e9e"
SELECTED_HEX = "#1565c0"
MAP_HEIGHT = 430
# keyless raster basemap drawn under the zone hexagons (charts.zone_map, tiles=True)
BASEMAP_LAYER = {
    "below": "traces", "sourcetype": "raster",
    "source": [f"https://{s}.basemaps.cartocdn.com/light_all/{{z}}/{{x}}/{{y}}.png"
               for s in "abcd"],
    "sourceattribution": "© OpenStreetMap contributors © CARTO",
}
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
LEGEND_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}
# under the x-axis title: for charts with a title, whose top the legend would cover
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0}


def naive_local(values: Any, tz: Any) -> pd.DatetimeIndex:
    """Aware timestamps -> naive wall-clock times in `tz` (what plotly.js displays as-is)."""
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    return index.tz_convert(tz).tz_localize(None)


def _epa_hex(aqi: float) -> str:
    category = aqi_category(aqi)
    return category.color if category else NO_DATA_HEX


def zone_map(points: pd.DataFrame, metric: str, selected_zone: str | None, *,
             tiles: bool = True) -> go.Figure:
    """Zone hexagons (ui.hexes) filled by a metric on a MapLibre map; the chosen zone outlined.

    `points` is ui.city_tables.map_frame (zone_id, name, lat, lon, value, risk_level, h3).
    Risk and US AQI use their category colours (one trace per colour), other metrics a
    continuous scale; zones without a value are grey. Each hexagon is a location of a
    Choroplethmap trace, so a click reports its zone id as the point's `location`.

    The map style is always Plotly's built-in "white-bg", which is defined inline and
    fetches nothing. `tiles=True` adds CARTO's keyless "light_all" raster tiles as a layer
    below the hexagons. That keeps the map usable offline: with no network the tile requests
    fail and leave the background white, and the hexagons still draw, with no broken-image
    tiles and nothing shown as an error. A style given by URL such as "carto-positron" does
    not work like this: when its style JSON cannot be fetched, MapLibre draws no layers at
    all, hexagons included (checked in headless Chromium). Nothing here draws text on the
    map, so no glyph fonts are fetched.
    """
    label = metric_label(metric)
    geojson = zone_geojson(points)
    fig = go.Figure()
    has = points["value"].notna()
    if metric in ("us_aqi", "risk_score"):
        colours = _category_colours(points[has], metric)
        for colour, part in points[has].groupby(colours, sort=True):
            fig.add_trace(_hex_trace(part, geojson, metric, [[0, colour], [1, colour]],
                                     name=label))
    elif has.any():
        fig.add_trace(_hex_trace(points[has], geojson, metric, "YlOrRd", name=label,
                                 z=points.loc[has, "value"], colorbar=label))
    if (~has).any():
        fig.add_trace(_hex_trace(points[~has], geojson, metric,
                                 [[0, NO_DATA_HEX], [1, NO_DATA_HEX]], name="no data"))
    chosen = [f for f in geojson["features"] if f["id"] == selected_zone]
    if chosen:
        ring = chosen[0]["geometry"]["coordinates"][0]
        fig.add_trace(go.Scattermap(lon=[p[0] for p in ring], lat=[p[1] for p in ring],
                                    mode="lines", line={"width": 4, "color": SELECTED_HEX},
                                    hoverinfo="skip", name="selected zone"))
    centre, zoom = fit_view(geojson_bounds(geojson), height_px=MAP_HEIGHT)
    fig.update_layout(height=MAP_HEIGHT, margin=MARGIN, showlegend=False, title=label,
                      map={"style": "white-bg", "center": centre, "zoom": zoom,
                           "layers": [BASEMAP_LAYER] if tiles else []},
                      clickmode="event+select")
    return fig


def _category_colours(points: pd.DataFrame, metric: str) -> pd.Series:
    if metric == "us_aqi":
        return points["value"].map(_epa_hex)
    return points["risk_level"].map(lambda r: RISK_HEX.get(r or "", NO_DATA_HEX))


def _hex_trace(part: pd.DataFrame, geojson: dict[str, Any], metric: str, colorscale: Any, *,
               name: str, z: Any = None, colorbar: str | None = None) -> go.Choroplethmap:
    """One Choroplethmap trace over the zones in `part` (features subset to those zones)."""
    ids = set(part["zone_id"])
    features = [f for f in geojson["features"] if f["id"] in ids]
    info = QUANTITIES.get(metric)
    value_name = info.label if info else metric
    customdata = np.column_stack([
        part["name"].astype(str),
        [_value_text(metric, v) for v in part["value"]],
        part["risk_level"].fillna("unknown").astype(str),
    ])
    return go.Choroplethmap(
        geojson={"type": "FeatureCollection", "features": features},
        locations=list(part["zone_id"]), featureidkey="id",
        z=list(z) if z is not None else [1] * len(part), colorscale=colorscale,
        showscale=colorbar is not None,
        colorbar={"title": {"text": colorbar}, "thickness": 12} if colorbar else None,
        marker={"opacity": 0.7, "line": {"width": 1, "color": "#333"}},
        selected={"marker": {"opacity": 0.7}}, unselected={"marker": {"opacity": 0.7}},
        customdata=customdata, name=name,
        hovertemplate=("<b>%{customdata[0]}</b> (%{location})<br>" + value_name
                       + ": %{customdata[1]}<br>Risk: %{customdata[2]}<extra></extra>"))


def _value_text(metric: str, shown: float | None) -> str:
    """A display value (already scaled and rounded, core.units.display_value) with its unit."""
    if shown is None or (isinstance(shown, float) and math.isnan(shown)):
        return "no data"
    info = QUANTITIES.get(metric)
    decimals = info.decimals if info else 2
    return f"{float(shown):,.{decimals}f} {info.unit if info else ''}".strip()


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


def forecast_band(actuals: pd.DataFrame, forecast: pd.DataFrame, tz: Any, tz_name: str,
                  *, estimate: bool = False) -> go.Figure:
    """p10-p90 band, p50 line, the recent actual demand and, where the actuals frame has an
    `eia_df_mw` column, EIA's day-ahead forecast (DF) for the same hours."""
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
        x = naive_local(actuals["time"], tz)
        if "eia_df_mw" in actuals and actuals["eia_df_mw"].notna().any():
            fig.add_trace(go.Scatter(x=x, y=actuals["eia_df_mw"], mode="lines",
                                     line={"color": "#ef6c00", "dash": "dash"},
                                     name="EIA DF (day-ahead)"))
        fig.add_trace(go.Scatter(x=x, y=actuals["demand_mw"], mode="lines+markers",
                                 marker={"size": 4}, line={"color": "#212121"},
                                 name="actual (estimate)" if estimate else "actual"))
    fig.update_layout(height=360, margin=MARGIN,
                      yaxis_title="zone demand, estimate (MW)" if estimate else "demand (MW)",
                      xaxis_title=f"local time ({tz_name})", legend=LEGEND_TOP)
    return fig


PROFILE_COLOURS = {"Seasonal naive (168 h)": "#9e9e9e", "24 h naive": "#bdbdbd",
                   "EIA DF": "#ef6c00"}


def error_profile(profile: pd.DataFrame, x_title: str, title: str) -> go.Figure:
    """MAPE per step (horizon or hour of day), one line per method; the model in blue."""
    fig = go.Figure()
    for method, part in profile.groupby("method", sort=False):
        colour = PROFILE_COLOURS.get(str(method), "#1565c0")
        fig.add_trace(go.Scatter(x=part["step"], y=part["mape"], mode="lines+markers",
                                 marker={"size": 4}, name=str(method),
                                 line={"color": colour,
                                       "dash": "dot" if "naive" in str(method) else "solid"}))
    fig.update_layout(height=380, margin=MARGIN, title=title, yaxis_title="MAPE (%)",
                      xaxis={"title": x_title, "dtick": 3}, legend=LEGEND_BELOW)
    return fig


def calibration_plot(calibration: pd.DataFrame) -> go.Figure:
    """Observed vs nominal coverage (percent) with the diagonal of a calibrated model."""
    fig = go.Figure(go.Scatter(x=[0, 100], y=[0, 100], mode="lines", hoverinfo="skip",
                               line={"color": "#9e9e9e", "dash": "dash"}, name="calibrated"))
    fig.add_trace(go.Scatter(x=calibration["nominal"], y=calibration["observed"],
                             mode="markers+text", text=calibration["label"],
                             textposition="top left", marker={"size": 10, "color": "#1565c0"},
                             name="observed",
                             hovertemplate="%{text}: nominal %{x:.0f} %, observed %{y:.1f} %"
                                           "<extra></extra>"))
    fig.update_layout(height=320, margin=MARGIN, title="Calibration", showlegend=False,
                      xaxis={"title": "nominal coverage (%)", "range": [0, 100]},
                      yaxis={"title": "observed coverage (%)", "range": [0, 100]})
    return fig


def residuals_chart(residuals: pd.DataFrame, tz: Any, tz_name: str) -> go.Figure:
    """Backtest residuals (actual − p50) per target hour, with the zero line."""
    fig = go.Figure(go.Scatter(x=naive_local(residuals["time"], tz), y=residuals["residual"],
                               mode="markers", marker={"size": 4, "color": "#1565c0",
                                                       "opacity": 0.7},
                               name="actual − p50"))
    fig.add_hline(y=0, line={"color": "#9e9e9e", "dash": "dash"})
    fig.update_layout(height=320, margin=MARGIN, title="Residuals over time",
                      yaxis_title="actual − p50 (MW)",
                      xaxis_title=f"target hour, local time ({tz_name})", showlegend=False)
    return fig


def weekly_mape(weekly: pd.DataFrame, live: pd.DataFrame, model_title: str) -> go.Figure:
    """Model vs EIA DF MAPE: backtest per held-out week (lines) and live day-ahead scores
    per target day (markers)."""
    fig = go.Figure()
    if not weekly.empty:
        fig.add_trace(go.Scatter(x=weekly["week"], y=weekly["mape"], mode="lines+markers",
                                 line={"color": "#1565c0"}, name=f"{model_title}, backtest week"))
        fig.add_trace(go.Scatter(x=weekly["week"], y=weekly["eia_df_mape"],
                                 mode="lines+markers", line={"color": "#ef6c00"},
                                 name="EIA DF, backtest week"))
    if not live.empty:
        fig.add_trace(go.Scatter(x=live["day"], y=live["mape"], mode="markers",
                                 marker={"symbol": "diamond", "size": 9, "color": "#1565c0"},
                                 name=f"{model_title}, live day"))
        fig.add_trace(go.Scatter(x=live["day"], y=live["eia_df_mape"], mode="markers",
                                 marker={"symbol": "diamond-open", "size": 9,
                                         "color": "#ef6c00"}, name="EIA DF, live day"))
    fig.update_layout(height=360, margin=MARGIN, title="Model vs EIA DF, recent weeks",
                      yaxis_title="MAPE (%)", legend=LEGEND_BELOW,
                      xaxis={"title": "week start / target day (local)", "type": "date",
                             "tickformat": "%b %d", "dtick": 86_400_000})
    return fig


def importances_bar(importances: pd.DataFrame) -> go.Figure:
    top = importances.head(20).iloc[::-1]
    fig = go.Figure(go.Bar(x=top["importance"], y=top["variable"], orientation="h"))
    fig.update_layout(height=max(220, 22 * len(top) + 60), margin=MARGIN,
                      xaxis_title="importance")
    return fig


def importance_groups(importances: pd.DataFrame) -> go.Figure:
    """TFT variable importances: one small horizontal bar chart per variable group
    (static, encoder, decoder), side by side."""
    groups = list(dict.fromkeys(importances["group"]))
    fig = make_subplots(rows=1, cols=max(1, len(groups)), subplot_titles=groups,
                        horizontal_spacing=0.18)
    for i, group in enumerate(groups, start=1):
        part = importances[importances["group"] == group].head(12).iloc[::-1]
        fig.add_trace(go.Bar(x=part["importance"], y=part["variable"], orientation="h",
                             marker={"color": "#1565c0"}, name=str(group)), row=1, col=i)
    longest = max((importances["group"] == g).sum() for g in groups) if groups else 0
    fig.update_layout(height=max(240, 22 * min(12, longest) + 90), margin=MARGIN,
                      showlegend=False)
    return fig


def attention_bar(attention: pd.DataFrame) -> go.Figure:
    """TFT attention weight per hour relative to the forecast's first hour: the encoder's
    past hours (negative) in grey, the forecast hours in blue."""
    past = attention["hour"] < 0
    fig = go.Figure(go.Bar(x=attention["hour"], y=attention["weight"],
                           marker={"color": np.where(past, "#90a4ae", "#1565c0")},
                           hovertemplate="hour %{x}: %{y:.4f}<extra></extra>"))
    fig.update_layout(height=260, margin=MARGIN, title="Attention: past hours and the horizon",
                      xaxis_title="position: encoder past (< 0) and forecast hours (≥ 0)",
                      yaxis_title="mean attention weight", showlegend=False)
    return fig


def subregion_graph(nodes: pd.DataFrame, edges: pd.DataFrame) -> go.Figure:
    """The GNN's graph: the parent BA's subregions at their lat/lon, named, with edges; the
    city's own series highlighted."""
    pos = nodes.set_index("id")[["lon", "lat"]]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for edge in edges.itertuples(index=False):
        if edge.source in pos.index and edge.target in pos.index:
            xs += [pos.at[edge.source, "lon"], pos.at[edge.target, "lon"], None]
            ys += [pos.at[edge.source, "lat"], pos.at[edge.target, "lat"], None]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 1, "color": "#90a4ae"},
                               hoverinfo="skip", name="edges"))
    labelled = nodes.assign(hovertext=[f"{i} · {n}" if n != i else str(i)
                                       for i, n in zip(nodes["id"], nodes["name"], strict=True)])
    for own, part in labelled.groupby("own", sort=True):
        fig.add_trace(go.Scatter(
            x=part["lon"], y=part["lat"], mode="markers+text", text=part["id"],
            hovertext=part["hovertext"],
            textposition="bottom center" if own else "top center",
            marker={"size": 16 if own else 10, "color": SELECTED_HEX if own else "#78909c",
                    "line": {"width": 2 if own else 0, "color": "#0d47a1"}},
            name=(f"the city's series ({', '.join(part['hovertext'])})" if own
                  else "other subregions"),
            hovertemplate="%{hovertext}<extra></extra>"))
    lat0 = float(nodes["lat"].mean()) if len(nodes) else 0.0
    fig.update_layout(height=460, margin=MARGIN, legend=LEGEND_TOP,
                      xaxis={"title": "longitude", "showgrid": False},
                      yaxis={"title": "latitude", "showgrid": False, "scaleanchor": "x",
                             "scaleratio": 1 / max(0.2, math.cos(math.radians(lat0)))})
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
