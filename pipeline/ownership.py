"""This sidecar's share of the cities, decided by Kafka's group coordination.

Every sidecar joins one consumer group on the control topic (`citylive.control`, 12
partitions, no messages). The group coordinator assigns each member some partitions; a city
belongs to the member holding its partition (core.ownership.partition_for). When a sidecar
joins, leaves or dies (its session times out after 10 s), the group rebalances and the
partitions, so the cities, move. No leader election or lock table of our own
(docs/architecture.md §13).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from core.ownership import partition_for
from core.settings import Settings
from core.vocabulary import Topic
from ingest.kafka_io import make_consumer, topic_names, unwrap

log = logging.getLogger(__name__)
POLL_S = 0.5


def owners_group(settings: Settings) -> str:
    return f"{settings.kafka_consumer_group}.owners"


def control_partitions(consumer: Any, settings: Settings, timeout_s: float = 10.0) -> int:
    """The control topic's real partition count (cities key onto what exists, whatever this
    process's CITYLIVE_CONTROL_PARTITIONS says); the setting when the broker does not answer."""
    name = topic_names(settings).physical(Topic.CONTROL)
    try:
        unwrapped, _names = unwrap(consumer)
        topic = unwrapped.list_topics(name, timeout=timeout_s).topics.get(name)
        if topic is not None and topic.partitions:
            return len(topic.partitions)
    except Exception:  # noqa: BLE001 - a broker not up yet: the configured count
        log.warning("could not read the control topic's partitions", exc_info=True)
    return settings.citylive_control_partitions


class CityOwnership:
    """The control-topic partitions Kafka assigned to this process; `owns(city_id)`."""

    def __init__(self, settings: Settings, stop_event: threading.Event,
                 on_change: Callable[[set[int]], None] | None = None) -> None:
        self.settings, self.stop_event, self.on_change = settings, stop_event, on_change
        self._owned: set[int] = set()
        self._lock = threading.Lock()
        self.assigned = threading.Event()  # set once the first assignment arrived
        self.rebalances = 0
        self.partition_count = settings.citylive_control_partitions  # the topic's, at start
        self.thread: threading.Thread | None = None

    def owns(self, key: str) -> bool:
        with self._lock:
            return partition_for(key, self.partition_count) in self._owned

    def partitions(self) -> set[int]:
        with self._lock:
            return set(self._owned)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="ownership", daemon=True)
        self.thread.start()

    def _set(self, owned: set[int]) -> None:
        with self._lock:
            self._owned = owned
            self.rebalances += 1
        log.info("owns control partitions %s", sorted(owned))
        if self.on_change is not None:
            try:
                self.on_change(set(owned))
            except Exception:  # noqa: BLE001 - a failing callback must not leave the group
                log.exception("ownership change handler failed")

    def _on_assign(self, _consumer: Any, partitions: list[Any]) -> None:
        # incremental under cooperative-sticky: these partitions are added to what we hold
        self._set(self.partitions() | {p.partition for p in partitions})
        self.assigned.set()

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        self._set(self.partitions() - {p.partition for p in partitions})

    def _run(self) -> None:
        """Poll the (empty) control topic so that librdkafka keeps this member in the group and
        serves the rebalance callbacks; leave the group on stop (the others take over at once)."""
        # cooperative-sticky: a rebalance moves only the partitions that must move, so the
        # cities staying with a sidecar are never released and re-activated
        consumer = make_consumer(self.settings, group_id=owners_group(self.settings),
                                 on_error=lambda err: log.info("ownership: %s", err),
                                 config={"partition.assignment.strategy": "cooperative-sticky"})
        self.partition_count = control_partitions(consumer, self.settings)
        consumer.subscribe([Topic.CONTROL], on_assign=self._on_assign,
                           on_revoke=self._on_revoke, on_lost=self._on_revoke)
        try:
            while not self.stop_event.is_set():
                consumer.poll(POLL_S)
        except Exception:  # noqa: BLE001 - logged; the process keeps its last share
            log.exception("ownership consumer stopped")
        finally:
            try:
                consumer.close()
            except Exception:  # noqa: BLE001 - closing a client of a broker that is gone
                log.info("ownership consumer close failed", exc_info=True)
