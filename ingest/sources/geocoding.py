"""Open-Meteo geocoding (GET /v1/search): a city's name to candidate places.

Answers `{"results": [...]}` with id (a GeoNames id), name, latitude, longitude, country_code,
country, admin1, timezone and population; a name nothing matches answers without `results`.
A place missing coordinates or a timezone cannot be zoned and is skipped. The offline
gazetteer (core.gazetteer) returns the same Place, so callers never know which one answered.
"""

from __future__ import annotations

from typing import Any

import httpx

from core.gazetteer import Place
from core.settings import Settings
from ingest.exceptions import ProviderShapeError
from ingest.http import RequestCounter, get_json

PROVIDER = "open-meteo"
PATH = "/v1/search"
MAX_RESULTS = 10


def geocode(client: httpx.Client, settings: Settings, name: str, *,
            counter: RequestCounter | None = None) -> list[Place]:
    """Candidate places for `name` (already cleaned), best first; [] when none matches.

    Raises ProviderError (timeouts, HTTP errors after retries) and ProviderShapeError."""
    payload = get_json(client, PROVIDER, settings.open_meteo_geocoding_url + PATH,
                       {"name": name, "count": MAX_RESULTS, "language": "en", "format": "json"},
                       max_attempts=settings.http_max_attempts, counter=counter)
    return parse_places(payload)


def parse_places(payload: Any) -> list[Place]:
    if not isinstance(payload, dict):
        raise ProviderShapeError(PROVIDER, "geocoding answer is not a JSON object")
    results = payload.get("results", [])
    if not isinstance(results, list):
        raise ProviderShapeError(PROVIDER, "geocoding `results` is not a list")
    places = [_place(row) for row in results if isinstance(row, dict)]
    return [p for p in places if p is not None]


def _place(row: dict[str, Any]) -> Place | None:
    lat, lon, tz, name = row.get("latitude"), row.get("longitude"), row.get("timezone"), \
        row.get("name")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float) or not tz or not name:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    population = row.get("population")
    return Place(name=str(name), country_code=str(row.get("country_code") or "").upper(),
                 country=str(row.get("country") or ""), admin1=row.get("admin1") or None,
                 lat=float(lat), lon=float(lon),
                 population=int(population) if isinstance(population, int | float) else None,
                 timezone=str(tz), geonameid=row.get("id") if isinstance(row.get("id"), int)
                 else None, source=PROVIDER)
