"""`--once --city nyc` in LIVE mode against local servers replaying provider responses:
Open-Meteo (bench.standin, one item per requested location), EIA, Socrata 311 and NYC DOT
(tests/fixtures via tests/replay_server.py). Checks what lands in the real FerretDB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.standin import StandIn
from core.catalog import get_city
from core.vocabulary import C
from tests.replay_server import ReplayServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEY = "live-test-eia-key-123"


def test_once_nyc_live_with_replayed_providers(test_env, db, group_at_end):
    city = get_city("nyc")
    with StandIn() as meteo, ReplayServer() as replay:
        replay.add("/v2/electricity/rto/region-data/data/",
                   fixture="eia/region_data_nyis_one_page.json")
        replay.add("/v2/electricity/rto/region-sub-ba-data/data/",
                   fixture="eia/sub_ba_data_nyis_one_page.json")
        replay.add("/resource/erm2-nwe9.json", fixture="socrata_311/nyc_erm2-nwe9_page1.json",
                   times=1)
        replay.add("/resource/erm2-nwe9.json", json_body=[])  # the next page is empty
        replay.add("/resource/i4gi-tjb9.json", fixture="nyc_dot/i4gi-tjb9_last_hour.json")
        env = dict(os.environ, MONGO_DB=test_env.mongo_db,
                   KAFKA_CONSUMER_GROUP=test_env.kafka_consumer_group, CITYLIVE_SOURCE="live",
                   OPEN_METEO_URL=meteo.url, OPEN_METEO_AQ_URL=meteo.url,
                   EIA_URL=replay.base_url, SOCRATA_NYC_URL=replay.base_url, EIA_API_KEY=KEY,
                   # recorded replies keep their recording dates; the consumer accepts what
                   # the raw retention window holds (plausible time), so widen it for them
                   CITYLIVE_RAW_RETENTION_DAYS="3650")
        proc = subprocess.run([sys.executable, "-m", "pipeline.scheduler", "--once", "--city",
                               "nyc", "--backfill-days", "0", "--no-precompute"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        meteo_hits = {h.path: h.locations for h in meteo.hits}
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert KEY not in proc.stdout + proc.stderr

    # Open-Meteo: one request per API for all 40 zones, mapped by request order
    assert meteo_hits == {"/v1/forecast": len(city.zones), "/v1/air-quality": len(city.zones)}
    # (the shared topics may also hold simulated records of earlier tests: filter by provider)
    weather = list(db[C.RAW_WEATHER].find({"city_id": "nyc", "source": "open-meteo"}))
    assert {d["zone_id"] for d in weather} == {z.zone_id for z in city.zones}
    # ... and the same reply's next 48 hours became the forecast issued this hour
    [forecast] = db[C.WEATHER_FORECASTS].find({"city_id": "nyc", "source": "open-meteo"})
    assert len(forecast["hours"]) == 48 and None not in forecast["temperature_c"]
    assert forecast["zone_ids"] == [z.zone_id for z in city.zones]

    # 311 from the recorded Socrata page, each mapped to a zone inside the city
    incidents = list(db[C.RAW_311].find({"city_id": "nyc", "source": "socrata"}))
    assert incidents
    assert all(city.zone(d["zone_id"]) for d in incidents)
    watermark = db[C.WATERMARKS].find_one({"_id": "nyc|incidents|socrata"})
    # the watermark is the newest created date seen, rejected rows included (never refetched)
    assert watermark["watermark"] >= max(d["created_at"] for d in incidents)
    rejected = list(db[C.DLQ].find({"topic": "incident_text", "stage": "producer"}))
    assert all(d["reason"] for d in rejected)

    runs = {r["source"]: r for r in db[C.PIPELINE_RUNS].find({"job": "ingest"})}
    assert set(runs) == {"weather", "aqi", "traffic", "power", "incidents"}
    assert all(r["ok"] for r in runs.values()), {k: r["error"] for k, r in runs.items()}
    assert runs["weather"]["provider"] == "open-meteo" and runs["weather"]["requests"] == 1
    # EIA: one query for the BA (D, DF) and one for its subregions (NYC is ZONJ)
    assert runs["power"]["provider"] == "eia" and runs["power"]["requests"] == 2
    assert runs["traffic"]["provider"] == "nyc-dot"
    # recorded NYC DOT rows are hours old at replay time: rejected as stale, with the reason
    stale = list(db[C.DLQ].find({"topic": "traffic_events", "stage": "producer"}))
    assert stale and all("stale" in d["reason"] for d in stale)

    latest = list(db[C.ZONE_LATEST].find({"city_id": "nyc"}))
    assert len(latest) == len(city.zones)
    # (which provider is newest per zone depends on what else the shared topics hold)
    assert all(d["metrics"]["temperature_c"]["value"] is not None for d in latest)
    for name in (C.PIPELINE_RUNS, C.DLQ, C.RAW_POWER):
        assert not any(KEY in str(doc) for doc in db[name].find({})), name
