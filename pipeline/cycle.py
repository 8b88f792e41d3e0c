"""The jobs of one city, each a few lines between IO calls: ingest, consume, process,
precompute, backfill. The scheduler (sidecar) and `--once` both call these."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pandas as pd
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from pymongo.database import Database

from core.catalog import City
from core.clock import floor_hour
from core.ids import make_id, raw_id
from core.runs import recorded_run
from core.settings import Settings
from core.storage import insert_new, replace_one, upsert_many
from core.vocabulary import KIND_TOPIC, SIMULATED, SOURCE_KINDS, TOPIC_COLLECTION, C, Topic
from ingest.consumer import ConsumeStats, MessageSink, consume_loop, lag_by_topic, reject_doc
from ingest.http import RequestCounter
from ingest.kafka_io import DeliveryStats, client_config, produce_json
from ingest.producer import ingest_source
from ingest.sources.base import FetchContext
from ingest.sources.registry import source_for
from ingest.sources.simulated import SimulatedSource
from ingest.weather_forecast import forecast_document

log = logging.getLogger(__name__)

LIVE_WINDOW = timedelta(hours=1)


@dataclass
class Services:
    """The IO clients of one sidecar process, built once at start-up."""

    settings: Settings
    db: Database
    producer: Producer
    http: httpx.Client
    catalog: dict[str, City]
    dlq_producer: Producer | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def watermark_id(city_id: str, kind: str, provider: str) -> str:
    """One watermark per city, kind AND provider: another provider's (the simulator's is about
    now) would filter out every real row this one has not read yet."""
    return make_id(city_id, kind, provider)


def get_watermark(db: Database, city_id: str, kind: str, provider: str) -> datetime | None:
    doc = db[C.WATERMARKS].find_one({"_id": watermark_id(city_id, kind, provider)})
    return doc["watermark"] if doc else None


def set_watermark(db: Database, city_id: str, kind: str, provider: str,
                  watermark: datetime) -> None:
    current = get_watermark(db, city_id, kind, provider)
    if current is None or watermark > current:  # watermarks only move forward
        replace_one(db, C.WATERMARKS, {"_id": watermark_id(city_id, kind, provider),
                                       "city_id": city_id, "kind": kind, "provider": provider,
                                       "watermark": watermark})


def ingest_kind(svc: Services, city: City, kind: str, now: datetime) -> bool:
    """One source for one city: fetch, produce to Kafka, record the run. True when it succeeded."""
    source = source_for(kind, city, svc.settings)
    start = floor_hour(now).to_pydatetime() - LIVE_WINDOW
    ctx = FetchContext(city=city, settings=svc.settings, start=start, end=now, ingested_at=now,
                       watermark=get_watermark(svc.db, city.city_id, kind, source.provider))
    counter = RequestCounter()
    with recorded_run(svc.db, "ingest", city.city_id, kind, source.provider) as run:
        try:
            result = ingest_source(source, ctx, svc.http, svc.producer, svc.db, counter)
        finally:
            run.update(requests=counter.requests, attempts=counter.attempts)
        run.update(records=result.records, rejects=result.rejects)
        if result.watermark is not None:
            set_watermark(svc.db, city.city_id, kind, source.provider, result.watermark)
    return run["ok"]


def ingest_city(svc: Services, city: City, now: datetime,
                kinds: tuple[str, ...] = SOURCE_KINDS) -> dict[str, bool]:
    """Every source of a city, fetched side by side (a cycle waits for its slowest provider,
    not for the sum of them); one failing source never stops the others. The producer, the
    HTTP client and pymongo are thread-safe; each source builds its own state."""
    with ThreadPoolExecutor(max_workers=max(len(kinds), 1),
                            thread_name_prefix=f"ingest-{city.city_id}") as pool:
        futures = {kind: pool.submit(ingest_kind, svc, city, kind, now) for kind in kinds}
        return {kind: future.result() for kind, future in futures.items()}


def consume_until_caught_up(svc: Services, consumer: Consumer, max_seconds: float = 120.0,
                            admin: AdminClient | None = None) -> ConsumeStats:
    """Consume until the group has no lag left (or max_seconds), committing after each write."""
    sink = MessageSink(svc.db, svc.catalog, svc.dlq_producer,
                       max_age=timedelta(days=svc.settings.citylive_raw_retention_days))
    deadline = time.monotonic() + max_seconds
    admin = admin or AdminClient(client_config(svc.settings))

    def stop(_total: ConsumeStats, empty_polls: int) -> bool:
        if time.monotonic() > deadline:
            return True
        if empty_polls < 2 or not consumer.assignment():
            return False
        return sum(lag_by_topic(consumer, admin).values()) == 0

    stats = ConsumeStats()  # a write that raises is recorded by recorded_run; stats stay empty
    with recorded_run(svc.db, "consume") as run:
        stats = consume_loop(consumer, sink, stop=stop)
        run.update(records=stats.stored, rejects=stats.rejected,
                   duplicates=stats.duplicates, consumed=stats.consumed)
    return stats


def alert_publisher(svc: Services):
    """publish(topic, key, doc) for processing: alerts go to the grid_alerts topic."""
    delivery = DeliveryStats()

    def publish(topic: str, key: str, doc: dict[str, Any]) -> None:
        produce_json(svc.producer, topic, key, doc, delivery.callback)

    return publish


def process_city_job(svc: Services, city: City, now: datetime) -> bool:
    from pipeline.processing.job import process_city

    with recorded_run(svc.db, "process", city.city_id) as run:
        summary = process_city(svc.db, city, now, publish=alert_publisher(svc))
        svc.producer.flush(10)
        run.update(summary=_jsonable(summary))
    return run["ok"]


def precompute_city_job(svc: Services, city: City, now: datetime) -> bool:
    """Inference only, with artifacts cached per process (models.precompute)."""
    with recorded_run(svc.db, "precompute", city.city_id) as run:
        from models.precompute import precompute_city, score_city

        summary = precompute_city(svc.db, svc.settings, city, now)
        run.update(summary=_jsonable(summary), records=summary.get("documents", 0))
        if summary.get("messages"):  # e.g. a model not trained yet: said, never a crash
            run["message"] = "; ".join(summary["messages"])[:1000]
        errors = [f"{m}: {r.get('message')}" for m, r in summary.get("models", {}).items()
                  if r.get("status") == "error"]
        if errors:  # e.g. the inference service down: a failed run, tried again next hour
            run.update(ok=False, error="; ".join(errors)[:1000])
        run.update(scorecard=_jsonable(score_city(svc.db, city, now)))
    return run["ok"]


def backfill_city(svc: Services, city: City, now: datetime, days: int) -> dict[str, Any]:
    """History for a new city, written straight to Mongo (the live path goes through Kafka).

    Raw observations are kept for the raw retention window; the whole history becomes hourly
    read models (city_day, processed_zone_data) through processing.process_history. A
    simulated city also gets a weather forecast issued every hour (backfill_forecasts).
    """
    from pipeline.processing.job import process_history

    start = floor_hour(now).to_pydatetime() - timedelta(days=days)
    keep_raw_from = now - timedelta(days=svc.settings.citylive_raw_retention_days)
    raw: dict[str, list[dict[str, Any]]] = {}
    summary: dict[str, Any] = {"days": days, "records": {}, "failed": {}}
    for kind in SOURCE_KINDS:
        source = source_for(kind, city, svc.settings)
        ctx = FetchContext(city=city, settings=svc.settings, start=start, end=now, ingested_at=now,
                           watermark=None)
        counter = RequestCounter()
        with recorded_run(svc.db, "backfill", city.city_id, kind, source.provider) as run:
            try:
                parsed = source.collect(ctx, svc.http, counter)
            finally:
                run.update(requests=counter.requests, attempts=counter.attempts)
            collection = TOPIC_COLLECTION[KIND_TOPIC[kind]]
            docs = [{"_id": raw_id(collection, r), **r} for r in parsed.records]
            raw[collection] = docs
            insert_new(svc.db, collection, [d for d in docs if d["observed_at"] >= keep_raw_from])
            # the forecast a weather source received for this hour; the simulator's earlier
            # issuances come from backfill_forecasts below
            upsert_many(svc.db, C.WEATHER_FORECASTS, [
                forecast_document(r) for r in parsed.extra.get(Topic.WEATHER_FORECAST, [])])
            dead = [reject_doc(r.topic or KIND_TOPIC[kind], r.reason, r.item, now)
                    for r in parsed.rejects]
            insert_new(svc.db, C.DLQ, dead)
            run.update(records=len(docs), rejects=len(dead))
            if parsed.watermark is not None:
                set_watermark(svc.db, city.city_id, kind, source.provider, parsed.watermark)
            summary["records"][kind] = len(docs)
        if not run["ok"]:
            summary["failed"][kind] = run["error"]
        elif kind == "weather" and isinstance(source, SimulatedSource):
            summary["records"]["weather_forecasts"] = backfill_forecasts(
                svc, city, start, now, source.seed)
    with recorded_run(svc.db, "process_history", city.city_id) as run:
        run.update(summary=_jsonable(process_history(svc.db, city, raw, start, now)))
    return summary


def backfill_forecasts(svc: Services, city: City, start: datetime, now: datetime,
                       seed: int = 0) -> int:
    """Simulated forecasts issued every hour of [start, this hour), written straight to
    Mongo, so training has the forecasts as they were issued for every hour of history.

    Only the simulator has a past: a city on live weather starts with the forecast of its
    first cycle (Open-Meteo's historical-forecast API is not used), and the models fall back
    to persistence for hours without an issued forecast."""
    from ingest.simulator.forecast import forecast_store_documents
    from ingest.simulator.world import CityWorld

    issued = pd.date_range(start, floor_hour(now), freq="h", inclusive="left")
    with recorded_run(svc.db, "backfill", city.city_id, "weather_forecast", SIMULATED) as run:
        docs = forecast_store_documents(CityWorld(city, seed), issued.to_pydatetime().tolist(),
                                        now)
        upsert_many(svc.db, C.WEATHER_FORECASTS, docs, replace=())
        run.update(records=len(docs))
    return len(docs)


def _jsonable(value: Any) -> Any:
    """Summaries go into Mongo: keep plain types, drop NaN."""
    if isinstance(value, dict):
        return {str(k).replace(".", "_"): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value
