"""Failed city activations are retried with exponential backoff; unknown cities never are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.settings import Settings
from core.vocabulary import C
from pipeline.cycle import Services
from pipeline.scheduler import (
    due_for_retry,
    mark_activation_failed,
    next_attempt,
    set_city_status,
    wants_activation,
)
from tests.unit.processing.fake_db import FakeDb

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempts,wait_s", [(1, 30), (2, 60), (3, 120), (5, 480), (6, 900),
                                             (7, 900), (60, 900)])
def test_backoff_doubles_from_30_s_up_to_15_min(attempts, wait_s):
    assert next_attempt(attempts, NOW) == NOW + timedelta(seconds=wait_s)


def test_a_failed_request_is_due_once_its_retry_time_has_come():
    doc = {"_id": "nyc", "status": "failed", "attempts": 2,
           "next_attempt_at": NOW + timedelta(seconds=60)}
    assert not due_for_retry(doc, NOW)
    assert due_for_retry(doc, NOW + timedelta(seconds=60))
    # a city outside the catalog failed for good: no retry time, never due
    assert not due_for_retry({"_id": "atlantis", "status": "failed", "error": "unknown city",
                              "next_attempt_at": None}, NOW + timedelta(days=1))
    assert not due_for_retry({"_id": "nyc", "status": "active"}, NOW)


def test_wants_activation():
    later = NOW + timedelta(minutes=20)
    failed = {"_id": "nyc", "status": "failed", "next_attempt_at": NOW}
    assert wants_activation({"_id": "nyc", "status": "requested"}, set(), NOW)
    assert wants_activation({"_id": "nyc", "status": "backfilling"}, set(), NOW)
    assert not wants_activation({"_id": "nyc", "status": "requested"}, {"nyc"}, NOW)
    assert wants_activation(failed, set(), later)
    assert not wants_activation(dict(failed, next_attempt_at=later), set(), NOW)


def test_activation_failures_count_attempts_and_schedule_the_next_try():
    svc = Services(settings=Settings(_env_file=None), db=FakeDb(), producer=None, http=None,
                   catalog={})
    set_city_status(svc, "nyc", "requested")
    mark_activation_failed(svc, "nyc", "ProviderError: eia: 503", NOW)
    doc = svc.db[C.CITY_REQUESTS].docs["nyc"]
    assert (doc["status"], doc["attempts"]) == ("failed", 1)
    assert doc["error"] == "ProviderError: eia: 503"
    assert doc["next_attempt_at"] == NOW + timedelta(seconds=30)
    set_city_status(svc, "nyc", "backfilling")  # the retry starts: no retry time meanwhile
    assert doc["next_attempt_at"] is None and doc["attempts"] == 1
    mark_activation_failed(svc, "nyc", "again", NOW + timedelta(seconds=30))
    assert doc["attempts"] == 2
    assert doc["next_attempt_at"] == NOW + timedelta(seconds=90)
    set_city_status(svc, "nyc", "active")
    assert (doc["status"], doc["attempts"], doc["error"]) == ("active", 0, None)
