"""Bounded collections: time buckets stamped on write, whole buckets deleted by equality.

FerretDB pushes equality filters down to PostgreSQL (where a GIN index serves them, see
infra/postgres/citylive.sql) but evaluates a range filter such as `{ts: {$lt: cutoff}}` in Go
over every document of the collection. So every document of a collection with a retention
rule carries a bucket field (`bucket_day` = "2026-11-28", or `bucket_hour` = "2026-11-28T14"
for the short-lived live feed) derived from its time field by the storage write helpers, and
the retention job deletes whole buckets older than the cutoff, one equality delete per bucket,
remembering in `retention_state` how far it got. Its cost follows what it deletes, not what is
stored (docs/architecture.md §8). A document is kept at least `keep` and at most `keep` plus
one bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from core.vocabulary import RAW_COLLECTIONS, C

Granularity = Literal["day", "hour"]
BUCKET_FIELD: dict[Granularity, str] = {"day": "bucket_day", "hour": "bucket_hour"}
STEP: dict[Granularity, timedelta] = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
FORMAT: dict[Granularity, str] = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H"}
# first run (no retention_state yet): how far before the cutoff to look for buckets
FIRST_LOOKBACK: dict[Granularity, int] = {"day": 60, "hour": 72}
# buckets before the last purge probed again each run (a late write into a purged bucket)
REPROBE = 2


@dataclass(frozen=True)
class Retention:
    """Keep a collection's documents for `keep` after the time in `field`."""

    field: str
    keep: timedelta
    granularity: Granularity = "day"

    @property
    def bucket_field(self) -> str:
        return BUCKET_FIELD[self.granularity]


RETENTION: dict[str, Retention] = {
    C.LIVE_FEED: Retention("consumed_at", timedelta(hours=2), "hour"),
    C.METER_READINGS: Retention("observed_at", timedelta(days=7)),
    C.PROCESSED: Retention("ts", timedelta(days=35)),
    C.CITY_DAY: Retention("day_start", timedelta(days=400)),
    C.ALERTS: Retention("opened_at", timedelta(days=30)),
    C.MODEL_OUTPUTS: Retention("issued_at", timedelta(days=8)),
    C.PIPELINE_RUNS: Retention("started_at", timedelta(days=3)),
    C.DLQ: Retention("received_at", timedelta(days=7)),
    # training reads the last 90 days of issued forecasts (docs/architecture.md §6)
    C.WEATHER_FORECASTS: Retention("issued_at", timedelta(days=400)),  # training reads 365
    **{name: Retention("observed_at", timedelta(days=7)) for name in RAW_COLLECTIONS},
}


def rules_for(raw_days: int) -> dict[str, Retention]:
    """The retention table with the raw collections kept `raw_days` (a setting)."""
    raw = Retention("observed_at", timedelta(days=raw_days))
    return {**RETENTION, **{name: raw for name in RAW_COLLECTIONS}}


def bucket_of(ts: datetime, granularity: Granularity) -> str:
    if ts.tzinfo is None:
        raise ValueError("naive datetime in a bucket; use timezone-aware UTC datetimes")
    return ts.astimezone(UTC).strftime(FORMAT[granularity])


def parse_bucket(bucket: str, granularity: Granularity) -> datetime:
    return datetime.strptime(bucket, FORMAT[granularity]).replace(tzinfo=UTC)


def stamp(collection: str, docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `docs` with the collection's bucket field set from its time field (documents
    of a collection without a rule, or without a time, are returned as they are)."""
    rule = RETENTION.get(collection)
    if rule is None:
        return [dict(d) for d in docs]
    out = []
    for doc in docs:
        ts = doc.get(rule.field)
        out.append({**doc, rule.bucket_field: bucket_of(ts, rule.granularity)}
                   if isinstance(ts, datetime) else dict(doc))
    return out


def expired_buckets(rule: Retention, now: datetime, purged_before: str | None) -> list[str]:
    """Buckets wholly older than `now - keep`, from where the last run stopped (minus a few,
    for late writes) or, on a first run, from FIRST_LOOKBACK buckets before the cutoff."""
    step = STEP[rule.granularity]
    first_kept = parse_bucket(bucket_of(now - rule.keep, rule.granularity), rule.granularity)
    if purged_before is None:
        start = first_kept - FIRST_LOOKBACK[rule.granularity] * step
    else:
        start = min(first_kept, parse_bucket(purged_before, rule.granularity)) - REPROBE * step
    buckets, at = [], start
    while at < first_kept:
        buckets.append(bucket_of(at, rule.granularity))
        at += step
    return buckets


def first_kept_bucket(rule: Retention, now: datetime) -> str:
    return bucket_of(now - rule.keep, rule.granularity)


def bucket_indexes(rules: Iterable[str] = RETENTION) -> dict[str, str]:
    """collection -> the bucket field the retention job deletes by (to be indexed)."""
    return {name: RETENTION[name].bucket_field for name in rules}
