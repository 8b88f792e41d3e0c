"""100 poison messages of varied kinds mixed into valid traffic: every one lands in the DLQ
(collection and topic) with a reason, every valid message is stored, the consumer carries on."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bench.common import commit_group, end_offsets
from bench.consumer_throughput import weather_records
from core.catalog import get_city, load_catalog
from core.ids import raw_id, zone_key
from core.vocabulary import C, Topic
from ingest.consumer import MessageSink, consume_loop
from ingest.kafka_io import make_consumer, make_producer
from ingest.schema import to_wire

pytestmark = [pytest.mark.faults, pytest.mark.integration]
N_POISON, N_VALID = 100, 400


def poison_values(good: dict) -> list[tuple[str, bytes]]:
    """(kind, value) of each kind of bad message, built from a valid record."""
    wire = json.loads(to_wire(good))

    def variant(**changes) -> bytes:
        return json.dumps({**wire, **changes}).encode()

    missing = {k: v for k, v in wire.items() if k != "observed_at"}
    return [
        ("not json", b"temperature=12.5;zone=z01"),
        ("empty", b""),
        ("invalid utf-8", b"\xff\xfe\xfa{"),
        ("json array", b"[1, 2, 3]"),
        ("json null", b"null"),
        ("wrong type", variant(temperature_c="warm")),
        ("NaN", to_wire(good).replace(b'"temperature_c": 10.0', b'"temperature_c": NaN')
         if b'"temperature_c": 10.0' in to_wire(good)
         else variant(temperature_c=0).replace(b'"temperature_c": 0', b'"temperature_c": NaN')),
        ("Infinity", variant(wind_speed_kmh=0).replace(b'"wind_speed_kmh": 0',
                                                       b'"wind_speed_kmh": Infinity')),
        ("unknown city", variant(city_id="atlantis")),
        ("unknown zone", variant(zone_id="z999")),
        ("huge string", variant(zone_id="z" * 100_000)),
        ("missing field", json.dumps(missing).encode()),
        ("naive timestamp", variant(observed_at="2024-01-01T00:00:00")),
        ("schema version", variant(schema_version=2)),
        ("out of range", variant(relative_humidity_pct=150)),
        ("extra field", variant(surprise="!")),
        ("wrong source", variant(source="someone")),
    ]


def test_poison_messages_go_to_the_dlq_and_valid_ones_are_stored(fault_settings, fault_db):
    tag = uuid.uuid4().hex[:8]
    base = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(days=int(time.time()) % 300)
    city = get_city("nyc")
    valid = weather_records(city, N_VALID, base)
    kinds = poison_values(valid[0])
    start = end_offsets(fault_settings, (Topic.WEATHER, Topic.DLQ))
    commit_group(fault_settings, start)
    producer = make_producer(fault_settings)
    poison_keys = []
    for i in range(N_VALID + N_POISON):
        if i % 5 == 2 and len(poison_keys) < N_POISON:  # mixed into the valid traffic
            kind, value = kinds[len(poison_keys) % len(kinds)]
            key = f"{tag}:poison:{len(poison_keys)}:{kind}"
            producer.produce(Topic.WEATHER, key=key.encode(), value=value)
            poison_keys.append(key)
        rec = valid[i % N_VALID] if i < N_VALID else None
        if rec is not None:
            producer.produce(Topic.WEATHER, key=zone_key(rec["city_id"], rec["zone_id"]).encode(),
                             value=to_wire(rec))
    assert producer.flush(30) == 0
    assert len(poison_keys) == N_POISON

    consumer = make_consumer(fault_settings)
    consumer.subscribe([Topic.WEATHER])
    sink = MessageSink(fault_db, load_catalog(), dlq_producer=producer)
    deadline = time.monotonic() + 60
    try:
        first = consume_loop(consumer, sink, batch_size=97, stop=lambda total, _e:
                             total.consumed >= N_VALID + N_POISON or time.monotonic() > deadline)
        # still running: later valid traffic is consumed by the same consumer
        later = weather_records(city, 20, base + timedelta(days=400))
        for rec in later:
            producer.produce(Topic.WEATHER, key=zone_key(rec["city_id"], rec["zone_id"]).encode(),
                             value=to_wire(rec))
        producer.flush(10)
        second = consume_loop(consumer, sink, stop=lambda total, _e:
                              total.consumed >= len(later) or time.monotonic() > deadline)
    finally:
        consumer.close()

    assert first.consumed == N_VALID + N_POISON
    assert first.rejected == N_POISON and first.stored == N_VALID
    assert second.stored == len(later) and second.rejected == 0
    stored = {d["_id"] for d in fault_db[C.RAW_WEATHER].find({}, {"_id": 1})}
    assert stored == {raw_id(C.RAW_WEATHER, r) for r in valid + later}
    dead = {d["key"]: d for d in fault_db[C.DLQ].find({"stage": "consumer"})}
    assert set(dead) == set(poison_keys)
    assert all(d["reason"] and d["topic"] == Topic.WEATHER for d in dead.values())
    assert all(len(d["value_snippet"]) <= 500 for d in dead.values())
    by_kind = {key.split(":", 3)[3]: dead[key]["reason"] for key in poison_keys}
    assert "atlantis" in by_kind["unknown city"] and "z999" in by_kind["unknown zone"]
    assert "NaN" in by_kind["NaN"] or "finite" in by_kind["NaN"].lower(), by_kind["NaN"]
    assert len(set(by_kind.values())) >= 10, by_kind  # the reasons say what was wrong

    # and every dead letter was forwarded to the DLQ topic
    dlq_consumer = make_consumer(fault_settings.model_copy(
        update={"kafka_consumer_group": fault_settings.kafka_consumer_group + "-dlq"}))
    commit_group(fault_settings.model_copy(update={
        "kafka_consumer_group": fault_settings.kafka_consumer_group + "-dlq"}),
        [tp for tp in start if tp.topic == Topic.DLQ])
    dlq_consumer.subscribe([Topic.DLQ])
    forwarded = set()
    try:
        while time.monotonic() < deadline + 30 and len(forwarded) < N_POISON:
            for msg in dlq_consumer.consume(100, timeout=1):
                if msg.error() is None and msg.key():
                    forwarded.add(msg.key().decode(errors="replace"))
    finally:
        dlq_consumer.close()
    assert forwarded == set(poison_keys)
