"""The interface every source implements: fetch (IO) apart from parse (pure).

A source fetches everything for one city in as few requests as the provider allows (one per
cycle, plus pagination pages) and parses the provider's reply into canonical records
(ingest.schema). Records it cannot place (bad value, no coordinates, outside the city) become
Rejects with a reason; they go to the DLQ and never drop the rest of the batch.

A source may also emit records of another topic than its kind's (`ParseResult.extra`): the
weather sources emit the forecast issued this hour to `weather_forecast`. The producer and
the backfill route every record by its topic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from core.catalog import City
from core.settings import Settings
from ingest.exceptions import RecordRejected
from ingest.http import RequestCounter
from ingest.schema import validate_record


@dataclass(frozen=True)
class FetchContext:
    """What one fetch is for: a city, a time window [start, end) in UTC, and a watermark."""

    city: City
    settings: Settings
    start: datetime
    end: datetime
    ingested_at: datetime
    watermark: datetime | None = None  # incremental sources: newest item already stored


@dataclass
class Reject:
    """One provider item that did not become a record, with why."""

    reason: str
    item: Any = None
    topic: str | None = None  # an extra record's topic; None: the source kind's own


@dataclass
class ParseResult:
    records: list[dict[str, Any]] = field(default_factory=list)  # the source kind's topic
    rejects: list[Reject] = field(default_factory=list)
    watermark: datetime | None = None  # new watermark for incremental sources
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # other topics

    def add(self, topic: str, record: dict[str, Any], item: Any) -> None:
        """Keep `record` if it validates against the topic's schema, else reject `item`."""
        try:
            self.records.append(validate_record(topic, record))
        except RecordRejected as exc:
            self.rejects.append(Reject(exc.reason, item))

    def add_extra(self, topic: str, record: dict[str, Any], item: Any) -> None:
        """Like `add`, for a record of another topic than the source kind's."""
        try:
            self.extra.setdefault(topic, []).append(validate_record(topic, record))
        except RecordRejected as exc:
            self.rejects.append(Reject(exc.reason, item, topic))

    def routed(self, own_topic: str) -> list[tuple[str, dict[str, Any]]]:
        """Every record with its topic: the kind's own (`own_topic`) first, then the extras."""
        return [*((own_topic, r) for r in self.records),
                *((topic, r) for topic, records in self.extra.items() for r in records)]


class Source(ABC):
    """One provider for one kind of data (weather, aqi, traffic, power, incidents)."""

    kind: str
    provider: str

    @abstractmethod
    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        """Call the provider (through the injected client) and return its decoded reply."""

    @abstractmethod
    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        """Pure: provider reply -> canonical records + rejects."""

    def collect(self, ctx: FetchContext, http: httpx.Client,
                counter: RequestCounter) -> ParseResult:
        return self.parse(self.fetch(ctx, http, counter), ctx)
