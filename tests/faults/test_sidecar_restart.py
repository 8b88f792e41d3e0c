"""The sidecar SIGKILLed mid-cycle and restarted: no duplicate alerts, watermarks respected.

A real `python -m pipeline.scheduler` (simulated sources, nyc) is killed while activating the
city (after its first ingest, before processing and backfill are done), restarted, killed
again once the city is active and restarted again. Offline training is kept out with
placeholder registry documents (it is a separate process and irrelevant here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bench.city_pick import placeholder_registry
from bench.common import commit_group_at_end
from core.catalog import get_city
from core.ids import raw_id
from core.storage import insert_new
from core.vocabulary import CONSUMED_TOPICS, C, Topic
from ingest.kafka_io import make_consumer
from ingest.schema import validate_record
from tests.faults.helpers import ROOT, process_env, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]
SMOGGY_ZONES = ("z01", "z02", "z03", "z04", "z05")


class Sidecar:
    def __init__(self, env: dict[str, str], log_dir) -> None:
        self.env, self.log_dir, self.proc, self.starts = env, log_dir, None, 0

    def start(self) -> datetime:
        self.starts += 1
        with (self.log_dir / f"sidecar-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "pipeline.scheduler"], cwd=ROOT,
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return datetime.now().astimezone()

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return (self.log_dir / f"sidecar-{self.starts}.log").read_text(errors="replace")[-3000:]


def store_smog(db) -> None:
    """Very unhealthy air (AQI 260) in a few zones for the recent and next hours, stored as
    the consumer would store it; the simulator's records for the same times are then
    duplicates and ignored, so processing has alerts to open (and must not open twice)."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    docs = []
    for zone_id in SMOGGY_ZONES:
        for step in range(-18, 12):  # every 10 minutes, as the simulator reports
            observed = hour + timedelta(minutes=10 * step)
            record = validate_record(Topic.AQI, {
                "schema_version": 1, "source": "simulated", "city_id": "nyc",
                "zone_id": zone_id, "observed_at": observed, "ingested_at": observed,
                "us_aqi": 260, "pm2_5": 210.0, "pm10": 240.0, "ozone": 80.0,
                "nitrogen_dioxide": 60.0})
            docs.append({"_id": raw_id(C.RAW_AQI, record), **record})
    assert insert_new(db, C.RAW_AQI, docs) == len(docs)  # stamped like the consumer's


def incidents_sent(settings, expect: int, timeout_s: float = 30) -> list[datetime]:
    """created_at of the incident messages produced since the group was placed at the end."""
    consumer = make_consumer(settings)
    consumer.subscribe([Topic.INCIDENTS])
    created: list[datetime] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(created) < expect and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=1):
                if msg.error() is None:
                    created.append(validate_record(Topic.INCIDENTS, msg.value())["created_at"])
    finally:
        consumer.close()
    return created


def watermarks(db) -> dict[str, datetime]:
    return {d["kind"]: d["watermark"] for d in db[C.WATERMARKS].find({"city_id": "nyc"})}


def open_alerts(db) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for doc in db[C.ALERTS].find({"city_id": "nyc", "status": "open"}):
        found.setdefault((doc["zone_id"], doc["kind"]), []).append(doc["_id"])
    return found


def activated_since(db, since: datetime) -> bool:
    return any(r["started_at"] >= since and r["ok"]
               for r in db[C.PIPELINE_RUNS].find({"job": "activate", "city_id": "nyc"}))


def test_sidecar_killed_mid_cycle_restarts_without_duplicates(fault_settings, fault_db,
                                                              tmp_path):
    commit_group_at_end(fault_settings, CONSUMED_TOPICS)  # a caught-up sidecar's group
    placeholder_registry(fault_db, ["nyc"])
    store_smog(fault_db)
    env = process_env(fault_settings, CITYLIVE_SOURCE="simulated", CITYLIVE_CITIES="nyc",
                      CITYLIVE_BACKFILL_DAYS="3", CITYLIVE_ARTIFACTS_DIR=str(tmp_path / "art"))
    sidecar = Sidecar(env, tmp_path)
    runs = fault_db[C.PIPELINE_RUNS]
    try:
        sidecar.start()
        assert wait_until(lambda: runs.count_documents({"job": "ingest"}) >= 1, 120), sidecar.log()
        sidecar.kill()  # mid-activation: ingest under way, nothing processed or backfilled yet
        marks_killed = watermarks(fault_db)
        ingests_before = runs.count_documents({"job": "ingest"})
        assert fault_db[C.CITY_REQUESTS].find_one({"_id": "nyc"})["status"] != "active"

        restarted = sidecar.start()
        assert wait_until(lambda: activated_since(fault_db, restarted), 300), sidecar.log()
        marks_active = watermarks(fault_db)
        alerts_active = open_alerts(fault_db)
        sidecar.kill()  # again, with the city active and its jobs scheduled

        checker = fault_settings.model_copy(update={
            "kafka_consumer_group": fault_settings.kafka_consumer_group + "-checker"})
        commit_group_at_end(checker, (Topic.INCIDENTS,))
        restarted_again = sidecar.start()
        assert wait_until(lambda: activated_since(fault_db, restarted_again), 300), sidecar.log()
        marks_final = watermarks(fault_db)
        alerts_final = open_alerts(fault_db)
    finally:
        sidecar.stop()

    city = get_city("nyc")
    assert fault_db[C.CITY_REQUESTS].find_one({"_id": "nyc"})["status"] == "active"
    assert fault_db[C.ZONE_LATEST].count_documents({"city_id": "nyc"}) == len(city.zones)
    # no duplicate alerts: one open alert per zone and kind, and a restart never re-opens one
    assert {z for z, kind in alerts_active if kind == "air_quality"} >= set(SMOGGY_ZONES)
    for alerts in (alerts_active, alerts_final):
        assert all(len(ids) == 1 for ids in alerts.values()), alerts
    for key in alerts_active.keys() & alerts_final.keys():
        assert alerts_active[key] == alerts_final[key], key
    kinds = Counter(doc["kind"] for doc in fault_db[C.ALERTS].find({"city_id": "nyc"}))
    print("open alerts after the restarts:", len(alerts_final), "all alerts by kind:", kinds)
    # watermarks only move forward across kills and restarts
    for earlier, later in ((marks_killed, marks_active), (marks_active, marks_final)):
        for kind, mark in earlier.items():
            assert later[kind] >= mark, (kind, mark, later[kind])
    assert "incidents" in marks_final
    # the incremental source did not re-send what its watermark already covered
    after = [r for r in runs.find({"job": "ingest", "source": "incidents"})
             if r["started_at"] >= restarted_again]
    assert after and all(r["ok"] for r in after)
    sent = incidents_sent(checker, sum(r["records"] for r in after))
    assert len(sent) == sum(r["records"] for r in after)
    assert all(created > marks_active["incidents"] for created in sent), (
        min(sent), marks_active["incidents"])
    assert ingests_before >= 1
    raw_ids = [d["_id"] for d in fault_db[C.RAW_311].find({}, {"_id": 1})]
    assert len(raw_ids) == len(set(raw_ids))
