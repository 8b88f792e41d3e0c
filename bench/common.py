"""What every benchmark shares: figures with budgets and verdicts, medians, private databases,
settings pointed at the services under test, synthetic cities of any size."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from pymongo.database import Database

from core.catalog import City, get_city
from core.settings import Settings

OK, MISS, NA, INFO = "ok", "MISS", "n/a", "info"


@dataclass
class Figure:
    """One measured figure; `verdict` compares `value` with `budget` (docs/architecture.md §9)."""

    figure: str
    value: float | None
    unit: str = ""
    budget: str | None = None
    verdict: str = INFO
    note: str = ""
    runs: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_available(figure: str, reason: str, budget: str | None = None) -> Figure:
    """A figure we could not measure, said so rather than faked."""
    return Figure(figure, None, budget=budget, verdict=NA, note=f"not available: {reason}")


def at_most(value: float | None, limit: float) -> str:
    return NA if value is None else OK if value <= limit else MISS


def at_least(value: float | None, limit: float) -> str:
    return NA if value is None else OK if value >= limit else MISS


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def repeat(fn: Callable[[], Any], runs: int) -> list[float]:
    """Wall seconds of `runs` calls."""
    return [timed(fn)[0] for _ in range(runs)]


def bench_settings(env: dict[str, str], tag: str, **overrides: Any) -> Settings:
    """Settings for the services under test with a private database and consumer group."""
    suffix = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {"mongo_db": f"citylive_bench_{tag}_{suffix}",
                              "kafka_consumer_group": f"bench-{tag}-{suffix}"}
    if "MONGO_URI" in env:
        values["mongo_uri"] = env["MONGO_URI"]
    if "KAFKA_BOOTSTRAP_SERVERS" in env:
        values["kafka_bootstrap_servers"] = env["KAFKA_BOOTSTRAP_SERVERS"]
    values.update(overrides)
    return Settings(_env_file=None, **values)


@contextmanager
def private_db(settings: Settings) -> Iterator[Database]:
    """The settings' (private) database, dropped afterwards."""
    from core.storage import ensure_indexes, mongo_client

    if not settings.mongo_db.startswith("citylive_bench_"):
        raise ValueError(f"refusing to use non-bench database {settings.mongo_db!r}")
    client = mongo_client(settings)
    db = client[settings.mongo_db]
    ensure_indexes(db)
    try:
        yield db
    finally:
        client.drop_database(settings.mongo_db)
        client.close()


def synthetic_city(n_zones: int, base: str = "nyc", city_id: str | None = None,
                   live: dict[str, str] | None = None) -> City:
    """A city of `n_zones` zones on a grid inside `base`'s bounds, equal weights."""
    model = get_city(base)
    b = model.bounds
    side = max(1, int(n_zones ** 0.5 + 0.999))
    zones = []
    for i in range(n_zones):
        row, col = divmod(i, side)
        lat = b.min_lat + (b.max_lat - b.min_lat) * (row + 0.5) / side
        lon = b.min_lon + (b.max_lon - b.min_lon) * (col + 0.5) / side
        cid = city_id or f"{base}{n_zones}"
        zones.append({"zone_id": f"z{i + 1:03d}", "city_id": cid, "name": f"Zone {i + 1}",
                      "lat": round(lat, 5), "lon": round(lon, 5), "weight": 1.0 / n_zones})
    data = model.model_dump(exclude={"zones"})
    data.update(city_id=city_id or f"{base}{n_zones}", name=f"{model.name} x{n_zones}",
                zones=zones)
    if live is not None:
        data["live_sources"] = live
    return City.model_validate(data)


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def end_offsets(settings: Settings, topics: tuple[str, ...], wait_s: float = 30.0) -> list[Any]:
    """The current end (high watermark) of every partition of `topics`; waits for leaders of
    just-created topics."""
    from confluent_kafka import KafkaException, TopicPartition

    from ingest.kafka_io import make_consumer, unwrap

    consumer, names = unwrap(make_consumer(settings))  # offsets on the namespaced topics
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                metadata = consumer.list_topics(timeout=10)
                offsets = []
                for topic in map(names.physical, topics):
                    for part in metadata.topics[topic].partitions:
                        _low, high = consumer.get_watermark_offsets(
                            TopicPartition(topic, part), timeout=10, cached=False)
                        offsets.append(TopicPartition(topic, part, high))
                return offsets
            except KafkaException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


def commit_group(settings: Settings, offsets: list[Any]) -> None:
    """Commit the settings' consumer group at `offsets` (end_offsets: names on the wire)."""
    from ingest.kafka_io import make_consumer, unwrap

    consumer, _names = unwrap(make_consumer(settings))
    try:
        if offsets:
            consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


def commit_group_at_end(settings: Settings, topics: tuple[str, ...]) -> None:
    """Place the group at the end of `topics`, as a caught-up consumer would be."""
    commit_group(settings, end_offsets(settings, topics))
