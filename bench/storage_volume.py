"""Storage at real volumes: 4 cities x 40 zones x 90 days, and 1/4 and 4x that, on FerretDB
with PostgreSQL (the embedded default) and, side by side, FerretDB with SQLite (the old one).

For each backend and volume it starts private services (infra/postgres.py + FerretDB + Kafka,
the same binaries and settings as `make services`), builds the volume with the sidecar's own
backfill (simulated sources -> raw_* for the raw retention window + processing.process_history
for 90 days of city_day, processed_zone_data and meter_readings), then measures:
- the processing pass of one city right after its backfill, and steady (every 2 minutes);
- a point read by `_id` on processed_zone_data (~134k documents at full volume);
- the retention job over the whole volume (a day later, so each collection has a day to drop);
- the consumer (Kafka -> Mongo) into the full database;
- page scripts (bench/ui_pages.py against the full database) and a city pick (a real sidecar
  on the same server), at full volume on PostgreSQL.
On SQLite the equality pushdown the new access paths rely on does not exist (only `_id` is
pushed down there), so each SQLite measurement runs in a child process capped at CAP_S; one
that does not finish is reported as not finished within the cap, never guessed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import INFO, NA, Figure, at_least, at_most, median, synthetic_city

NAME = "storage_volume"
ROOT = Path(__file__).resolve().parent.parent
DAYS = 90
SCALES = {"1/4": 1, "1x": 4, "4x": 16}  # cities of 40 zones
SQLITE_SCALES = ("1/4", "1x")
CAP_S = 180.0
STEADY_RUNS = 3
CONSUME_MESSAGES = 20_000
BUDGET = {"after_backfill": 20.0, "steady": 5.0, "point_read_ms": 20.0, "retention": 30.0,
          "consumer": 5000.0, "pick": 5.0}
BASES = ("nyc", "chicago", "sf", "boston")


def volume_cities(n: int) -> list[Any]:
    """The four catalog cities, then 40-zone copies of them (nyc2, chicago2, ...)."""
    from core.catalog import get_city

    cities = [get_city(b) for b in BASES[:n]]
    for k in range(len(cities), n):
        base = BASES[k % len(BASES)]
        cities.append(synthetic_city(40, base, city_id=f"{base}{k // len(BASES) + 1}"))
    return cities


def _services(settings: Any, catalog: dict[str, Any]) -> Any:
    import httpx

    from core.storage import ensure_indexes, get_db, load_catalog_into
    from ingest.kafka_io import ensure_topics, make_producer
    from pipeline.cycle import Services

    ensure_topics(settings)
    db = get_db(settings)
    ensure_indexes(db)
    load_catalog_into(db, catalog.values())
    return Services(settings=settings, db=db, producer=make_producer(settings),
                    http=httpx.Client(), catalog=catalog)


def _settings(env: dict[str, str], db_name: str) -> Any:
    from core.settings import Settings

    return Settings(_env_file=None, mongo_uri=env["MONGO_URI"], mongo_db=db_name,
                    kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
                    kafka_consumer_group=f"bench-volume-{db_name[-8:]}", mongo_timeout_ms=60000)


def build(env: dict[str, str], db_name: str, cities: list[Any], now: datetime) -> dict[str, Any]:
    from pipeline.cycle import backfill_city

    svc = _services(_settings(env, db_name), {c.city_id: c for c in cities})
    seconds = []
    for city in cities:
        t0 = time.perf_counter()
        summary = backfill_city(svc, city, now, DAYS)
        seconds.append(round(time.perf_counter() - t0, 1))
        if summary["failed"]:
            raise RuntimeError(f"backfill of {city.city_id} failed: {summary['failed']}")
    counts = {name: svc.db[name].estimated_document_count()
              for name in sorted(svc.db.list_collection_names())}
    return {"backfill_s": seconds, "documents": sum(counts.values()), "counts": counts}


# ---- measurements (each runs in a child process: its own clients, and a cap on SQLite) ------
def m_processing(env: dict[str, str], db_name: str, city_ids: list[str], now: datetime
                 ) -> dict[str, Any]:
    """The first processing pass after the backfill, then STEADY_RUNS passes 2 minutes apart."""
    from core.catalog import get_city
    from core.vocabulary import C
    from pipeline.cycle import process_city_job

    cities = {c.city_id: c for c in volume_cities(len(city_ids))}
    svc = _services(_settings(env, db_name), cities)
    city = cities[city_ids[0]] if city_ids[0] in cities else get_city(city_ids[0])
    t0 = time.perf_counter()
    ok = process_city_job(svc, city, now)
    first = time.perf_counter() - t0
    steady = []
    for k in range(1, STEADY_RUNS + 1):
        t0 = time.perf_counter()
        ok &= process_city_job(svc, city, now + timedelta(minutes=2 * k))
        steady.append(round(time.perf_counter() - t0, 3))
    last = max(svc.db[C.PIPELINE_RUNS].find({"job": "process", "city_id": city.city_id}),
               key=lambda r: r["started_at"])
    return {"ok": ok, "after_backfill_s": round(first, 3), "steady_s": steady,
            "last": {k: last.get("summary", {}).get(k) for k in ("read_s", "compute_s",
                                                                   "records")}}


def m_point_read(env: dict[str, str], db_name: str) -> dict[str, Any]:
    from core.storage import get_db
    from core.vocabulary import C

    db = get_db(_settings(env, db_name))
    coll = db[C.PROCESSED]
    ids = [d["_id"] for d in coll.find({}, {"_id": 1}).limit(2000)]
    sample = random.Random(7).sample(ids, min(30, len(ids)))
    times = []
    for _id in sample:
        t0 = time.perf_counter()
        assert coll.find_one({"_id": _id}) is not None
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 2), "runs_ms": times,
            "collection_docs": coll.estimated_document_count()}


def m_retention(env: dict[str, str], db_name: str, now: datetime) -> dict[str, Any]:
    """The retention job a day after the volume was built (each collection has a day to drop),
    then again the next day (steady state)."""
    from core.storage import apply_retention, get_db

    db = get_db(_settings(env, db_name))
    t0 = time.perf_counter()
    deleted = apply_retention(db, now + timedelta(days=1))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    apply_retention(db, now + timedelta(days=2))
    return {"first_s": round(first, 2), "next_day_s": round(time.perf_counter() - t0, 2),
            "deleted": sum(deleted.values())}


def m_consumer(env: dict[str, str], db_name: str, city_id: str) -> dict[str, Any]:
    """CONSUME_MESSAGES weather messages through the real MessageSink + consume_loop into the
    full database (sustained: first write start to last write end)."""
    from bench.consumer_throughput import TimedSink, produce_all, weather_records
    from core.catalog import get_city
    from core.storage import get_db
    from core.vocabulary import Topic
    from ingest.consumer import MessageSink, consume_loop
    from ingest.kafka_io import ensure_topics, make_consumer

    settings = _settings(env, db_name)
    ensure_topics(settings)
    city = get_city(city_id)
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    produce_all(settings, weather_records(city, CONSUME_MESSAGES, base))
    consumer = make_consumer(settings)
    consumer.subscribe([Topic.WEATHER])
    sink = TimedSink(MessageSink(get_db(settings), {city.city_id: city}))
    deadline = time.monotonic() + 600
    try:
        stats = consume_loop(consumer, sink, batch_size=settings.kafka_consumer_batch,
                             stop=lambda total, _e: total.consumed >= CONSUME_MESSAGES
                             or time.monotonic() > deadline)
    finally:
        consumer.close()
    rate = stats.consumed / (sink.last - sink.first) if sink.first and sink.last else None
    return {"consumed": stats.consumed, "stored": stats.stored, "msg_s": rate and round(rate)}


def _child(fn_name: str, args: tuple, queue: Any) -> None:
    try:
        queue.put(("ok", globals()[fn_name](*args)))
    except Exception as exc:  # reported to the parent as the figure's note
        queue.put(("error", f"{type(exc).__name__}: {exc}"[:300]))


def capped(fn_name: str, *args: Any, cap_s: float | None = None) -> dict[str, Any]:
    """Run a measurement in a child process; {"error": ...} or {"capped": cap_s} if it fails
    or does not finish in time."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn_name, args, queue))
    t0 = time.perf_counter()
    proc.start()
    limit = cap_s or 1800.0
    while proc.is_alive() and time.perf_counter() - t0 < limit and queue.empty():
        time.sleep(0.2)
    if queue.empty():
        proc.kill()
        proc.join(10)
        return {"capped": limit}
    status, value = queue.get()
    proc.join(30)
    return value if status == "ok" else {"error": value}


def m_pages(env: dict[str, str], db_name: str) -> dict[str, Any]:
    """bench/ui_pages.py run against the full database (it adds the UI's own fixtures for
    what the volume has not: model outputs, live feed, runs; existing documents win)."""
    result = ROOT / "bench" / "results" / "ui_pages.json"
    started = datetime.now(UTC)
    proc = subprocess.run([sys.executable, "-m", "bench.ui_pages", "--runs", "3", "--no-server"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "MONGO_URI": env["MONGO_URI"],
                               "CITYLIVE_BENCH_UI_DB": db_name})
    if not result.exists() or datetime.fromisoformat(
            json.loads(result.read_text())["at"]) < started:
        return {"error": f"ui_pages exited {proc.returncode}: {(proc.stdout + proc.stderr)[-300:]}"}
    return json.loads(result.read_text())["pages"]


# ---- the benchmark ---------------------------------------------------------------------------
def measure_scale(handler: str, scale: str, quick: bool) -> dict[str, Any]:
    from bench.private_services import PrivateServices

    n = SCALES[scale]
    cap = CAP_S if handler == "sqlite" else None
    now = datetime.now(UTC)
    db_name = f"citylive_bench_volume_{n}"
    row: dict[str, Any] = {"handler": handler, "scale": scale, "cities": n}
    with PrivateServices(prefix=f"citylive-volume-{handler}-", handler=handler,
                         throwaway=False) as services:
        env = services.env()
        print(f"[storage_volume] {handler} {scale}: building {n} x 40 zones x {DAYS} d ...",
              flush=True)
        row["build"] = build(env, db_name, volume_cities(n), now)
        ids = [c.city_id for c in volume_cities(n)]
        row["processing"] = capped("m_processing", env, db_name, ids, now, cap_s=cap)
        row["point_read"] = capped("m_point_read", env, db_name, cap_s=cap)
        row["consumer"] = capped("m_consumer", env, db_name, ids[0], cap_s=cap)
        if handler == "postgresql" and scale == "1x" and not quick:
            row["pages"] = m_pages(env, db_name)
            from bench import city_pick

            row["pick"] = [f.as_dict() for f in city_pick.run({**env, "BENCH_PRIVATE": "1"},
                                                                quick=True)]
        row["retention"] = capped("m_retention", env, db_name, now, cap_s=cap)
    return row


def _value(result: dict[str, Any], key: str) -> Any:
    return result.get(key) if isinstance(result, dict) else None


def _why(result: dict[str, Any]) -> str:
    if "capped" in result:
        return f"did not finish within {result['capped']:.0f} s"
    return result.get("error", "")


def figures_for(row: dict[str, Any]) -> list[Figure]:
    tag = f"{row['scale']} ({row['cities']} x 40 zones x {DAYS} d, {row['build']['documents']:,}"\
          f" docs) {row['handler']}"
    proc, point = row["processing"], row["point_read"]
    cons, ret = row["consumer"], row["retention"]
    out = [Figure(f"build {tag}", sum(row["build"]["backfill_s"]), "s",
                  note=f"backfill per city {row['build']['backfill_s']}",
                  extra=row["build"])]

    comparison = row["handler"] != "postgresql"

    def fig(name: str, value: Any, unit: str, budget: float, verdict: str, result: dict,
            note: str = "") -> Figure:
        """Budgets apply to the embedded default; the old backend's figures are a comparison
        (its verdict is information, what it would have been goes in the note)."""
        if value is None:
            verdict, note = NA, _why(result)
        if comparison:
            note = f"comparison (would be {verdict}); {note}".rstrip("; ")
            verdict = INFO
        return Figure(f"{name} {tag}", value, unit, budget=f"{budget:g} {unit}".strip(),
                      verdict=verdict, note=note, extra=result)

    after = _value(proc, "after_backfill_s")
    steady = median(_value(proc, "steady_s") or [])
    out.append(fig("processing pass right after backfill", after, "s", BUDGET["after_backfill"],
                   at_most(after, BUDGET["after_backfill"]), proc))
    out.append(fig("processing pass steady (median)", steady, "s", BUDGET["steady"],
                   at_most(steady, BUDGET["steady"]), proc, f"last: {_value(proc, 'last')}"))
    ms = _value(point, "median_ms")
    out.append(fig("point read by _id, processed_zone_data", ms, "ms", BUDGET["point_read_ms"],
                   at_most(ms, BUDGET["point_read_ms"]), point,
                   f"{_value(point, 'collection_docs') or 0:,} documents in the collection"))
    rate = _value(cons, "msg_s")
    out.append(fig("consumer Kafka -> Mongo", rate, "msg/s", BUDGET["consumer"],
                   at_least(rate, BUDGET["consumer"]), cons))
    first = _value(ret, "first_s")
    out.append(fig("retention job over the volume", first, "s", BUDGET["retention"],
                   at_most(first, BUDGET["retention"]), ret,
                   f"deleted {_value(ret, 'deleted')}; next day {_value(ret, 'next_day_s')} s"))
    for page, times in (row.get("pages") or {}).items():
        if page == "error":
            continue
        cold = 0.3 if page.startswith("Models") else 1.0
        out.append(Figure(f"page {page}: cold {tag}", times["cold_s"], "s", budget=f"<= {cold} s",
                          verdict=at_most(times["cold_s"], cold)))
        out.append(Figure(f"page {page}: warm {tag}", times["warm_s"], "s", budget="<= 0.15 s",
                          verdict=at_most(times["warm_s"], 0.15)))
    for pick in row.get("pick") or []:
        if pick["figure"].startswith("city picked -> first"):
            out.append(Figure(f"new city picked -> first data {tag}", pick["value"], "s",
                              budget="<= 5 s", verdict=at_most(pick["value"], BUDGET["pick"]),
                              note=pick["note"]))
    return out


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    """`env` is ignored: every volume gets its own private services (a benchmark of storage
    must not share its server with anything else)."""
    del env
    figures: list[Figure] = []
    plan = [("postgresql", s) for s in (("1/4",) if quick else SCALES)]
    plan += [("sqlite", s) for s in (() if quick else SQLITE_SCALES)]
    for handler, scale in plan:
        row = measure_scale(handler, scale, quick)
        figures += figures_for(row)
        print(f"[storage_volume] {handler} {scale}: done", flush=True)
    return figures


if __name__ == "__main__":
    for f in run({}, quick="--quick" in sys.argv):
        print(f.figure, f.value, f.unit, f.verdict, f.note[:120])
