"""Pure builders for the Models page from model_outputs / model_registry / model_scorecard."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from ui.formatting import local_time

MODEL_TITLES = {"lstm": "LSTM", "tft": "TFT", "gnn": "GNN"}
METRIC_NAMES = {"mape": "MAPE (%)", "rmse": "RMSE (MW)", "coverage_p10_p90": "p10–p90 coverage",
                "baseline_mape": "Naive MAPE (%)", "eia_df_mape": "EIA DF MAPE (%)"}


def forecast_frame(output: dict[str, Any] | None) -> pd.DataFrame:
    """model_outputs document -> [time, p10, p50, p90] (UTC)."""
    columns = ["time", "p10", "p50", "p90"]
    if not output or not output.get("hours"):
        return pd.DataFrame(columns=columns)
    n = len(output["hours"])
    frame = pd.DataFrame({"time": pd.to_datetime(output["hours"], utc=True),
                          **{q: _padded(output.get(q), n) for q in ("p10", "p50", "p90")}})
    return frame[columns]


def _padded(values: list[Any] | None, n: int) -> list[float | None]:
    values = list(values or [])
    return (values + [None] * n)[:n]


def zone_actuals(frame: pd.DataFrame, zone_id: str) -> pd.DataFrame:
    """Hourly actual demand of one zone from the history frame: [time, demand_mw]."""
    if frame.empty:
        return pd.DataFrame(columns=["time", "demand_mw"])
    part = frame[(frame["zone_id"] == zone_id) & frame["demand_mw"].notna()]
    return pd.DataFrame({"time": part["ts"], "demand_mw": part["demand_mw"]}).reset_index(
        drop=True)


def scorecard_table(meta: dict[str, dict[str, Any]], tz: ZoneInfo) -> pd.DataFrame:
    """Rolling 7-day accuracy per model next to the seasonal-naive and EIA day-ahead MAPE."""
    rows = []
    for model, docs in meta.items():
        card = docs.get("scorecard")
        if not card:
            continue
        rows.append({"Model": MODEL_TITLES.get(model, model),
                     "MAPE (%)": card.get("mape"),
                     "p10–p90 coverage": card.get("coverage_p10_p90"),
                     "Seasonal-naive MAPE (%)": card.get("baseline_mape"),
                     "EIA day-ahead MAPE (%)": card.get("eia_df_mape"),
                     "Forecasts scored": card.get("n"),
                     "Updated": local_time(card.get("updated_at"), tz)})
    return pd.DataFrame(rows)


def backtest_metrics(registry: dict[str, Any] | None) -> dict[str, float | None]:
    """Display name -> value of the registry's backtest metrics (known ones first)."""
    metrics = dict((registry or {}).get("metrics") or {})
    shown = {METRIC_NAMES[k]: metrics.pop(k) for k in list(METRIC_NAMES) if k in metrics}
    shown.update({k: v for k, v in metrics.items() if isinstance(v, int | float)})
    return shown


def training_window(registry: dict[str, Any], tz: ZoneInfo) -> str:
    window = registry.get("training_window") or {}
    start = window.get("start") or registry.get("train_start")
    end = window.get("end") or registry.get("train_end")
    if not start or not end:
        return "unknown"
    return f"{local_time(start, tz)} → {local_time(end, tz)}"


def importances_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """TFT variable importances as [variable, importance], largest first.

    Accepts {name: value} or [{variable|name, importance|value}] shapes.
    """
    raw = (registry or {}).get("variable_importances") or {}
    if isinstance(raw, dict):
        items = [(str(k), v) for k, v in raw.items()]
    else:
        items = [(str(r.get("variable") or r.get("name")), r.get("importance", r.get("value")))
                 for r in raw if isinstance(r, dict)]
    items = [(k, float(v)) for k, v in items if isinstance(v, int | float)]
    frame = pd.DataFrame(items, columns=["variable", "importance"])
    return frame.sort_values("importance", ascending=False).reset_index(drop=True)


def edges_frame(registry: dict[str, Any] | None) -> pd.DataFrame:
    """GNN edges as [source, target, km] from {source, target, km} dicts or [s, t, km] lists."""
    rows = []
    for edge in (registry or {}).get("edges") or []:
        if isinstance(edge, dict):
            rows.append((edge.get("source"), edge.get("target"), edge.get("km")))
        elif isinstance(edge, list | tuple) and len(edge) >= 2:
            rows.append((edge[0], edge[1], edge[2] if len(edge) > 2 else None))
    return pd.DataFrame(rows, columns=["source", "target", "km"])
