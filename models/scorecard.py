"""Live forecast scorecard: the day-ahead issuances scored against the actuals that arrived.

One `model_scorecard` document per city and model (`_id` `<city>|<model>`). Precompute notes
each day-ahead issuance (10:00 local, for the next local day) in its `pending` list;
`score_city` scores those whose 24 target hours have all passed and have actuals, reading
the forecast by exact `_id` (the one lookup FerretDB pushes down). Each is scored with the
backtest's measures (models/backtest.score_day_ahead) on the same hours as the seasonal
naive, the 24 h naive and EIA's DF; per issuance the card keeps running sums, so the rolling
7-day figures are exact and cheap. `next_score_at` says when the next score can appear.
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
from core.subregions import series_ids
from core.vocabulary import MODEL_NAMES, C
from models.backtest import score_day_ahead
from models.baselines import eia_day_ahead, naive_24h, seasonal_naive, values_at
from models.features import DEMAND, HORIZON, WEEK_HOURS, build_panel, model_frame
from models.metrics import MIN_ACTUAL, finite_or_none
from pipeline.history import load_grid_frame

WINDOW = timedelta(days=7)
PENDING_TTL = timedelta(days=8)  # model_outputs retention: older forecasts are gone
DATA_LAG = timedelta(hours=2)  # EIA publishes an hour's demand about an hour or two later
SUMS = ("points", "ape_sum", "se_sum", "covered", "bias_sum", "pinball_sum",
        "baseline_ape_sum", "naive24_ape_sum", "eia_points", "eia_ape_sum", "same_ape_sum")


def scorecard_id(city_id: str, model: str) -> str:
    return make_id(city_id, model)


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _card(db: Any, city_id: str, model: str) -> dict[str, Any]:
    card = db[C.MODEL_SCORECARD].find_one({"_id": scorecard_id(city_id, model)})
    return card or {"_id": scorecard_id(city_id, model), "city_id": city_id, "model": model,
                    "window_days": WINDOW.days, "pending": [], "scored": [],
                    **rolling_metrics([])}


def score_after(item: dict[str, Any]) -> datetime:
    """When a pending issuance can be scored: its last target hour has passed, plus EIA's lag."""
    return _utc(item["target_start"]) + timedelta(hours=HORIZON) + DATA_LAG


def note_issuance(db: Any, city_id: str, model: str, version: str, issued_at: datetime,
                  target_start: datetime) -> None:
    """Remember a day-ahead issuance so it is scored once its hours have actuals."""
    card = _card(db, city_id, model)
    pending = [p for p in card.get("pending", []) if _utc(p["issued_at"]) != issued_at]
    scored = {_utc(s["issued_at"]) for s in card.get("scored", [])}
    if issued_at not in scored:
        pending.append({"issued_at": issued_at, "target_start": target_start,
                        "model_version": version})
    card["pending"] = sorted(pending, key=lambda p: _utc(p["issued_at"]))
    card["next_score_at"] = min((score_after(p) for p in card["pending"]), default=None)
    replace_one(db, C.MODEL_SCORECARD, card)


def issuance_sums(actual: np.ndarray, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray,
                  naive168: np.ndarray, naive24: np.ndarray, eia_df: np.ndarray
                  ) -> dict[str, Any]:
    """Pure: one issuance's [H] arrays -> its metrics and the running sums for the window."""
    ok = (np.isfinite(actual) & np.isfinite(naive168) & np.isfinite(naive24)
          & np.isfinite(p50) & (np.abs(actual) > MIN_ACTUAL))
    a = actual[ok]
    err = p50[ok] - a
    q = {0.1: p10[ok], 0.5: p50[ok], 0.9: p90[ok]}
    pin = sum(np.sum(np.maximum(lv * (a - f), (lv - 1) * (a - f))) for lv, f in q.items()) / 3
    on_df = ok & np.isfinite(eia_df)
    sums = {"points": int(ok.sum()), "ape_sum": float(np.sum(np.abs(err) / a)),
            "se_sum": float(np.sum(err ** 2)),
            "covered": int(np.sum((a >= p10[ok]) & (a <= p90[ok]))),
            "bias_sum": float(np.sum(err)), "pinball_sum": float(pin),
            "baseline_ape_sum": float(np.sum(np.abs(naive168[ok] - a) / a)),
            "naive24_ape_sum": float(np.sum(np.abs(naive24[ok] - a) / a)),
            "eia_points": int(on_df.sum()),
            "eia_ape_sum": float(np.sum(np.abs(eia_df[on_df] - actual[on_df])
                                        / actual[on_df])),
            "same_ape_sum": float(np.sum(np.abs(p50[on_df] - actual[on_df]) / actual[on_df]))}
    metrics = score_day_ahead(actual[None], p10[None], p50[None], p90[None], naive168[None],
                              naive24[None], eia_df[None])
    keep = ("mape", "baseline_mape", "naive24_mape", "eia_df_mape", "mape_same_points",
            "coverage_p10_p90")
    return {**sums, **{k: metrics[k] for k in keep}}


def rolling_metrics(scored: list[dict[str, Any]]) -> dict[str, Any]:
    """Pure: totals over the scored issuances -> the card's headline metrics (None: none)."""
    total = {k: sum(s.get(k, 0) for s in scored) for k in SUMS}
    n, m = total["points"], total["eia_points"]

    def pct(value: float, count: int) -> float | None:
        return finite_or_none(value / count * 100) if count else None

    mape, base = pct(total["ape_sum"], n), pct(total["baseline_ape_sum"], n)
    return {
        "issuances": len(scored), "points": n,
        "mape": mape,
        "rmse": finite_or_none(math.sqrt(total["se_sum"] / n)) if n else None,
        "coverage_p10_p90": pct(total["covered"], n),
        "bias_mw": finite_or_none(total["bias_sum"] / n, 2) if n else None,
        "pinball_mw": finite_or_none(total["pinball_sum"] / n, 2) if n else None,
        "baseline_mape": base,
        "naive24_mape": pct(total["naive24_ape_sum"], n),
        "eia_df_mape": pct(total["eia_ape_sum"], m),
        "mape_same_points": pct(total["same_ape_sum"], m),
        "skill_vs_baseline": finite_or_none(1 - mape / base) if mape is not None and base
        else None,
    }


def _forecast(db: Any, city_id: str, model: str, issued_at: datetime
              ) -> tuple[np.ndarray, ...] | None:
    from models.precompute import day_ahead_id  # precompute imports this module

    doc = db[C.MODEL_OUTPUTS].find_one({"_id": day_ahead_id(city_id, model, issued_at)})
    if doc is None:
        return None
    return tuple(np.asarray([np.nan if v is None else float(v)
                             for v in (doc.get(q) or [None] * HORIZON)[:HORIZON]], dtype=float)
                 for q in ("p10", "p50", "p90"))


def score_city(db: Any, city: Any, now: datetime) -> dict[str, Any]:
    """Score every pending day-ahead issuance of every model whose hours now have actuals."""
    city_obj = get_city(city) if isinstance(city, str) else city
    city_id = city_obj.city_id
    now_hour = floor_hour(now).to_pydatetime()
    cards = {m: _card(db, city_id, m) for m in MODEL_NAMES}
    due = [p for c in cards.values() for p in c.get("pending", []) if score_after(p) <= now]
    summary: dict[str, Any] = {"city_id": city_id, "models": {}}
    panel = None
    if due:
        start = min(_utc(p["issued_at"]) for p in due) - timedelta(hours=WEEK_HOURS)
        grid = load_grid_frame(db, city_id, start, now_hour)
        if not grid.empty:
            panel = build_panel(model_frame(grid, None), series_ids(city_obj)[:1], start,
                                now_hour, city_obj.timezone)
    for model, card in cards.items():
        pending, scored_now = [], 0
        scored = [s for s in card.get("scored", []) if _utc(s["issued_at"]) > now_hour - WINDOW]
        for item in card.get("pending", []):
            issued = _utc(item["issued_at"])
            if issued < now_hour - PENDING_TTL:
                continue  # its forecast has been retained away
            entry = _score_one(db, city_id, model, item, panel) if score_after(item) <= now \
                else None
            if entry is None:
                pending.append(item)
                continue
            scored.append(entry)
            scored_now += 1
        scored.sort(key=lambda s: _utc(s["issued_at"]))
        card.update({"pending": pending, "scored": scored, "updated_at": now,
                     "window_days": WINDOW.days, **rolling_metrics(scored),
                     "next_score_at": min((score_after(p) for p in pending), default=None)})
        if scored:
            card["model_version"] = scored[-1].get("model_version")
        replace_one(db, C.MODEL_SCORECARD, card)
        summary["models"][model] = {"scored": scored_now, "pending": len(pending),
                                    "mape": card["mape"], "eia_df_mape": card["eia_df_mape"]}
    return summary


def _score_one(db: Any, city_id: str, model: str, item: dict[str, Any], panel: Any
               ) -> dict[str, Any] | None:
    """The scored entry of one due issuance, or None while its actuals are incomplete."""
    if panel is None:
        return None
    issued, target = _utc(item["issued_at"]), _utc(item["target_start"])
    origin = panel.index_of(target)
    if origin < WEEK_HOURS or origin + HORIZON > panel.n_hours:
        return None
    demand = panel.values[DEMAND]
    origins = np.asarray([origin])
    gap = int((target - issued).total_seconds() // 3600)
    actual = values_at(demand, origins)[0, 0]
    if not np.isfinite(actual).all():
        return None  # EIA has not published every hour yet
    arrays = _forecast(db, city_id, model, issued)
    if arrays is None:
        return None
    entry = issuance_sums(actual, *arrays, seasonal_naive(demand, origins)[0, 0],
                          naive_24h(demand, origins, gap)[0, 0],
                          eia_day_ahead(panel.ba_forecast, demand, panel.ba_demand, origins,
                                        gap)[0, 0])
    return {"issued_at": issued, "target_start": target,
            "model_version": item.get("model_version"), **entry}
