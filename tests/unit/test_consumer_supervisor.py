"""The sidecar's supervised consumer: it outlives any failure of its loop and says so."""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaException
from pymongo.errors import ServerSelectionTimeoutError

from core.vocabulary import C, Topic
from ingest.consumer import MessageSink
from pipeline.consumer_supervisor import SupervisedConsumer, backoff
from tests.unit.processing.fake_db import FakeDb


class FakeMessage:
    def __init__(self, offset: int, value: bytes) -> None:
        self._offset, self._value = offset, value

    def error(self):
        return None

    def topic(self):
        return Topic.WEATHER

    def partition(self):
        return 0

    def offset(self):
        return self._offset

    def key(self):
        return b"nyc:z01"

    def value(self):
        return self._value


class FlakyConsumer:
    """Delivers one batch, then its commit fails (a broker that went away)."""

    def __init__(self, log: list[str], fail_commit: bool) -> None:
        self.log, self.fail_commit, self.sent = log, fail_commit, False

    def subscribe(self, topics):
        self.log.append("subscribe")

    def consume(self, num_messages, timeout):
        if self.sent:
            return []
        self.sent = True
        return [FakeMessage(7, b"not json")]

    def commit(self, asynchronous=False):
        if self.fail_commit:
            raise KafkaException("broker transport failure")
        self.log.append("commit")

    def close(self):
        self.log.append("close")


def test_a_failed_commit_restarts_the_consumer_and_reports_reconnecting() -> None:
    db, log, stop = FakeDb(), [], threading.Event()
    consumers = iter([FlakyConsumer(log, fail_commit=True), FlakyConsumer(log, fail_commit=False)])
    statuses: list[dict] = []
    real_replace = db[C.CONSUMER_STATUS].replace_one

    def record(query, doc, upsert=False):
        statuses.append(doc)
        if doc["state"] == "running" and "commit" in log:
            stop.set()
        return real_replace(query, doc, upsert=upsert)

    db[C.CONSUMER_STATUS].replace_one = record
    sup = SupervisedConsumer(db, MessageSink(db, {}), lambda _on_error: next(consumers),
                             [Topic.WEATHER], stop, status_every_s=0.0)
    sup.stop_event.wait = lambda _s: None  # no real sleeping in a unit test
    runner = threading.Thread(target=sup.run)
    runner.start()
    runner.join(10)
    assert not runner.is_alive()
    assert log == ["subscribe", "close", "subscribe", "commit", "close"]
    assert sup.restarts == 1
    reconnecting = [s for s in statuses if s["state"] == "reconnecting"]
    assert reconnecting and "broker transport failure" in reconnecting[0]["last_error"]
    running = [s for s in statuses if s["state"] == "running"]
    assert running and running[-1]["restarts"] == 1 and running[-1]["last_error"] is None
    assert statuses[-1]["state"] == "stopped"  # a clean shutdown leaves its totals
    # the uncommitted batch is delivered again and counted once, when it is committed
    assert statuses[-1]["dlq_total"] == 1


def test_an_unwritable_status_is_skipped_not_fatal() -> None:
    db, stop = FakeDb(), threading.Event()

    def down(*_a, **_k):
        raise ServerSelectionTimeoutError("mongo down")

    db[C.CONSUMER_STATUS].replace_one = down
    sup = SupervisedConsumer(db, MessageSink(db, {}), lambda _e: None, [], stop)
    sup.write_status(None, "reconnecting", "x")  # must not raise
    sup.write_status(None, "reconnecting", "x")


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 1.0, 30.0) for n in (1, 2, 3, 6, 9)] == [1.0, 2.0, 4.0, 30.0, 30.0]


def test_state_is_reconnecting_only_while_the_problem_is_recent() -> None:
    sup = SupervisedConsumer(FakeDb(), MessageSink(FakeDb(), {}), lambda _e: None, [],
                             threading.Event())
    assert sup.state() == ("running", None)
    sup.total.last_error, sup.total.last_error_at = "Kafka: all brokers down", time.monotonic()
    assert sup.state() == ("reconnecting", "Kafka: all brokers down")
    sup.total.last_ok_at = time.monotonic()
    assert sup.state() == ("running", None)
