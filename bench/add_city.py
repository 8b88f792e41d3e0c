"""Time from "Add" (a city typed by name) to its first data on City Live (budgets: 10 s
simulated, 15 s live against stand-ins answering in 0.3-2 s per request).

A real sidecar (`python -m pipeline.scheduler`) runs with a private database. Each city is
added the way the sidebar does it (ui.add_city): a `city_searches` document with the name,
answered by the sidecar with candidates, then the analyst's choice. The clock starts at the
choice ("Add") and stops when the city's first zone_latest document is readable, the thing
the City Live page polls for; the time from "Find" (the name typed) is reported beside it.
The next city is added once the previous one is active (the sidecar activates one at a time).

Live: CITYLIVE_SOURCE=live with Open-Meteo (weather, air quality, geocoding) served by
bench/standin.py; the cities are outside the US and no TomTom key is set, so power, traffic
and 311 stay simulated, as they would for these places. Offline training is kept out with
placeholder model_registry documents (bench/city_pick.py does the same).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo.database import Database

from bench.city_pick import status, wait_for
from bench.common import Figure, at_most, bench_settings, median, private_db
from core.vocabulary import MODEL_NAMES, C

NAME = "add_city"
BUDGET_S = {"simulated": 10.0, "live": 15.0}
NAMES = ("Lagos", "Reykjavik", "Auckland")
EXPECTED_IDS = ("lagos-ng", "reykjavik-is", "auckland-nz")
BACKFILL_DAYS = 1
ROOT = Path(__file__).resolve().parent.parent


def add_like_the_ui(db: Database, name: str, timeout_s: float = 60) -> dict[str, Any]:
    """Find + Add as the sidebar does; returns the timings and the city id."""
    search_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    t_find = time.perf_counter()
    db[C.CITY_SEARCHES].insert_one({"_id": search_id, "query": name, "status": "pending",
                                    "requested_at": now, "updated_at": now})
    found = wait_for(lambda: (db[C.CITY_SEARCHES].find_one({"_id": search_id}) or {})
                     .get("status") in ("found", "error"), timeout_s)
    doc = db[C.CITY_SEARCHES].find_one({"_id": search_id}) or {}
    if found is None or doc.get("status") != "found":
        raise RuntimeError(f"search for {name!r} got {doc.get('status')}: {doc.get('error')}")
    t_add = time.perf_counter()
    db[C.CITY_SEARCHES].update_one({"_id": search_id},
                                   {"$set": {"status": "chosen", "choice": 0}})
    added = wait_for(lambda: (db[C.CITY_SEARCHES].find_one({"_id": search_id}) or {})
                     .get("status") in ("added", "error"), timeout_s)
    doc = db[C.CITY_SEARCHES].find_one({"_id": search_id}) or {}
    if added is None or doc.get("status") != "added":
        raise RuntimeError(f"adding {name!r} got {doc.get('status')}: {doc.get('error')}")
    city_id = doc["city_id"]
    first = wait_for(lambda: db[C.ZONE_LATEST].find_one({"city_id": city_id}) is not None,
                     120)
    end = time.perf_counter()
    return {"name": name, "city_id": city_id, "find_s": found,
            "add_to_first_data_s": None if first is None else end - t_add,
            "find_to_first_data_s": None if first is None else end - t_find,
            "zones": db[C.ZONES].count_documents({"city_id": city_id})}


def measure(env: dict[str, str], mode: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    from bench.standin import StandIn

    settings = bench_settings(env, f"add{mode[:4]}")
    artifacts = tempfile.mkdtemp(prefix="citylive-bench-artifacts-")
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack, private_db(settings) as db:
        proc_env = {**os.environ, **{k: v for k, v in env.items() if k != "BENCH_PRIVATE"},
                    "MONGO_DB": settings.mongo_db,
                    "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
                    "KAFKA_TOPIC_PREFIX": f"{settings.kafka_consumer_group}.",
                    "CITYLIVE_SOURCE": mode, "CITYLIVE_CITIES": "",
                    "CITYLIVE_BACKFILL_DAYS": str(BACKFILL_DAYS),
                    "CITYLIVE_ARTIFACTS_DIR": artifacts, "PYTHONUNBUFFERED": "1"}
        if mode == "live":
            standin = stack.enter_context(StandIn(latency_s=(0.3, 2.0), seed=7))
            proc_env.update(OPEN_METEO_URL=standin.url, OPEN_METEO_AQ_URL=standin.url,
                            OPEN_METEO_GEOCODING_URL=standin.url)
            for key in ("TOMTOM_API_KEY", "EIA_API_KEY"):  # TomTom unused; no EIA outside US
                proc_env.pop(key, None)
        db[C.MODEL_REGISTRY].insert_many([{"_id": f"{c}|{m}", "city_id": c, "model": m,
                                           "version": "bench-placeholder"}
                                          for c in EXPECTED_IDS for m in MODEL_NAMES])
        log_path = Path(artifacts) / "sidecar.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "pipeline.scheduler"], cwd=ROOT,
                                    env=proc_env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            for name in names:
                row = add_like_the_ui(db, name)
                row["active_s"] = wait_for(lambda c=row["city_id"]: status(db, c) == "active",
                                           600, 0.5)
                runs = list(db[C.PIPELINE_RUNS].find({"job": "ingest", "city_id": row["city_id"]}))
                row["providers"] = sorted({r.get("provider") for r in runs} - {None})
                rows.append(row)
        except Exception as exc:
            raise RuntimeError(f"{exc}; sidecar log: "
                               f"{log_path.read_text(errors='replace')[-1500:]}") from exc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            shutil.rmtree(artifacts, ignore_errors=True)
    return rows


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    names = NAMES[:1] if quick else NAMES
    figures = []
    for mode in ("simulated", "live"):
        rows = measure(env, mode, names)
        values = [r["add_to_first_data_s"] for r in rows if r["add_to_first_data_s"] is not None]
        value = median(values) if len(values) == len(rows) else None
        note = "; ".join(f"{r['city_id']} ({r['zones']} zones): add {_s(r['add_to_first_data_s'])}"
                         f", find {_s(r['find_s'])}, providers {','.join(r['providers'])}"
                         for r in rows)
        figures.append(Figure(f"add a city -> first data ({mode}, sidecar)", value, "s",
                              budget=f"<= {BUDGET_S[mode]:.0f} s",
                              verdict=at_most(value, BUDGET_S[mode]), runs=values, note=note,
                              extra={"rows": rows}))
    return figures
