"""Consumer throughput Kafka -> Mongo (MessageSink + consume_loop) vs pymongo insert_many.

N weather messages are produced once; each run consumes them with a fresh consumer group
into a fresh database. "Sustained" is counted from the start of the first write to the end of
the last one (the group join before it is reported apart). The same documents written straight
with one insert_many give the floor; the ratio is the consumer's overhead (validation, zone
check, kafka_live_feed rows, commits). Then how it grows with zones and with the documents
already in raw_weather (days of history; raw retention keeps at most 7 days).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Message

from bench.common import (
    Figure,
    at_least,
    bench_settings,
    commit_group,
    commit_group_at_end,
    end_offsets,
    median,
    private_db,
    synthetic_city,
)
from core.catalog import City, get_city
from core.settings import Settings
from ingest.consumer import ConsumeStats, MessageSink

NAME = "consumer_throughput"
BUDGET_MSG_S = 2000.0
N_MESSAGES = 20_000
RUNS = 3
SCALE_ZONES = (10, 40, 160)
SCALE_MESSAGES = 10_000
HISTORY_DAYS = (0, 7, 30)
BASE_HOUR = datetime(2020, 1, 1, tzinfo=UTC)


def weather_records(city: City, n: int, base: datetime = BASE_HOUR,
                    step: timedelta = timedelta(hours=1)) -> list[dict[str, Any]]:
    """n distinct records: zone after zone, then the next step (an hour by default)."""
    zones = city.zones
    out = []
    for i in range(n):
        k, z = divmod(i, len(zones))
        observed = base + k * step
        out.append({"schema_version": 1, "source": "simulated", "city_id": city.city_id,
                    "zone_id": zones[z].zone_id, "observed_at": observed,
                    "ingested_at": observed + timedelta(minutes=1),
                    "temperature_c": 10.0 + (i % 17), "relative_humidity_pct": 55.0,
                    "wind_speed_kmh": 9.5, "precipitation_mm": 0.0})
    return out


def produce_all(settings: Settings, records: list[dict[str, Any]]) -> float:
    """Produce every record to weather_obs; returns wall seconds."""
    from core.ids import zone_key
    from core.vocabulary import Topic
    from ingest.kafka_io import DeliveryStats, make_producer, produce_json

    producer = make_producer(settings)
    stats = DeliveryStats()
    t0 = time.perf_counter()
    for rec in records:
        produce_json(producer, Topic.WEATHER, zone_key(rec["city_id"], rec["zone_id"]), rec,
                     stats.callback)
    left = producer.flush(60)
    wall = time.perf_counter() - t0
    if left or stats.failed:
        raise RuntimeError(f"produce failed: {left} left, {stats.failed} failed {stats.errors}")
    return wall


class TimedSink:
    """MessageSink whose writes are timed (first write start, last write end)."""

    def __init__(self, sink: MessageSink) -> None:
        self.sink = sink
        self.first: float | None = None
        self.last: float | None = None

    def write(self, messages: list[Message]) -> ConsumeStats:
        if self.first is None:
            self.first = time.perf_counter()
        stats = self.sink.write(messages)
        self.last = time.perf_counter()
        return stats


def consume_run(env: dict[str, str], catalog: dict[str, City], expect: int,
                prefill: list[dict[str, Any]] | None = None,
                settings: Settings | None = None) -> dict[str, Any]:
    """One fresh database (and group unless given): consume `expect` messages, time it."""
    from core.vocabulary import C, Topic
    from ingest.consumer import consume_loop
    from ingest.kafka_io import make_consumer

    settings = settings or bench_settings(env, "consume")
    with private_db(settings) as db:
        if prefill:
            db[C.RAW_WEATHER].insert_many(prefill, ordered=False)
        consumer = make_consumer(settings)
        consumer.subscribe([Topic.WEATHER])
        sink = TimedSink(MessageSink(db, catalog))
        deadline = time.monotonic() + 300
        t0 = time.perf_counter()
        try:
            stats = consume_loop(consumer, sink, batch_size=500,
                                 stop=lambda total, _e: total.consumed >= expect
                                 or time.monotonic() > deadline)
        finally:
            consumer.close()
        end = time.perf_counter()
        stored = db[C.RAW_WEATHER].count_documents({}) - len(prefill or [])
    sustained = stats.consumed / (sink.last - sink.first) if sink.first and sink.last else None
    return {"consumed": stats.consumed, "stored": stored, "rejected": stats.rejected,
            "join_s": round((sink.first or end) - t0, 2), "sustained_msg_s": sustained,
            "end_to_end_msg_s": stats.consumed / (end - t0)}


def direct_run(env: dict[str, str], records: list[dict[str, Any]]) -> float:
    """The same documents with one pymongo insert_many; returns msg/s."""
    from core.ids import raw_id
    from core.vocabulary import C

    docs = [{"_id": raw_id(C.RAW_WEATHER, r), **r} for r in records]
    settings = bench_settings(env, "direct")
    with private_db(settings) as db:
        t0 = time.perf_counter()
        db[C.RAW_WEATHER].insert_many(docs, ordered=False)
        wall = time.perf_counter() - t0
    return len(docs) / wall


def fresh_topic_env(env: dict[str, str]) -> None:
    from ingest.kafka_io import ensure_topics

    ensure_topics(bench_settings(env, "topics"))


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    from core.ids import raw_id
    from core.vocabulary import C, Topic

    n, runs = (5000, 1) if quick else (N_MESSAGES, RUNS)
    fresh_topic_env(env)
    city = get_city("nyc")
    # a distinct hour range per benchmark invocation, so reruns on shared Kafka never collide
    base = BASE_HOUR + timedelta(hours=int(time.time()) % 100_000 * 1000)
    records = weather_records(city, n, base)
    start = end_offsets(bench_settings(env, "offsets"), (Topic.WEATHER,))
    produce_s = produce_all(bench_settings(env, "produce"), records)
    catalog = {city.city_id: city}
    results = []
    for _ in range(runs):
        settings = bench_settings(env, "consume")
        commit_group(settings, start)
        results.append(consume_run(env, catalog, n, settings=settings))
    direct = [direct_run(env, records) for _ in range(runs)]
    sustained = median([r["sustained_msg_s"] for r in results if r["sustained_msg_s"]])
    e2e = median([r["end_to_end_msg_s"] for r in results])
    floor = median(direct)
    lost = [r["consumed"] - r["stored"] for r in results]
    figures = [
        Figure(f"consumer Kafka->Mongo, {n:,} weather msgs (sustained)", sustained, "msg/s",
               budget=">= 2,000 msg/s", verdict=at_least(sustained, BUDGET_MSG_S),
               runs=[r["sustained_msg_s"] for r in results],
               note=f"end-to-end incl. group join {e2e:,.0f} msg/s; stored-consumed "
                    f"diff {lost}", extra={"runs": results, "produce_s": produce_s}),
        Figure("same batch, pymongo insert_many straight", floor, "msg/s", runs=direct),
        Figure("consumer overhead (insert_many rate / consumer rate)",
               floor / sustained if sustained else None, "x"),
        Figure(f"producer, {n:,} weather msgs to Kafka", n / produce_s, "msg/s"),
    ]
    scale_n = 3000 if quick else SCALE_MESSAGES
    for zones in SCALE_ZONES:
        syn = synthetic_city(zones)
        row = isolated_run(env, {syn.city_id: syn}, weather_records(syn, scale_n, base))
        figures.append(Figure(f"consumer, {zones} zones ({scale_n:,} msgs)",
                              row["sustained_msg_s"], "msg/s", budget=">= 2,000 msg/s",
                              verdict=at_least(row["sustained_msg_s"], BUDGET_MSG_S), extra=row,
                              note=f"stored {row['stored']:,} of {row['consumed']:,}"))
    for days in HISTORY_DAYS:
        history = weather_records(city, days * 24 * len(city.zones),
                                  base - timedelta(days=days + 1))
        prefill = [{"_id": raw_id(C.RAW_WEATHER, r), **r} for r in history]
        batch = weather_records(city, scale_n, base + timedelta(days=3650 + days))
        row = isolated_run(env, catalog, batch, prefill)
        figures.append(Figure(f"consumer with {days} d of raw_weather already stored "
                              f"({len(prefill):,} docs)", row["sustained_msg_s"], "msg/s",
                              budget=">= 2,000 msg/s",
                              verdict=at_least(row["sustained_msg_s"], BUDGET_MSG_S), extra=row,
                              note=f"stored {row['stored']:,} of {row['consumed']:,}"))
    return figures


def isolated_run(env: dict[str, str], catalog: dict[str, City], records: list[dict[str, Any]],
                 prefill: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A group placed at the end of the topic consumes just `records`, produced after."""
    from core.vocabulary import Topic

    settings = bench_settings(env, "consume")
    commit_group_at_end(settings, (Topic.WEATHER,))
    produce_all(bench_settings(env, "produce"), records)
    return consume_run(env, catalog, len(records), prefill, settings)
