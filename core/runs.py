"""pipeline_runs: one document per job run (per source for ingest), with its reason on failure."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from core.ids import make_id
from core.storage import insert_new
from core.vocabulary import C
from core.worker import worker_id

log = logging.getLogger(__name__)


class RunRecord(dict):
    """The document being built for one run; jobs add counts (records, requests, ...)."""


@contextmanager
def recorded_run(db: Database, job: str, city_id: str | None = None, source: str | None = None,
                 provider: str | None = None, reraise: bool = False) -> Iterator[RunRecord]:
    """Time a job and write its pipeline_runs document, ok or failed (never raises by default)."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    run = RunRecord(job=job, city_id=city_id, source=source, provider=provider,
                    worker=worker_id(), started_at=started, ok=True, error=None, attempts=0,
                    requests=0, records=0, rejects=0)
    try:
        yield run
    except Exception as exc:  # a failing job is recorded, never kills the process
        run["ok"] = False
        run["error"] = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("%s %s %s failed: %s", job, city_id or "", source or "", run["error"])
        if reraise:
            raise
    finally:
        run["finished_at"] = datetime.now(UTC)
        run["duration_s"] = round(time.perf_counter() - t0, 3)
        run["_id"] = make_id(job, city_id or "-", started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                             source or "-", run["worker"])
        run["scope_hour"] = scope_hour(city_id, started)
        try:
            insert_new(db, C.PIPELINE_RUNS, [dict(run)])
        except PyMongoError as exc:
            log.warning("could not record pipeline run %s: %s", run["_id"], exc)


def scope_hour(city_id: str | None, started: datetime) -> str:
    """Read key of a run: its city ("-" for city-less jobs) and UTC hour. The Pipeline Health
    page reads a day of one city's runs as one equality query per hour (architecture §8)."""
    return make_id(city_id or "-", started.astimezone(UTC).strftime("%Y-%m-%dT%H"))


def clean(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}
