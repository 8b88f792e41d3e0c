"""The long-running sidecar's Kafka consumer, supervised: it survives MongoDB and Kafka outages
of any length and resumes by itself.

`consume_loop` already retries a batch whose MongoDB write fails (without committing) and
librdkafka reconnects to brokers on its own; what is left to supervise is everything else that
can end the loop (a commit refused while the broker is away, a consumer that cannot be built,
anything unexpected). The supervisor then closes the consumer, waits with capped exponential
backoff, builds a new one and resubscribes; uncommitted messages are delivered again and stored
idempotently. `consumer_status` says `running` or `reconnecting` with the last error, written
every STATUS_EVERY_S while MongoDB answers (a status that cannot be written is skipped, never
fatal), so the pages show an outage and fresh figures within 30 s after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError
from pymongo.database import Database
from pymongo.errors import PyMongoError

from core.ids import make_id
from core.vocabulary import C
from core.worker import worker_id
from ingest.consumer import ConsumeStats, MessageSink, consume_loop

log = logging.getLogger("citylive.consumer")
STATUS_EVERY_S = 10.0
BACKOFF_S = (1.0, 30.0)  # first wait, cap


def backoff(restarts: int, first: float = BACKOFF_S[0], cap: float = BACKOFF_S[1]) -> float:
    """Seconds to wait before restart number `restarts` (1, 2, 4, ... capped)."""
    return min(cap, first * 2 ** max(0, restarts - 1))


def status_doc(total: ConsumeStats, state: str, last_error: str | None, restarts: int,
               lag: dict[str, int], now: datetime, worker: str = "-") -> dict[str, Any]:
    """One consumer_status document per worker (sidecar process): several sidecars each report
    their own consumer (docs/architecture.md §13)."""
    return {"_id": make_id("consumer", worker), "worker": worker, "updated_at": now,
            "state": state, "last_error": last_error,
            "restarts": restarts, "lag": lag, "consumed_total": total.consumed,
            "stored_total": total.stored, "duplicates_total": total.duplicates,
            "dlq_total": total.rejected,
            "write_failures": total.write_failures, "per_topic": dict(total.per_topic)}


class SupervisedConsumer:
    def __init__(self, db: Database, sink: MessageSink,
                 make_consumer: Callable[[Callable[[KafkaError], None]], Consumer],
                 topics: list[str], stop_event: threading.Event,
                 lag: Callable[[Consumer], dict[str, int]] = lambda _c: {},
                 status_every_s: float = STATUS_EVERY_S, batch_size: int = 500) -> None:
        self.db, self.sink, self.make_consumer = db, sink, make_consumer
        self.topics, self.stop_event, self.lag = topics, stop_event, lag
        self.status_every_s = status_every_s
        self.batch_size = batch_size
        self.total = ConsumeStats()
        self.restarts = 0
        self.last_error: str | None = None
        self._last_status = 0.0
        self._status_failing = False

    def run(self) -> None:
        """Consume until the stop event is set, whatever happens in between."""
        while not self.stop_event.is_set():
            consumer = None
            try:
                consumer = self.make_consumer(self.kafka_error)
                consumer.subscribe(self.topics)
                consume_loop(consumer, self.sink, total=self.total, batch_size=self.batch_size,
                             stop=lambda _total, _e, c=consumer: self._tick(c))
                self.write_status(None, "stopped")  # a clean shutdown leaves its totals
                return
            except Exception as exc:  # noqa: BLE001 - supervised: recorded, then restarted
                self.restarts += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("consumer stopped (%s); restart %d in %.0f s", self.last_error,
                            self.restarts, backoff(self.restarts))
                self.write_status(None, "reconnecting")
                self.stop_event.wait(backoff(self.restarts))
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception as exc:  # noqa: BLE001 - a dead broker may refuse a close
                        log.info("closing the consumer failed: %s", exc)

    def kafka_error(self, err: KafkaError) -> None:
        """librdkafka's client-level errors (broker down, all brokers down): the consumer keeps
        reconnecting on its own; the status says so meanwhile."""
        self.problem(f"Kafka: {err.str()}")

    def problem(self, error: str) -> None:
        self.total.last_error, self.total.last_error_at = error[:500], time.monotonic()

    def state(self) -> tuple[str, str | None]:
        """`reconnecting` while the newest problem is recent and nothing was stored since."""
        if self.total.failing(time.monotonic()):
            return "reconnecting", self.total.last_error
        return "running", None

    def _tick(self, consumer: Consumer) -> bool:
        if time.monotonic() - self._last_status >= self.status_every_s:
            state, error = self.state()
            self.write_status(consumer, state, error)
        return self.stop_event.is_set()

    def write_status(self, consumer: Consumer | None, state: str,
                     error: str | None = None) -> None:
        """Best effort: an unreachable MongoDB skips the report (logged once per outage)."""
        self._last_status = time.monotonic()
        lag: dict[str, int] = {}
        if consumer is not None and state == "running":
            try:
                lag = self.lag(consumer)
            except Exception as exc:  # noqa: BLE001 - no lag: the broker is unreachable
                log.info("could not read consumer lag: %s", exc)
                self.problem(f"Kafka: {exc}")
                state, error = self.state()
        doc = status_doc(self.total, state, error if state == "running" else
                         (error or self.last_error), self.restarts, lag, datetime.now(UTC),
                         worker_id())
        try:
            self.db[C.CONSUMER_STATUS].replace_one({"_id": doc["_id"]}, doc, upsert=True)
            self._status_failing = False
        except PyMongoError as exc:
            if not self._status_failing:
                log.warning("could not write consumer_status: %s", exc)
            self._status_failing = True
