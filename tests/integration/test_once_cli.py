"""`python -m pipeline.scheduler --once --city C` against the real local services."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from core.catalog import get_city
from core.vocabulary import C
from pipeline.forecasts import load_forecast_matrix

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_once(env_settings, *args: str, extra_env: dict | None = None,
             timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, MONGO_DB=env_settings.mongo_db,
               KAFKA_CONSUMER_GROUP=env_settings.kafka_consumer_group, **(extra_env or {}))
    return subprocess.run([sys.executable, "-m", "pipeline.scheduler", "--once", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_once_nyc_simulated_fills_zone_latest(test_env, db):
    proc = run_once(test_env, "--city", "nyc", "--backfill-days", "3", "--no-precompute")
    assert proc.returncode == 0, proc.stderr[-3000:]
    city = get_city("nyc")
    latest = list(db[C.ZONE_LATEST].find({"city_id": "nyc"}))
    assert len(latest) == len(city.zones)
    assert {d["_id"] for d in latest} == {f"nyc|{z.zone_id}" for z in city.zones}
    assert {d["source"] for d in latest} == {"simulated"}
    temps = [d["metrics"]["temperature_c"]["value"] for d in latest]
    assert all(t is not None for t in temps)
    # every source ran once, succeeded and made one request for the whole city
    runs = list(db[C.PIPELINE_RUNS].find({"job": "ingest", "city_id": "nyc"}))
    assert {r["source"] for r in runs} == {"weather", "aqi", "traffic", "power", "incidents"}
    assert all(r["ok"] and r["requests"] == 1 for r in runs), runs
    assert db[C.RAW_WEATHER].count_documents({"city_id": "nyc"}) >= len(city.zones)
    assert db[C.CITY_DAY].count_documents({"city_id": "nyc"}) >= 3
    assert db[C.CITY_REQUESTS].find_one({"_id": "nyc"})["status"] == "active"
    # weather forecasts: one per hour of the 3-day history (backfill) and this cycle's (Kafka)
    forecasts = sorted(db[C.WEATHER_FORECASTS].find({"city_id": "nyc"}),
                       key=lambda d: d["issued_at"])
    assert len(forecasts) == 3 * 24 + 1
    assert all(len(d["hours"]) == 48 and None not in d["temperature_c"] and d["bucket_day"]
               for d in forecasts)
    first, last = forecasts[0]["issued_at"], forecasts[-1]["issued_at"]
    issued, matrix = load_forecast_matrix(db, "nyc", first, last + timedelta(hours=1))
    assert len(issued) == 3 * 24 + 1 and not np.isnan(matrix).any()
    assert db[C.DLQ].count_documents({"topic": "weather_forecast"}) == 0
    # a second cycle replays the same simulated hours: no duplicates anywhere
    counts = {name: db[name].count_documents({}) for name in (C.RAW_WEATHER, C.ZONE_LATEST)}
    proc = run_once(test_env, "--city", "nyc", "--backfill-days", "3", "--no-precompute")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert db[C.ZONE_LATEST].count_documents({}) == counts[C.ZONE_LATEST]
    assert db[C.RAW_WEATHER].count_documents({}) >= counts[C.RAW_WEATHER]
    ids = [d["_id"] for d in db[C.RAW_WEATHER].find({}, {"_id": 1})]
    assert len(ids) == len(set(ids))
    # its forecast came through Kafka: it replaced this hour's document, or added the next
    newest = max(db[C.WEATHER_FORECASTS].find({"city_id": "nyc"}), key=lambda d: d["issued_at"])
    assert newest["ingested_at"] > forecasts[-1]["ingested_at"]
    assert db[C.WEATHER_FORECASTS].count_documents({"city_id": "nyc"}) in (73, 74)


def test_unknown_city_is_a_clear_error(test_env):
    proc = run_once(test_env, "--city", "atlantis")
    assert proc.returncode == 2
    assert "unknown city 'atlantis'" in proc.stderr
    assert "Traceback" not in proc.stderr
