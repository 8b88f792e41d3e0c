"""Pure builders for the Models page from model_outputs / model_registry / model_scorecard.

Document shapes (docs/architecture.md, issue 12): the registry's `metrics` and `backtest`
(by_horizon, by_hour, calibration, predictions, weekly) describe the day-ahead backtest of the
city's series (its EIA subregion); `graph` (GNN) and `variable_importances` / `attention`
(TFT) describe the model. A zone forecast is an ESTIMATE: the city's series x the zone's
share. Every value a table shows is text here, so no cell can read None or NaN: a missing
value says why (not trained, not scored yet, first score after ...).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ui.formatting import local_time

MODEL_TITLES = {"lstm": "LSTM", "tft": "TFT", "gnn": "GNN", "gbm": "LightGBM"}
CITY_ZONE = "city"  # zone_id of the city-series documents in model_outputs
KIND_DAY_AHEAD, KIND_NEXT_24H = "day-ahead", "next-24h"
NOT_TRAINED, NOT_SCORED, NO_DATA = "not trained", "not scored yet", "no data"

# registry metric -> (label, unit); the unit picks the number format (metric_text)
METRICS: dict[str, tuple[str, str]] = {
    "mape": ("MAPE", "%"),
    "mape_same_points": ("MAPE, EIA-DF hours", "%"),
    "eia_df_mape": ("EIA DF MAPE", "%"),
    "baseline_mape": ("Naive 168 h MAPE", "%"),
    "naive24_mape": ("Naive 24 h MAPE", "%"),
    "rmse": ("RMSE", "MW"),
    "bias_mw": ("Bias", "MW±"),
    "bias_pct": ("Bias", "%±"),
    "pinball_mw": ("Pinball", "MW"),
    "coverage_p10_p90": ("Coverage p10–p90", "%1"),
    "coverage_p10": ("Below p10", "%1"),
    "coverage_p50": ("Below p50", "%1"),
    "coverage_p90": ("Below p90", "%1"),
    "skill_vs_baseline": ("Skill vs naive 168 h", "ratio"),
    "n_issuances": ("Issuances", "count"),
    "n_points": ("Hours scored", "count"),
    "issuances": ("Issuances scored", "count"),
    "points": ("Hours scored", "count"),
    "train_seconds": ("Training", "s"),
}
# what a metric means, for tile tooltips
METRIC_HELP = {
    "mape": "Mean absolute percentage error of p50 on the day-ahead hours.",
    "mape_same_points": "The model's MAPE on exactly the hours EIA DF is scored on "
                        "(MAPE, EIA-DF hours).",
    "eia_df_mape": "EIA's own day-ahead forecast (DF), apportioned to the series, same hours.",
    "baseline_mape": "Seasonal naive: the same hour one week earlier.",
    "coverage_p10_p90": "Share of actuals inside p10–p90, in percent; 80 % is ideal.",
}
# short names for the narrow headline tiles (the tooltip says what each is)
TILE_LABELS = {"mape": "MAPE (%)", "mape_same_points": "Same hours (%)",
               "eia_df_mape": "EIA DF (%)", "baseline_mape": "Naive 168 h (%)",
               "coverage_p10_p90": "Coverage (%)"}
HEADLINE_METRICS = ("mape", "mape_same_points", "eia_df_mape", "baseline_mape",
                    "coverage_p10_p90")
COMPARISON_METRICS = ("mape", "mape_same_points", "eia_df_mape", "baseline_mape",
                      "naive24_mape", "rmse", "bias_mw", "pinball_mw", "coverage_p10_p90")
SCORECARD_METRICS = ("mape", "mape_same_points", "eia_df_mape", "baseline_mape",
                     "naive24_mape", "rmse", "coverage_p10_p90", "bias_mw",
                     "skill_vs_baseline")
# backtest profile series -> legend label (the model's own title replaces "model")
PROFILE_SERIES = {"model": "model", "naive168": "Seasonal naive (168 h)",
                  "naive24": "24 h naive", "eia_df": "EIA DF"}
CALIBRATION_NAMES = {10.0: "p10", 50.0: "p50", 90.0: "p90", 80.0: "p10–p90"}
IMPORTANCE_GROUPS = ("static", "encoder", "decoder")


def model_title(model: str) -> str:
    return MODEL_TITLES.get(model, model.upper())


# --- numbers as text ---------------------------------------------------------------------------

def _number(value: Any) -> float | None:
    """A finite float, or None for None / NaN / Inf / anything not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def metric_label(key: str) -> str:
    """`MAPE (%)`, `RMSE (MW)`, `Training (s)`: the column/tile name of a metric."""
    label, unit = METRICS.get(key, (key, ""))
    unit = unit.rstrip("±1")
    return f"{label} ({unit})" if unit in ("%", "MW", "s") else label


def metric_text(key: str, value: Any, missing: str = NO_DATA) -> str:
    """A metric value as it reads in a cell (its unit is in the label): never None or nan."""
    number = _number(value)
    if number is None:
        return missing
    unit = METRICS.get(key, ("", ""))[1]
    if unit == "count":
        return f"{number:,.0f}"
    if unit == "ratio":
        return f"{number * 100:+.1f} %"
    if unit.endswith("±"):
        return f"{number:+,.1f}" if unit.startswith("MW") else f"{number:+.2f}"
    if unit == "MW":
        return f"{number:,.1f}"
    if unit in ("s", "%1"):
        return f"{number:,.1f}"
    return f"{number:.2f}"


def backtest_metrics(registry: dict[str, Any] | None,
                     keys: tuple[str, ...] = HEADLINE_METRICS) -> dict[str, tuple[str, str]]:
    """Tile label -> (value text, what it means) of the registry's headline backtest metrics
    (the ones it has)."""
    metrics = (registry or {}).get("metrics") or {}
    return {TILE_LABELS.get(k, metric_label(k)): (metric_text(k, metrics.get(k)),
                                                  METRIC_HELP.get(k, metric_label(k)))
            for k in keys if k in metrics}


def comparison_table(meta: dict[str, dict[str, Any]], model_names: tuple[str, ...]
                     ) -> pd.DataFrame:
    """The backtest of every model side by side (one row per model, trained or not)."""
    rows = []
    for model in model_names:
        registry = (meta.get(model) or {}).get("registry")
        row = {"Model": model_title(model)}
        if registry is None:
            row.update({metric_label(k): NOT_TRAINED for k in COMPARISON_METRICS})
            row[metric_label("train_seconds")] = NOT_TRAINED
        else:
            metrics = registry.get("metrics") or {}
            row.update({metric_label(k): metric_text(k, metrics.get(k))
                        for k in COMPARISON_METRICS})
            row[metric_label("train_seconds")] = metric_text("train_seconds",
                                                            registry.get("train_seconds"))
        rows.append(row)
    return pd.DataFrame(rows)


# --- live scorecard ----------------------------------------------------------------------------

def next_score_text(card: dict[str, Any] | None, tz: ZoneInfo) -> str:
    """When the first (or next) day-ahead score appears, in the city's local time."""
    when = (card or {}).get("next_score_at")
    if isinstance(when, str):
        when = pd.Timestamp(when).to_pydatetime()
    if isinstance(when, datetime):
        return f"first score after {local_time(when, tz)}"
    return NOT_SCORED


def scorecard_table(meta: dict[str, dict[str, Any]], tz: ZoneInfo) -> pd.DataFrame:
    """Rolling 7-day day-ahead accuracy per model that has a scorecard (EIA DF, naive beside).

    A metric that has no score yet says when the first one will appear.
    """
    rows = []
    for model, docs in meta.items():
        card = docs.get("scorecard")
        if not card:
            continue
        pending = card.get("pending") or []
        waiting = next_score_text(card, tz)
        row = {"Model": model_title(model),
               metric_label("issuances"): metric_text("issuances", card.get("issuances"),
                                                      missing="0")}
        row.update({metric_label(k): metric_text(k, card.get(k), missing=waiting)
                    for k in SCORECARD_METRICS})
        row["Pending issuances"] = f"{len(pending):,}"
        row["Next score"] = (local_time(_as_datetime(card.get("next_score_at")), tz)
                             if card.get("next_score_at") else "nothing pending")
        row["Updated"] = local_time(_as_datetime(card.get("updated_at")), tz)
        rows.append(row)
    return pd.DataFrame(rows)


def live_scored_frame(card: dict[str, Any] | None, tz: ZoneInfo) -> pd.DataFrame:
    """The scorecard's scored day-ahead issuances: [day, mape, eia_df_mape], `day` the local
    date each forecast (target_day; else its target_start, else the day after issued_at)."""
    columns = ["day", "mape", "eia_df_mape"]
    rows = []
    for item in (card or {}).get("scored") or []:
        day = target_day(item, tz)
        if day is not None:
            rows.append({"day": day, "mape": _number(item.get("mape")),
                         "eia_df_mape": _number(item.get("eia_df_mape"))})
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    return frame.sort_values("day").reset_index(drop=True)


def target_day(item: dict[str, Any], tz: ZoneInfo) -> pd.Timestamp | None:
    """The local day a day-ahead issuance forecast, as a naive midnight."""
    if item.get("target_day"):
        return pd.Timestamp(item["target_day"]).normalize()
    for key, days in (("target_start", 0), ("issued_at", 1)):
        if item.get(key) is not None:
            local = _local_naive(pd.Timestamp(item[key]), tz)
            return local.normalize() + pd.Timedelta(days=days)
    return None


def same_profile(first: pd.DataFrame, second: pd.DataFrame) -> bool:
    """Two error profiles with the same values (day-ahead targets start at local midnight, so
    horizon step h is hour h of the day and by-horizon equals by-hour)."""
    if first.empty or len(first) != len(second):
        return False
    a, b = first["mape"].to_numpy(dtype=float), second["mape"].to_numpy(dtype=float)
    return bool(((abs(a - b) < 1e-9) | (pd.isna(a) & pd.isna(b))).all())


def _local_naive(ts: pd.Timestamp, tz: ZoneInfo) -> pd.Timestamp:
    """Local wall-clock time for a date axis (plotly ignores offsets); a naive value (a local
    date string such as a scorecard's target_day) is already local."""
    return ts.tz_convert(tz).tz_localize(None) if ts.tzinfo else ts


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return pd.Timestamp(value).to_pydatetime()


# --- forecasts ---------------------------------------------------------------------------------

def forecast_frame(output: dict[str, Any] | None) -> pd.DataFrame:
    """model_outputs document -> [time, p10, p50, p90] (UTC)."""
    columns = ["time", "p10", "p50", "p90"]
    if not output or not output.get("hours"):
        return pd.DataFrame(columns=columns)
    n = len(output["hours"])
    frame = pd.DataFrame({"time": pd.to_datetime(output["hours"], utc=True),
                          **{q: _padded(output.get(q), n) for q in ("p10", "p50", "p90")}})
    for q in ("p10", "p50", "p90"):
        frame[q] = pd.to_numeric(frame[q], errors="coerce").astype("float64")
    return frame[columns]


def _padded(values: list[Any] | None, n: int) -> list[float | None]:
    values = list(values or [])
    return (values + [None] * n)[:n]


def city_forecast(docs: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
    """The city forecast to draw: the day-ahead issuance when there is one, else next 24 h."""
    return docs.get(KIND_DAY_AHEAD) or docs.get(KIND_NEXT_24H)


def forecast_caption(output: dict[str, Any], tz: ZoneInfo) -> str:
    """What a forecast document is: kind, target day, issue time, version, interval."""
    kind = output.get("kind") or KIND_NEXT_24H
    hours = output.get("hours") or []
    if kind == KIND_DAY_AHEAD and hours:
        day = _as_datetime(hours[0]).astimezone(tz).strftime("%a %Y-%m-%d")
        what = f"Day-ahead forecast for {day}"
    else:
        what = f"Next {len(hours) or output.get('horizon_hours', 24)} h"
    parts = [what, f"issued {local_time(_as_datetime(output.get('issued_at')), tz)}",
             f"model version {output.get('model_version', 'unknown')}"]
    if output.get("interval"):
        parts.append(INTERVAL_TEXT.get(output["interval"], f"{output['interval']} p10–p90 band"))
    return " · ".join(str(p) for p in parts)


INTERVAL_TEXT = {  # models.base.interval_kind -> words
    "backtest-residuals": "p10–p90 band from held-out residuals",
    "quantile-median+residuals": "own median, p10–p90 band from held-out residuals",
    "quantile+conformal": "own quantiles, widened on held-out weeks (conformal)",
    "quantile": "own quantiles, not calibrated",
}


def actuals_frame(frame: pd.DataFrame, zone_id: str | None) -> pd.DataFrame:
    """Hourly actual demand and the EIA day-ahead forecast (DF) apportioned like it:
    [time, demand_mw, eia_df_mw] for one zone, or for the city series (zone_id None).

    The city series is the sum of its zone estimates (their shares sum to 1), over the hours
    every zone reports, so a missing zone never shows as a dip.
    """
    columns = ["time", "demand_mw", "eia_df_mw"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    forecast = frame["demand_forecast_mw"] if "demand_forecast_mw" in frame else pd.Series(
        float("nan"), index=frame.index)
    part = frame.assign(eia_df_mw=forecast)
    if zone_id is not None:
        part = part[part["zone_id"] == zone_id]
        out = pd.DataFrame({"time": part["ts"], "demand_mw": part["demand_mw"],
                            "eia_df_mw": part["eia_df_mw"]})
    else:
        n_zones = part["zone_id"].nunique()
        grouped = part.groupby("ts", sort=True)
        out = pd.DataFrame({
            "demand_mw": grouped["demand_mw"].sum(min_count=1).where(
                grouped["demand_mw"].count() == n_zones),
            "eia_df_mw": grouped["eia_df_mw"].sum(min_count=1).where(
                grouped["eia_df_mw"].count() == n_zones)}).reset_index(names="time")
    out = out[out["demand_mw"].notna() | out["eia_df_mw"].notna()]
    return out[columns].sort_values("time").reset_index(drop=True)


def zone_actuals(frame: pd.DataFrame, zone_id: str) -> pd.DataFrame:
    """Hourly actual demand of one zone from the history frame: [time, demand_mw, eia_df_mw]."""
    return actuals_frame(frame, zone_id)


def series_label(city_name: str, parent: str | None, code: str | None) -> str:
    """`New York City · NYIS ZONJ`: the series a city's demand is (its EIA subregion)."""
    if parent and code:
        return f"{city_name} · {parent} {code}"
    return f"{city_name} · city load"


def zone_share(city_doc: dict[str, Any] | None, zone_doc: dict[str, Any] | None
               ) -> float | None:
    """The zone's share of the city series, read off one issuance of both forecasts."""
    if not city_doc or not zone_doc or city_doc.get("issued_at") != zone_doc.get("issued_at"):
        return None
    city = _number((city_doc.get("p50") or [None])[0])
    zone = _number((zone_doc.get("p50") or [None])[0])
    if city is None or zone is None or city <= 0:
        return None
    return zone / city


# --- backtest drill-down -----------------------------------------------------------------------

def _backtest(registry: dict[str, Any] | None) -> dict[str, Any]:
    value = (registry or {}).get("backtest")
    return value if isinstance(value, dict) else {}


def profile_frame(registry: dict[str, Any] | None, which: str, model: str) -> pd.DataFrame:
    """Backtest error profile `by_horizon` or `by_hour`: [step, method, mape], one line per
    method (the model, seasonal naive 168 h, 24 h naive, EIA DF) over steps 0..23."""
    columns = ["step", "method", "mape"]
    profile = _backtest(registry).get(which)
    rows = []
    if isinstance(profile, dict):
        for key, label in PROFILE_SERIES.items():
            values = profile.get(key)
            if not isinstance(values, list):
                continue
            name = model_title(model) if key == "model" else label
            rows += [{"step": step, "method": name, "mape": _number(v)}
                     for step, v in enumerate(values)]
    frame = pd.DataFrame(rows, columns=columns)
    if frame["mape"].notna().any():
        frame["mape"] = frame["mape"].astype("float64")
        return frame
    return pd.DataFrame(columns=columns)


def calibration_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """Nominal vs observed coverage in percent: [label, nominal, observed] for p10, p50, p90
    and the p10–p90 band. From backtest.calibration, else the registry's coverage metrics."""
    columns = ["label", "nominal", "observed"]
    rows = []
    for item in _backtest(registry).get("calibration") or []:
        if not isinstance(item, dict):
            continue
        nominal, observed = _number(item.get("nominal")), _number(item.get("observed"))
        if nominal is None or observed is None:
            continue
        rows.append({"label": item.get("name") or item.get("label") or item.get("quantile"),
                     "nominal": nominal, "observed": observed})
    if rows and all(r["nominal"] <= 1 and r["observed"] <= 1 for r in rows):
        for r in rows:  # stored as fractions: show percent like every other coverage
            r["nominal"], r["observed"] = r["nominal"] * 100, r["observed"] * 100
    if not rows:
        metrics = (registry or {}).get("metrics") or {}
        for key, nominal in (("coverage_p10", 10.0), ("coverage_p50", 50.0),
                             ("coverage_p90", 90.0), ("coverage_p10_p90", 80.0)):
            observed = _number(metrics.get(key))
            if observed is not None:
                rows.append({"label": None, "nominal": nominal, "observed": observed})
    for r in rows:
        if not r["label"] or not isinstance(r["label"], str):
            r["label"] = CALIBRATION_NAMES.get(round(r["nominal"], 1), f"{r['nominal']:.0f} %")
    return pd.DataFrame(rows, columns=columns)


def residuals_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """Backtest residuals per target hour: [time, actual, p50, residual] (actual − p50, MW)."""
    columns = ["time", "actual", "p50", "residual"]
    predictions = _backtest(registry).get("predictions")
    if not isinstance(predictions, dict) or not predictions.get("hours"):
        return pd.DataFrame(columns=columns)
    n = len(predictions["hours"])
    frame = pd.DataFrame({"time": pd.to_datetime(predictions["hours"], utc=True),
                          "actual": _padded(predictions.get("actual"), n),
                          "p50": _padded(predictions.get("p50"), n)})
    for column in ("actual", "p50"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["residual"] = frame["actual"] - frame["p50"]
    frame = frame[frame["residual"].notna()]
    return frame[columns].sort_values("time").reset_index(drop=True)


def weekly_frame(registry: dict[str, Any] | None, tz: ZoneInfo) -> pd.DataFrame:
    """Backtest MAPE per held-out week, model vs EIA DF: [week, mape, eia_df_mape] (week
    start as local wall-clock time)."""
    columns = ["week", "mape", "eia_df_mape"]
    rows = [{"week": pd.Timestamp(w["week_start"]),
             "mape": _number(w.get("model_mape")), "eia_df_mape": _number(w.get("eia_df_mape"))}
            for w in _backtest(registry).get("weekly") or []
            if isinstance(w, dict) and w.get("week_start") is not None]
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame["week"] = [_local_naive(w, tz) for w in frame["week"]]
    return frame.sort_values("week").reset_index(drop=True)


# --- TFT and GNN -------------------------------------------------------------------------------

def importances_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """TFT variable importances as [group, variable, importance], largest first per group.

    Training writes {"static": {name: w}, "encoder": {...}, "decoder": {...}}; a flat
    {name: w} map or [{variable|name, importance|value}] list is one group, "all".
    """
    raw = (registry or {}).get("variable_importances") or {}
    items: list[tuple[str, str, Any]] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, dict):
                items += [(str(key), str(k), v) for k, v in value.items()]
            else:
                items.append(("all", str(key), value))
    elif isinstance(raw, list):
        items = [("all", str(r.get("variable") or r.get("name")),
                  r.get("importance", r.get("value"))) for r in raw if isinstance(r, dict)]
    rows = [(g, k, _number(v)) for g, k, v in items if _number(v) is not None]
    frame = pd.DataFrame(rows, columns=["group", "variable", "importance"])
    order = {g: i for i, g in enumerate((*IMPORTANCE_GROUPS, "all"))}
    frame["_order"] = frame["group"].map(lambda g: order.get(g, len(order)))
    frame = frame.sort_values(["_order", "importance"], ascending=[True, False])
    return frame.drop(columns="_order").reset_index(drop=True)


def attention_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """TFT attention as [hour, weight]: `hour` relative to the forecast's first hour (negative:
    the encoder's past). From {"hours": [...], "weights": [...]} or a plain list over the
    horizon (hours 0..n-1)."""
    raw = (registry or {}).get("attention")
    if isinstance(raw, dict):
        weights = list(raw.get("weights") or [])
        hours = list(raw.get("hours") or range(len(weights)))
    elif isinstance(raw, list):
        weights, hours = raw, list(range(len(raw)))
    else:
        weights, hours = [], []
    rows = [{"hour": int(h), "weight": _number(w)}
            for h, w in zip(hours, weights, strict=False)
            if _number(w) is not None and _number(h) is not None]
    return pd.DataFrame(rows, columns=["hour", "weight"])


def edges_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """GNN edges as [source, target, km] from registry graph.edges, which may be a list of
    {source|src, target|dst, km} dicts, a columnar {source: [..], target: [..], km: [..]}
    (FerretDB stores no nested arrays) or [s, t, km] lists; an older top-level `edges` too."""
    registry = registry or {}
    graph = registry.get("graph") if isinstance(registry.get("graph"), dict) else {}
    raw = graph.get("edges") or registry.get("edges") or []
    if isinstance(raw, dict):  # columnar
        sources = raw.get("source") or raw.get("src") or []
        targets = raw.get("target") or raw.get("dst") or []
        kms = list(raw.get("km") or [])
        kms += [None] * (len(sources) - len(kms))
        raw = [{"source": s, "target": t, "km": k}
               for s, t, k in zip(sources, targets, kms, strict=False)]
    rows = []
    for edge in raw:
        if isinstance(edge, dict):
            rows.append((edge.get("source", edge.get("src")), edge.get("target", edge.get("dst")),
                         _number(edge.get("km"))))
        elif isinstance(edge, list | tuple) and len(edge) >= 2:
            rows.append((edge[0], edge[1], _number(edge[2]) if len(edge) > 2 else None))
    rows = [r for r in rows if r[0] is not None and r[1] is not None]
    return pd.DataFrame(rows, columns=["source", "target", "km"])


def graph_nodes(registry: dict[str, Any] | None, own: str | None) -> pd.DataFrame:
    """GNN graph nodes [id, name, lat, lon, own]: the parent BA's subregions; `own` marks the
    city's series (else the node flagged `own`, else the first: the city's series comes
    first)."""
    graph = (registry or {}).get("graph")
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    rows = []
    for node in nodes or []:
        if not isinstance(node, dict) or node.get("id") is None:
            continue
        lat, lon = _number(node.get("lat")), _number(node.get("lon"))
        if lat is None or lon is None:
            continue
        rows.append({"id": str(node["id"]), "name": str(node.get("name") or node["id"]),
                     "lat": lat, "lon": lon, "flag": node.get("own") is True})
    frame = pd.DataFrame(rows, columns=["id", "name", "lat", "lon", "flag"])
    flagged = frame.loc[frame["flag"].astype(bool), "id"].tolist()
    mark = own if own in set(frame["id"]) else (
        flagged[0] if flagged else frame["id"].iloc[0] if len(frame) else None)
    frame = frame.drop(columns="flag")
    frame["own"] = frame["id"] == mark
    return frame


def training_window(registry: dict[str, Any], tz: ZoneInfo) -> str:
    window = registry.get("training_window") or {}
    start = window.get("start") or registry.get("train_start")
    end = window.get("end") or registry.get("train_end")
    if not start or not end:
        return "an unknown window"
    return f"{local_time(_as_datetime(start), tz)} → {local_time(_as_datetime(end), tz)}"
