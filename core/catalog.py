"""The city/zone catalog: typed records.

Two kinds of city: the curated seed cities in core/catalog_data/<city>.json, and cities an
analyst added by name (`origin="generated"`: geocoded, H3 zones; pipeline.cities), which live
in MongoDB `cities`/`zones` and are registered here by the process that reads them
(core.city_store). `get_city` answers for both. Which sources are live for a city is data
(`live_sources`), not code.
"""

from __future__ import annotations

import json
import math
import threading
from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    # the EIA balancing authority serving the city; None outside the US (power is simulated)
    eia_respondent: str | None = None
    ba_share: float = Field(1.0, gt=0, le=1)  # the city's share of its BA's load
    # the EIA-930 subregion of that BA covering the city (NYIS "ZONJ"): the city's demand is
    # that subregion's series (core/subregions.py); None: BA load x ba_share
    eia_subba: str | None = None
    # live provider per source kind, e.g. {"traffic": "nyc-dot", "incidents": "socrata"};
    # a kind absent here has no live provider for the city and stays simulated.
    live_sources: dict[str, str] = Field(default_factory=dict)
    socrata_311_dataset: str | None = None
    socrata_base_url_setting: str | None = None  # name of the Settings field with its base URL
    zones: list[Zone]
    origin: Literal["curated", "generated"] = "curated"
    country_code: str | None = None
    country: str | None = None
    admin1: str | None = None
    population: int | None = None
    geonameid: int | None = None
    h3_resolution: int | None = None

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


# mean electric load per resident of a city outside any EIA balancing authority, used to size
# its (simulated) demand: ~0.8 kW, between the EU (~0.6) and US (~1.4) per-capita averages
MW_PER_RESIDENT = 0.0008
DEFAULT_CITY_POPULATION = 500_000


def own_load_mw(city: City) -> float:
    """Mean load of a city that is its own balancing area (no eia_respondent)."""
    return (city.population or DEFAULT_CITY_POPULATION) * MW_PER_RESIDENT


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


_CITIES: dict[str, City] = {}
_LOCK = threading.Lock()


def all_cities() -> dict[str, City]:
    """Every city this process knows: the seed catalog and the added cities registered so far.

    The same dict object every call, updated in place by register_city, so a holder (the
    consumer's zone check) sees cities added later."""
    with _LOCK:
        for city_id, city in load_catalog().items():
            _CITIES.setdefault(city_id, city)
    return _CITIES


def register_city(city: City) -> None:
    """Make an added city known to this process (core.city_store reads them from MongoDB)."""
    cities = all_cities()
    with _LOCK:
        cities[city.city_id] = city


def get_city(city_id: str) -> City:
    catalog = all_cities()
    if city_id not in catalog:
        raise UnknownCityError(city_id, sorted(catalog))
    return catalog[city_id]
