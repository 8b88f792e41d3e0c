"""FerretDB stopped for 90 s while the real long-running sidecar consumes and messages keep
coming: its consumer stops committing, stays alive, resumes by itself when MongoDB is back,
reports fresh figures within 30 s, and loses nothing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from bench.common import commit_group, end_offsets
from core.catalog import get_city
from core.ids import raw_id, zone_key
from core.vocabulary import C, Topic
from ingest.kafka_io import DeliveryStats, make_producer, produce_json
from tests.faults.helpers import (
    SidecarProcess,
    committed_count,
    consumer_status,
    recent_weather_records,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]
OUTAGE_S = 90
RATE = 100  # messages per second, for the whole test
SECONDS = OUTAGE_S + 20


def test_ferretdb_down_90s_under_the_long_running_sidecar(private_services, fault_settings,
                                                          fault_db, tmp_path):
    records = recent_weather_records(get_city("nyc"), RATE * SECONDS, datetime.now(UTC))
    expected = {raw_id(C.RAW_WEATHER, r) for r in records}
    start = end_offsets(fault_settings, (Topic.WEATHER,))
    commit_group(fault_settings, start)
    delivery = DeliveryStats()

    def produce_steadily() -> None:
        producer = make_producer(fault_settings)
        for i, rec in enumerate(records):
            produce_json(producer, Topic.WEATHER, zone_key(rec["city_id"], rec["zone_id"]), rec,
                         delivery.callback)
            if i % RATE == RATE - 1:
                time.sleep(1)
        producer.flush(30)

    sidecar = SidecarProcess(fault_settings, tmp_path)
    sidecar.start()
    producer = threading.Thread(target=produce_steadily, daemon=True)
    raw = fault_db[C.RAW_WEATHER]
    try:
        assert wait_until(lambda: consumer_status(fault_db) is not None, 90), sidecar.log()
        producer.start()
        assert wait_until(lambda: raw.estimated_document_count() > RATE * 3, 60), sidecar.log()
        private_services.ferret.stop()
        time.sleep(5)  # a batch written just before the stop may still commit
        committed_early = committed_count(fault_settings, start)
        time.sleep(OUTAGE_S - 5)
        committed_late = committed_count(fault_settings, start)
        alive_during_outage = sidecar.alive()
        private_services.ferret.start()
        back, back_at = time.monotonic(), datetime.now(UTC)
        fresh = wait_until(lambda: reported_since(fault_db, back_at), 30, 0.5)
        fresh_after_s = time.monotonic() - back
        producer.join(120)
        assert delivery.delivered == len(records), delivery.errors
        assert wait_until(lambda: raw.count_documents({}) >= len(records), 120), sidecar.log()
        assert wait_until(lambda: committed_count(fault_settings, start) >= len(records), 60)
        totals = sidecar.stop(fault_db)
    finally:
        sidecar.cleanup()

    print(f"committed early/late {committed_early}/{committed_late}; fresh status "
          f"{fresh_after_s:.1f} s after FerretDB came back; totals {totals}")
    produced_by_then = RATE * (3 + OUTAGE_S)  # the producer kept going meanwhile
    assert committed_late == committed_early, "the consumer committed while Mongo was down"
    assert committed_early < produced_by_then
    assert alive_during_outage, "the sidecar died while Mongo was down"
    assert fresh, "consumer_status was not fresh within 30 s after MongoDB came back"
    assert totals["write_failures"] > 0  # it saw the outage, retried, carried on
    ids = [d["_id"] for d in raw.find({}, {"_id": 1})]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected  # zero lost


def reported_since(db, since: datetime) -> bool:
    doc = consumer_status(db)
    return bool(doc) and doc["updated_at"] >= since
