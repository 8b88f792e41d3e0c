"""One ingest job: fetch a source for a city, produce its records to Kafka, DLQ the rejects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from confluent_kafka import Producer
from pymongo.database import Database

from core.ids import zone_key
from core.storage import insert_new
from core.vocabulary import KIND_TOPIC, C, Topic
from ingest.consumer import reject_doc
from ingest.http import RequestCounter
from ingest.kafka_io import DeliveryStats, produce_json, wait_for_delivery
from ingest.sources.base import FetchContext, Source


@dataclass
class IngestResult:
    records: int = 0
    rejects: int = 0
    requests: int = 0
    attempts: int = 0
    delivered: int = 0
    failed: int = 0
    watermark: datetime | None = None
    errors: list[str] = field(default_factory=list)


class DeliveryFailed(RuntimeError):
    def __init__(self, failed: int, errors: list[str]) -> None:
        super().__init__(f"{failed} message(s) not delivered to Kafka: {'; '.join(errors[:3])}")


def message_key(record: dict[str, Any]) -> str:
    """`city:zone` for a zone's record; the city id for a city-wide one (a forecast), so all
    of a city's forecasts share a partition and arrive in order."""
    if "zone_id" in record:
        return zone_key(record["city_id"], record["zone_id"])
    return record["city_id"]


def ingest_source(source: Source, ctx: FetchContext, http: httpx.Client, producer: Producer,
                  db: Database, counter: RequestCounter,
                  flush_timeout_s: float = 30.0) -> IngestResult:
    """Fetch -> parse -> produce. Raises ProviderError (recorded by the caller) or DeliveryFailed.

    `counter` is the caller's, so requests and attempts are known even when the fetch fails.
    """
    parsed = source.collect(ctx, http, counter)
    result = IngestResult(requests=counter.requests, attempts=counter.attempts)
    topic = KIND_TOPIC[source.kind]
    delivery = DeliveryStats()  # this job's messages only: the producer is shared
    routed = parsed.routed(topic)
    for record_topic, record in routed:
        delivery.sent()
        produce_json(producer, record_topic, message_key(record), record, delivery.callback)
    dead = [reject_doc(r.topic or topic, r.reason, r.item, ctx.ingested_at)
            for r in parsed.rejects]
    if dead:
        insert_new(db, C.DLQ, dead)
        for doc in dead:
            delivery.sent()
            produce_json(producer, Topic.DLQ, doc["_id"], {k: v for k, v in doc.items()
                                                          if k != "_id"}, delivery.callback)
    remaining = wait_for_delivery(producer, delivery, flush_timeout_s)
    result.records, result.rejects = len(routed), len(parsed.rejects)
    result.delivered, result.failed = delivery.delivered, delivery.failed + remaining
    result.watermark = parsed.watermark
    if result.failed:
        raise DeliveryFailed(result.failed, delivery.errors
                             or [f"no delivery report within {flush_timeout_s:g} s"])
    return result
