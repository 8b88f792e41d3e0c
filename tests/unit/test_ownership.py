"""Cities keyed onto control partitions: stable, spread, and split without overlap."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from core.ownership import CONTROL_PARTITIONS, owned_keys, partition_for
from core.worker import set_worker_id, worker_id
from ui.health_tables import sidecars_table

CITIES = [f"city-{i}" for i in range(200)]


def test_partition_is_the_same_in_another_process():
    # hash() is salted per process; the owner must be computed the same way by every sidecar
    code = "from core.ownership import partition_for; print(partition_for('sao-paulo-br'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert int(out) == partition_for("sao-paulo-br")


def test_partitions_cover_the_range_and_spread_cities():
    parts = [partition_for(c) for c in CITIES]
    assert set(parts) == set(range(CONTROL_PARTITIONS))
    assert max(parts.count(p) for p in set(parts)) < 3 * len(CITIES) / CONTROL_PARTITIONS


def test_an_assignment_splits_the_cities_without_overlap_or_gap():
    shares = [owned_keys(CITIES, range(k, CONTROL_PARTITIONS, 3)) for k in range(3)]
    assert set().union(*shares) == set(CITIES)
    assert sum(len(s) for s in shares) == len(CITIES)
    assert owned_keys(CITIES, []) == set()


def test_bad_partition_count_is_refused():
    with pytest.raises(ValueError, match="partitions must be >= 1"):
        partition_for("nyc", 0)


def test_worker_id_is_configured_or_host_and_pid():
    set_worker_id(None)
    default = worker_id()
    assert default.endswith(f":{__import__('os').getpid()}")
    set_worker_id("sidecar-b")
    try:
        assert worker_id() == "sidecar-b"
    finally:
        set_worker_id(None)


def test_sidecars_table_marks_a_silent_worker():
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    table = sidecars_table([
        {"worker": "a:1", "state": "running", "updated_at": now - timedelta(seconds=20),
         "stored_total": 10, "duplicates_total": 0, "dlq_total": 1, "restarts": 0},
        {"worker": "b:2", "state": "running", "updated_at": now - timedelta(minutes=10)},
        {"worker": "c:3", "state": "stopped", "updated_at": now - timedelta(minutes=10)},
    ], now)
    assert table["State"].tolist() == ["running", "silent", "stopped"]
    assert table.loc[0, "Stored"] == 10 and table.loc[0, "Worker"] == "a:1"


def test_precompute_jobs_run_on_their_own_pool():
    # a hanging inference service may hold precompute threads, never ingestion's
    from core.catalog import get_city
    from core.settings import Settings
    from pipeline.cycle import Services
    from pipeline.scheduler import PRECOMPUTE_EXECUTOR, Sidecar

    svc = Services(settings=Settings(_env_file=None), db=None, producer=None, http=None,
                   catalog={})
    sidecar = Sidecar(svc)
    sidecar.schedule_city(get_city("nyc"))
    executors = {job.id.split(":")[0]: job.executor for job in sidecar.scheduler.get_jobs()}
    assert executors == {"ingest": "default", "process": "default",
                         "precompute": PRECOMPUTE_EXECUTOR}
    assert sidecar.every(10) == 600  # production cadence: scale 1


def test_releasing_a_city_twice_is_harmless():
    # the ownership thread and the request poll may both release a city that moved away
    from core.catalog import get_city
    from core.settings import Settings
    from pipeline.cycle import Services
    from pipeline.scheduler import Sidecar

    sidecar = Sidecar(Services(settings=Settings(_env_file=None), db=None, producer=None,
                               http=None, catalog={}))
    sidecar.schedule_city(get_city("nyc"))
    sidecar.schedule_city(get_city("chicago"))
    sidecar.active |= {"nyc", "chicago"}
    snapshot = sidecar.scheduler.get_jobs()
    next(job for job in snapshot if job.id == "process:nyc").remove()  # the other thread
    real_get_jobs = sidecar.scheduler.get_jobs
    sidecar.scheduler.get_jobs = lambda: snapshot  # this thread's list predates that removal
    sidecar.release("nyc")  # no JobLookupError
    sidecar.scheduler.get_jobs = real_get_jobs
    sidecar.release("nyc")
    left = {job.id.split(":")[1] for job in sidecar.scheduler.get_jobs()}
    assert left == {"chicago"} and sidecar.active == {"chicago"}
    sidecar.release_unowned()  # nothing is owned before Kafka assigns partitions
    assert sidecar.scheduler.get_jobs() == [] and sidecar.active == set()
