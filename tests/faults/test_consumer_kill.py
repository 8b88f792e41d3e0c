"""The real sidecar SIGKILLed mid-batch, twice, and restarted: zero lost, zero duplicated."""

from __future__ import annotations

import random
import time
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


def kill_mid_batch(sidecar: SidecarProcess, raw, settings, start, beyond: int,
                   timeout_s: float = 240) -> tuple[int, int]:
    """SIGKILL the sidecar while a batch is stored past `beyond` but not committed; returns
    (stored, committed) at the kill.

    The sidecar is frozen (SIGSTOP) every few tens of milliseconds and read at rest: stored
    documents and committed offsets cannot move while it is frozen, so what is measured is what
    the kill leaves. Polling a count and killing after it would race a fast machine, where a
    whole batch is written and committed in less time than one count takes.
    """
    rng = random.Random(7)
    deadline = time.monotonic() + timeout_s
    tries: list[tuple[int, int | None]] = []
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.02, 0.08))
        sidecar.pause()
        time.sleep(0.2)  # an insert the server already received lands
        stored = raw.count_documents({})
        committed = committed_count(settings, start) if stored > beyond else None
        if committed is not None and stored > committed:
            sidecar.kill()
            return stored, committed
        tries.append((stored, committed))
        sidecar.resume()
    raise AssertionError(("no kill mid-batch", tries[-20:], sidecar.log()))


def test_sigkill_mid_batch_then_restart_loses_and_duplicates_nothing(fault_settings, fault_db,
                                                                     tmp_path):
    records = recent_weather_records(get_city("nyc"), N, datetime.now(UTC))
    expected = {raw_id(C.RAW_WEATHER, r) for r in records}
    assert len(expected) == N
    start = end_offsets(fault_settings, (Topic.WEATHER,))
    commit_group(fault_settings, start)
    produce(fault_settings, Topic.WEATHER, records)
    raw = fault_db[C.RAW_WEATHER]

    # a batch is written in chunks of 1,000 and committed after its last chunk: a freeze that
    # finds more stored than committed is mid-batch, and the kill then lands there
    sidecar = SidecarProcess(fault_settings, tmp_path, KAFKA_CONSUMER_BATCH=str(BATCH))
    kills = []
    try:
        beyond = 1000  # the first kill once a chunk is stored, the second past the first
        for _ in range(2):
            sidecar.start()
            kills.append(kill_mid_batch(sidecar, raw, fault_settings, start, beyond))
            beyond = kills[-1][0] + 1000
        sidecar.start()
        assert wait_until(lambda: raw.count_documents({}) >= N, 180), sidecar.log()
        assert wait_until(lambda: committed_count(fault_settings, start) >= N, 60)
        last = sidecar.stop(fault_db)
    finally:
        sidecar.cleanup()

    print("kills (stored, committed):", kills, "last run:", last)
    # at-least-once: an offset is committed only after its document is stored ...
    assert all(stored >= committed for stored, committed in kills), kills
    # ... and both kills landed mid-batch: written, not yet committed
    assert all(stored > committed for stored, committed in kills), kills
    assert last["duplicates_total"] > 0, last  # the last restart re-read what was stored
    assert last["state"] == "stopped"
    ids = [d["_id"] for d in raw.find({}, {"_id": 1})]
    assert len(ids) == len(set(ids)) == N  # zero duplicated
    assert set(ids) == expected  # zero lost, nothing invented
    offsets = [(d["partition"], d["offset"]) for d in raw.find({}, {"partition": 1, "offset": 1})]
    assert len(set(offsets)) == N  # each Kafka message stored once
    feed = fault_db[C.LIVE_FEED].count_documents({"topic": Topic.WEATHER})
    assert feed == N  # one live-feed row per message, none doubled by the replay
