"""FerretDB stopped for 30 s while the consumer runs and messages keep coming: the consumer
stops committing, keeps running, resumes when Mongo is back, and loses nothing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bench.common import commit_group, end_offsets
from bench.consumer_throughput import weather_records
from core.catalog import get_city
from core.ids import raw_id, zone_key
from core.vocabulary import C, Topic
from ingest.kafka_io import DeliveryStats, make_producer, produce_json
from tests.faults.helpers import ConsumerProcess, committed_count, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]
OUTAGE_S = 30
RATE = 150  # messages per second, for the whole test
SECONDS = 48


def test_ferretdb_down_30s_while_consuming(private_services, fault_settings, fault_db, tmp_path):
    base = datetime(2023, 2, 1, tzinfo=UTC) + timedelta(days=int(time.time()) % 500)
    records = weather_records(get_city("nyc"), RATE * SECONDS, base)
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

    consumer = ConsumerProcess(fault_settings, tmp_path)
    consumer.start()
    producer = threading.Thread(target=produce_steadily, daemon=True)
    producer.start()
    raw = fault_db[C.RAW_WEATHER]
    try:
        assert wait_until(lambda: raw.estimated_document_count() > RATE * 3, 60), consumer.log()
        private_services.ferret.stop()
        time.sleep(3)  # a batch written just before the stop may still commit
        committed_early = committed_count(fault_settings, start)
        time.sleep(OUTAGE_S - 6)
        committed_late = committed_count(fault_settings, start)
        alive_during_outage = consumer.alive()
        private_services.ferret.start()
        time.sleep(3)
        producer.join(60)
        assert delivery.delivered == len(records), delivery.errors
        assert wait_until(lambda: raw.count_documents({}) >= len(records), 90), consumer.log()
        assert wait_until(lambda: committed_count(fault_settings, start) >= len(records), 30)
        totals = consumer.stop()
    finally:
        consumer.cleanup()

    produced_by_then = RATE * (3 + OUTAGE_S - 6)  # the producer kept going meanwhile
    assert committed_late == committed_early, "the consumer committed while Mongo was down"
    assert committed_early < produced_by_then
    assert alive_during_outage, "the consumer process died while Mongo was down"
    assert totals["write_failures"] > 0  # it saw the outage, retried, carried on
    ids = [d["_id"] for d in raw.find({}, {"_id": 1})]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected  # zero lost
    assert totals["consumed"] >= len(records)
