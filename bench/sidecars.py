"""N sidecars sharing 8 cities (docs/architecture.md §13): time for every city's first full
cycle (ingest of all sources, a 1-day backfill, processing) with 1, 2 and 3 sidecars, the
requests each sidecar made at the Open-Meteo stand-in, and the steady-state job durations.

The sidecars are real processes on the bench's private services; weather and air quality are
live against bench/standin.py, the other kinds simulated (the cities are outside the US), with
cadences 20x faster than production (CITYLIVE_CADENCE_SCALE=0.05). This machine has 2 cores,
so more sidecars share the same CPUs: the figure shows what coordination costs and what
parallel provider waits gain, not what more machines would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.city_pick import wait_for
from bench.common import Figure, bench_settings, median, private_db
from bench.fleet import add_cities, fleet_env, runs_of
from core.vocabulary import C

NAME = "sidecars"
ROOT = Path(__file__).resolve().parent.parent
STEADY_S = 60.0


def start_sidecar(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "pipeline.scheduler"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def measure(env: dict[str, str], n: int, steady_s: float) -> dict[str, Any]:
    from bench.standin import StandIn

    settings = bench_settings(env, f"side{n}")
    workdir = Path(tempfile.mkdtemp(prefix="citylive-bench-sidecars-"))
    procs: list[subprocess.Popen] = []
    with private_db(settings) as db, StandIn(latency_s=(0.3, 2.0), seed=11) as standin:
        cities = add_cities(db, settings)
        base = {**os.environ, **{k: v for k, v in env.items() if k != "BENCH_PRIVATE"},
                "MONGO_DB": settings.mongo_db,
                "KAFKA_CONSUMER_GROUP": settings.kafka_consumer_group,
                "KAFKA_TOPIC_PREFIX": f"{settings.kafka_consumer_group}.",
                "CITYLIVE_ARTIFACTS_DIR": str(workdir / "artifacts"), "PYTHONUNBUFFERED": "1",
                **fleet_env(standin.url)}
        for key in ("TOMTOM_API_KEY", "EIA_API_KEY"):
            base.pop(key, None)
        try:
            t0, started = time.perf_counter(), datetime.now(UTC)
            for i in range(n):
                procs.append(start_sidecar({**base, "CITYLIVE_WORKER_ID": f"w{i + 1}"},
                                           workdir / f"w{i + 1}.log"))
            ids = [c.city_id for c in cities]
            active = wait_for(lambda: db[C.CITY_REQUESTS].count_documents(
                {"_id": {"$in": ids}, "status": "active"}) == len(ids), 900, 0.5)
            makespan = None if active is None else time.perf_counter() - t0
            steady_from = datetime.now(UTC)
            time.sleep(steady_s)
            requests = Counter(h.worker or "?" for h in standin.hits)
            ingest = [r["duration_s"] for r in runs_of(db, "ingest", "weather", steady_from)]
            process = [r["duration_s"] for r in db[C.PIPELINE_RUNS].find({"job": "process"})
                       if r["started_at"] >= steady_from]
            owners = Counter(r["worker"] for r in runs_of(db, "ingest", "weather", started))
        except Exception as exc:
            logs = "; ".join(p.read_text(errors="replace")[-600:]
                             for p in sorted(workdir.glob("w*.log")))
            raise RuntimeError(f"{exc}; logs: {logs}") from exc
        finally:
            for proc in procs:
                stop(proc)
            shutil.rmtree(workdir, ignore_errors=True)
    return {"sidecars": n, "all_active_s": makespan, "requests_per_sidecar": dict(requests),
            "weather_runs_per_sidecar": dict(owners),
            "ingest_weather_median_s": median(ingest) if ingest else None,
            "process_median_s": median(process) if process else None}


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    rows = [measure(env, n, 0.0 if quick else STEADY_S) for n in ((1, 3) if quick else (1, 2, 3))]
    figures = []
    for row in rows:
        note = (f"requests per sidecar {row['requests_per_sidecar']}; weather runs per sidecar "
                f"{row['weather_runs_per_sidecar']}; steady medians: weather ingest "
                f"{_s(row['ingest_weather_median_s'])}, processing {_s(row['process_median_s'])}")
        figures.append(Figure(f"8 cities, {row['sidecars']} sidecar(s): every city's first "
                              "cycle (+1-day backfill)", row["all_active_s"], "s", note=note,
                              extra=row))
    one, many = rows[0]["all_active_s"], rows[-1]["all_active_s"]
    if one and many:
        figures.append(Figure(f"first-cycle speed-up, {rows[-1]['sidecars']} sidecars vs 1 "
                              "(2 cores)", round(one / many, 2), "x",
                              note="ratio of the two figures above, same machine and run"))
    return figures


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"
