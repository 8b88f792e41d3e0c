"""Model page and precompute: reading model_outputs vs the seed's load-then-predict per request,
and the precompute job's time and artifact loads per process.

- Precompute (models.precompute.precompute_city): 3 models x all zones x 24 h, the first run
  of a process (loads each artifact) and later runs (artifacts cached); artifact loads are
  counted over all runs: the budget is one per model per process.
- Model page, City Live: the documents the page shows, read by exact `_id` from model_outputs
  (`<city>|<model>|<zone>|latest`): one model for every zone, and 3 models for one zone.
- Model page, the seed's design: per request, read the features, load the artifact from disk
  and predict (in a warm process: the ML frameworks are already imported, which favours it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo.database import Database

from bench.common import OK, Figure, at_most, median, timed
from bench.model_setup import ModelCity, model_city

NAME = "model_inference"
PRECOMPUTE_BUDGET_S = 15.0
PAGE_BUDGET_S = 0.3


def counted_loads() -> tuple[list[str], Any]:
    """Wrap the artifact loader the precompute job uses; returns (calls, restore)."""
    from models import precompute

    calls: list[str] = []
    original = precompute.load

    def load(directory, expected_checksum=None):
        calls.append(str(directory))
        return original(directory, expected_checksum)

    precompute.load = load
    return calls, lambda: setattr(precompute, "load", original)


def seed_request(mc: ModelCity, model: str) -> int:
    """The seed's model page request: features, load the artifact, predict. Returns zones."""
    from models.precompute import forecast_zones
    from models.registry import artifact_dir, latest_version_dir, load, registered
    from pipeline.history import load_hourly_frame

    city_id = mc.city.city_id
    frame = load_hourly_frame(mc.db, city_id, mc.now - timedelta(days=8), mc.now)
    doc = registered(mc.db, city_id, model)
    root = mc.settings.citylive_artifacts_dir
    directory = (artifact_dir(root, city_id, model, doc["version"]) if doc
                 else latest_version_dir(root, city_id, model))
    forecaster = load(directory, doc.get("checksum") if doc else None)
    zones, _pred, _skipped = forecast_zones(forecaster, frame, mc.now)
    return len(zones)


def page_reads(db: Database, city_id: str, zone_ids: list[str], models: tuple[str, ...]) -> int:
    """What the page reads: the `latest` forecast documents by exact _id."""
    found = 0
    for model in models:
        for zone_id in zone_ids:
            found += db["model_outputs"].find_one({"_id": f"{city_id}|{model}|{zone_id}|latest"},
                                                  {"p10": 1, "p50": 1, "p90": 1, "hours": 1,
                                                   "model_version": 1}) is not None
    return found


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    from core.vocabulary import MODEL_NAMES
    from models import precompute

    runs = 2 if quick else 5
    figures: list[Figure] = []
    with model_city(env) as mc:
        calls, restore = counted_loads()
        try:
            precompute.clear_cache()
            first_s, summary = timed(lambda: precompute.precompute_city(mc.db, mc.settings,
                                                                        mc.city, mc.now))
            later = [timed(lambda: precompute.precompute_city(mc.db, mc.settings, mc.city,
                                                              mc.now))[0] for _ in range(runs)]
        finally:
            restore()
        statuses = {m: r["status"] for m, r in summary["models"].items()}
        zones = max((r.get("zones", 0) for r in summary["models"].values()), default=0)
        all_ok = all(s == "ok" for s in statuses.values())
        per_model = {m: r.get("seconds") for m, r in summary["models"].items()}
        figures += [
            Figure(f"precompute 3 models x {zones} zones x 24 h, first run (loads artifacts)",
                   first_s if all_ok else None, "s", budget="<= 15 s",
                   verdict=at_most(first_s, PRECOMPUTE_BUDGET_S) if all_ok else "MISS",
                   note=f"{mc.artifacts}; per model {per_model}; status {statuses}"),
            Figure("precompute, later runs (artifacts cached)", median(later), "s",
                   budget="<= 15 s", verdict=at_most(median(later), PRECOMPUTE_BUDGET_S),
                   runs=later),
            Figure(f"artifact loads per process over {runs + 1} precompute runs", len(calls),
                   "loads", budget="1 per model (3)",
                   verdict=OK if len(calls) == len(MODEL_NAMES) else "MISS"),
        ]

        zone_ids = [z.zone_id for z in mc.city.zones]
        city_id = mc.city.city_id
        one_model = [timed(lambda: page_reads(mc.db, city_id, zone_ids, ("lstm",)))
                     for _ in range(runs)]
        one_zone = [timed(lambda: page_reads(mc.db, city_id, zone_ids[:1], MODEL_NAMES))
                    for _ in range(runs)]
        read_all = median([t for t, _n in one_model])
        read_zone = median([t for t, _n in one_zone])
        found = one_model[0][1]
        seed = {m: [timed(lambda m=m: seed_request(mc, m))[0] for _ in range(max(2, runs - 2))]
                for m in MODEL_NAMES}
        seed_lstm = median(seed["lstm"])
        figures += [
            Figure(f"model page, City Live: read model_outputs by _id (1 model x {len(zone_ids)}"
                   " zones)", read_all, "s", budget="<= 0.3 s", runs=[t for t, _ in one_model],
                   verdict=at_most(read_all, PAGE_BUDGET_S) if found == len(zone_ids) else "MISS",
                   note=f"{found}/{len(zone_ids)} documents found"),
            Figure("model page, City Live: read model_outputs by _id (3 models x 1 zone)",
                   read_zone, "s", budget="<= 0.3 s", verdict=at_most(read_zone, PAGE_BUDGET_S),
                   runs=[t for t, _ in one_zone]),
            Figure("model page, seed design: load artifact + predict per request (lstm)",
                   seed_lstm, "s", runs=seed["lstm"],
                   note="warm process; tft "
                        f"{median(seed['tft']):.2f} s, gnn {median(seed['gnn']):.2f} s"),
            Figure("model page ratio seed / City Live (lstm, all zones)",
                   seed_lstm / read_all if read_all else None, "x"),
        ]
    return figures


