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

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from core.settings import Settings
from core.vocabulary import ALL_TOPICS, Topic
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


@dataclass(frozen=True)
class TopicNames:
    """Logical topic names (core.vocabulary.Topic) <-> the names on the cluster.

    KAFKA_TOPIC_PREFIX puts a namespace in front of every topic (docs/architecture.md §3). The
    code speaks logical names only: the clients from make_producer/make_consumer translate at
    the wire, so with an empty prefix (the app's default) they are the plain clients."""

    prefix: str = ""

    def physical(self, topic: str) -> str:
        return self.prefix + topic

    def logical(self, topic: str) -> str:
        return topic[len(self.prefix):] if self.prefix and topic.startswith(self.prefix) else topic


def topic_names(settings: Settings) -> TopicNames:
    return TopicNames(settings.kafka_topic_prefix)


class _LogicalMessage:
    """A consumed message whose topic() is its logical name."""

    __slots__ = ("_msg", "_topic")

    def __init__(self, msg: Any, topic: str) -> None:
        self._msg, self._topic = msg, topic

    def topic(self) -> str:
        return self._topic

    def __getattr__(self, name: str) -> Any:  # partition, offset, key, value, error, ...
        return getattr(self._msg, name)


class NamespacedProducer:
    """A Producer that sends logical topic names to their namespaced topics."""

    def __init__(self, producer: Producer, names: TopicNames) -> None:
        self.inner, self.names = producer, names

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        self.inner.produce(self.names.physical(topic), *args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # poll, flush, len, ...
        return getattr(self.inner, name)

    def __len__(self) -> int:
        return len(self.inner)


class NamespacedConsumer:
    """A Consumer that subscribes, seeks and reports in logical topic names."""

    def __init__(self, consumer: Consumer, names: TopicNames) -> None:
        self.inner, self.names = consumer, names

    def _wrap(self, msg: Any) -> Any:
        if msg is None or msg.topic() is None:
            return msg
        return _LogicalMessage(msg, self.names.logical(msg.topic()))

    def _physical(self, parts: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(self.names.physical(p.topic), p.partition, p.offset) for p in parts]

    def _logical(self, parts: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(self.names.logical(p.topic), p.partition, p.offset) for p in parts]

    def subscribe(self, topics: list[str], **kwargs: Any) -> None:
        self.inner.subscribe([self.names.physical(t) for t in topics], **kwargs)

    def poll(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrap(self.inner.poll(*args, **kwargs))

    def consume(self, *args: Any, **kwargs: Any) -> list[Any]:
        return [self._wrap(m) for m in self.inner.consume(*args, **kwargs)]

    def seek(self, part: TopicPartition) -> None:
        self.inner.seek(self._physical([part])[0])

    def assignment(self) -> list[TopicPartition]:
        return self._logical(self.inner.assignment())

    def committed(self, parts: list[TopicPartition], **kwargs: Any) -> list[TopicPartition]:
        return self._logical(self.inner.committed(self._physical(parts), **kwargs))

    def __getattr__(self, name: str) -> Any:  # commit, close, list_topics, ...
        return getattr(self.inner, name)


def unwrap(consumer: Any) -> tuple[Consumer, TopicNames]:
    """The plain client under a consumer from make_consumer, and its topic names."""
    if isinstance(consumer, NamespacedConsumer):
        return consumer.inner, consumer.names
    return consumer, TopicNames()


def ensure_topics(settings: Settings, topics: tuple[str, ...] = ALL_TOPICS,
                  timeout_s: float = 15.0) -> list[str]:
    """Create missing topics (logical names, namespaced by KAFKA_TOPIC_PREFIX); returns the
    ones created. Existing topics are left alone."""
    admin = AdminClient(client_config(settings))
    existing = set(admin.list_topics(timeout=timeout_s).topics)
    names = topic_names(settings)
    missing = [names.physical(t) for t in topics if names.physical(t) not in existing]
    if not missing:
        return []
    partitions = {names.physical(Topic.CONTROL): settings.citylive_control_partitions}
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions.get(t, PARTITIONS), replication_factor=1)
         for t in missing], operation_timeout=timeout_s)
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
    producer = Producer({
        **client_config(settings),
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        "message.timeout.ms": settings.kafka_message_timeout_ms,
        "client.id": "citylive-producer",
    })
    names = topic_names(settings)
    return NamespacedProducer(producer, names) if names.prefix else producer  # type: ignore[return-value]


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
                  on_error: Callable[[KafkaError], None] | None = None,
                  config: dict[str, Any] | None = None) -> Consumer:
    """A manual-commit consumer; `on_error` receives client-level errors (a broker that went
    away, all brokers down), which librdkafka reports apart from the messages; `config` adds
    or overrides librdkafka settings."""
    extra: dict[str, Any] = {"error_cb": on_error} if on_error is not None else {}
    consumer = Consumer({
        **client_config(settings),
        **extra,
        "group.id": group_id or settings.kafka_consumer_group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "max.poll.interval.ms": 300000,
        "session.timeout.ms": 10000,
        "client.id": "citylive-consumer",
        **(config or {}),
    })
    names = topic_names(settings)
    return NamespacedConsumer(consumer, names) if names.prefix else consumer  # type: ignore[return-value]
