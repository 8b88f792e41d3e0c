"""TomTom Traffic Flow, flowSegmentData: current and free-flow speed of the road nearest a point.

The endpoint takes exactly one point per request and has no batch form, so this is the one
source that makes a request per zone (sources batch only where the provider allows,
docs/architecture.md §9). The catalog picks it (`live_sources.traffic == "tomtom"`) only for
cities without NYC DOT.
A zone whose point has no road nearby (HTTP 400) becomes a Reject; any other failure (bad key,
rate limit after retries) fails the cycle. The key is a query param: it is redacted everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from core.vocabulary import SCHEMA_VERSION, Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter, get_json
from ingest.sources.base import FetchContext, ParseResult, Reject, Source
from ingest.sources.nyc_dot import congestion

PROVIDER = "tomtom"
PATH = "/traffic/services/4/flowSegmentData/absolute/10/json"
PER_ZONE_REJECT_STATUSES = frozenset({400})  # e.g. "Point too far from nearest existing segment."


class TomTomTraffic(Source):
    kind = "traffic"
    provider = PROVIDER

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        """[{"zone_id", "reply"} | {"zone_id", "error"}] in zone order."""
        secret = ctx.settings.tomtom_api_key
        key = secret.get_secret_value() if secret else ""
        if not key:
            raise ProviderError(PROVIDER, "TOMTOM_API_KEY is not set")
        url = ctx.settings.tomtom_url + PATH
        out: list[dict[str, Any]] = []
        for zone in ctx.city.zones:
            params = {"point": f"{zone.lat:.5f},{zone.lon:.5f}", "unit": "KMPH", "key": key}
            try:
                reply = get_json(http, PROVIDER, url, params, secrets=[key], counter=counter,
                                 max_attempts=ctx.settings.http_max_attempts, sleep=self._sleep)
            except ProviderError as exc:
                if exc.status not in PER_ZONE_REJECT_STATUSES:
                    raise
                out.append({"zone_id": zone.zone_id, "error": exc.reason})
                continue
            out.append({"zone_id": zone.zone_id, "reply": reply})
        return out

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        if not isinstance(raw, list):
            raise ProviderShapeError(PROVIDER, f"expected per-zone replies, got {type(raw)}")
        result = ParseResult()
        for entry in raw:
            zone_id = entry.get("zone_id") if isinstance(entry, dict) else None
            if ctx.city.zone(str(zone_id)) is None:
                raise ProviderShapeError(PROVIDER, f"reply for unknown zone {zone_id!r}")
            if "error" in entry:
                result.rejects.append(Reject(f"zone {zone_id}: {entry['error']}", entry))
                continue
            record = segment_record(entry.get("reply"), str(zone_id), ctx)
            result.add(Topic.TRAFFIC, record, entry)
        return result


def segment_record(reply: Any, zone_id: str, ctx: FetchContext) -> dict[str, Any]:
    """One zone's flowSegmentData -> TrafficObs (the flow is current: observed at ingest)."""
    data = reply.get("flowSegmentData") if isinstance(reply, dict) else None
    if not isinstance(data, dict):
        raise ProviderShapeError(PROVIDER, f"zone {zone_id}: reply has no flowSegmentData")
    speed, free = _kmh(data.get("currentSpeed")), _kmh(data.get("freeFlowSpeed"))
    if data.get("roadClosure") is True:
        jam: float | None = 1.0
    else:
        jam = congestion(speed, free) if speed is not None and free else None
    return {"schema_version": SCHEMA_VERSION, "source": PROVIDER, "city_id": ctx.city.city_id,
            "zone_id": zone_id, "observed_at": ctx.ingested_at, "ingested_at": ctx.ingested_at,
            "link_id": f"tomtom:{zone_id}", "speed_kmh": speed, "free_flow_kmh": free,
            "congestion": jam}


def _kmh(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
