"""Kafka stopped for 60 s under the real long-running sidecar: its consumer stays alive, says
`reconnecting` (with the error) in consumer_status while the broker is away, resumes by itself,
reports fresh figures within 30 s of the broker's return, and stores every message."""

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
    consumer_status,
    produce,
    recent_weather_records,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]
OUTAGE_S = 60


def test_kafka_down_60s_under_the_long_running_sidecar(private_services, fault_settings,
                                                       fault_db, tmp_path):
    records = recent_weather_records(get_city("nyc"), 2000, datetime.now(UTC))
    before, after = records[:1000], records[1000:]
    start = end_offsets(fault_settings, (Topic.WEATHER,))
    commit_group(fault_settings, start)
    raw = fault_db[C.RAW_WEATHER]
    sidecar = SidecarProcess(fault_settings, tmp_path)
    states: list[tuple[str, str | None]] = []
    try:
        sidecar.start()
        produce(fault_settings, Topic.WEATHER, before)
        assert wait_until(lambda: raw.count_documents({}) >= len(before), 120), sidecar.log()
        private_services.kafka.stop()
        down_until = time.monotonic() + OUTAGE_S
        while time.monotonic() < down_until:
            doc = consumer_status(fault_db) or {}
            states.append((doc.get("state"), doc.get("last_error")))
            time.sleep(2)
        alive_during_outage = sidecar.alive()
        private_services.kafka.start()
        back_at = datetime.now(UTC)
        fresh = wait_until(lambda: (consumer_status(fault_db) or {}).get("updated_at", back_at)
                           > back_at, 30, 0.5)
        produce(fault_settings, Topic.WEATHER, after)
        assert wait_until(lambda: raw.count_documents({}) >= len(records), 120), sidecar.log()
        final = sidecar.stop(fault_db)
    finally:
        sidecar.cleanup()

    print("states during the outage:", sorted(set(states), key=str)[:5], "final:", final)
    assert alive_during_outage, "the sidecar died while Kafka was down"
    reconnecting = [err for state, err in states if state == "reconnecting"]
    assert reconnecting and all(reconnecting), "consumer_status never said reconnecting"
    assert fresh, "consumer_status was not fresh within 30 s after Kafka came back"
    ids = {d["_id"] for d in raw.find({}, {"_id": 1})}
    assert ids == {raw_id(C.RAW_WEATHER, r) for r in records}  # nothing lost
    assert final["state"] == "stopped" and final["consumed_total"] >= len(after)
