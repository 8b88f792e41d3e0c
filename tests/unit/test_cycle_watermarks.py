"""Watermarks per city, kind and provider (pipeline.cycle): switching a city from the simulator
to a live provider must not filter the live rows with the simulator's watermark (about now)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from core.catalog import get_city
from core.settings import Settings
from core.vocabulary import C, Topic
from ingest.sources.socrata_311 import LOOKBACK, to_floating
from pipeline.cycle import Services, get_watermark, ingest_kind, set_watermark
from tests.replay_server import settings_for
from tests.unit.processing.fake_db import FakeDb
from tests.unit.sources.fake_socrata import FakeSocrata, nyc_row

NOW = datetime(2026, 11, 28, 15, 7, tzinfo=UTC)
NYC = get_city("nyc")


class InstantProducer:
    """Every message is delivered at once and kept as (topic, decoded value)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def produce(self, topic: str, key: bytes, value: bytes,
                on_delivery: Callable[..., None]) -> None:
        self.sent.append((topic, json.loads(value)))
        on_delivery(None, None)

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = -1) -> int:
        return 0


def services(db: FakeDb, settings: Settings, socrata: FakeSocrata | None = None) -> Services:
    http = (socrata or FakeSocrata([])).client()
    return Services(settings=settings, db=db, producer=InstantProducer(), http=http,
                    catalog={NYC.city_id: NYC})


def test_each_provider_has_its_own_watermark() -> None:
    db = FakeDb()
    set_watermark(db, "nyc", "incidents", "simulated", NOW)
    assert get_watermark(db, "nyc", "incidents", "socrata") is None
    set_watermark(db, "nyc", "incidents", "socrata", NOW - timedelta(hours=3))
    assert get_watermark(db, "nyc", "incidents", "simulated") == NOW
    assert get_watermark(db, "nyc", "incidents", "socrata") == NOW - timedelta(hours=3)
    doc = db[C.WATERMARKS].docs["nyc|incidents|socrata"]
    assert (doc["city_id"], doc["kind"], doc["provider"]) == ("nyc", "incidents", "socrata")


def test_watermarks_only_move_forward() -> None:
    db = FakeDb()
    set_watermark(db, "nyc", "incidents", "socrata", NOW)
    set_watermark(db, "nyc", "incidents", "socrata", NOW - timedelta(hours=6))
    assert get_watermark(db, "nyc", "incidents", "socrata") == NOW


def test_a_switch_to_live_reads_the_rows_the_simulator_watermark_would_hide() -> None:
    db = FakeDb()
    assert ingest_kind(services(db, Settings(_env_file=None, citylive_source="simulated")),
                       NYC, "incidents", NOW)
    simulated_mark = get_watermark(db, "nyc", "incidents", "simulated")
    assert simulated_mark is not None and simulated_mark > NOW - timedelta(hours=1)

    rows = [nyc_row("71000001", NOW - timedelta(hours=3)),
            nyc_row("71000002", NOW - timedelta(hours=2, minutes=40))]
    socrata = FakeSocrata(rows)
    live = services(db, settings_for("http://socrata.test", citylive_source="live"), socrata)
    assert ingest_kind(live, NYC, "incidents", NOW)

    # no socrata watermark yet: the first live fetch looks back from now, not from the
    # simulator's watermark
    assert socrata.lower_bounds() == [to_floating(NOW - LOOKBACK, NYC.timezone)]
    sent = [value for topic, value in live.producer.sent if topic == Topic.INCIDENTS]
    assert {(v["incident_id"], v["source"]) for v in sent} == {
        ("71000001", "socrata"), ("71000002", "socrata")}
    assert get_watermark(db, "nyc", "incidents", "socrata") == (
        NOW - timedelta(hours=2, minutes=40))
    assert get_watermark(db, "nyc", "incidents", "simulated") == simulated_mark
