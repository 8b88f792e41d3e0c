"""Kafka clients built from Settings: topic creation, an idempotent producer, a consumer.

Loops follow the confluent-kafka examples: poll, check msg.error(), write, then commit;
producers poll(0) after produce and flush() on shutdown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from core.settings import Settings
from core.vocabulary import ALL_TOPICS
from ingest.schema import to_wire

log = logging.getLogger(__name__)
PARTITIONS = 3


def client_config(settings: Settings) -> dict[str, Any]:
    """Connection settings shared by every client (SASL/TLS when configured)."""
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        conf["sasl.mechanism"] = settings.kafka_sasl_mechanism
        conf["sasl.username"] = settings.kafka_sasl_username or ""
        password = settings.kafka_sasl_password
        conf["sasl.password"] = password.get_secret_value() if password else ""
    if settings.kafka_ssl_ca_location:
        conf["ssl.ca.location"] = settings.kafka_ssl_ca_location
    return conf


def ensure_topics(settings: Settings, topics: tuple[str, ...] = ALL_TOPICS,
                  timeout_s: float = 15.0) -> list[str]:
    """Create missing topics; returns the ones created. Existing topics are left alone."""
    admin = AdminClient(client_config(settings))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    missing = [t for t in topics if t not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=PARTITIONS, replication_factor=1) for t in missing],
        operation_timeout=timeout_s)
    for future in futures.values():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return missing


@dataclass
class DeliveryStats:
    """Delivery-report tally of one job's messages (its `callback` goes with each produce).

    Jobs share one producer, so a job counts its own reports instead of asking the producer
    what is left: the queue holds other jobs' messages too. Reports may be served by any
    thread that polls the producer, hence the lock."""

    produced: int = 0
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def sent(self, n: int = 1) -> None:
        """Count messages handed to the producer with this tally's callback."""
        with self._lock:
            self.produced += n

    @property
    def outstanding(self) -> int:
        """Messages sent without a delivery report yet."""
        with self._lock:
            return self.produced - self.delivered - self.failed

    def callback(self, err: KafkaError | None, msg: Any) -> None:
        with self._lock:
            if err is not None:
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(f"{msg.topic()}: {err.str()}")
            else:
                self.delivered += 1


def wait_for_delivery(producer: Producer, delivery: DeliveryStats, timeout_s: float) -> int:
    """Serve delivery reports until every message of `delivery` has one, or `timeout_s` passed;
    returns how many are still outstanding (unlike flush, never waits for other jobs)."""
    deadline = time.monotonic() + timeout_s
    while delivery.outstanding > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        producer.poll(min(left, 0.1))
    return max(delivery.outstanding, 0)


def make_producer(settings: Settings) -> Producer:
    return Producer({
        **client_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        "message.timeout.ms": settings.kafka_message_timeout_ms,
        "client.id": "citylive-producer",
    })


def produce_json(producer: Producer, topic: str, key: str, value: dict[str, Any],
                 on_delivery: Callable[[KafkaError | None, Any], None]) -> None:
    """Produce one canonical record; waits for queue space instead of failing on BufferError."""
    payload = to_wire(value)
    while True:
        try:
            producer.produce(topic, key=key.encode(), value=payload, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)


def make_consumer(settings: Settings, group_id: str | None = None,
                  on_error: Callable[[KafkaError], None] | None = None) -> Consumer:
    """A manual-commit consumer; `on_error` receives client-level errors (a broker that went
    away, all brokers down), which librdkafka reports apart from the messages."""
    extra: dict[str, Any] = {"error_cb": on_error} if on_error is not None else {}
    return Consumer({
        **client_config(settings),
        **extra,
        "group.id": group_id or settings.kafka_consumer_group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "max.poll.interval.ms": 300000,
        "session.timeout.ms": 10000,
        "client.id": "citylive-consumer",
    })
