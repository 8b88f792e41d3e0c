"""NYC DOT real-time link speeds (Socrata dataset i4gi-tjb9): one request per cycle.

The feed appends a row per link every few minutes. We read the last hour in one request,
report each link's newest row (mph -> km/h) in the zone of the link's first point, and use the
hour as the link's reference: free flow = the fastest speed seen for the link in the batch,
but never below a default for its road class, so a link jammed all hour still reads congested.
A link whose newest row is older than STALE_AFTER before ctx.end is rejected ("stale link").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from core.geo import nearest_zone
from core.vocabulary import SCHEMA_VERSION, Topic
from ingest.http import RequestCounter, get_json
from ingest.sources.base import FetchContext, ParseResult, Reject, Source
from ingest.sources.socrata_311 import from_floating, page_list, to_floating

PROVIDER = "nyc-dot"
DATASET = "i4gi-tjb9"
FIELDS = ("id", "speed", "data_as_of", "link_points", "link_name", "borough")
POINT = re.compile(r"(-?\d+\.\d+),(-?\d+\.\d+)")
KMH_PER_MPH = 1.609344
REFERENCE_WINDOW = timedelta(hours=1)  # ~150 links x 12 updates/h: one 5000-row page
ROW_LIMIT = 5000
STALE_AFTER = timedelta(minutes=15)
# free-flow floor by road class, from the posted limits: NYC's default street limit is
# 25 mph; the expressways, parkways, bridges and tunnels in the feed are posted 40-50 mph.
HIGHWAY_FREE_FLOW_MPH = 45.0
STREET_FREE_FLOW_MPH = 25.0
HIGHWAY_MARKERS = ("BQE", "FDR", "LIE", "SIE", "MDE", "HRP", "CROSS BRONX", "EXPWY", "EXPY",
                   "EXPRESSWAY", "PKWY", "PARKWAY", "HWY", "HIGHWAY", "BRIDGE", "BRG", "TUNNEL",
                   "TNL", "TPK", "TURNPIKE", "I-", "I278", "I495", "I678", "I87", "I95")


class NycDotTraffic(Source):
    kind = "traffic"
    provider = PROVIDER

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        tz = ctx.city.timezone
        since, until = to_floating(ctx.end - REFERENCE_WINDOW, tz), to_floating(ctx.end, tz)
        params = {"$select": ",".join(FIELDS),
                  "$where": f"data_as_of >= '{since}' AND data_as_of < '{until}'",
                  "$order": "data_as_of DESC,id", "$limit": ROW_LIMIT}
        token = ctx.settings.socrata_app_token
        headers = {"X-App-Token": token.get_secret_value()} if token else None
        url = f"{ctx.settings.socrata_nyc_url}/resource/{DATASET}.json"
        return get_json(http, PROVIDER, url, params, headers=headers, counter=counter,
                        secrets=[token.get_secret_value() if token else None],
                        max_attempts=ctx.settings.http_max_attempts, sleep=self._sleep)

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        result = ParseResult()
        latest: dict[str, tuple[datetime, dict[str, Any]]] = {}
        fastest: dict[str, float] = {}
        for row in page_list(raw):
            link, seen, mph = _reading(row, ctx.city.timezone)
            if link is None or seen is None:
                result.rejects.append(Reject("row without id or data_as_of", row))
                continue
            if mph is not None:
                fastest[link] = max(mph, fastest.get(link, 0.0))
            if link not in latest or seen > latest[link][0]:
                latest[link] = (seen, row)
        for link, (seen, row) in sorted(latest.items()):
            reason, record = _record(link, seen, row, fastest.get(link), ctx)
            if record is None:
                result.rejects.append(Reject(reason or "unusable link", row))
                continue
            result.add(Topic.TRAFFIC, record, row)
        return result


def free_flow_mph(link_name: Any, fastest_mph: float | None) -> float:
    """The fastest speed seen for the link, floored at its road class default."""
    name = f" {str(link_name or '').upper()} "
    floor = (HIGHWAY_FREE_FLOW_MPH if any(m in name for m in HIGHWAY_MARKERS)
             else STREET_FREE_FLOW_MPH)
    return max(fastest_mph or 0.0, floor)


def congestion(speed: float, free_flow: float) -> float:
    """1 - speed / free flow, clipped to [0, 1]."""
    return min(max(1.0 - speed / free_flow, 0.0), 1.0)


def first_point(link_points: Any) -> tuple[float, float] | None:
    """First complete "lat,lon" pair of the space-separated list (the feed truncates it)."""
    for pair in str(link_points or "").split():
        match = POINT.fullmatch(pair)
        if match:
            return float(match[1]), float(match[2])
    return None


def _reading(row: Any, tz: str) -> tuple[str | None, datetime | None, float | None]:
    if not isinstance(row, dict) or not row.get("id"):
        return None, None, None
    try:
        mph = float(row["speed"])
    except (KeyError, TypeError, ValueError):
        mph = None
    return str(row["id"]), from_floating(row.get("data_as_of"), tz), mph


def _record(link: str, seen: datetime, row: dict[str, Any], fastest_mph: float | None,
            ctx: FetchContext) -> tuple[str | None, dict[str, Any] | None]:
    if seen < ctx.end - STALE_AFTER:
        return "stale link", None
    point = first_point(row.get("link_points"))
    if point is None:
        return "no coordinates in link_points", None
    zone = nearest_zone(ctx.city, *point)
    if zone is None:
        return f"outside {ctx.city.city_id} bounds: {point[0]:.5f},{point[1]:.5f}", None
    try:
        mph = float(row["speed"])
    except (KeyError, TypeError, ValueError):
        return f"bad speed {row.get('speed')!r}", None
    free_kmh = free_flow_mph(row.get("link_name"), fastest_mph) * KMH_PER_MPH
    speed_kmh = mph * KMH_PER_MPH
    return None, {
        "schema_version": SCHEMA_VERSION, "source": PROVIDER, "city_id": ctx.city.city_id,
        "zone_id": zone.zone_id, "observed_at": seen, "ingested_at": ctx.ingested_at,
        "link_id": link, "speed_kmh": speed_kmh, "free_flow_kmh": free_kmh,
        "congestion": congestion(speed_kmh, free_kmh),
    }
