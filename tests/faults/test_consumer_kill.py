"""The real sidecar SIGKILLed mid-batch, twice, and restarted: zero lost, zero duplicated."""

from __future__ import annotations

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


def _count(raw, seen: list[int]) -> int:
    seen.append(raw.count_documents({}))
    return seen[-1]


def mid_batch(stored: int, fraction: float) -> bool:
    """Past `fraction` of the run, inside a batch with at least one chunk of 1,000 still to
    write, so the batch's commit is at least one insert round trip away."""
    return stored >= fraction * N and 0 < stored % BATCH <= BATCH - 1000


def kill_mid_batch(sidecar: SidecarProcess, raw, settings, start, fraction: float,
                   timeout_s: float = 240) -> tuple[int, int]:
    """SIGKILL the sidecar while a batch is stored but not committed; (stored, committed).

    The sidecar is frozen (SIGSTOP) the moment a count looks mid-batch, and stored and committed
    are read while it is frozen; if the batch finished in between, it is thawed and watched again.
    """
    deadline = time.monotonic() + timeout_s
    seen: list[int] = []
    tries = []
    while time.monotonic() < deadline:
        if not wait_until(lambda: mid_batch(_count(raw, seen), fraction),
                          deadline - time.monotonic(), 0.01):
            break
        sidecar.pause()
        time.sleep(0.3)  # an insert the server already holds lands
        stored, committed = raw.count_documents({}), committed_count(settings, start)
        tries.append((stored, committed))
        if stored > committed:
            sidecar.kill()
            return stored, committed
        sidecar.resume()
    raise AssertionError(("no kill mid-batch", tries, sorted(set(seen))[-20:], sidecar.log()))


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
            kills.append(kill_mid_batch(sidecar, raw, fault_settings, start, fraction))
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
