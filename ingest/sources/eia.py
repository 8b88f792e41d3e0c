"""EIA API v2 hourly demand (D) and day-ahead forecast (DF) of a balancing authority.

One query per city (both types), paged with offset/length: EIA caps a page at 5000 rows and
states the row count as a *string* `response.total`. The BA's load is apportioned to zones as
`ba_demand_mw x city.ba_share x zone.weight`. EIA echoes the api_key in `request.params`, so
parse never reads `request` and every message goes through `redact`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.vocabulary import SCHEMA_VERSION, Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter, get_json, redact
from ingest.sources.base import FetchContext, ParseResult, Reject, Source

PROVIDER = "eia"
PATH = "/v2/electricity/rto/region-data/data/"
PAGE_LENGTH = 5000  # EIA's maximum rows per JSON page
MAX_PAGES = 20
PERIOD_FORMAT = "%Y-%m-%dT%H"  # hourly periods are UTC
TYPE_FIELDS = {"D": "ba_demand_mw", "DF": "ba_forecast_mw"}


class EiaPower(Source):
    kind = "power"
    provider = PROVIDER

    def __init__(self, *, page_length: int = PAGE_LENGTH,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._page_length = page_length
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        """Every page of the query, as EIA sent them."""
        key = ctx.settings.eia_api_key.get_secret_value() if ctx.settings.eia_api_key else None
        if not key:
            raise ProviderError(PROVIDER, "EIA_API_KEY is not set")
        pages: list[Any] = []
        offset = 0
        while len(pages) < MAX_PAGES:
            params = request_params(ctx, key, offset, self._page_length)
            page = get_json(http, PROVIDER, ctx.settings.eia_url + PATH, params, secrets=[key],
                            max_attempts=ctx.settings.http_max_attempts, counter=counter,
                            sleep=self._sleep)
            rows, total = page_rows(page, [key])
            pages.append(page)
            offset += len(rows)
            if not rows or offset >= total:
                break
        return pages

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        return parse_pages(raw, ctx)


def request_params(ctx: FetchContext, key: str, offset: int, length: int) -> dict[str, Any]:
    """EIA's bracketed query syntax; `end` is inclusive, so it is the last hour before ctx.end."""
    last_hour = ctx.end.astimezone(UTC) - timedelta(microseconds=1)
    return {
        "api_key": key,
        "frequency": "hourly",
        "data[0]": "value",
        "facets[respondent][]": ctx.city.eia_respondent,
        "facets[type][]": list(TYPE_FIELDS),
        "start": ctx.start.astimezone(UTC).strftime(PERIOD_FORMAT),
        "end": last_hour.strftime(PERIOD_FORMAT),
        "sort[0][column]": "period",
        "sort[0][direction]": "asc",
        "offset": offset,
        "length": length,
    }


def page_rows(page: Any, secrets: list[str | None]) -> tuple[list[Any], int]:
    """(data rows, total) of one page; EIA's error shapes become ProviderError."""
    if not isinstance(page, dict):
        raise ProviderShapeError(PROVIDER, f"page is a {type(page).__name__}, not an object")
    if "error" in page:
        raise ProviderError(PROVIDER, redact(_error_text(page["error"]), secrets))
    if "response" not in page and "message" in page:
        raise ProviderError(PROVIDER, redact(f"{page.get('code')}: {page['message']}", secrets))
    response = page.get("response")
    data = response.get("data") if isinstance(response, dict) else None
    if not isinstance(data, list):
        warnings = response.get("warnings") if isinstance(response, dict) else None
        if warnings:
            raise ProviderError(PROVIDER, redact(_error_text(warnings), secrets))
        raise ProviderShapeError(PROVIDER, "page has no response.data list")
    try:
        total = int(response.get("total", len(data)))
    except (TypeError, ValueError):
        raise ProviderShapeError(PROVIDER, "response.total is not a number") from None
    return data, total


def parse_pages(raw: Any, ctx: FetchContext) -> ParseResult:
    """Rows -> one PowerObs per zone and hour in [start, end)."""
    secret = ctx.settings.eia_api_key.get_secret_value() if ctx.settings.eia_api_key else None
    pages = raw if isinstance(raw, list) else [raw]
    by_hour: dict[datetime, dict[str, float | None]] = {}
    result = ParseResult()
    for page in pages:
        rows, _total = page_rows(page, [secret])
        for row in rows:
            reason = _merge_row(row, ctx, by_hour)
            if reason:
                result.rejects.append(Reject(reason, row))
    for hour in sorted(by_hour):
        for record in apportion(ctx, hour, by_hour[hour]):
            result.add(Topic.POWER, record, record)
    return result


def apportion(ctx: FetchContext, hour: datetime, values: dict[str, float | None]
              ) -> list[dict[str, Any]]:
    """The BA's hour as one record per zone; a zone's share is ba_share x weight."""
    demand = values.get("ba_demand_mw")
    return [{"schema_version": SCHEMA_VERSION, "source": PROVIDER,
             "city_id": ctx.city.city_id, "zone_id": zone.zone_id, "observed_at": hour,
             "ingested_at": ctx.ingested_at, "respondent": ctx.city.eia_respondent,
             "ba_demand_mw": demand, "ba_forecast_mw": values.get("ba_forecast_mw"),
             "demand_mw": None if demand is None else demand * ctx.city.ba_share * zone.weight}
            for zone in ctx.city.zones]


def _merge_row(row: Any, ctx: FetchContext, by_hour: dict[datetime, dict[str, float | None]]
               ) -> str | None:
    """Put one row's value into by_hour; the reason when it cannot be used."""
    if not isinstance(row, dict):
        return "row is not an object"
    field = TYPE_FIELDS.get(row.get("type"))
    if field is None or row.get("respondent") != ctx.city.eia_respondent:
        return f"unexpected row type {row.get('type')!r} / respondent {row.get('respondent')!r}"
    try:
        hour = datetime.strptime(str(row.get("period")), PERIOD_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return f"bad period {row.get('period')!r}"
    if not ctx.start <= hour < ctx.end:
        return None  # EIA's start is hour-granular; the window may begin mid-hour
    slot = by_hour.setdefault(hour, {})
    value = _mw(row.get("value"))
    slot[field] = value
    if value is None and row.get("value") is not None:
        return f"bad {row.get('type')} value {row.get('value')!r}"
    return None


def _mw(text: Any) -> float | None:
    """EIA values are strings ("17234"); negative or non-finite loads are not loads."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('code', '')}: {error.get('message', error)}".strip(": ")
    if isinstance(error, list):
        return "; ".join(str(e.get("description") or e.get("warning")) if isinstance(e, dict)
                         else str(e) for e in error)
    return str(error)
