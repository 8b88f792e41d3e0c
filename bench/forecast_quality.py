"""Forecast quality bar (issue 12): day-ahead accuracy of every model on the simulator's
held-out weeks for NYC, against seasonal naive, a 24 h naive and EIA's own DF on the same
hours, plus the training time per model and the precompute time for 4 models x all zones.

The history is the real backfill (simulated sources -> raw, city_day with its grid series,
weather_forecasts as issued) into a private database; the models train with their default
parameters through `models.train.train_city`, the same call `make train` makes. The bar:
- every model's day-ahead MAPE at least 30 % below seasonal naive's;
- every model's p10-p90 coverage within 75-85 %;
- the best model's MAPE at or below EIA DF's on the same hours.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import MISS, OK, Figure, bench_settings, private_db
from bench.model_setup import backfill
from core.catalog import get_city
from core.vocabulary import MODEL_NAMES

NAME = "forecast_quality"
CITY = "nyc"
HISTORY_DAYS = 372  # a year of training window plus the week its first windows look back on
TRAIN_DAYS = 365
SKILL_BAR = 0.30
COVERAGE_BAR = (75.0, 85.0)


def quality_verdicts(metrics: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """Pure: the three criteria of the bar from each model's registry metrics."""
    skill = all(m["mape"] is not None and m["baseline_mape"]
                and m["mape"] <= (1 - SKILL_BAR) * m["baseline_mape"] for m in metrics.values())
    cover = all(m["coverage_p10_p90"] is not None
                and COVERAGE_BAR[0] <= m["coverage_p10_p90"] <= COVERAGE_BAR[1]
                for m in metrics.values())
    best = min(metrics.values(), key=lambda m: m["mape_same_points"] or float("inf"))
    beats_df = (best["mape_same_points"] is not None and best["eia_df_mape"] is not None
                and best["mape_same_points"] <= best["eia_df_mape"])
    return {"skill": bool(skill), "coverage": bool(cover), "best_vs_eia_df": bool(beats_df)}


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    from models.precompute import clear_cache, precompute_city
    from models.train import train_city

    city = get_city(CITY)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as artifacts:
        settings = bench_settings(env, "quality", citylive_artifacts_dir=artifacts)
        with private_db(settings) as db:
            t0 = time.perf_counter()
            backfill(settings, db, city, now, HISTORY_DAYS)
            figures.append(Figure(f"backfill {HISTORY_DAYS} days of {CITY}",
                                  time.perf_counter() - t0, "s"))
            docs = {}
            for model in MODEL_NAMES:
                params = {model: {"epochs": 1}} if quick else None
                doc = train_city(db, settings, CITY, [model], TRAIN_DAYS, now=now,
                                 show_progress=False, params=params)[0]
                docs[model] = doc
                m = doc["metrics"]
                figures.append(Figure(
                    f"{model}: day-ahead MAPE", m["mape"], "%",
                    note=(f"seasonal naive {m['baseline_mape']}%, 24 h naive "
                          f"{m['naive24_mape']}%; on EIA DF hours {m['mape_same_points']}% vs "
                          f"EIA DF {m['eia_df_mape']}%; p10-p90 coverage "
                          f"{m['coverage_p10_p90']}%; RMSE {m['rmse']} MW; bias "
                          f"{m['bias_mw']} MW; pinball {m['pinball_mw']} MW; "
                          f"{m['n_issuances']} issuances"),
                    extra={"metrics": m}))
                figures.append(Figure(f"{model}: training time", doc["train_seconds"], "s"))
            clear_cache()
            runs = []
            for _ in range(1 if quick else 3):
                t0 = time.perf_counter()
                summary = precompute_city(db, settings, city, now)
                runs.append(time.perf_counter() - t0)
            figures.append(Figure(
                f"precompute, {len(MODEL_NAMES)} models x {len(city.zones)} zones (first run "
                "loads the artifacts)", runs[0], "s", runs=runs,
                note=f"warm median {sorted(runs)[len(runs) // 2]:.3f} s; ok={summary['ok']}"))
    verdicts = quality_verdicts({m: d["metrics"] for m, d in docs.items()})
    labels = {"skill": "every model >= 30 % below seasonal naive MAPE",
              "coverage": "every model's p10-p90 coverage within 75-85 %",
              "best_vs_eia_df": "best model's MAPE <= EIA DF's on the same hours"}
    for key, ok in verdicts.items():
        figures.append(Figure(labels[key], 1.0 if ok else 0.0, "", budget="1",
                              verdict=OK if ok else MISS))
    return figures


if __name__ == "__main__":
    import os

    for figure in run(dict(os.environ)):
        print(f"{figure.verdict:5} {figure.figure}: {figure.value} {figure.unit} {figure.note}")
