"""Time from picking a new city to its first zone data on City Live (budget 10 s).

A real sidecar (`python -m pipeline.scheduler`, simulated sources) runs for another city with
a private database. The pick is what the UI writes (ui.city_request.ensure_city_request); the
clock stops when the first zone_latest documents of the picked city are readable, the thing
the City Live page polls for. Also reported: all zones present, and the city marked active
(after its backfill). The next city is picked only once the previous one is active, since the
sidecar activates one city at a time.

Offline training, which the sidecar starts once per new city, is kept out of the measurement
with placeholder model_registry documents (it is a one-off, CPU-heavy job on a 2-core box).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo.database import Database

from bench.common import Figure, at_most, bench_settings, median, private_db
from core.catalog import get_city
from core.vocabulary import C

NAME = "city_pick"
BUDGET_S = 10.0
FIRST_CITY = "sf"
PICKS = ("boston", "chicago", "nyc")
BACKFILL_DAYS = 3
ROOT = Path(__file__).resolve().parent.parent


def placeholder_registry(db: Database, city_ids: list[str]) -> None:
    """Registry documents that stop the sidecar from launching offline training."""
    from core.vocabulary import MODEL_NAMES

    docs = [{"_id": f"{c}|{m}", "city_id": c, "model": m, "version": "bench-placeholder"}
            for c in city_ids for m in MODEL_NAMES]
    db[C.MODEL_REGISTRY].insert_many(docs)


def wait_for(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.05
             ) -> float | None:
    """Seconds until check() held, or None on timeout."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        if check():
            return time.perf_counter() - t0
        time.sleep(interval_s)
    return None


def status(db: Database, city_id: str) -> str | None:
    doc = db[C.CITY_REQUESTS].find_one({"_id": city_id})
    return doc.get("status") if doc else None


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    from ui.city_request import ensure_city_request

    picks = PICKS[:1] if quick else PICKS
    settings = bench_settings(env, "pick")
    artifacts = tempfile.mkdtemp(prefix="citylive-bench-artifacts-")
    proc_env = {**os.environ, **{k: v for k, v in env.items() if k != "BENCH_PRIVATE"},
                "MONGO_DB": settings.mongo_db, "KAFKA_CONSUMER_GROUP":
                settings.kafka_consumer_group, "CITYLIVE_SOURCE": "simulated",
                "CITYLIVE_CITIES": FIRST_CITY, "CITYLIVE_BACKFILL_DAYS": str(BACKFILL_DAYS),
                "CITYLIVE_ARTIFACTS_DIR": artifacts, "PYTHONUNBUFFERED": "1"}
    log_path = Path(artifacts) / "sidecar.log"
    rows: list[dict[str, Any]] = []
    with private_db(settings) as db:
        placeholder_registry(db, [FIRST_CITY, *picks])
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "pipeline.scheduler"], cwd=ROOT,
                                    env=proc_env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            started = wait_for(lambda: status(db, FIRST_CITY) == "active", 600, 0.5)
            if started is None:
                raise RuntimeError(f"sidecar never activated {FIRST_CITY}: "
                                   f"{log_path.read_text(errors='replace')[-1500:]}")
            zones = db[C.ZONE_LATEST]
            for city_id in picks:
                n_zones = len(get_city(city_id).zones)
                t0 = time.perf_counter()
                ensure_city_request(db, city_id, datetime.now(UTC))
                first = wait_for(lambda c=city_id: zones.find_one({"city_id": c}) is not None,
                                 120)
                every = wait_for(lambda c=city_id, n=n_zones:
                                 zones.count_documents({"city_id": c}) >= n, 120)
                active = wait_for(lambda c=city_id: status(db, c) == "active", 600, 0.5)
                rows.append({"city": city_id, "zones": n_zones, "first_zone_s": first,
                             "all_zones_s": None if every is None or first is None
                             else first + every,
                             "active_s": None if active is None else time.perf_counter() - t0})
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            shutil.rmtree(artifacts, ignore_errors=True)
    firsts = [r["first_zone_s"] for r in rows if r["first_zone_s"] is not None]
    value = median(firsts) if len(firsts) == len(rows) else None
    note = "; ".join(f"{r['city']}: first {r['first_zone_s'] and round(r['first_zone_s'], 1)} s,"
                     f" all zones {r['all_zones_s'] and round(r['all_zones_s'], 1)} s, active "
                     f"{r['active_s'] and round(r['active_s'], 1)} s" for r in rows)
    actives = [r["active_s"] for r in rows if r["active_s"] is not None]
    return [
        Figure("city picked -> first zone data (simulated, sidecar)", value, "s",
               budget="<= 10 s", verdict=at_most(value, BUDGET_S), runs=firsts, note=note,
               extra={"rows": rows, "first_city_active_s": started}),
        Figure(f"city picked -> active incl. {BACKFILL_DAYS}-day backfill", median(actives), "s",
               runs=actives, note="the sidecar's backfill after the first data"),
    ]
