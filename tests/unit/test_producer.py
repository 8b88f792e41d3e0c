"""ingest_source with a fake shared producer: a job answers for its own messages only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from core.catalog import get_city
from core.settings import Settings
from core.vocabulary import C, Topic
from ingest.http import RequestCounter
from ingest.kafka_io import DeliveryStats
from ingest.producer import DeliveryFailed, ingest_source
from ingest.sources.base import FetchContext, ParseResult, Source
from ingest.weather_forecast import forecast_record
from tests.unit.processing.fake_db import FakeDb

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
CITY = get_city("nyc")


class FakeMessage:
    def __init__(self, topic: str) -> None:
        self._topic = topic

    def topic(self) -> str:
        return self._topic


class FakeError:
    def str(self) -> str:
        return "broker gone"


class FakeProducer:
    """One producer shared by every job: messages wait in its queue until someone polls;
    messages to `stuck_topic` never get a delivery report (a broker that went quiet)."""

    def __init__(self, stuck_topic: str | None = None) -> None:
        self.queue: list[tuple[str, Callable[..., None]]] = []
        self.stuck_topic = stuck_topic

    def produce(self, topic: str, key: bytes, value: bytes,
                on_delivery: Callable[..., None]) -> None:
        self.queue.append((topic, on_delivery))

    def poll(self, timeout: float = 0) -> int:
        ready = [(t, cb) for t, cb in self.queue if t != self.stuck_topic]
        self.queue = [(t, cb) for t, cb in self.queue if t == self.stuck_topic]
        for topic, callback in ready:
            callback(None, FakeMessage(topic))
        return len(ready)

    def flush(self, timeout: float = -1) -> int:
        self.poll()
        return len(self.queue)

    def __len__(self) -> int:
        return len(self.queue)


class FixedSource(Source):
    kind = "weather"
    provider = "simulated"

    def fetch(self, ctx: FetchContext, http: Any, counter: RequestCounter) -> Any:
        return None

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        return ParseResult(records=[
            {"schema_version": 1, "source": "simulated", "city_id": CITY.city_id,
             "zone_id": zone.zone_id, "observed_at": NOW, "ingested_at": NOW,
             "temperature_c": 3.0} for zone in CITY.zones[:3]])


def ingest(producer: FakeProducer, timeout_s: float = 1.0):
    ctx = FetchContext(city=CITY, settings=Settings(_env_file=None), start=NOW, end=NOW,
                       ingested_at=NOW)
    return ingest_source(FixedSource(), ctx, None, producer, FakeDb(), RequestCounter(),
                         flush_timeout_s=timeout_s)


def test_another_jobs_undelivered_message_is_not_this_jobs_failure():
    producer = FakeProducer(stuck_topic=Topic.ALERTS)
    other_job = DeliveryStats()
    producer.produce(Topic.ALERTS, b"k", b"{}", other_job.callback)  # e.g. processing's alert
    result = ingest(producer)
    assert (result.records, result.delivered, result.failed) == (3, 3, 0)
    assert len(producer) == 1  # the other job's message is still waiting, and still its own


def test_this_jobs_own_undelivered_messages_fail_it_after_the_timeout():
    with pytest.raises(DeliveryFailed, match="3 message"):
        ingest(FakeProducer(stuck_topic=Topic.WEATHER), timeout_s=0.05)


def test_delivery_stats_count_only_their_own_reports():
    mine, theirs = DeliveryStats(), DeliveryStats()
    mine.sent(2)
    mine.callback(None, FakeMessage(Topic.WEATHER))
    theirs.callback(FakeError(), FakeMessage(Topic.WEATHER))
    assert (mine.delivered, mine.failed, mine.outstanding) == (1, 0, 1)
    assert (theirs.failed, theirs.errors) == (1, ["weather_obs: broker gone"])


class KeyedProducer(FakeProducer):
    """Remembers the topic and key of every message."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, bytes]] = []

    def produce(self, topic: str, key: bytes, value: bytes,
                on_delivery: Callable[..., None]) -> None:
        self.sent.append((topic, key))
        super().produce(topic, key, value, on_delivery)


class ForecastingSource(FixedSource):
    """Observations plus the forecast issued this hour (and one bad extra record)."""

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        result = super().parse(raw, ctx)
        zones = [z.zone_id for z in CITY.zones[:2]]
        record = forecast_record(city_id=CITY.city_id, source="simulated", issued_at=NOW,
                                 ingested_at=NOW, zone_ids=zones,
                                 zone_values=np.full((2, 48), 4.0), weights=[1.0, 1.0])
        result.add_extra(Topic.WEATHER_FORECAST, record, record)
        result.add_extra(Topic.WEATHER_FORECAST, {**record, "hours": []}, "bad")
        return result


def test_records_of_another_topic_are_produced_to_it_keyed_by_city():
    producer, db = KeyedProducer(), FakeDb()
    ctx = FetchContext(city=CITY, settings=Settings(_env_file=None), start=NOW, end=NOW,
                       ingested_at=NOW)
    result = ingest_source(ForecastingSource(), ctx, None, producer, db, RequestCounter(),
                           flush_timeout_s=1.0)
    assert (result.records, result.rejects, result.failed) == (4, 1, 0)
    assert producer.sent[:4] == [(Topic.WEATHER, f"nyc:{z.zone_id}".encode())
                                 for z in CITY.zones[:3]] + [(Topic.WEATHER_FORECAST, b"nyc")]
    [dead] = db[C.DLQ].docs.values()
    assert dead["topic"] == Topic.WEATHER_FORECAST and "hours" in dead["reason"]
