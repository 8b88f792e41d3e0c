"""The sidecar: every schedule of City Live in one process (APScheduler).

    python -m pipeline.scheduler                     # run forever
    python -m pipeline.scheduler --once --city nyc   # one full cycle, exit 0 iff all sources ok

Jobs never overlap themselves (max_instances=1, coalesce) and a failing job is recorded in
pipeline_runs and retried at its next tick; it never kills the process.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from confluent_kafka.admin import AdminClient

from core import gazetteer
from core.capabilities import city_sources
from core.catalog import City, UnknownCityError, all_cities, get_city, load_catalog
from core.city_store import load_added_cities
from core.ids import city_hour
from core.ownership import SEARCHES_KEY
from core.runs import recorded_run
from core.settings import Settings, get_settings
from core.storage import apply_retention, ensure_indexes, get_db, load_catalog_into
from core.vocabulary import CADENCE_MIN, SOURCE_KINDS, C
from core.worker import set_worker_id, worker_id
from ingest.consumer import MessageSink, lag_by_topic
from ingest.kafka_io import client_config, ensure_topics, make_consumer, make_producer
from models.train import untrained_models
from pipeline.city_searches import serve_city_searches
from pipeline.consumer_supervisor import SupervisedConsumer
from pipeline.cycle import (
    Services,
    backfill_city,
    consume_until_caught_up,
    ingest_city,
    ingest_kind,
    precompute_city_job,
    process_city_job,
)
from pipeline.ownership import CityOwnership

log = logging.getLogger("citylive.sidecar")
JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 60}
RETRY_FIRST = timedelta(seconds=30)  # a failed activation is tried again after this,
RETRY_MAX = timedelta(minutes=15)  # doubling each time up to this
WANTED = ("requested", "backfilling", "active")  # backfilling: resume one a killed process left
PROCESS_EVERY_MIN = 2
PRECOMPUTE_EVERY_MIN = 60
FIRST_DATA_WAIT_S = 15.0
JOB_THREADS = 10  # ingest, processing, polls, retention
PRECOMPUTE_EXECUTOR, PRECOMPUTE_THREADS = "precompute", 2


def build_services(settings: Settings) -> Services:
    db = get_db(settings)
    db.command("ping")
    ensure_indexes(db)
    load_catalog_into(db, load_catalog().values())  # the seed cities
    load_added_cities(db)  # and the ones analysts added by name (pipeline.cities)
    catalog = all_cities()  # one dict, updated in place when a city is added later
    ensure_topics(settings)
    producer = make_producer(settings)
    headers = {"User-Agent": "citylive/1.0"}
    if settings.citylive_worker_id:  # a name the operator chose, never the host name
        headers["X-Citylive-Worker"] = settings.citylive_worker_id
    http = httpx.Client(timeout=settings.http_timeout_s, follow_redirects=True, headers=headers)
    return Services(settings=settings, db=db, producer=producer, http=http, catalog=catalog,
                    dlq_producer=producer)


def warm_gazetteer() -> None:
    try:
        gazetteer.search("London")
    except Exception:  # noqa: BLE001 - a failed warm-up only costs the first search its load
        log.exception("could not load the offline gazetteer")


def resolve_city(svc: Services, city_id: str) -> City:
    """A seed city, or one added by name (read from MongoDB when this process has not yet)."""
    try:
        return get_city(city_id)
    except UnknownCityError:
        load_added_cities(svc.db)
        return get_city(city_id)


def wait_for_first_readings(svc: Services, city: City, now: datetime,
                            timeout_s: float = FIRST_DATA_WAIT_S) -> bool:
    """Wait until the consumer thread stored this hour's weather of every zone (one indexed
    count per 0.2 s), so a new city's first processing pass has data to show; True if it did."""
    deadline = time.monotonic() + timeout_s
    hour = city_hour(city.city_id, now)
    while time.monotonic() < deadline:
        if svc.db[C.RAW_WEATHER].count_documents({"city_hour": hour}) >= len(city.zones):
            return True
        time.sleep(0.2)
    return False


def has_history(svc: Services, city: City) -> bool:
    """True once a backfill of this city completed (recorded on its city_requests document)."""
    doc = svc.db[C.CITY_REQUESTS].find_one({"_id": city.city_id})
    return bool(doc and doc.get("backfilled_at"))


def mark_backfilled(svc: Services, city: City, days: int) -> None:
    svc.db[C.CITY_REQUESTS].update_one(
        {"_id": city.city_id},
        {"$set": {"backfilled_at": datetime.now(UTC), "backfill_days": days}}, upsert=True)


def set_city_status(svc: Services, city_id: str, status: str, error: str | None = None, *,
                    attempts: int | None = None, next_attempt_at: datetime | None = None
                    ) -> None:
    """Write a request's status; `next_attempt_at` is when a failed activation is tried again
    (None: not scheduled, e.g. a city outside the catalog is never retried)."""
    now = datetime.now(UTC)
    fields = {"city_id": city_id, "status": status, "updated_at": now, "error": error,
              "next_attempt_at": next_attempt_at}
    if status == "active":
        attempts = 0  # a success starts the backoff over
    if attempts is not None:
        fields["attempts"] = attempts
    svc.db[C.CITY_REQUESTS].update_one(
        {"_id": city_id}, {"$set": fields, "$setOnInsert": {"requested_at": now}}, upsert=True)
    if status == "active":
        svc.db[C.CITIES].update_one({"_id": city_id}, {"$set": {"active": True}})


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When to try an activation again after `attempts` failures: 30 s, 60 s, 120 s, ...
    at most 15 min (a provider or database outage passes without hammering it)."""
    doublings = min(max(attempts - 1, 0), 16)
    return now + min(RETRY_FIRST * 2 ** doublings, RETRY_MAX)


def due_for_retry(request: dict[str, Any], now: datetime) -> bool:
    """A failed request whose retry time has come (unknown cities have none: never)."""
    retry_at = request.get("next_attempt_at")
    return request.get("status") == "failed" and retry_at is not None and retry_at <= now


def wants_activation(request: dict[str, Any], active: set[str], now: datetime) -> bool:
    """Whether the sidecar should activate the city of this city_requests document now."""
    if request["_id"] in active:
        return False
    return request.get("status") in WANTED or due_for_retry(request, now)


def mark_activation_failed(svc: Services, city_id: str, error: str, now: datetime) -> None:
    """Record a failed activation with one more attempt and the time of the next one."""
    doc = svc.db[C.CITY_REQUESTS].find_one({"_id": city_id}) or {}
    attempts = int(doc.get("attempts") or 0) + 1
    set_city_status(svc, city_id, "failed", error, attempts=attempts,
                    next_attempt_at=next_attempt(attempts, now))


def run_once(svc: Services, city: City, backfill_days: int, with_precompute: bool = True) -> int:
    """ingest all sources -> consume until caught up -> process -> (backfill) -> precompute."""
    now = datetime.now(UTC)
    oks = ingest_city(svc, city, now)
    consumer = make_consumer(svc.settings)
    consumer.subscribe(list(_topics()))
    try:
        consume_until_caught_up(svc, consumer)
    finally:
        consumer.close()
    process_city_job(svc, city, now)
    if backfill_days > 0 and not has_history(svc, city):
        set_city_status(svc, city.city_id, "backfilling")
        backfill_city(svc, city, now, backfill_days)
        mark_backfilled(svc, city, backfill_days)
        process_city_job(svc, city, now)  # again, now with baselines for anomalies
    set_city_status(svc, city.city_id, "active")
    if with_precompute:
        precompute_city_job(svc, city, now)
    failed = [k for k, ok in oks.items() if not ok]
    if failed:
        log.warning("%s: sources failed this cycle: %s (see pipeline_runs)", city.city_id, failed)
    return 1 if failed else 0


def _topics() -> tuple[str, ...]:
    from core.vocabulary import CONSUMED_TOPICS

    return CONSUMED_TOPICS


class Sidecar:
    """Owns the APScheduler jobs and the consumer thread of the long-running sidecar.

    Several sidecars may run against the same Kafka and MongoDB: each runs the jobs of the
    cities whose control partitions Kafka assigned to it (pipeline.ownership), and their
    consumers split the data topics' partitions as one group (docs/architecture.md §13).
    """

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        # precompute has its own small pool: a slow model or inference service can hold at
        # most PRECOMPUTE_THREADS threads, never the ones ingestion and processing run on
        self.scheduler = BackgroundScheduler(
            job_defaults=JOB_DEFAULTS, timezone=UTC,
            executors={"default": ThreadPoolExecutor(JOB_THREADS),
                       PRECOMPUTE_EXECUTOR: ThreadPoolExecutor(PRECOMPUTE_THREADS)})
        self.stop_event = threading.Event()
        self.active: set[str] = set()
        self.admin = AdminClient(client_config(svc.settings))
        self.training: dict[str, subprocess.Popen] = {}
        self.consumer_thread: threading.Thread | None = None
        self.ownership = CityOwnership(svc.settings, self.stop_event,
                                       on_change=lambda _parts: self.release_unowned())

    def start(self, cities: list[str]) -> None:
        self.ownership.start()
        self.consumer_thread = threading.Thread(target=self._consume_forever, name="consumer",
                                                daemon=True)
        self.consumer_thread.start()
        self.scheduler.add_job(self.poll_city_requests, "interval", seconds=1, id="city_requests")
        self.scheduler.add_job(self.poll_city_searches, "interval", seconds=1, id="city_searches")
        self.scheduler.add_job(self.retention, "interval", minutes=60, id="retention",
                               next_run_time=datetime.now(UTC) + timedelta(minutes=5))
        self.scheduler.start()
        # load the gazetteer now, not on an analyst's first "Add a city…" (about 2 s)
        threading.Thread(target=warm_gazetteer, name="gazetteer", daemon=True).start()
        for city_id in cities:
            self.request_city(city_id)

    def request_city(self, city_id: str) -> None:
        doc = self.svc.db[C.CITY_REQUESTS].find_one({"_id": city_id})
        if doc is None or doc.get("status") not in ("requested", "backfilling"):
            set_city_status(self.svc, city_id, "requested")

    def poll_city_requests(self) -> None:
        self.release_unowned()
        now = datetime.now(UTC)
        for doc in self.svc.db[C.CITY_REQUESTS].find({"status": {"$in": [*WANTED, "failed"]}}):
            if not wants_activation(doc, self.active, now):
                continue
            try:  # any sidecar refuses an unknown city; only its owner activates a known one
                city = resolve_city(self.svc, doc["_id"])
            except UnknownCityError as exc:  # failed for good: no retry time
                set_city_status(self.svc, doc["_id"], "failed", str(exc))
                continue
            if self.ownership.owns(city.city_id):
                self.activate(city)

    def poll_city_searches(self) -> None:
        if self.ownership.owns(SEARCHES_KEY):  # one sidecar answers the analysts' searches
            serve_city_searches(self.svc)

    def release_unowned(self) -> None:
        """Stop the jobs of every city whose partition moved to another sidecar."""
        for city_id in list(self.active):
            if not self.ownership.owns(city_id):
                self.release(city_id)

    def release(self, city_id: str) -> None:
        self.active.discard(city_id)
        for job in self.scheduler.get_jobs():
            if job.id.split(":")[1:2] == [city_id]:
                with contextlib.suppress(JobLookupError):  # released by the other thread
                    job.remove()
        log.info("released %s: another sidecar owns it now", city_id)

    def activate(self, city: City) -> None:
        """First cycle (fast first data), then backfill, then the city's recurring jobs.

        A failed activation is recorded on the request and tried again later (backoff)."""
        self.active.add(city.city_id)
        svc, now = self.svc, datetime.now(UTC)
        svc.db[C.CITIES].update_one({"_id": city.city_id},
                                    {"$set": {"sources": city_sources(city, svc.settings)}})
        with recorded_run(svc.db, "activate", city.city_id) as run:
            ingest_city(svc, city, now)
            if not has_history(svc, city):
                set_city_status(svc, city.city_id, "backfilling")
                wait_for_first_readings(svc, city, now)
                process_city_job(svc, city, now)
                backfill_city(svc, city, now, svc.settings.citylive_backfill_days)
                mark_backfilled(svc, city, svc.settings.citylive_backfill_days)
            process_city_job(svc, city, datetime.now(UTC))
            set_city_status(svc, city.city_id, "active")
        if not run["ok"]:
            self.active.discard(city.city_id)
            mark_activation_failed(svc, city.city_id, run["error"], datetime.now(UTC))
            return
        if not self.ownership.owns(city.city_id):  # moved away while it was activated
            self.release(city.city_id)
            return
        self.maybe_train(city)
        self.schedule_city(city)

    def every(self, minutes: float) -> float:
        """A cadence in seconds, times CITYLIVE_CADENCE_SCALE (1 in production)."""
        return minutes * 60 * self.svc.settings.citylive_cadence_scale

    def schedule_city(self, city: City) -> None:
        cid = city.city_id
        for kind in SOURCE_KINDS:
            self.scheduler.add_job(lambda k=kind: ingest_kind(self.svc, city, k, datetime.now(UTC)),
                                   "interval", seconds=self.every(CADENCE_MIN[kind]),
                                   id=f"ingest:{cid}:{kind}", replace_existing=True)
        self.scheduler.add_job(lambda: process_city_job(self.svc, city, datetime.now(UTC)),
                               "interval", seconds=self.every(PROCESS_EVERY_MIN),
                               id=f"process:{cid}", replace_existing=True)
        self.scheduler.add_job(lambda: precompute_city_job(self.svc, city, datetime.now(UTC)),
                               "interval", seconds=self.every(PRECOMPUTE_EVERY_MIN),
                               id=f"precompute:{cid}", executor=PRECOMPUTE_EXECUTOR,
                               replace_existing=True,
                               next_run_time=datetime.now(UTC) + timedelta(seconds=5))

    def maybe_train(self, city: City) -> None:
        """Train once, offline, in a separate process, the models a city lacks (or has from an
        older input layout)."""
        if city.city_id in self.training:
            return
        missing = untrained_models(self.svc.db, self.svc.settings, city.city_id)
        if not missing:
            return
        log_path = Path("data/logs") / f"train-{city.city_id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            self.training[city.city_id] = subprocess.Popen(
                [sys.executable, "-m", "models.train", "--city", city.city_id,
                 "--models", ",".join(missing)],
                stdout=out, stderr=subprocess.STDOUT)
        log.info("training %s offline in pid %s (log %s)", city.city_id,
                 self.training[city.city_id].pid, log_path)

    def retention(self) -> None:
        with recorded_run(self.svc.db, "retention") as run:
            run["deleted"] = apply_retention(self.svc.db,
                                             raw_days=self.svc.settings.citylive_raw_retention_days)

    def _consume_forever(self) -> None:
        sink = MessageSink(self.svc.db, self.svc.catalog, self.svc.dlq_producer,
                           max_age=timedelta(days=self.svc.settings.citylive_raw_retention_days))
        SupervisedConsumer(self.svc.db, sink,
                           lambda on_error: make_consumer(self.svc.settings, on_error=on_error),
                           list(_topics()), self.stop_event,
                           lag=lambda consumer: lag_by_topic(consumer, self.admin),
                           batch_size=self.svc.settings.kafka_consumer_batch).run()

    def shutdown(self) -> None:
        self.stop_event.set()
        self.scheduler.shutdown(wait=False)
        self.svc.producer.flush(5)
        if self.consumer_thread is not None:  # its last batch and final status
            self.consumer_thread.join(20)
        if self.ownership.thread is not None:  # leaves the group: the others take over now
            self.ownership.thread.join(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.scheduler", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="run one full cycle and exit")
    parser.add_argument("--city", action="append", help="city id (repeatable); default: settings")
    parser.add_argument("--backfill-days", type=int, default=None,
                        help="history to backfill for a city without any (default: settings)")
    parser.add_argument("--no-precompute", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # a tick skipped because the job is still running is the design (max_instances=1)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    settings = get_settings()
    set_worker_id(settings.citylive_worker_id)
    cities = args.city or settings.citylive_cities
    try:
        svc = build_services(settings)
    except Exception as exc:
        print(f"error: cannot reach MongoDB/Kafka: {type(exc).__name__}: {exc}\n"
              "Is `make services` running (or MONGO_URI / KAFKA_BOOTSTRAP_SERVERS set)?",
              file=sys.stderr)
        return 1
    try:  # after connecting: cities added by name live in MongoDB
        resolved = [get_city(c) for c in cities]
    except UnknownCityError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.once:
        days = settings.citylive_backfill_days if args.backfill_days is None else args.backfill_days
        code = 0
        for city in resolved:
            code |= run_once(svc, city, days, with_precompute=not args.no_precompute)
        svc.producer.flush(10)
        return code
    sidecar = Sidecar(svc)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    sidecar.start(cities)
    log.info("sidecar %s running; cities requested at start: %s", worker_id(),
             ", ".join(cities) or "none")
    done.wait()
    sidecar.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
