"""Small tools shared by the fault tests: produce, count commits, run the real sidecar."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from core.ids import zone_key
from core.settings import Settings
from ingest.kafka_io import DeliveryStats, make_consumer, make_producer, produce_json

ROOT = Path(__file__).resolve().parents[2]
SECRET_ENV = ("EIA_API_KEY", "TOMTOM_API_KEY", "SOCRATA_APP_TOKEN", "KAFKA_SASL_PASSWORD")


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return check()


def produce(settings: Settings, topic: str, records: list[dict[str, Any]]) -> DeliveryStats:
    producer = make_producer(settings)
    stats = DeliveryStats()
    for rec in records:
        produce_json(producer, topic, zone_key(rec["city_id"], rec["zone_id"]), rec,
                     stats.callback)
    assert producer.flush(30) == 0, "produce did not finish"
    assert stats.failed == 0, stats.errors
    return stats


def committed_count(settings: Settings, start: list[TopicPartition]) -> int:
    """Messages the settings' group has committed since `start` (per-partition offsets)."""
    consumer: Consumer = make_consumer(settings)
    try:
        parts = [TopicPartition(tp.topic, tp.partition) for tp in start]
        committed = consumer.committed(parts, timeout=10)
    finally:
        consumer.close()
    base = {(tp.topic, tp.partition): tp.offset for tp in start}
    return sum(max(tp.offset - base[(tp.topic, tp.partition)], 0) for tp in committed
               if tp.offset >= 0)


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a City Live subprocess using `settings`' services, database and group;
    provider keys from the caller's environment are left out unless given in `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env.update(MONGO_URI=settings.mongo_uri.get_secret_value(), MONGO_DB=settings.mongo_db,
               KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
               KAFKA_CONSUMER_GROUP=settings.kafka_consumer_group,
               MONGO_TIMEOUT_MS=str(settings.mongo_timeout_ms), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


class SidecarProcess:
    """The real long-running sidecar (`python -m pipeline.scheduler`) in its own process
    session, on the fault services: SIGKILL it, restart it, read what it reports.

    With no cities (the default) it runs its supervised Kafka consumer, the city-request poll
    and retention, which is what the consumer fault tests exercise.
    """

    def __init__(self, settings: Settings, workdir: Path, cities: str = "",
                 **extra: str) -> None:
        self.settings = settings
        self.workdir = workdir
        self.env = process_env(settings, CITYLIVE_CITIES=cities,
                               CITYLIVE_ARTIFACTS_DIR=str(workdir / "artifacts"), **extra)
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"sidecar-{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "pipeline.scheduler"], cwd=ROOT,
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: freeze the sidecar where it is, so what it stored can be read at rest."""
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.proc.pid, signal.SIGCONT)

    def stop(self, db: Any) -> dict[str, Any]:
        """SIGTERM, wait, and return the consumer's final consumer_status document."""
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(60)
        return consumer_status(db) or {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def cleanup(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def consumer_status(db: Any) -> dict[str, Any] | None:
    from core.vocabulary import C

    docs = list(db[C.CONSUMER_STATUS].find({}))  # one per worker: the newest report
    return max(docs, key=lambda d: d["updated_at"]) if docs else None


def recent_weather_records(city: Any, n: int, now: datetime) -> list[dict[str, Any]]:
    """n distinct weather records spread over the last 6 days (inside the raw retention window
    the sidecar's consumer accepts), zone after zone."""
    from bench.consumer_throughput import weather_records

    steps = -(-n // len(city.zones))
    step = timedelta(minutes=(5 * 24 * 60) // steps)
    start = (now - timedelta(days=6)).replace(second=0, microsecond=0)
    return weather_records(city, n, start, step)
