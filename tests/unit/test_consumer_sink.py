"""MessageSink against an in-memory database: one bad message never stalls its batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from pymongo.errors import AutoReconnect

from core.catalog import City, get_city
from core.settings import Settings
from core.vocabulary import C, Topic
from ingest.consumer import ConsumeStats, MessageSink
from ingest.schema import to_wire
from ingest.weather_forecast import forecast_record
from pipeline.cycle import Services, consume_until_caught_up
from pipeline.forecasts import decode_zone_temperatures
from tests.unit.processing.fake_db import FakeCollection, FakeDb

NOW = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)


class FakeMessage:
    """The part of confluent_kafka.Message the sink reads."""

    def __init__(self, topic: str, offset: int, value: bytes, partition: int = 0) -> None:
        self._topic, self._offset, self._value, self._partition = topic, offset, value, partition

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"nyc:z01"

    def value(self) -> bytes:
        return self._value

    def error(self) -> None:
        return None


def weather(zone_id: str = "z01", city_id: str = "nyc", **over: Any) -> bytes:
    record = {"schema_version": 1, "source": "simulated", "city_id": city_id,
              "zone_id": zone_id, "observed_at": NOW - timedelta(minutes=30),
              "ingested_at": NOW, "temperature_c": 3.5, "relative_humidity_pct": 60.0,
              "wind_speed_kmh": 12.0, "precipitation_mm": None, **over}
    return to_wire(record)


class ExplodingCatalog(dict):
    """A catalog whose lookup of one city fails with something other than RecordRejected."""

    def get(self, key: Any, default: Any = None) -> Any:
        if key == "boom":
            raise RuntimeError("zone index corrupt " + "x" * 700)
        return super().get(key, default)


def catalog() -> dict[str, City]:
    return ExplodingCatalog(nyc=get_city("nyc"))


def sink(db: FakeDb, **kwargs: Any) -> MessageSink:
    return MessageSink(db, catalog(), clock=lambda: NOW, **kwargs)


def test_a_message_that_raises_goes_to_the_dlq_and_the_batch_goes_on():
    db = FakeDb()
    batch = [FakeMessage(Topic.WEATHER, 0, weather("z01")),
             FakeMessage(Topic.WEATHER, 1, weather(city_id="boom")),
             FakeMessage(Topic.WEATHER, 2, weather("z02"))]
    stats = sink(db).write(batch)
    assert stats.consumed == 3 and stats.stored == 2 and stats.rejected == 1
    assert {d["zone_id"] for d in db[C.RAW_WEATHER].docs.values()} == {"z01", "z02"}
    assert sorted(db[C.LIVE_FEED].docs) == ["weather_obs|0|0", "weather_obs|0|2"]
    dead = db[C.DLQ].docs["weather_obs|0|1"]
    assert dead["reason"].startswith("RuntimeError: zone index corrupt")
    assert len(dead["reason"]) <= 500 and dead["stage"] == "consumer"


def test_a_failing_batch_write_propagates_so_the_batch_is_retried():
    class DownCollection(FakeCollection):
        def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> Any:
            raise AutoReconnect("connection refused")

    db = FakeDb()
    db[C.RAW_WEATHER] = DownCollection()
    with pytest.raises(AutoReconnect):
        sink(db).write([FakeMessage(Topic.WEATHER, 0, weather())])


class FakeConsumer:
    """Hands out one batch, then nothing; records commits."""

    def __init__(self, messages: list[FakeMessage]) -> None:
        self.batches = [messages]
        self.commits = 0

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        return self.batches.pop(0) if self.batches else []

    def commit(self, asynchronous: bool = True) -> None:
        self.commits += 1

    def assignment(self) -> list[Any]:
        return []


def test_once_consume_records_a_raising_write_instead_of_crashing():
    class BrokenCollection(FakeCollection):
        def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> Any:
            raise RuntimeError("not a pymongo error")

    db = FakeDb()
    db[C.RAW_WEATHER] = BrokenCollection()
    svc = Services(settings=Settings(_env_file=None), db=db, producer=None, http=None,
                   catalog=catalog())
    consumer = FakeConsumer([FakeMessage(Topic.WEATHER, 0, weather())])
    stats = consume_until_caught_up(svc, consumer, max_seconds=5, admin=object())
    assert isinstance(stats, ConsumeStats) and consumer.commits == 0
    (run,) = db[C.PIPELINE_RUNS].docs.values()
    assert not run["ok"] and "not a pymongo error" in run["error"]


def test_records_at_implausible_times_go_to_the_dlq_when_the_sink_checks_age():
    db = FakeDb()
    batch = [FakeMessage(Topic.WEATHER, 0, weather(observed_at=datetime(2029, 11, 29, 10,
                                                                        tzinfo=UTC))),
             FakeMessage(Topic.WEATHER, 1, weather(observed_at=NOW - timedelta(days=9))),
             FakeMessage(Topic.WEATHER, 2, weather())]
    stats = sink(db, max_age=timedelta(days=7)).write(batch)
    assert stats.stored == 1 and stats.rejected == 2
    reasons = {k: d["reason"] for k, d in db[C.DLQ].docs.items()}
    assert reasons["weather_obs|0|0"] == ("observed_at 2029-11-29T10:00Z is more than 1 day "
                                          "in the future")
    assert "older than the 7 days raw retention window" in reasons["weather_obs|0|1"]
    # without max_age (replay and bench tools with synthetic clocks) times are not checked
    assert sink(FakeDb()).write(batch).stored == 3


def test_a_replayed_batch_leaves_the_live_stream_snapshot_as_it_was():
    db = FakeDb()
    batch = [FakeMessage(Topic.WEATHER, i, weather(zone_id=f"z{i % 40 + 1:02d}"))
             for i in range(45)]  # more than the snapshot keeps rows of
    sink(db).write(batch)
    once = dict(db[C.LIVE_FEED_LATEST].docs["nyc|weather_obs"])
    stats = sink(db).write(batch)  # a crash before the commit: Kafka delivers it again
    assert stats.duplicates == 45
    assert db[C.LIVE_FEED_LATEST].docs["nyc|weather_obs"] == once
    assert once["minute_counts"] == {"2026-11-28T14:30": 45}


def forecast(issued: datetime = NOW, shift: float = 0.0, **over: Any) -> bytes:
    city = get_city("nyc")
    zones = [z.zone_id for z in city.zones[:3]]
    values = shift + np.arange(3)[:, None] + np.arange(48)[None, :] / 10.0
    record = forecast_record(city_id="nyc", source="simulated", issued_at=issued,
                             ingested_at=issued, zone_ids=zones, zone_values=values,
                             weights=[1.0, 1.0, 1.0])
    return to_wire({**record, **over})


def test_forecasts_are_upserted_by_issue_hour_and_stay_out_of_the_live_feed():
    db = FakeDb()
    stats = sink(db).write([FakeMessage(Topic.WEATHER_FORECAST, 0, forecast()),
                            FakeMessage(Topic.WEATHER, 1, weather())])
    assert stats.stored == 2 and stats.rejected == 0 and stats.cities == {"nyc"}
    stored = db[C.WEATHER_FORECASTS].docs["nyc|2026-11-28T14"]
    assert stored["bucket_day"] == "2026-11-28" and len(stored["hours"]) == 48
    np.testing.assert_allclose(decode_zone_temperatures(stored)[2, :2], [2.0, 2.1])
    assert sorted(db[C.LIVE_FEED].docs) == ["weather_obs|0|1"]
    assert list(db[C.LIVE_FEED_LATEST].docs) == ["nyc|weather_obs"]

    # a later cycle in the same hour replaces it; a replay of both changes nothing more
    later = [FakeMessage(Topic.WEATHER_FORECAST, 2, forecast(NOW + timedelta(minutes=10), 5.0))]
    sink(db).write(later)
    sink(db).write(later)
    assert list(db[C.WEATHER_FORECASTS].docs) == ["nyc|2026-11-28T14"]
    assert decode_zone_temperatures(db[C.WEATHER_FORECASTS].docs["nyc|2026-11-28T14"])[0, 0] == 5.0


def test_two_issuances_of_an_hour_in_one_batch_keep_the_later_one():
    db = FakeDb()
    sink(db).write([FakeMessage(Topic.WEATHER_FORECAST, 0, forecast(shift=1.0)),
                    FakeMessage(Topic.WEATHER_FORECAST, 1, forecast(shift=2.0))])
    assert decode_zone_temperatures(db[C.WEATHER_FORECASTS].docs["nyc|2026-11-28T14"])[0, 0] == 2.0


def test_a_bad_forecast_goes_to_the_dlq_like_any_bad_record():
    db = FakeDb()
    batch = [FakeMessage(Topic.WEATHER_FORECAST, 0, forecast(zone_ids=["z01", "zz", "z03"])),
             FakeMessage(Topic.WEATHER_FORECAST, 1, forecast(temperature_c=[1.0] * 47)),
             FakeMessage(Topic.WEATHER_FORECAST, 2, forecast(NOW - timedelta(days=9))),
             FakeMessage(Topic.WEATHER_FORECAST, 3, forecast())]
    stats = sink(db, max_age=timedelta(days=7)).write(batch)
    assert stats.rejected == 3 and stats.stored == 1
    reasons = {k: d["reason"] for k, d in db[C.DLQ].docs.items()}
    assert reasons["weather_forecast|0|0"] == "unknown zone_id 'zz' for city nyc"
    assert "temperature_c" in reasons["weather_forecast|0|1"]
    assert reasons["weather_forecast|0|2"].startswith("issued_at 2026-11-19T14:00Z is older")
