"""How the processing step grows with the number of zones (10, 40, 160) and days of history.

Each case starts from an empty private database: the real backfill of a new city (simulated
sources -> raw + processing.process_history), then the real processing job (process_city:
latest values, anomalies, risk, alerts, recommendations) a few times, as the sidecar runs it
every 2 minutes. Zones are synthetic grids inside New York's bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import Figure, bench_settings, median, private_db, synthetic_city, timed
from core.catalog import City, get_city

NAME = "processing_scale"
ZONES = (10, 40, 160)
ZONE_DAYS = 7
DAYS = (7, 30, 90)
PROCESS_RUNS = 3


def measure(env: dict[str, str], city: City, days: int, runs: int) -> dict[str, Any]:
    from core.vocabulary import C
    from ingest.kafka_io import ensure_topics, make_producer
    from pipeline.cycle import Services, backfill_city, process_city_job

    settings = bench_settings(env, "processing")
    ensure_topics(settings)
    now = datetime.now(UTC)
    with private_db(settings) as db, httpx.Client() as http:
        svc = Services(settings=settings, db=db, producer=make_producer(settings), http=http,
                       catalog={city.city_id: city})
        backfill_s, summary = timed(lambda: backfill_city(svc, city, now, days))
        history = db[C.PIPELINE_RUNS].find_one({"job": "process_history"}) or {}
        process = [timed(lambda: process_city_job(svc, city, datetime.now(UTC)))
                   for _ in range(runs)]
        ok = all(ok for _t, ok in process) and not summary["failed"]
        last = max(db[C.PIPELINE_RUNS].find({"job": "process"}), key=lambda r: r["started_at"])
    return {"zones": len(city.zones), "days": days, "backfill_s": round(backfill_s, 2),
            "records": sum(summary["records"].values()),
            "process_history_s": history.get("duration_s"),
            "process_s": [round(t, 3) for t, _ok in process], "ok": ok,
            "last_process": {k: last.get("summary", {}).get(k) for k in
                             ("read_s", "compute_s", "duration_s", "hours", "processed")}}


def figures_for(label: str, row: dict[str, Any]) -> list[Figure]:
    verdict = "info" if row["ok"] else "MISS"
    note = "" if row["ok"] else "a backfill source or a processing run FAILED"
    return [
        Figure(f"backfill {label}", row["backfill_s"], "s", verdict=verdict, extra=row,
               note=f"{row['records']:,} records; process_history {row['process_history_s']} s"
                    f" {note}".strip()),
        Figure(f"processing run {label}", median(row["process_s"]), "s", verdict=verdict,
               runs=row["process_s"], note=f"last run {row['last_process']}"),
    ]


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    runs = 2 if quick else PROCESS_RUNS
    figures: list[Figure] = []
    for n in (ZONES[:2] if quick else ZONES):
        row = measure(env, synthetic_city(n), ZONE_DAYS, runs)
        figures += figures_for(f"{n} zones, {ZONE_DAYS} d", row)
    for days in (DAYS[:1] if quick else DAYS):
        row = measure(env, get_city("nyc"), days, runs)
        figures += figures_for(f"40 zones (nyc), {days} d", row)
    return figures
