"""The consumer SIGKILLed mid-batch and restarted: zero lost, zero duplicated documents."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bench.common import commit_group, end_offsets
from bench.consumer_throughput import weather_records
from core.catalog import get_city
from core.ids import raw_id
from core.vocabulary import C, Topic
from tests.faults.helpers import ConsumerProcess, committed_count, produce, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]
N = 12_000


def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(fault_settings, fault_db,
                                                                     tmp_path):
    base = datetime(2021, 3, 1, tzinfo=UTC) + timedelta(days=int(time.time()) % 1000)
    records = weather_records(get_city("nyc"), N, base)
    expected = {raw_id(C.RAW_WEATHER, r) for r in records}
    start = end_offsets(fault_settings, (Topic.WEATHER,))
    commit_group(fault_settings, start)
    produce(fault_settings, Topic.WEATHER, records)
    raw = fault_db[C.RAW_WEATHER]

    consumer = ConsumerProcess(fault_settings, tmp_path, batch_size=2000)
    kills = []
    try:
        for fraction in (0.25, 0.6):
            consumer.start()
            assert wait_until(lambda f=fraction: raw.estimated_document_count() >= f * N, 120,
                              0.02), consumer.log()
            consumer.kill()
            stored = raw.count_documents({})
            kills.append((stored, committed_count(fault_settings, start)))
        consumer.start()
        assert wait_until(lambda: raw.count_documents({}) >= N, 120), consumer.log()
        assert wait_until(lambda: committed_count(fault_settings, start) >= N, 30)
        last = consumer.stop()
    finally:
        consumer.cleanup()

    print("kills (stored, committed):", kills, "last run:", last)
    # at-least-once: an offset is committed only after its document is stored ...
    assert all(stored >= committed for stored, committed in kills), kills
    # ... and at least one kill landed mid-batch: written, not yet committed
    assert any(stored > committed for stored, committed in kills), kills
    if kills[-1][0] > kills[-1][1]:  # the last restart re-read what was stored, not committed
        assert last["duplicates"] > 0, last
    ids = [d["_id"] for d in raw.find({}, {"_id": 1})]
    assert len(ids) == len(set(ids)) == N  # zero duplicated
    assert set(ids) == expected  # zero lost, nothing invented
    offsets = [(d["partition"], d["offset"]) for d in raw.find({}, {"partition": 1, "offset": 1})]
    assert len(set(offsets)) == N  # each Kafka message stored once
    feed = fault_db[C.LIVE_FEED].count_documents({"topic": Topic.WEATHER})
    assert feed == N  # one live-feed row per message, none doubled by the replay
