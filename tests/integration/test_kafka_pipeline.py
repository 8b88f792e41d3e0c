"""Producer -> Kafka -> consumer -> raw_weather, against the real local Kafka and FerretDB."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.catalog import get_city, load_catalog
from core.ids import zone_key
from core.vocabulary import ALL_TOPICS, C, Topic
from ingest.consumer import MessageSink, consume_loop
from ingest.kafka_io import DeliveryStats, ensure_topics, make_consumer, make_producer, produce_json

pytestmark = pytest.mark.integration


def weather_records(city_id: str, zones: list[str], hour: datetime, tag: float) -> list[dict]:
    return [{"schema_version": 1, "source": "simulated", "city_id": city_id, "zone_id": z,
             "observed_at": hour, "ingested_at": hour + timedelta(minutes=1),
             "temperature_c": tag + i / 10, "relative_humidity_pct": 55.0,
             "wind_speed_kmh": 10.0, "precipitation_mm": 0.0} for i, z in enumerate(zones)]


def produce(settings, topic: str, records: list[dict]) -> DeliveryStats:
    producer = make_producer(settings)
    stats = DeliveryStats()
    for rec in records:
        produce_json(producer, topic, zone_key(rec["city_id"], rec["zone_id"]), rec, stats.callback)
    assert producer.flush(20) == 0
    return stats


def consume_all(settings, db, expect: int, timeout_s: float = 60.0):
    """Consume with a fresh group until `expect` messages of this test were seen."""
    consumer = make_consumer(settings)
    consumer.subscribe([Topic.WEATHER])
    sink = MessageSink(db, load_catalog())
    deadline = time.monotonic() + timeout_s
    try:
        return consume_loop(consumer, sink,
                            stop=lambda total, _e: total.consumed >= expect
                            or time.monotonic() > deadline)
    finally:
        consumer.close()


def test_topics_exist(test_env):
    ensure_topics(test_env)
    assert ensure_topics(test_env) == []  # second call creates nothing
    from confluent_kafka.admin import AdminClient

    topics = AdminClient({"bootstrap.servers": test_env.kafka_bootstrap_servers}).list_topics(
        timeout=10).topics
    assert {test_env.kafka_topic_prefix + t for t in ALL_TOPICS} <= set(topics)
    assert not set(ALL_TOPICS) & set(topics)  # the test's namespace, not the app's names


def test_produce_consume_store_and_replay_is_idempotent(test_env, db):
    ensure_topics(test_env)
    city = get_city("nyc")
    zones = [z.zone_id for z in city.zones]
    # a unique hour per run, so records of earlier runs in the shared topic do not collide
    hour = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 100000)
    records = weather_records("nyc", zones, hour, tag=7.0)
    # produced twice: the replay must not duplicate anything
    assert produce(test_env, Topic.WEATHER, records).delivered == len(zones)
    assert produce(test_env, Topic.WEATHER, records).delivered == len(zones)
    before = db[C.RAW_WEATHER].count_documents({})
    stats = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        stats = consume_all(test_env, db, expect=10**9, timeout_s=8)
        if db[C.RAW_WEATHER].count_documents({"observed_at": hour}) == len(zones):
            break
    mine = list(db[C.RAW_WEATHER].find({"observed_at": hour}))
    assert len(mine) == len(zones), stats
    assert before <= db[C.RAW_WEATHER].count_documents({})
    assert {d["_id"] for d in mine} == {f"nyc|{z}|{hour:%Y-%m-%dT%H:%M}Z|simulated" for z in zones}
    assert all(d["observed_at"].tzinfo is not None for d in mine)
    mine_ids = {d["_id"] for d in mine}
    feed = [d for d in db[C.LIVE_FEED].find({"topic": Topic.WEATHER}) if d["raw_id"] in mine_ids]
    assert len(feed) == 2 * len(zones)  # every delivered message shows in the live feed
    # a consumer group that already committed sees nothing new
    again = consume_all(test_env, db, expect=1, timeout_s=6)
    assert again.consumed == 0


def test_invalid_messages_go_to_the_dlq_and_the_consumer_carries_on(test_env, db):
    ensure_topics(test_env)
    hour = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 100000)
    good = weather_records("nyc", ["z01", "z02"], hour, tag=1.0)
    bad_city = dict(good[0], city_id="atlantis")
    bad_zone = dict(good[0], zone_id="z99")
    producer = make_producer(test_env)
    for key, value in [("x", b"not json"), ("y", b'{"temperature_c": NaN}')]:
        producer.produce(Topic.WEATHER, key=key.encode(), value=value)
    producer.flush(10)
    produce(test_env, Topic.WEATHER, [bad_city, bad_zone, *good])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        consume_all(test_env, db, expect=10**9, timeout_s=8)
        if db[C.RAW_WEATHER].count_documents({"observed_at": hour}) == 2:
            break
    assert db[C.RAW_WEATHER].count_documents({"observed_at": hour}) == 2
    reasons = [d["reason"] for d in db[C.DLQ].find({})]
    assert any("not valid JSON" in r for r in reasons)
    assert any("NaN" in r for r in reasons)
    assert any("unknown city_id 'atlantis'" in r for r in reasons)
    assert any("unknown zone_id 'z99'" in r for r in reasons)
