"""UI page timings and memory against the budgets of docs/architecture.md §9.

    .venv/bin/python -m bench.ui_pages [--runs 5] [--keep] [--no-server]

Seeds a bench database (citylive_bench_ui) with a 40-zone city (nyc) holding 30 days of
city_day history and realistic volumes in the bounded collections (2 h of kafka_live_feed,
3 days of pipeline_runs, a DLQ), then runs every page script with streamlit's AppTest:
cold (st.cache_data cleared before the run) and warm (cache kept), `--runs` times each, and
prints median seconds per page next to the budgets. Times are AppTest wall times, so they
include AppTest's own overhead (an upper bound on the script run). Memory: RSS of this
process after the runs, and (unless --no-server, and when /usr/bin/chromium exists) the RSS
of a real `streamlit run app.py` after a browser has opened every page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# CITYLIVE_BENCH_UI_DB names an existing database to time the pages on (bench/storage_volume.py
# passes its full-volume one): the fixtures are added where missing and nothing is dropped.
ON_EXISTING = "CITYLIVE_BENCH_UI_DB" in os.environ
DB_NAME = os.environ.get("CITYLIVE_BENCH_UI_DB", "citylive_bench_ui")
MONGO_URI = os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27017/")
os.environ["MONGO_DB"] = DB_NAME  # before core.settings is read anywhere

import psutil  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from core.ids import make_id  # noqa: E402
from core.runs import scope_hour  # noqa: E402
from core.storage import insert_new  # noqa: E402
from core.vocabulary import DATA_TOPICS, C  # noqa: E402
from ingest.consumer import update_feed_snapshots  # noqa: E402
from tests.ui.seed_docs import seed_catalog, seed_city, seed_shared  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
RESULTS = REPO / "bench" / "results" / "ui_pages.json"
BUDGET_WARM_S, BUDGET_COLD_S, BUDGET_MODELS_COLD_S, BUDGET_RSS_MB = 0.15, 1.0, 0.3, 400
HISTORY_DAYS = 30


@dataclass(frozen=True)
class Case:
    name: str
    page: str | None  # file for AppTest.switch_page; None = the default page
    radio: tuple[str, str] | None = None  # (key, value) set before the measured runs
    cold_budget: float = BUDGET_COLD_S


CASES = (
    Case("City Live", None),
    Case("Analytics (7 d, default)", "pages/history_analytics.py"),
    Case("Analytics (30 d)", "pages/history_analytics.py", ("an_range", "30 d")),
    Case("Models", "pages/model_forecasts.py", cold_budget=BUDGET_MODELS_COLD_S),
    Case("Live Stream", "pages/stream_monitor.py"),
    Case("Pipeline Health", "pages/pipeline_status.py"),
)


def seed(client: MongoClient, now: datetime) -> None:
    """40 zones x 30 days of history plus production-like volumes of the scanned collections."""
    if not ON_EXISTING:
        client.drop_database(DB_NAME)
    db = client[DB_NAME]
    catalog = seed_catalog(db, active=("nyc",))
    city = catalog["nyc"]
    assert len(city.zones) == 40, "the bench city must have 40 zones"
    seed_city(db, city, now, days=HISTORY_DAYS)
    seed_shared(db, now)
    # 2 h of consumed messages: weather/aqi/power per zone every 10-15 min, traffic links
    # every 5 min, a trickle of 311 -> about 4,500 documents (the collection's retention).
    feed, offset = [], 10_000
    every = {"weather_obs": 10, "aqi_stream": 10, "power_demand": 15, "traffic_events": 5,
             "incident_text": 30}
    for topic in DATA_TOPICS:
        for minute in range(0, 120, every[topic]):
            for zone in city.zones:
                offset += 1
                at = now - timedelta(minutes=minute, seconds=offset % 50)
                feed.append({"_id": make_id(topic, 1, offset), "topic": topic, "partition": 1,
                             "offset": offset, "key": f"nyc:{zone.zone_id}", "city_id": "nyc",
                             "zone_id": zone.zone_id, "observed_at": at, "consumed_at": at,
                             "summary": f"{topic} bench", "source": "simulated"})
    insert_new(db, C.LIVE_FEED, feed)
    update_feed_snapshots(db, feed, now)
    # 3 days of pipeline runs (ingest per source at its cadence, process every 2 min)
    runs = []
    for minute in range(0, 3 * 24 * 60, 2):
        started = now - timedelta(minutes=minute)
        jobs = [("process", None)] + [("ingest", k) for k, cadence in
                                      (("weather", 10), ("aqi", 10), ("traffic", 5),
                                       ("power", 15), ("incidents", 5)) if minute % cadence == 0]
        for job, source in jobs:
            runs.append({"_id": make_id(job, "nyc", started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                        source or "-"),
                         "job": job, "city_id": "nyc", "source": source, "provider": "simulated",
                         "started_at": started, "finished_at": started, "duration_s": 0.8,
                         "ok": True, "error": None, "attempts": 1, "requests": 1, "records": 40,
                         "rejects": 0, "scope_hour": scope_hour("nyc", started)})
    insert_new(db, C.PIPELINE_RUNS, runs)
    insert_new(db, C.DLQ, [{"_id": make_id("producer", "bench", k), "topic": "traffic_events",
                            "key": None, "reason": "point outside the city bounds",
                            "value_snippet": "{}", "received_at": now - timedelta(minutes=k),
                            "stage": "producer"} for k in range(300)])
    print(f"seeded {DB_NAME}: 40 zones, {HISTORY_DAYS} days, {len(feed)} feed messages, "
          f"{len(runs)} pipeline runs", flush=True)


def server_latency_ms(client: MongoClient, now: datetime) -> float:
    """Median time of one city_day read by _id: how busy the shared FerretDB is right now."""
    db, key = client[DB_NAME], make_id("nyc", now.strftime("%Y-%m-%d"))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        db[C.CITY_DAY].find_one({"_id": key})
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def time_case(case: Case, runs: int) -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def fresh_app() -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120).run()
        if case.page:
            at.switch_page(case.page).run()
        if case.radio:
            at.radio(key=case.radio[0]).set_value(case.radio[1]).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    at = fresh_app()
    cold, warm = [], []
    for _ in range(runs):
        st.cache_data.clear()
        t0 = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - t0)
        for _ in range(2):
            t0 = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm)}


def server_rss_mb() -> float | None:
    """RSS of a real `streamlit run app.py` after Chromium opened every page; None if no browser."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        return None
    import socket
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MONGO_DB": DB_NAME, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py",
                             "--server.headless", "true", "--server.port", str(port)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            for path in ("", "analytics", "models", "live_stream", "pipeline_health"):
                page.goto(f"http://127.0.0.1:{port}/{path}?city=nyc")
                page.wait_for_selector("h1", timeout=60_000)
                page.wait_for_timeout(3000)
            browser.close()
        return psutil.Process(proc.pid).memory_info().rss / 2**20
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="cold runs per page (2 warm each)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--no-server", action="store_true", help="skip the real-server RSS")
    args = parser.parse_args(argv)

    client = MongoClient(MONGO_URI, tz_aware=True,
                         serverSelectionTimeoutMS=5000)
    now = datetime.now(UTC)
    seed(client, now)
    try:
        latency = server_latency_ms(client, now)
        results = {case.name: time_case(case, args.runs) for case in CASES}
        rss = psutil.Process().memory_info().rss / 2**20
        server = None if args.no_server else server_rss_mb()
    finally:
        if not args.keep and not ON_EXISTING:
            client.drop_database(DB_NAME)

    failed = False
    load = os.getloadavg()[0]
    print(f"\nmachine: load average {load:.1f} on {os.cpu_count()} cores; one city_day read "
          f"by _id (40 zones, ~140 kB) takes {latency:.0f} ms")
    print(f"\n{'page':<26} {'cold s':>8} {'budget':>7} {'warm s':>8} {'budget':>7}")
    for case in CASES:
        r = results[case.name]
        ok = r["cold_s"] <= case.cold_budget and r["warm_s"] <= BUDGET_WARM_S
        failed |= not ok
        print(f"{case.name:<26} {r['cold_s']:>8.3f} {case.cold_budget:>7.2f} "
              f"{r['warm_s']:>8.3f} {BUDGET_WARM_S:>7.2f}  {'ok' if ok else 'OVER'}")
    print(f"\nRSS of this process (AppTest, all pages): {rss:.0f} MB (budget {BUDGET_RSS_MB})")
    if server is not None:
        print(f"RSS of `streamlit run app.py` after all pages: {server:.0f} MB "
              f"(budget {BUDGET_RSS_MB})")
        failed |= server > BUDGET_RSS_MB
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"at": now.isoformat(), "runs": args.runs, "pages": results,
                                   "rss_mb": rss, "server_rss_mb": server, "load_avg": load,
                                   "city_day_read_ms": latency}, indent=2))
    print(f"results: {RESULTS.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
