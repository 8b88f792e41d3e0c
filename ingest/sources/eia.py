"""EIA API v2 hourly load of a city: its subregion's demand, beside its BA's D and DF.

Two queries per city, each paged with offset/length (EIA caps a page at 5000 rows and states the
row count as a *string* `response.total`): region-data gives the balancing authority's demand
(D) and day-ahead forecast (DF); region-sub-ba-data gives the BA's subregions (facets `parent`,
`subba`), whose series for the city's own subregion IS the city's demand (core/subregions.py).
A zone's demand is an estimate: city demand x zone.weight. A city without a subregion keeps one
series, "CITY" = BA demand x ba_share. Subregion data lags the BA's by hours; such an hour has
demand_mw None, never 0. EIA echoes the api_key in `request.params`, so parse never reads
`request` and every message goes through `redact`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.catalog import City
from core.subregions import CITY_SERIES, has_subregion, series_ids
from core.vocabulary import SCHEMA_VERSION, Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter, get_json, redact
from ingest.sources.base import FetchContext, ParseResult, Reject, Source

PROVIDER = "eia"
PATH = "/v2/electricity/rto/region-data/data/"
SUBBA_PATH = "/v2/electricity/rto/region-sub-ba-data/data/"
PAGE_LENGTH = 5000  # EIA's maximum rows per JSON page
MAX_PAGES = 20
PERIOD_FORMAT = "%Y-%m-%dT%H"  # hourly periods are UTC
TYPE_FIELDS = {"D": "ba_demand_mw", "DF": "ba_forecast_mw"}
DEMAND_METHOD = "estimate"  # a zone's demand_mw = the city's series x zone.weight

HourValues = dict[datetime, dict[str, float | None]]
RowMerger = Callable[[Any, FetchContext, HourValues], str | None]


class EiaPower(Source):
    kind = "power"
    provider = PROVIDER

    def __init__(self, *, page_length: int = PAGE_LENGTH,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._page_length = page_length
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter
              ) -> dict[str, list[Any]]:
        """Every page of both queries, as EIA sent them: {"region": [...], "subba": [...]}."""
        key = ctx.settings.eia_api_key.get_secret_value() if ctx.settings.eia_api_key else None
        if not key:
            raise ProviderError(PROVIDER, "EIA_API_KEY is not set")
        raw = {"region": self._pages(ctx, http, counter, key, PATH, region_facets(ctx.city))}
        if has_subregion(ctx.city):
            raw["subba"] = self._pages(ctx, http, counter, key, SUBBA_PATH,
                                       subba_facets(ctx.city))
        return raw

    def _pages(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter, key: str,
               path: str, facets: dict[str, Any]) -> list[Any]:
        pages: list[Any] = []
        offset = 0
        while len(pages) < MAX_PAGES:
            params = request_params(ctx, key, offset, self._page_length, facets)
            page = get_json(http, PROVIDER, ctx.settings.eia_url + path, params, secrets=[key],
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


def region_facets(city: City) -> dict[str, Any]:
    return {"facets[respondent][]": city.eia_respondent, "facets[type][]": list(TYPE_FIELDS)}


def subba_facets(city: City) -> dict[str, Any]:
    return {"facets[parent][]": city.eia_respondent, "facets[subba][]": series_ids(city)}


def request_params(ctx: FetchContext, key: str, offset: int, length: int,
                   facets: dict[str, Any]) -> dict[str, Any]:
    """EIA's bracketed query syntax; `end` is inclusive, so it is the last hour before ctx.end."""
    last_hour = ctx.end.astimezone(UTC) - timedelta(microseconds=1)
    return {
        "api_key": key,
        "frequency": "hourly",
        "data[0]": "value",
        **facets,
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
    """Both queries' rows -> one PowerObs per zone and hour in [start, end) that has data."""
    secret = ctx.settings.eia_api_key.get_secret_value() if ctx.settings.eia_api_key else None
    region, subba = _split(raw)
    ba: HourValues = {}
    series: HourValues = {}
    result = ParseResult()
    queries: tuple[tuple[list[Any], RowMerger, HourValues], ...] = (
        (region, _merge_row, ba), (subba, _merge_subba_row, series))
    for pages, merge, by_hour in queries:
        for page in pages:
            rows, _total = page_rows(page, [secret])
            for row in rows:
                reason = merge(row, ctx, by_hour)
                if reason:
                    result.rejects.append(Reject(reason, row))
    for hour in sorted(ba.keys() | series.keys()):
        for record in zone_records(ctx, hour, ba.get(hour, {}), series.get(hour, {})):
            result.add(Topic.POWER, record, record)
    return result


def zone_records(ctx: FetchContext, hour: datetime, ba: dict[str, float | None],
                 series: dict[str, float | None]) -> list[dict[str, Any]]:
    """The hour as one record per zone: the city's series, and its zone share as an estimate."""
    city = ctx.city
    if has_subregion(city):
        own = str(city.eia_subba)
        series_mw = {code: series.get(code) for code in series_ids(city)}
    else:
        own = CITY_SERIES
        demand = ba.get("ba_demand_mw")
        series_mw = {own: None if demand is None else demand * city.ba_share}
    city_mw = series_mw[own]
    return [{"schema_version": SCHEMA_VERSION, "source": PROVIDER,
             "city_id": city.city_id, "zone_id": zone.zone_id, "observed_at": hour,
             "ingested_at": ctx.ingested_at, "respondent": city.eia_respondent,
             "subba": own, "city_demand_mw": city_mw, "series_mw": dict(series_mw),
             "ba_demand_mw": ba.get("ba_demand_mw"), "ba_forecast_mw": ba.get("ba_forecast_mw"),
             "demand_mw": None if city_mw is None else city_mw * zone.weight,
             "demand_method": DEMAND_METHOD}
            for zone in city.zones]


def _split(raw: Any) -> tuple[list[Any], list[Any]]:
    """(region pages, sub-BA pages) of fetch's reply; a bare page or list is region-data."""
    if isinstance(raw, dict) and "region" in raw:
        return _as_list(raw["region"]), _as_list(raw.get("subba", []))
    return _as_list(raw), []


def _as_list(pages: Any) -> list[Any]:
    return pages if isinstance(pages, list) else [pages]


def _merge_row(row: Any, ctx: FetchContext, by_hour: HourValues) -> str | None:
    """Put one region-data row (D or DF) into by_hour; the reason when it cannot be used."""
    if not isinstance(row, dict):
        return "row is not an object"
    field = TYPE_FIELDS.get(row.get("type"))
    if field is None or row.get("respondent") != ctx.city.eia_respondent:
        return f"unexpected row type {row.get('type')!r} / respondent {row.get('respondent')!r}"
    return _put(row, ctx, by_hour, field, f"{row.get('type')} value")


def _merge_subba_row(row: Any, ctx: FetchContext, by_hour: HourValues) -> str | None:
    """Put one region-sub-ba-data row into by_hour under its subregion code."""
    if not isinstance(row, dict):
        return "row is not an object"
    parent = ctx.city.eia_respondent
    if row.get("parent") != parent:
        return f"subregion row of parent {row.get('parent')!r}, expected {parent!r}"
    code = row.get("subba")
    if not isinstance(code, str) or code not in series_ids(ctx.city):
        return f"unknown subregion {code!r} of {parent}"
    return _put(row, ctx, by_hour, code, f"{code} value")


def _put(row: dict[str, Any], ctx: FetchContext, by_hour: HourValues, field: str,
         what: str) -> str | None:
    try:
        hour = datetime.strptime(str(row.get("period")), PERIOD_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return f"bad period {row.get('period')!r}"
    if not ctx.start <= hour < ctx.end:
        return None  # EIA's start is hour-granular; the window may begin mid-hour
    value = _mw(row.get("value"))
    by_hour.setdefault(hour, {})[field] = value
    if value is None and row.get("value") is not None:
        return f"bad {what} {row.get('value')!r}"
    return None


def _mw(text: Any) -> float | None:
    """EIA values are strings ("17234") or numbers; negative or non-finite loads are not loads."""
    if isinstance(text, bool):
        return None
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
