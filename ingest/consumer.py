"""Kafka -> MongoDB consumer: validate, write raw_* + kafka_live_feed, then commit.

Weather forecasts (topic weather_forecast, one per city and issue hour) are written to
`weather_forecasts` by `_id` instead: a later cycle of the same hour replaces the document.
They stay out of the live feed (a city-wide record, not an observation of a zone).

At-least-once delivery (commit only after the Mongo write) plus idempotent writes
(deterministic `_id`, duplicates ignored) = effectively once. A message that fails validation,
or whose handling raises anything else, goes to the DLQ (topic + collection) with its reason
and is committed; it never stops the loop. A Mongo write failure of the batch does not commit:
the consumer seeks back and retries the batch.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from pymongo.database import Database
from pymongo.errors import PyMongoError

from core.catalog import City
from core.ids import make_id, raw_id
from core.storage import insert_new, insert_new_docs, upsert_many
from core.vocabulary import CONSUMED_TOPICS, TOPIC_COLLECTION, C, Topic
from ingest.exceptions import RecordRejected
from ingest.kafka_io import produce_json, unwrap
from ingest.schema import TIME_FIELD, check_plausible_time, to_wire, validate_record
from ingest.weather_forecast import forecast_document

log = logging.getLogger(__name__)
SNIPPET = 500
FEED_LATEST_ROWS = 30
FEED_COUNT_MINUTES = 60
SUMMARY_FIELDS = {
    Topic.WEATHER: ("temperature_c", "relative_humidity_pct", "wind_speed_kmh"),
    Topic.AQI: ("us_aqi", "pm2_5"),
    Topic.TRAFFIC: ("link_id", "speed_kmh", "congestion"),
    Topic.POWER: ("city_demand_mw", "demand_mw", "ba_demand_mw"),
    Topic.INCIDENTS: ("complaint_type", "status"),
}


@dataclass
class ConsumeStats:
    consumed: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    write_failures: int = 0
    cities: set[str] = field(default_factory=set)
    per_topic: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # the newest problem (Kafka error or failed write) and when, and the last stored batch
    # (monotonic seconds): a supervisor tells "reconnecting" from "running" by them
    last_error: str | None = None
    last_error_at: float | None = None
    last_ok_at: float | None = None

    def failing(self, now: float, within_s: float = 30.0) -> bool:
        """A problem in the last `within_s` seconds and no batch stored since."""
        return (self.last_error_at is not None and now - self.last_error_at <= within_s
                and (self.last_ok_at is None or self.last_ok_at < self.last_error_at))

    def add(self, other: ConsumeStats) -> None:
        self.consumed += other.consumed
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.write_failures += other.write_failures
        self.cities |= other.cities
        for topic, n in other.per_topic.items():
            self.per_topic[topic] += n


def check_zone(record: dict[str, Any], catalog: dict[str, City]) -> None:
    """The record's city and zone (every zone of a city-wide record) are in the catalog."""
    city = catalog.get(record["city_id"])
    if city is None:
        raise RecordRejected(f"unknown city_id {record['city_id']!r}")
    for zone_id in record["zone_ids"] if "zone_ids" in record else [record["zone_id"]]:
        if city.zone(zone_id) is None:
            raise RecordRejected(f"unknown zone_id {zone_id!r} for city {city.city_id}")
    if "lat" in record and not city.bounds.contains(record["lat"], record["lon"]):
        raise RecordRejected("point outside the city bounds")


def summarise(topic: str, record: dict[str, Any]) -> str:
    parts = []
    for name in SUMMARY_FIELDS.get(topic, ()):
        value = record.get(name)
        if isinstance(value, float):
            value = round(value, 2)
        parts.append(f"{name}={value}")
    return ", ".join(parts)[:200]


def reject_reason(exc: Exception) -> str:
    """A validation reason as it is; anything else as its class and message (a bug or bad data
    that validation did not foresee), so the DLQ says what happened."""
    if isinstance(exc, RecordRejected):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"[:SNIPPET]


def dlq_doc(msg_id: str, topic: str, key: str | None, value: bytes | None, reason: str,
            stage: str, now: datetime) -> dict[str, Any]:
    snippet = (value or b"")[:SNIPPET].decode("utf-8", errors="replace")
    return {"_id": msg_id, "topic": topic, "key": key, "reason": reason[:SNIPPET],
            "value_snippet": snippet, "received_at": now, "stage": stage}


def reject_doc(topic: str, reason: str, item: object, now: datetime) -> dict[str, Any]:
    """DLQ document for an item a source could not turn into a record (producer stage)."""
    digest = hashlib.sha1(f"{topic}{reason}{item!r}".encode()).hexdigest()[:16]
    try:
        value = to_wire(item) if isinstance(item, dict) else repr(item).encode()
    except (TypeError, ValueError):
        value = repr(item).encode()
    return dlq_doc(make_id("producer", topic, digest), topic, None, value, reason, "producer", now)


WRITERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sink-writer")
FEED_FIELDS = ("_id", "topic", "partition", "offset", "key", "raw_id", "city_id", "consumed_at")


def slim(row: dict[str, Any]) -> dict[str, Any]:
    """The kafka_live_feed document of a message: where it came from and which raw document
    it became. Every value written costs consumer throughput on FerretDB, and the rest of the
    row (zone, times, summary) is in the raw document and the Live Stream snapshot."""
    return {k: row[k] for k in FEED_FIELDS}


class MessageSink:
    """Turns a batch of Kafka messages into Mongo writes; pure apart from `write`."""

    def __init__(self, db: Database, catalog: dict[str, City],
                 dlq_producer: Producer | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 max_age: timedelta | None = None) -> None:
        """`max_age` (the raw retention window) turns on the plausible-time check against
        `clock`; None leaves times unchecked (replay and bench tools with synthetic clocks)."""
        self.db = db
        self.catalog = catalog
        self.dlq_producer = dlq_producer
        self.clock = clock
        self.max_age = max_age

    def write(self, messages: list[Message]) -> ConsumeStats:
        """Validate and store one batch; a message that cannot be handled goes to the DLQ.

        Raises PyMongoError when the batch cannot be written (Mongo unavailable)."""
        stats = ConsumeStats()
        now = self.clock()
        raw: dict[str, list[dict[str, Any]]] = defaultdict(list)
        feed, dead, forecasts = [], [], []
        for msg in messages:
            topic, part, offset = msg.topic(), msg.partition(), msg.offset()
            key = msg.key().decode("utf-8", errors="replace") if msg.key() else None
            msg_id = make_id(topic, part, offset)
            stats.consumed += 1
            stats.per_topic[topic] += 1
            try:
                record = self._accept(topic, msg.value() or b"", now)
                if topic == Topic.WEATHER_FORECAST:
                    forecasts.append(forecast_document(record))
                    stats.cities.add(record["city_id"])
                    continue
                collection = TOPIC_COLLECTION[topic]
                raw_doc = {"_id": raw_id(collection, record), **record,
                           "partition": part, "offset": offset}
                feed_doc = {"_id": msg_id, "topic": topic, "partition": part, "offset": offset,
                            "key": key, "raw_id": raw_doc["_id"], "city_id": record["city_id"],
                            "zone_id": record["zone_id"], "observed_at": record["observed_at"],
                            "consumed_at": now, "summary": summarise(topic, record),
                            "source": record["source"]}
            except Exception as exc:  # noqa: BLE001 - one message must never stall a partition
                dead.append(dlq_doc(msg_id, topic, key, msg.value(), reject_reason(exc),
                                    "consumer", now))
                continue
            raw[collection].append(raw_doc)
            feed.append(feed_doc)
            stats.cities.add(record["city_id"])
        # the raw and live-feed inserts go to the server side by side: FerretDB converts each
        # on its own connection, so both cores work while this thread waits
        raw_writes = {c: WRITERS.submit(insert_new, self.db, c, docs) for c, docs in raw.items()}
        # kafka_live_feed keeps a slim row per message (what the raw document does not say);
        # only messages seen for the first time count in the Live Stream (a replay is no news)
        fresh = insert_new_docs(self.db, C.LIVE_FEED, [slim(r) for r in feed])
        for collection, written in raw_writes.items():
            new = written.result()
            stats.stored += new
            stats.duplicates += len(raw[collection]) - new
        new_ids = {d["_id"] for d in fresh}
        update_feed_snapshots(self.db, [r for r in feed if r["_id"] in new_ids], now)
        if forecasts:  # in offset order: the newest issuance of an hour is written last
            upsert_many(self.db, C.WEATHER_FORECASTS, forecasts)
            stats.stored += len(forecasts)
        if dead:
            insert_new(self.db, C.DLQ, dead)
            stats.rejected += len(dead)
            self._forward_dead(dead)
        return stats

    def _accept(self, topic: str, value: bytes, now: datetime) -> dict[str, Any]:
        """One message's record, validated and placed; raises RecordRejected with why."""
        if topic not in CONSUMED_TOPICS:
            raise RecordRejected(f"unexpected topic {topic!r}")
        record = validate_record(topic, value)
        if self.max_age is not None:
            check_plausible_time(record, now, self.max_age, TIME_FIELD.get(topic, "observed_at"))
        check_zone(record, self.catalog)
        return record

    def _forward_dead(self, dead: list[dict[str, Any]]) -> None:
        if self.dlq_producer is None:
            return
        for doc in dead:
            produce_json(self.dlq_producer, Topic.DLQ, doc["key"] or doc["_id"],
                         {k: v for k, v in doc.items() if k != "_id"}, lambda err, msg: None)


def merge_feed_snapshot(current: dict[str, Any] | None, rows: list[dict[str, Any]],
                        city_id: str, topic: str, now: datetime) -> dict[str, Any]:
    """Pure: the Live Stream read model of one city and topic, with a batch of new rows added.

    Keeps the newest FEED_LATEST_ROWS rows and per-minute message counts for the last hour, so
    the page reads a handful of documents by `_id` instead of scanning kafka_live_feed. A row
    of a message already among the latest rows (a replay) is not added or counted again."""
    current = current or {}
    seen = {_message_key(r) for r in current.get("latest", [])}
    rows = [r for r in rows if _message_key(r) not in seen]
    latest = sorted([*rows, *current.get("latest", [])],
                    key=lambda r: (r["consumed_at"], r["offset"]), reverse=True)
    counts = dict(current.get("minute_counts", {}))
    for row in rows:
        minute = row["consumed_at"].strftime("%Y-%m-%dT%H:%M")
        counts[minute] = counts.get(minute, 0) + 1
    oldest = (now - timedelta(minutes=FEED_COUNT_MINUTES)).strftime("%Y-%m-%dT%H:%M")
    return {"_id": make_id(city_id, topic), "city_id": city_id, "topic": topic, "updated_at": now,
            "latest": [{k: v for k, v in r.items() if k != "_id"}
                       for r in latest[:FEED_LATEST_ROWS]],
            "minute_counts": {m: n for m, n in sorted(counts.items()) if m >= oldest}}


def _message_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """A feed row's message (its `_id` is dropped in the snapshot's latest rows)."""
    return row["topic"], row.get("partition"), row["offset"]


def update_feed_snapshots(db: Database, feed: list[dict[str, Any]], now: datetime) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in feed:
        groups[(row["city_id"], row["topic"])].append(row)
    for (city_id, topic), rows in groups.items():
        current = db[C.LIVE_FEED_LATEST].find_one({"_id": make_id(city_id, topic)})
        db[C.LIVE_FEED_LATEST].replace_one(
            {"_id": make_id(city_id, topic)},
            merge_feed_snapshot(current, rows, city_id, topic, now), upsert=True)


def consume_loop(consumer: Consumer, sink: MessageSink, *, batch_size: int = 500,
                 poll_timeout_s: float = 0.5, stop: Callable[[ConsumeStats, int], bool],
                 retry_sleep_s: float = 1.0, total: ConsumeStats | None = None) -> ConsumeStats:
    """Poll -> write -> commit until `stop(total, empty_polls)` says so. `total` carries the
    figures across restarts of the loop (the sidecar's supervisor)."""
    total = total if total is not None else ConsumeStats()
    empty_polls = 0
    while not stop(total, empty_polls):
        messages = consumer.consume(num_messages=batch_size, timeout=poll_timeout_s)
        good = []
        for msg in messages:
            err = msg.error()
            if err is None:
                good.append(msg)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("kafka error: %s", err.str())
                total.last_error, total.last_error_at = f"Kafka: {err.str()}", time.monotonic()
        if not good:
            empty_polls += 1
            continue
        empty_polls = 0
        try:
            stats = sink.write(good)
        except PyMongoError as exc:
            total.write_failures += 1
            total.last_error = f"MongoDB: {type(exc).__name__}: {exc}"[:500]
            total.last_error_at = time.monotonic()
            log.warning("mongo write failed, not committing; will retry the batch: %s", exc)
            _rewind(consumer, good)
            time.sleep(retry_sleep_s)
            continue
        consumer.commit(asynchronous=False)  # a KafkaException here ends the loop: the
        total.add(stats)                     # supervisor reconnects (the batch is stored)
        total.last_ok_at = time.monotonic()
    return total


def _rewind(consumer: Consumer, messages: list[Message]) -> None:
    """Seek each partition back to the first uncommitted message of the failed batch."""
    first: dict[tuple[str, int], int] = {}
    for msg in messages:
        key = (msg.topic(), msg.partition())
        first[key] = min(first.get(key, msg.offset()), msg.offset())
    for (topic, part), offset in first.items():
        consumer.seek(TopicPartition(topic, part, offset))


def lag_by_topic(consumer: Consumer, admin: AdminClient,
                 topics: tuple[str, ...] = CONSUMED_TOPICS, timeout_s: float = 5.0
                 ) -> dict[str, int]:
    """Committed-offset lag per (logical) topic for this consumer's group (two batched
    requests)."""
    raw, names = unwrap(consumer)
    metadata = raw.list_topics(timeout=timeout_s)
    wire = {names.physical(t): t for t in topics}
    parts = [TopicPartition(t, p) for t in wire if t in metadata.topics
             for p in metadata.topics[t].partitions]
    committed = raw.committed(parts, timeout=timeout_s)
    futures = admin.list_offsets({tp: OffsetSpec.latest() for tp in parts},
                                 request_timeout=timeout_s)
    high = {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
    lag: dict[str, int] = defaultdict(int)
    for tp in committed:
        end = high[(tp.topic, tp.partition)]
        done = tp.offset if tp.offset >= 0 else 0
        lag[wire[tp.topic]] += max(end - done, 0)
    return dict(lag)
