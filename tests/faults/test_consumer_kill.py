"""The real sidecar SIGKILLed mid-batch, twice, and restarted: zero lost, zero duplicated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.common import commit_group, end_offsets
from core.catalog import get_city
from core.ids import raw_id
from core.vocabulary import C, Topic
from tests.faults.helpers import (
    SidecarProcess,
    committed_count,
    produce,
    recent_weather_records,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]
N = 12_000
BATCH = 4000


def _count(raw, seen: list[int]) -> int:
    seen.append(raw.count_documents({}))
    return seen[-1]


def mid_batch(stored: int, fraction: float) -> bool:
    return stored >= fraction * N and stored % BATCH != 0


def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(fault_settings, fault_db,
                                                                     tmp_path):
    records = recent_weather_records(get_city("nyc"), N, datetime.now(UTC))
    expected = {raw_id(C.RAW_WEATHER, r) for r in records}
    assert len(expected) == N
    start = end_offsets(fault_settings, (Topic.WEATHER,))
    commit_group(fault_settings, start)
    produce(fault_settings, Topic.WEATHER, records)
    raw = fault_db[C.RAW_WEATHER]

    # a batch is written in chunks of 1,000 before it is committed: a stored count that is not
    # a whole number of batches means a batch is being written, so a kill then lands mid-batch
    sidecar = SidecarProcess(fault_settings, tmp_path, KAFKA_CONSUMER_BATCH=str(BATCH))
    kills = []
    try:
        for fraction in (0.25, 0.6):
            sidecar.start()
            seen: list[int] = []
            assert wait_until(lambda f=fraction, s=seen: mid_batch(_count(raw, s), f), 240, 0.01), (
                sorted(set(seen))[-20:], sidecar.log())
            sidecar.kill()
            stored = raw.count_documents({})
            kills.append((stored, committed_count(fault_settings, start)))
        sidecar.start()
        assert wait_until(lambda: raw.count_documents({}) >= N, 180), sidecar.log()
        assert wait_until(lambda: committed_count(fault_settings, start) >= N, 60)
        last = sidecar.stop(fault_db)
    finally:
        sidecar.cleanup()

    print("kills (stored, committed):", kills, "last run:", last)
    # at-least-once: an offset is committed only after its document is stored ...
    assert all(stored >= committed for stored, committed in kills), kills
    # ... and at least one kill landed mid-batch: written, not yet committed
    assert any(stored > committed for stored, committed in kills), kills
    if kills[-1][0] > kills[-1][1]:  # the last restart re-read what was stored, not committed
        assert last["duplicates_total"] > 0, last
    assert last["state"] == "stopped"
    ids = [d["_id"] for d in raw.find({}, {"_id": 1})]
    assert len(ids) == len(set(ids)) == N  # zero duplicated
    assert set(ids) == expected  # zero lost, nothing invented
    offsets = [(d["partition"], d["offset"]) for d in raw.find({}, {"partition": 1, "offset": 1})]
    assert len(set(offsets)) == N  # each Kafka message stored once
    feed = fault_db[C.LIVE_FEED].count_documents({"topic": Topic.WEATHER})
    assert feed == N  # one live-feed row per message, none doubled by the replay
