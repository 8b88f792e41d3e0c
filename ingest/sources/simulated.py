"""The simulator behind the Source interface: one 'request' per city per cycle, no network.

fetch() generates the city's records for the window (counted as one provider call, as a live
multi-location provider would be); parse() checks their shape and, for incidents, keeps only
those created after the watermark. That watermark is the simulator's own (watermarks are per
city, kind and provider, pipeline.cycle), so it never hides a live provider's rows; and the
simulator publishes nothing late, so unlike Socrata it needs no lookback.

The weather reply also carries the temperature forecast issued in the window's last hour
(ingest.simulator.forecast), which parse routes to its own topic.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import httpx

from core.vocabulary import KIND_TOPIC, Topic
from ingest.http import RequestCounter
from ingest.schema import TOPIC_MODEL
from ingest.simulator import KINDS, CityWorld, simulate
from ingest.simulator.forecast import forecast_records
from ingest.sources.base import FetchContext, ParseResult, Reject, Source
from ingest.weather_forecast import issue_hour

PROVIDER = "simulated"


class SimulatedSource(Source):
    """Simulated data of one kind; deterministic for a given seed."""

    provider = PROVIDER

    def __init__(self, kind: str, seed: int = 0) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown source kind {kind!r}; expected one of {KINDS}")
        self.kind = kind
        self.seed = seed
        self.topic = KIND_TOPIC[kind]
        self._fields = frozenset(TOPIC_MODEL[self.topic].model_fields)

    def fetch(self, ctx: FetchContext, http: httpx.Client,
              counter: RequestCounter) -> list[dict[str, Any]]:
        counter.requests += 1
        counter.attempts += 1
        counter.urls.append(f"simulated://{self.kind}/{ctx.city.city_id}")
        world = CityWorld(ctx.city, self.seed)
        records = simulate(self.kind, ctx.city, ctx.start, ctx.end, ctx.ingested_at, self.seed,
                           world=world)
        if self.kind == "weather":
            records += forecast_records(world, [issue_hour(ctx.end)], ctx.ingested_at)
        return records

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        if not isinstance(raw, list):
            return ParseResult(rejects=[Reject(f"expected a list of records, got "
                                               f"{type(raw).__name__}")])
        result = ParseResult(watermark=ctx.watermark)
        for item in raw:
            if self.kind == "weather" and isinstance(item, dict) and "issued_at" in item:
                result.add_extra(Topic.WEATHER_FORECAST, item, item)  # fully validated
                continue
            reason = self._problem(item, ctx)
            if reason:
                result.rejects.append(Reject(reason, item))
                continue
            if self.kind == "incidents":
                created: datetime = item["created_at"]
                if ctx.watermark is not None and created <= ctx.watermark:
                    continue
                if result.watermark is None or created > result.watermark:
                    result.watermark = created
            result.records.append(item)
        return result

    def _problem(self, item: Any, ctx: FetchContext) -> str | None:
        """Cheap structural check; full validation happens in the consumer (validate_record)."""
        if not isinstance(item, dict):
            return f"record is a {type(item).__name__}, not an object"
        if item.keys() != self._fields:
            return f"fields {sorted(item.keys() ^ self._fields)} missing or unexpected"
        if item["city_id"] != ctx.city.city_id:
            return f"record for city {item['city_id']!r}, expected {ctx.city.city_id!r}"
        for key, value in item.items():
            if isinstance(value, float) and not math.isfinite(value):
                return f"{key} is not finite"
        return None
