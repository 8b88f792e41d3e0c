"""Live forecast scorecard: earlier issuances scored against the actuals that arrived since.

One `model_scorecard` document per city and model (`_id` `<city>|<model>`). Precompute notes
each issuance in its `pending` list; `score_city` scores those whose 24 hours all lie in the
past and have actuals, reading the forecasts by exact `_id` (the one lookup FerretDB pushes
down) rather than scanning `model_outputs`. Per scored issuance it keeps running sums, so the
rolling 7-day MAPE, RMSE and p10-p90 coverage, and the same MAPE for seasonal naive (same
hour last week) and the EIA day-ahead forecast on the same hours, are exact and cheap.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from core.catalog import get_city
from core.clock import floor_hour
from core.ids import make_id
from core.storage import replace_one
from core.vocabulary import MODEL_NAMES, C
from models.features import DEMAND, DEMAND_FORECAST, HORIZON, WEEK_HOURS, build_panel
from models.metrics import MIN_ACTUAL, error_sums, finite_or_none
from pipeline.history import load_hourly_frame

WINDOW = timedelta(days=7)
PENDING_TTL = timedelta(days=8)  # model_outputs retention: older forecasts are gone


def scorecard_id(city_id: str, model: str) -> str:
    return make_id(city_id, model)


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _card(db: Any, city_id: str, model: str) -> dict[str, Any]:
    card = db[C.MODEL_SCORECARD].find_one({"_id": scorecard_id(city_id, model)})
    return card or {"_id": scorecard_id(city_id, model), "city_id": city_id, "model": model,
                    "window_days": WINDOW.days, "pending": [], "scored": []}


def note_issuance(db: Any, city_id: str, model: str, version: str, issued_at: datetime) -> None:
    """Remember an issuance so it is scored once its hours have actuals."""
    card = _card(db, city_id, model)
    pending = [p for p in card.get("pending", []) if _utc(p["issued_at"]) != issued_at]
    scored = {_utc(s["issued_at"]) for s in card.get("scored", [])}
    if issued_at not in scored:
        pending.append({"issued_at": issued_at, "model_version": version})
    card["pending"] = sorted(pending, key=lambda p: _utc(p["issued_at"]))
    replace_one(db, C.MODEL_SCORECARD, card)


def score_issuance(actual: np.ndarray, naive: np.ndarray, day_ahead: np.ndarray,
                   p10: np.ndarray, p50: np.ndarray, p90: np.ndarray) -> dict[str, Any]:
    """Pure: running sums of one issuance ([Z, H] arrays) over hours with actual and naive."""
    comparable = np.isfinite(actual) & np.isfinite(naive) & (np.abs(actual) > MIN_ACTUAL)
    actual = np.where(comparable, actual, np.nan)
    points, ape, se = error_sums(actual, p50)
    base_points, base_ape, _ = error_sums(actual, naive)
    eia_points, eia_ape, _ = error_sums(actual, day_ahead)
    inside = np.isfinite(actual) & np.isfinite(p10) & np.isfinite(p90) & (actual >= p10) & (
        actual <= p90)
    return {"points": points, "ape_sum": ape, "se_sum": se, "covered": int(inside.sum()),
            "baseline_points": base_points, "baseline_ape_sum": base_ape,
            "eia_points": eia_points, "eia_ape_sum": eia_ape,
            "mape": finite_or_none(ape / points * 100) if points else None,
            "baseline_mape": finite_or_none(base_ape / base_points * 100) if base_points else None}


def rolling_metrics(scored: list[dict[str, Any]]) -> dict[str, Any]:
    """Pure: totals over the scored issuances -> the card's headline metrics."""
    total = {k: sum(s[k] for s in scored) for k in (
        "points", "ape_sum", "se_sum", "covered", "baseline_points", "baseline_ape_sum",
        "eia_points", "eia_ape_sum")}
    n = total["points"]
    mape = total["ape_sum"] / n * 100 if n else None
    base = total["baseline_ape_sum"] / total["baseline_points"] * 100 \
        if total["baseline_points"] else None
    return {
        "issuances": len(scored), "points": n,
        "mape": finite_or_none(mape),
        "rmse": finite_or_none(math.sqrt(total["se_sum"] / n)) if n else None,
        "coverage_p10_p90": finite_or_none(total["covered"] / n * 100) if n else None,
        "baseline_mape": finite_or_none(base),
        "eia_df_mape": finite_or_none(total["eia_ape_sum"] / total["eia_points"] * 100)
        if total["eia_points"] else None,
        "skill_vs_baseline": finite_or_none(1 - mape / base) if mape is not None and base
        else None,
    }


def _forecast_arrays(db: Any, city_id: str, model: str, zone_ids: list[str],
                     issued_at: datetime) -> tuple[np.ndarray, ...] | None:
    rows = {"p10": [], "p50": [], "p90": []}
    found = False
    for zone_id in zone_ids:
        doc = db[C.MODEL_OUTPUTS].find_one({"_id": make_id(city_id, model, zone_id, issued_at)})
        found |= doc is not None
        for q in rows:
            values = (doc or {}).get(q) or [None] * HORIZON
            rows[q].append([np.nan if v is None else float(v) for v in values[:HORIZON]])
    if not found:
        return None
    return tuple(np.asarray(rows[q], dtype=float) for q in ("p10", "p50", "p90"))


def score_city(db: Any, city: Any, now: datetime) -> dict[str, Any]:
    """Score every pending issuance of every model of a city whose hours now have actuals."""
    city_obj = get_city(city) if isinstance(city, str) else city
    city_id, zone_ids = city_obj.city_id, [z.zone_id for z in city_obj.zones]
    now_hour = floor_hour(now).to_pydatetime()
    cards = {m: _card(db, city_id, m) for m in MODEL_NAMES}
    pending_all = [_utc(p["issued_at"]) for c in cards.values() for p in c.get("pending", [])]
    summary: dict[str, Any] = {"city_id": city_id, "models": {}}
    panel, demand, data_end = None, np.zeros((0, 0)), None
    if pending_all:
        start = min(pending_all) - timedelta(hours=WEEK_HOURS)
        frame = load_hourly_frame(db, city_id, start, now_hour)
        panel = build_panel(frame, zone_ids, start, now_hour, city_obj.timezone)
        demand = panel.values[DEMAND]
        with_data = np.flatnonzero(np.isfinite(demand).any(axis=1))
        data_end = panel.times()[with_data[-1]] if with_data.size else None
    for model, card in cards.items():
        pending, scored_now = [], 0
        scored = [s for s in card.get("scored", []) if _utc(s["issued_at"]) > now_hour - WINDOW]
        for item in card.get("pending", []):
            issued = _utc(item["issued_at"])
            last_hour = issued + timedelta(hours=HORIZON - 1)
            if issued < now_hour - PENDING_TTL:
                continue  # its forecasts have been retained away
            if panel is None or data_end is None or last_hour > data_end.to_pydatetime():
                pending.append(item)
                continue
            arrays = _forecast_arrays(db, city_id, model, zone_ids, issued)
            if arrays is None:
                continue
            origin = panel.index_of(issued)
            hours = origin + np.arange(HORIZON)
            actual = demand[hours].T
            naive = demand[hours - WEEK_HOURS].T
            day_ahead = panel.values[DEMAND_FORECAST][hours].T
            entry = score_issuance(actual, naive, day_ahead, *arrays)
            scored.append({"issued_at": issued, "model_version": item.get("model_version"),
                           **entry})
            scored_now += 1
        scored.sort(key=lambda s: _utc(s["issued_at"]))
        card.update({"pending": pending, "scored": scored, "updated_at": now,
                     "window_days": WINDOW.days, **rolling_metrics(scored)})
        if scored:
            card["model_version"] = scored[-1].get("model_version")
        replace_one(db, C.MODEL_SCORECARD, card)
        summary["models"][model] = {"scored": scored_now, "pending": len(pending),
                                    "mape": card["mape"], "baseline_mape": card["baseline_mape"]}
    return summary
