"""Bad input through the real sidecar (long-running, and `--once`): a 311 row whose provider id
contains the key separator `|` is stored (escaped) and the valid rows queued behind it too; a
reading dated years ahead goes to the dead-letter queue with a clear reason."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bench.common import commit_group, end_offsets
from core.catalog import get_city
from core.ids import raw_id
from core.vocabulary import CONSUMED_TOPICS, C, Topic
from tests.faults.helpers import ROOT, SidecarProcess, process_env, produce, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.integration]
NYC = get_city("nyc")


def incident(incident_id: str, created: datetime) -> dict:
    zone = NYC.zones[0]
    return {"schema_version": 1, "source": "socrata", "city_id": "nyc", "zone_id": zone.zone_id,
            "observed_at": created, "ingested_at": created + timedelta(minutes=5),
            "incident_id": incident_id, "complaint_type": "Noise - Residential",
            "descriptor": "Loud Music/Party", "status": "Open", "agency": "NYPD",
            "created_at": created, "lat": zone.lat, "lon": zone.lon}


def weather(observed: datetime) -> dict:
    return {"schema_version": 1, "source": "simulated", "city_id": "nyc", "zone_id": "z01",
            "observed_at": observed, "ingested_at": observed, "temperature_c": 4.5,
            "relative_humidity_pct": 60.0, "wind_speed_kmh": 11.0, "precipitation_mm": 0.0}


def _batch(now: datetime) -> tuple[list[dict], list[dict]]:
    piped = incident("6271|B", now - timedelta(hours=2))
    behind = [incident(f"62710{k:02d}", now - timedelta(hours=2, minutes=-k)) for k in range(20)]
    return [piped, *behind], [raw_id(C.RAW_311, r) for r in (piped, *behind)]


def _start_at_end(settings) -> None:
    """A caught-up group on every topic the consumer reads (the forecast topic holds other
    tests' records, a synthetic city's among them, which would be dead-lettered)."""
    commit_group(settings, end_offsets(settings, CONSUMED_TOPICS))


def test_long_running_sidecar_stores_a_piped_id_and_dead_letters_a_future_reading(
        fault_settings, fault_db, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    incidents, ids = _batch(now)
    future = weather(now + timedelta(days=3 * 365))
    valid = [weather(now - timedelta(minutes=10 * k)) for k in range(1, 6)]
    _start_at_end(fault_settings)
    sidecar = SidecarProcess(fault_settings, tmp_path)
    sidecar.start()
    try:
        produce(fault_settings, Topic.INCIDENTS, incidents)
        produce(fault_settings, Topic.WEATHER, [future, *valid])
        stored = lambda: fault_db[C.RAW_311].count_documents({}) + fault_db[  # noqa: E731
            C.RAW_WEATHER].count_documents({})
        assert wait_until(lambda: stored() >= 26 and fault_db[C.DLQ].count_documents({}) >= 1,
                          120), sidecar.log()
        assert sidecar.alive()
    finally:
        sidecar.cleanup()
    assert {d["_id"] for d in fault_db[C.RAW_311].find({})} == set(ids)
    piped = fault_db[C.RAW_311].find_one({"incident_id": "6271|B"})
    assert piped is not None and "%7C" in piped["_id"] and "|B" not in piped["_id"]
    assert fault_db[C.RAW_WEATHER].count_documents({}) == len(valid)
    dead = list(fault_db[C.DLQ].find({}))
    assert len(dead) == 1, [(d.get("topic"), d.get("reason")) for d in dead]
    assert dead[0]["topic"] == Topic.WEATHER and "future" in dead[0]["reason"], dead


def test_once_stores_a_piped_id_and_the_rows_behind_it(fault_settings, fault_db):
    now = datetime.now(UTC).replace(microsecond=0)
    incidents, ids = _batch(now)
    _start_at_end(fault_settings)
    produce(fault_settings, Topic.INCIDENTS, incidents)
    proc = subprocess.run([sys.executable, "-m", "pipeline.scheduler", "--once", "--city", "nyc",
                           "--backfill-days", "0", "--no-precompute"], cwd=ROOT,
                          env=process_env(fault_settings), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored = {d["_id"] for d in fault_db[C.RAW_311].find({"source": "socrata"})}
    assert stored == set(ids), proc.stderr[-2000:]
