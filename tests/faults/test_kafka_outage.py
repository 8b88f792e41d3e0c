"""Kafka stopped for 30 s while the producers run: no crash, failed cycles are recorded in
pipeline_runs (the gap is visible), the producers recover and data resumes; every record of a
successful cycle is stored."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bench.common import commit_group, end_offsets, synthetic_city
from bench.standin import StandIn
from core.clock import floor_hour
from core.ids import raw_id
from core.vocabulary import C, Topic
from ingest.consumer import MessageSink, consume_loop
from ingest.kafka_io import make_consumer, make_producer
from pipeline.cycle import LIVE_WINDOW, Services, ingest_city

pytestmark = [pytest.mark.faults, pytest.mark.slow]
OUTAGE_S = 30
CITY = synthetic_city(12, city_id="outage", live={"weather": "open-meteo"})


def window_ids(now: datetime) -> set[str]:
    """The raw_weather ids one cycle at `now` covers: every zone, every hour of its window."""
    start = floor_hour(now).to_pydatetime() - LIVE_WINDOW
    hours = [start + timedelta(hours=h) for h in range(int(LIVE_WINDOW / timedelta(hours=1)) + 1)]
    return {raw_id(C.RAW_WEATHER, {"city_id": CITY.city_id, "zone_id": z.zone_id,
                                   "observed_at": h, "source": "open-meteo"})
            for z in CITY.zones for h in hours if h < now}


def test_kafka_down_30s_while_producing(private_services, fault_settings, fault_db):
    settings = fault_settings.model_copy(update={"citylive_source": "live",
                                                 "kafka_message_timeout_ms": 5000})
    start = end_offsets(settings, (Topic.WEATHER,))
    outage: dict[str, float] = {}

    def take_kafka_down() -> None:
        time.sleep(4)
        outage["down"] = time.monotonic()
        private_services.kafka.stop()
        time.sleep(OUTAGE_S)
        outage["restarting"] = time.monotonic()
        private_services.kafka.start()
        outage["up"] = time.monotonic()

    # a synthetic clock: each cycle is one hour later, so each cycle brings a new hour
    base = datetime(2022, 6, 1, tzinfo=UTC) + timedelta(days=int(time.time()) % 500)
    cycles: list[tuple[datetime, bool, float]] = []
    with StandIn() as standin, httpx.Client(timeout=5) as http:
        settings = settings.model_copy(update={"open_meteo_url": standin.url})
        svc = Services(settings=settings, db=fault_db, producer=make_producer(settings),
                       http=http, catalog={CITY.city_id: CITY})
        killer = threading.Thread(target=take_kafka_down, daemon=True)
        killer.start()
        i = 0
        while "up" not in outage or time.monotonic() < outage["up"] + 6:
            now = base + timedelta(hours=i, minutes=30)
            ok = ingest_city(svc, CITY, now, kinds=("weather",))["weather"]  # never raises
            cycles.append((now, ok, time.monotonic()))
            i += 1
            time.sleep(1)
        killer.join()
        svc.producer.flush(10)

    runs = sorted(fault_db[C.PIPELINE_RUNS].find({"job": "ingest"}), key=lambda r: r["started_at"])
    assert len(runs) == len(cycles)
    failed = [r for r in runs if not r["ok"]]
    assert failed, "no cycle failed while Kafka was down"
    assert all("not delivered to Kafka" in r["error"] for r in failed), failed[0]["error"]
    # the gap: failures only between the stop and shortly after the restart, all in one run
    oks = [ok for _now, ok, _t in cycles]
    first_bad, last_bad = oks.index(False), len(oks) - 1 - oks[::-1].index(False)
    assert all(oks[:first_bad]) and not any(oks[first_bad:last_bad + 1])
    assert all(oks[last_bad + 1:]) and len(oks) - last_bad - 1 >= 2, "producers did not recover"
    assert cycles[first_bad][2] >= outage["down"] - 1
    print("cycles ok:", oks, "first error:", failed[0]["error"][:200])

    # consume everything produced in this test, then compare with what the cycles produced
    consumer_settings = settings.model_copy(update={"kafka_consumer_group":
                                                    settings.kafka_consumer_group + "-c"})
    commit_group(consumer_settings, start)
    consumer = make_consumer(consumer_settings)
    consumer.subscribe([Topic.WEATHER])
    expected = set().union(*(window_ids(now) for now, ok, _t in cycles if ok))
    produced_any = set().union(*(window_ids(now) for now, _ok, _t in cycles))
    raw = fault_db[C.RAW_WEATHER]
    sink = MessageSink(fault_db, svc.catalog)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            consume_loop(consumer, sink, stop=lambda _total, empty: empty >= 3)
            if expected <= {d["_id"] for d in raw.find({}, {"_id": 1})}:
                break
    finally:
        consumer.close()
    stored = {d["_id"] for d in raw.find({}, {"_id": 1})}
    assert expected <= stored  # every record of a successful cycle landed
    assert stored <= produced_any  # nothing invented
    ok_runs = [r for r in runs if r["ok"]]
    assert all(r["requests"] == 1 and r["records"] > 0 for r in ok_runs)
