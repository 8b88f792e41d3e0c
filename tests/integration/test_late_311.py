"""A city switched from the simulator to live keeps the live 311 rows the simulator's watermark
would hide: `--once --city nyc` simulated (an incidents watermark of about now), then live
against a replay server whose Socrata rows were created hours ago, as NYC publishes them.
Watermarks are per city, kind and provider; Socrata re-reads 48 h (ingest/sources/socrata_311).
Checks what lands in the real FerretDB."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.standin import StandIn
from core.catalog import get_city
from core.vocabulary import C
from ingest.sources.socrata_311 import from_floating, to_floating
from tests.replay_server import ReplayServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SOCRATA_PATH = "/resource/erm2-nwe9.json"
HOURS_AGO = (5, 4, 3)  # older than the simulator's watermark, well inside raw retention


def run_once(test_env, **extra_env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MONGO_DB=test_env.mongo_db,
               KAFKA_CONSUMER_GROUP=test_env.kafka_consumer_group, **extra_env)
    return subprocess.run([sys.executable, "-m", "pipeline.scheduler", "--once", "--city", "nyc",
                           "--backfill-days", "0", "--no-precompute"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def late_rows(now: datetime) -> list[dict[str, Any]]:
    """erm2-nwe9 rows as Socrata sends them (strings, floating New York time), created hours
    before `now`: recorded fixtures have fixed dates, which the consumer would soon reject."""
    city = get_city("nyc")
    rows = []
    for n, (hours, zone) in enumerate(zip(HOURS_AGO, city.zones, strict=False)):
        created = (now - timedelta(hours=hours)).replace(microsecond=0)
        rows.append({"unique_key": f"6350000{n}",
                     "created_date": to_floating(created, city.timezone),
                     "agency": "DSNY", "agency_name": "Department of Sanitation",
                     "complaint_type": "Dirty Condition", "descriptor": "Trash",
                     "location_type": "Street/Sidewalk", "status": "Open",
                     "latitude": f"{zone.lat:.5f}", "longitude": f"{zone.lon:.5f}",
                     "location": {"type": "Point", "coordinates": [zone.lon, zone.lat]}})
    return rows


def test_live_311_rows_older_than_the_simulated_watermark_are_stored(test_env, db,
                                                                    group_at_end):
    city = get_city("nyc")
    proc = run_once(test_env, CITYLIVE_SOURCE="simulated")
    assert proc.returncode == 0, proc.stderr[-3000:]
    simulated = db[C.WATERMARKS].find_one({"_id": "nyc|incidents|simulated"})
    assert simulated and simulated["provider"] == "simulated"
    now = datetime.now(UTC)
    assert simulated["watermark"] > now - timedelta(hours=1)  # about now

    rows = late_rows(now)
    created = {r["unique_key"]: from_floating(r["created_date"], city.timezone) for r in rows}
    assert all(c < simulated["watermark"] for c in created.values())
    with StandIn() as meteo, ReplayServer() as replay:
        replay.add("/v2/electricity/rto/region-data/data/",
                   fixture="eia/region_data_nyis_one_page.json")
        replay.add("/v2/electricity/rto/region-sub-ba-data/data/",
                   fixture="eia/sub_ba_data_nyis_one_page.json")
        replay.add(SOCRATA_PATH, json_body=rows, times=1)
        replay.add(SOCRATA_PATH, json_body=[])  # any further page is empty
        replay.add("/resource/i4gi-tjb9.json", fixture="nyc_dot/i4gi-tjb9_last_hour.json")
        proc = run_once(test_env, CITYLIVE_SOURCE="live", OPEN_METEO_URL=meteo.url,
                        OPEN_METEO_AQ_URL=meteo.url, EIA_URL=replay.base_url,
                        SOCRATA_NYC_URL=replay.base_url, EIA_API_KEY="late-311-test-key")
        asked = replay.requests_to(SOCRATA_PATH)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # the live fetch was not bounded by the simulator's watermark: it looked back 48 h
    assert asked, "no Socrata request"
    where = asked[0].param("$where") or ""
    lower = from_floating(where.split("'")[1], city.timezone)
    assert lower is not None and lower <= now - timedelta(hours=47)

    stored = {d["incident_id"]: d for d in db[C.RAW_311].find({"city_id": "nyc",
                                                                "source": "socrata"})}
    assert set(stored) == set(created)
    for incident_id, doc in stored.items():
        assert doc["created_at"] == created[incident_id]
        assert doc["_id"] == f"nyc|{incident_id}|socrata"
        assert city.zone(doc["zone_id"])
    rejected = [d for d in db[C.DLQ].find({"topic": "incident_text"})
                if any(key in str(d) for key in created)]
    assert rejected == []

    # each provider keeps its own watermark; neither moved back
    live = db[C.WATERMARKS].find_one({"_id": "nyc|incidents|socrata"})
    assert live and live["provider"] == "socrata"
    assert live["watermark"] == max(created.values())
    after = db[C.WATERMARKS].find_one({"_id": "nyc|incidents|simulated"})
    assert after["watermark"] == simulated["watermark"]
