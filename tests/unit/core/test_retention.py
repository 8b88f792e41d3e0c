"""Retention buckets (pure): what is stamped, and which buckets a run deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.retention import RETENTION, Retention, expired_buckets, rules_for, stamp
from core.vocabulary import RAW_COLLECTIONS, C

NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
DAYS7 = Retention("observed_at", timedelta(days=7))


def test_every_document_of_a_ruled_collection_gets_its_bucket() -> None:
    [doc] = stamp(C.ALERTS, [{"_id": "a", "opened_at": NOW}])
    assert doc["bucket_day"] == "2026-11-29"
    [feed] = stamp(C.LIVE_FEED, [{"_id": "f", "consumed_at": NOW}])
    assert feed["bucket_hour"] == "2026-11-29T12"
    assert stamp(C.ZONE_LATEST, [{"_id": "z"}]) == [{"_id": "z"}]  # no rule: unchanged
    assert stamp(C.ALERTS, [{"_id": "b"}]) == [{"_id": "b"}]  # no time: unchanged


def test_a_first_run_looks_back_from_the_cutoff_and_keeps_the_cutoff_bucket() -> None:
    buckets = expired_buckets(DAYS7, NOW, None)
    assert buckets[-1] == "2026-11-21" and "2026-11-22" not in buckets
    assert len(buckets) == 60


def test_a_later_run_starts_where_the_last_stopped_minus_a_reprobe() -> None:
    assert expired_buckets(DAYS7, NOW, "2026-11-22") == ["2026-11-20", "2026-11-21"]
    assert expired_buckets(DAYS7, NOW + timedelta(days=3), "2026-11-22") == [
        "2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24"]


def test_hour_buckets_for_the_live_feed() -> None:
    rule = RETENTION[C.LIVE_FEED]
    assert expired_buckets(rule, NOW, "2026-11-29T10") == ["2026-11-29T08", "2026-11-29T09"]


def test_raw_retention_follows_the_setting() -> None:
    rules = rules_for(raw_days=3)
    assert all(rules[name].keep == timedelta(days=3) for name in RAW_COLLECTIONS)
    assert rules[C.PROCESSED] == RETENTION[C.PROCESSED]
