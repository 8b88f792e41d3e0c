"""Socrata 311 service requests (NYC, Chicago, SF), incremental by created date with a lookback.

Every Socrata value is a string and missing fields are omitted. Timestamps are *floating*
(city-local wall time without offset). Each dataset names its columns differently, so the
column map is data (DATASETS).

Rows are published late: NYC refreshes its set once a day, with rows created hours before they
appear. So each fetch re-reads LOOKBACK before the watermark (the newest created date seen),
inclusively (>=); raw_311 ids are deterministic (city|incident_id|source) and a duplicate
insert is ignored, so a re-read row costs only its share of the request. A first fetch (no
watermark yet: a new city, or one just switched from the simulator, whose watermark is its own)
looks back LOOKBACK from now too; a window reaching further back (a backfill's) is kept.

Rows come newest first (created date, then id, descending): the page cap (MAX_PAGES) can then
only cut the oldest end of the lookback, rows earlier cycles already read, never the new ones.
In ascending order a lookback holding more rows than the cap would be re-read every cycle and
the new rows never reached. Offset paging stays safe while rows arrive: a row inserted above
the current offset shifts the rest down, so a row may be read twice, never skipped.

Not `:updated_at`: it is a hidden system field (`$select=:*,*`), a daily bulk refresh may stamp
many rows (months-old requests whose status changed among them) with one :updated_at, and with
an inclusive filter more rows at one instant than the cap holds would pin the fetch there. The
created date is a column every dataset has and every row keeps.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from core.geo import nearest_zone
from core.vocabulary import SCHEMA_VERSION, Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter, get_json
from ingest.schema import MAX_TEXT
from ingest.sources.base import FetchContext, ParseResult, Reject, Source

log = logging.getLogger(__name__)

PROVIDER = "socrata"
PAGE_SIZE = 1000
MAX_PAGES = 20  # newest first: the cap cuts the oldest end of the lookback, never new rows
# NYC publishes its 311 rows in a daily refresh, created hours (up to a day) before they
# appear: re-read two days below the watermark so such late rows are still stored.
LOOKBACK = timedelta(hours=48)


@dataclass(frozen=True)
class DatasetFields:
    """Which column of a 311 dataset feeds which IncidentObs field."""

    incident_id: str
    created: str
    complaint_type: str
    descriptor: str | None
    status: str
    agency: str
    lat: str
    lon: str
    point: str  # GeoJSON Point or legacy {"latitude", "longitude"} location column


DATASETS = {
    "erm2-nwe9": DatasetFields("unique_key", "created_date", "complaint_type", "descriptor",
                               "status", "agency", "latitude", "longitude", "location"),
    "v6vf-nfxy": DatasetFields("sr_number", "created_date", "sr_type", None, "status",
                               "owner_department", "latitude", "longitude", "location"),
    "vw6y-z8j6": DatasetFields("service_request_id", "requested_datetime", "service_name",
                               "service_subtype", "status_description", "agency_responsible",
                               "lat", "long", "point"),
}


class Socrata311(Source):
    kind = "incidents"
    provider = PROVIDER

    def __init__(self, *, page_size: int = PAGE_SIZE,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._page_size = page_size
        self._sleep = sleep

    def fetch(self, ctx: FetchContext, http: httpx.Client, counter: RequestCounter) -> Any:
        """Rows created since `since(ctx)`, newest first, page by page."""
        fields = dataset_fields(ctx)
        base = getattr(ctx.settings, str(ctx.city.socrata_base_url_setting))
        url = f"{base}/resource/{ctx.city.socrata_311_dataset}.json"
        token = ctx.settings.socrata_app_token
        headers = {"X-App-Token": token.get_secret_value()} if token else None
        lower = to_floating(since(ctx), ctx.city.timezone)
        rows: list[Any] = []
        for page_no in range(MAX_PAGES):
            params = {"$where": f"{fields.created} >= '{lower}'",
                      "$order": f"{fields.created} DESC,{fields.incident_id} DESC",
                      "$limit": self._page_size, "$offset": page_no * self._page_size}
            page = page_list(get_json(
                http, PROVIDER, url, params, headers=headers, counter=counter,
                secrets=[token.get_secret_value() if token else None],
                max_attempts=ctx.settings.http_max_attempts, sleep=self._sleep))
            rows.extend(page)
            if len(page) < self._page_size:
                break
        else:
            log.warning("%s 311: %d pages since %s; the oldest rows of the lookback were left",
                        ctx.city.city_id, MAX_PAGES, lower)
        return rows

    def parse(self, raw: Any, ctx: FetchContext) -> ParseResult:
        """Every row, those older than the watermark too (published late); the watermark is the
        newest created date seen, rejected rows included, and never moves back."""
        fields = dataset_fields(ctx)
        result = ParseResult(watermark=ctx.watermark)
        for row in page_list(raw):
            created = _created(row, fields, ctx)
            if created is not None and (result.watermark is None or created > result.watermark):
                result.watermark = created
            reason, record = _record(row, created, fields, ctx)
            if record is None:
                result.rejects.append(Reject(reason or "unusable row", row))
                continue
            result.add(Topic.INCIDENTS, record, row)
        return result


def since(ctx: FetchContext) -> datetime:
    """Lower bound of the created-date filter: LOOKBACK below the watermark (below now when
    there is none), never later than ctx.start (a backfill's window, or a row stamped in the
    future), never earlier than raw retention (the consumer would reject those rows)."""
    anchor = ctx.watermark or ctx.end
    oldest = ctx.end - timedelta(days=ctx.settings.citylive_raw_retention_days)
    return min(max(anchor - LOOKBACK, oldest), ctx.start)


def dataset_fields(ctx: FetchContext) -> DatasetFields:
    dataset = ctx.city.socrata_311_dataset
    if not dataset or not ctx.city.socrata_base_url_setting:
        raise ProviderError(PROVIDER, f"{ctx.city.city_id} has no 311 dataset in the catalog")
    if dataset not in DATASETS:
        raise ProviderError(PROVIDER, f"no column map for 311 dataset {dataset!r}")
    return DATASETS[dataset]


def page_list(page: Any) -> list[Any]:
    """A Socrata page is a JSON list; its error shape is {"error": true, "message": ...}."""
    if isinstance(page, list):
        return page
    if isinstance(page, dict) and page.get("error"):
        raise ProviderError(PROVIDER, f"{page.get('code', 'error')}: {page.get('message', '')}")
    raise ProviderShapeError(PROVIDER, f"expected a JSON list of rows, got {type(page).__name__}")


def to_floating(ts: datetime, timezone: str) -> str:
    """UTC instant -> Socrata floating timestamp literal in the city's wall time."""
    return ts.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def from_floating(text: Any, timezone: str) -> datetime | None:
    """Socrata floating timestamp (city wall time) -> aware UTC; None when unreadable.

    A wall time names two instants in the hour repeated when DST ends (01:30 on the first
    Sunday of November in New York: EDT, then EST) and none in the hour skipped when it
    starts. Both cases read as the later candidate instant (the repeated hour's second
    occurrence, standard time; a skipped 02:30 with the offset before the jump, i.e. 03:30
    daylight time), so a 311 request never appears created before it could have been
    published. Everywhere else the two candidates are the same instant.
    """
    try:
        local = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    zone = ZoneInfo(timezone)
    return max(local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def coordinates(row: dict[str, Any], lat_field: str, lon_field: str,
                point_field: str) -> tuple[float, float] | None:
    """(lat, lon) from lat/lon strings, else a GeoJSON Point [lon, lat], else a legacy location."""
    pairs = [(row.get(lat_field), row.get(lon_field))]
    point = row.get(point_field)
    if isinstance(point, dict):
        geo = point.get("coordinates")
        if isinstance(geo, list) and len(geo) >= 2:
            pairs.append((geo[1], geo[0]))
        pairs.append((point.get("latitude"), point.get("longitude")))
    for lat, lon in pairs:
        try:
            lat_f, lon_f = float(lat), float(lon)
        except (TypeError, ValueError):
            continue
        if math.isfinite(lat_f) and math.isfinite(lon_f):
            return lat_f, lon_f
    return None


def _created(row: Any, fields: DatasetFields, ctx: FetchContext) -> datetime | None:
    if not isinstance(row, dict) or fields.created not in row:
        return None
    return from_floating(row[fields.created], ctx.city.timezone)


def _record(row: Any, created: datetime | None, fields: DatasetFields, ctx: FetchContext
            ) -> tuple[str | None, dict[str, Any] | None]:
    """(None, record) or (reason, None)."""
    if not isinstance(row, dict):
        return "row is not an object", None
    if created is None:
        return f"no readable {fields.created}", None
    if not row.get(fields.incident_id):
        return f"no {fields.incident_id}", None
    point = coordinates(row, fields.lat, fields.lon, fields.point)
    if point is None:
        return "no coordinates", None
    zone = nearest_zone(ctx.city, *point)
    if zone is None:
        return f"outside {ctx.city.city_id} bounds: {point[0]:.5f},{point[1]:.5f}", None
    return None, {
        "schema_version": SCHEMA_VERSION, "source": PROVIDER, "city_id": ctx.city.city_id,
        "zone_id": zone.zone_id, "observed_at": created, "ingested_at": ctx.ingested_at,
        "incident_id": str(row[fields.incident_id]),
        "complaint_type": _text(row.get(fields.complaint_type)),
        "descriptor": _text(row.get(fields.descriptor)) if fields.descriptor else None,
        "status": _text(row.get(fields.status)), "agency": _text(row.get(fields.agency)),
        "created_at": created, "lat": point[0], "lon": point[1],
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()[:MAX_TEXT] or None
