"""The city/zone catalog: typed records loaded from core/catalog_data/<city>.json.

Which sources are live for a city is data (`live_sources`), not code.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

CATALOG_DIR = Path(__file__).parent / "catalog_data"


class Bounds(BaseModel):
    """Lat/lon bounding box of a city; points outside are rejected, never guessed.

    A box with min_lon > max_lon crosses the antimeridian (e.g. Fiji: 179.5 .. -179.8): its
    longitudes run east from min_lon past 180 and on to max_lon.
    """

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    @property
    def wraps_antimeridian(self) -> bool:
        return self.min_lon > self.max_lon

    def contains_lon(self, lon: float) -> bool:
        if self.wraps_antimeridian:
            return lon >= self.min_lon or lon <= self.max_lon
        return self.min_lon <= lon <= self.max_lon

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.contains_lon(lon)


class Zone(BaseModel):
    zone_id: str
    city_id: str
    name: str
    lat: float
    lon: float
    weight: float = Field(gt=0, le=1)
    population: int | None = None
    h3: str | None = None  # the H3 cell of a generated zone; None for hand-drawn catalog zones


class City(BaseModel):
    city_id: str
    name: str
    timezone: str
    bounds: Bounds
    eia_respondent: str
    ba_share: float = Field(gt=0, le=1)
    # live provider per source kind, e.g. {"traffic": "nyc-dot", "incidents": "socrata"};
    # a kind absent here has no live provider for the city and stays simulated.
    live_sources: dict[str, str] = Field(default_factory=dict)
    socrata_311_dataset: str | None = None
    socrata_base_url_setting: str | None = None  # name of the Settings field with its base URL
    zones: list[Zone]

    @model_validator(mode="after")
    def _check_zones(self) -> City:
        total = sum(z.weight for z in self.zones)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"{self.city_id}: zone weights sum to {total}, not 1")
        ids = [z.zone_id for z in self.zones]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.city_id}: duplicate zone ids")
        for z in self.zones:
            if z.city_id != self.city_id:
                raise ValueError(f"zone {z.zone_id} names city {z.city_id}, not {self.city_id}")
            if not self.bounds.contains(z.lat, z.lon):
                raise ValueError(f"zone {z.zone_id} centroid lies outside {self.city_id} bounds")
        return self

    def zone(self, zone_id: str) -> Zone | None:
        return next((z for z in self.zones if z.zone_id == zone_id), None)


class UnknownCityError(KeyError):
    def __init__(self, city_id: str, known: list[str]) -> None:
        super().__init__(f"unknown city {city_id!r}; known cities: {', '.join(known)}")


@lru_cache(maxsize=1)
def load_catalog(directory: Path = CATALOG_DIR) -> dict[str, City]:
    """All cities of the catalog, keyed by city_id, validated."""
    cities: dict[str, City] = {}
    for path in sorted(directory.glob("*.json")):
        city = City.model_validate(json.loads(path.read_text()))
        cities[city.city_id] = city
    return cities


def get_city(city_id: str) -> City:
    catalog = load_catalog()
    if city_id not in catalog:
        raise UnknownCityError(city_id, sorted(catalog))
    return catalog[city_id]
