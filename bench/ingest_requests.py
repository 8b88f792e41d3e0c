"""Provider requests and wall time per ingest cycle: City Live's batched producers vs the seed.

Both designs talk to the same local Open-Meteo stand-in (bench/standin.py) with a seeded random
0.3-2 s latency per call:
- the seed: 3 calls per zone (current weather, current air quality, hourly forecast), 5 zones
  at a time (a thread pool of 5), as its website did on every user action;
- City Live: the real Open-Meteo clients (ingest/sources/open_meteo.py) run through the real
  ingest job (pipeline.cycle.ingest_city: fetch, parse, produce to Kafka, pipeline_runs) for
  weather and air quality: one request per source per city.
Then how both grow with the number of zones (latency scaled by 0.1 to keep the run short) and
how City Live's one request grows with the days of history asked for (a backfill window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo.database import Database

from bench.common import OK, Figure, bench_settings, median, private_db, synthetic_city, timed
from bench.standin import StandIn
from core.catalog import City

NAME = "ingest_requests"
LATENCY_S = (0.3, 2.0)
SEED_POOL = 5
LIVE_KINDS = ("weather", "aqi")
ZONES = 25
SCALE_ZONES = (10, 40, 160)
SCALE_LATENCY = 0.1
HISTORY_DAYS = (1, 7, 30, 90)


def seed_calls(lat: float, lon: float) -> list[tuple[str, dict[str, Any]]]:
    """The seed's three provider calls for one zone."""
    where = {"latitude": f"{lat:.4f}", "longitude": f"{lon:.4f}", "timezone": "GMT"}
    return [("/v1/forecast", {**where, "hourly": "temperature_2m,relative_humidity_2m"}),
            ("/v1/air-quality", {**where, "hourly": "us_aqi,pm2_5"}),
            ("/v1/forecast", {**where, "hourly": "temperature_2m,wind_speed_10m,precipitation"})]


def seed_cycle(http: httpx.Client, base: str, city: City) -> int:
    """The seed's design: per zone, 3 sequential calls; 5 zones at a time. Returns calls made."""
    def zone_calls(lat: float, lon: float) -> int:
        for path, params in seed_calls(lat, lon):
            http.get(base + path, params=params).raise_for_status()
        return 3

    with ThreadPoolExecutor(SEED_POOL) as pool:
        return sum(pool.map(lambda z: zone_calls(z.lat, z.lon), city.zones))


@contextmanager
def citylive_ingest(env: dict[str, str], standin: StandIn, city: City
                    ) -> Iterator[tuple[Callable[[], dict[str, bool]], Database]]:
    """(run one cycle, db): City Live's real ingest job against the stand-in."""
    from ingest.kafka_io import ensure_topics, make_producer
    from pipeline.cycle import Services, ingest_city

    settings = bench_settings(env, "ingest", citylive_source="live", open_meteo_url=standin.url,
                              open_meteo_aq_url=standin.url, http_timeout_s=10.0)
    ensure_topics(settings)
    with private_db(settings) as db, httpx.Client(timeout=settings.http_timeout_s) as http:
        svc = Services(settings=settings, db=db, producer=make_producer(settings), http=http,
                       catalog={city.city_id: city})
        try:
            yield (lambda: ingest_city(svc, city, datetime.now(UTC), kinds=LIVE_KINDS)), db
        finally:
            svc.producer.flush(10)


def compare(env: dict[str, str], n_zones: int, cycles: int, latency: tuple[float, float],
            seed: int = 7) -> dict[str, Any]:
    """Requests and wall seconds per cycle for both designs, same stand-in, same latency."""
    city = synthetic_city(n_zones, live={k: "open-meteo" for k in LIVE_KINDS})
    out: dict[str, Any] = {"zones": n_zones, "latency_s": list(latency), "cycles": cycles}
    with StandIn(latency, seed=seed) as standin, httpx.Client(timeout=30) as http:
        seed_walls, seed_requests = [], []
        for _ in range(cycles):
            standin.reset()
            wall, _calls = timed(lambda: seed_cycle(http, standin.url, city))
            seed_walls.append(wall)
            seed_requests.append(standin.requests)
        with citylive_ingest(env, standin, city) as (cycle, db):
            cl_walls, cl_requests, oks = [], [], []
            for _ in range(cycles):
                standin.reset()
                wall, ok = timed(cycle)
                cl_walls.append(wall)
                cl_requests.append(standin.requests)
                oks.append(all(ok.values()))
            runs = list(db["pipeline_runs"].find({"job": "ingest"}, {"requests": 1, "source": 1}))
    out.update(seed_wall_s=seed_walls, seed_requests=seed_requests, citylive_wall_s=cl_walls,
               citylive_requests=cl_requests, citylive_ok=all(oks),
               pipeline_runs_requests={r["source"]: r["requests"] for r in runs})
    return out


def history_requests(env: dict[str, str], n_zones: int = 40) -> list[dict[str, Any]]:
    """City Live's weather request for a backfill window of N days: still one request."""
    from ingest.http import RequestCounter
    from ingest.sources.base import FetchContext
    from ingest.sources.open_meteo import OpenMeteoWeather

    city = synthetic_city(n_zones, live={"weather": "open-meteo"})
    latency = (LATENCY_S[0] * SCALE_LATENCY, LATENCY_S[1] * SCALE_LATENCY)
    rows = []
    with StandIn(latency, seed=3) as standin, httpx.Client(timeout=60) as http:
        settings = bench_settings(env, "history", open_meteo_url=standin.url)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for days in HISTORY_DAYS:
            ctx = FetchContext(city=city, settings=settings, start=now - timedelta(days=days),
                               end=now, ingested_at=now)
            counter = RequestCounter()
            standin.reset()
            wall, parsed = timed(lambda c=ctx, n=counter: OpenMeteoWeather().collect(c, http, n))
            rows.append({"days": days, "requests": standin.requests, "wall_s": round(wall, 3),
                         "records": len(parsed.records)})
    return rows


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    cycles = 1 if quick else 3
    main = compare(env, ZONES, cycles, LATENCY_S)
    seed_wall, cl_wall = median(main["seed_wall_s"]), median(main["citylive_wall_s"])
    seed_req, cl_req = median(main["seed_requests"]), median(main["citylive_requests"])
    sources = len(LIVE_KINDS)
    figures = [
        Figure("ingest 25 zones: provider requests/cycle, seed (3 per zone)", seed_req, "req",
               runs=main["seed_requests"]),
        Figure("ingest 25 zones: provider requests/cycle, City Live (weather+aqi)", cl_req, "req",
               budget="1 per source", verdict=OK if cl_req == sources else "MISS",
               runs=main["citylive_requests"],
               note=f"pipeline_runs.requests: {main['pipeline_runs_requests']}"),
        Figure("ingest 25 zones: requests ratio seed / City Live", seed_req / cl_req, "x"),
        Figure("ingest 25 zones: wall/cycle, seed (pool of 5)", seed_wall, "s",
               runs=main["seed_wall_s"], note="0.3-2 s latency per call, seeded"),
        Figure("ingest 25 zones: wall/cycle, City Live (fetch+parse+Kafka)", cl_wall, "s",
               runs=main["citylive_wall_s"],
               note="sources run one after the other here; the sidecar runs them as "
                    "separate jobs" + ("" if main["citylive_ok"] else "; SOME INGESTS FAILED")),
        Figure("ingest 25 zones: wall ratio seed / City Live", seed_wall / cl_wall, "x"),
    ]
    scale_latency = (LATENCY_S[0] * SCALE_LATENCY, LATENCY_S[1] * SCALE_LATENCY)
    for n in SCALE_ZONES:
        row = compare(env, n, 1, scale_latency, seed=n)
        seed_w, cl_w = row["seed_wall_s"][0], row["citylive_wall_s"][0]
        figures.append(Figure(
            f"ingest {n} zones (latency x{SCALE_LATENCY}): wall ratio seed / City Live",
            seed_w / cl_w, "x", note=f"seed {row['seed_requests'][0]} req in {seed_w:.2f} s; "
            f"City Live {row['citylive_requests'][0]} req in {cl_w:.2f} s", extra=row))
    for row in history_requests(env):
        figures.append(Figure(f"weather backfill {row['days']} d, 40 zones: requests",
                              row["requests"], "req", budget="1 (+pages)",
                              verdict=OK if row["requests"] == 1 else "MISS",
                              note=f"{row['records']} records in {row['wall_s']} s "
                                   f"(latency x{SCALE_LATENCY})", extra=row))
    return figures
