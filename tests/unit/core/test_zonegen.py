"""H3 zones for any place: found by name offline, then zoned.

Zones per city as observed when this was written (population from GeoNames; radius from
city_radius_km; "named" = zones besides z01 named after a gazetteer place, the rest are
"<km> km <direction>"):

    query                 place                 population  radius km  res  zones  named
    São Paulo             São Paulo, BR         12,400,232       36.3    5     20     19
    Lagos                 Lagos, NG             15,388,000       40.0    5     24     12
    القاهرة               Cairo, EG              9,606,916       31.9    6     60     21
    東京                  Tokyo, JP              9,733,276       32.1    6     60     54
    Москва                Moscow, RU            10,381,222       33.2    5     20     19
    Mumbai                Mumbai, IN            12,691,836       36.7    5     20     14
    Sydney                Sydney, AU             5,638,830       24.5    6     43     32
    Suva                  Suva, FJ                  77,366        2.9    8     39      1
    Reykjavik             Reykjavík, IS            118,918        3.6    8     59      1
    Mexico City           Mexico City, MX       12,294,193       36.1    6     60     48
    Nairobi               Nairobi, KE            4,397,073       21.6    6     37     14
    Auckland              Auckland, NZ           1,547,200       12.8    7     60     33
    Shanghai              Shanghai, CN          24,874,500       40.0    5     25     16
    Sant Julia de Loria   Sant Julià de Lòria, AD    8,022        1.5    9     60      0
"""

from __future__ import annotations

import math
import re

import h3
import numpy as np
import pytest

from core.catalog import Bounds, City
from core.gazetteer import Place, search
from core.geo import haversine_km, nearest_zone, nearest_zone_ids
from core.zonegen import (
    DEFAULT_RADIUS_KM,
    MAX_ZONES,
    MIN_ZONES,
    GeneratedZones,
    city_radius_km,
    generate_zones,
)

# query -> country code of the city it must find
CITIES = {
    "São Paulo": "BR", "Lagos": "NG", "القاهرة": "EG", "東京": "JP", "Москва": "RU",
    "Mumbai": "IN", "Sydney": "AU", "Suva": "FJ", "Reykjavik": "IS", "Mexico City": "MX",
    "Nairobi": "KE", "Auckland": "NZ", "Shanghai": "CN", "Sant Julia de Loria": "AD",
}
SOUTHERN = {"São Paulo", "Sydney", "Suva", "Nairobi", "Auckland"}
FALLBACK_NAME = re.compile(r"\d+\.\d km (N|NNE|NE|ENE|E|ESE|SE|SSE|S|SSW|SW|WSW|W|WNW|NW|NNW)"
                           r"( \(\d+°\)| \(\d+\))?")


def _place(lat: float, lon: float, population: int | None, name: str = "Testville") -> Place:
    return Place(name=name, country_code="XX", country="Nowhere", admin1=None, lat=lat, lon=lon,
                 population=population, timezone="UTC", geonameid=None, source="open-meteo")


def _assert_sound(generated: GeneratedZones, place: Place, city_id: str) -> None:
    zones = generated.zones
    assert MIN_ZONES <= len(zones) <= MAX_ZONES
    assert [z.zone_id for z in zones] == [f"z{i:02d}" for i in range(1, len(zones) + 1)]
    assert len({z.name for z in zones}) == len(zones)
    assert all(z.city_id == city_id for z in zones)
    assert math.isclose(sum(z.weight for z in zones), 1.0, abs_tol=1e-6)
    assert all(0 < z.weight <= 1 for z in zones)
    # one H3 cell per zone, all at the stated resolution, centre = the cell's centre
    assert len({z.h3 for z in zones}) == len(zones)
    for z in zones:
        assert h3.get_resolution(z.h3) == generated.resolution
        assert (z.lat, z.lon) == pytest.approx(h3.cell_to_latlng(z.h3))
        assert generated.bounds.contains(z.lat, z.lon), z.zone_id
        assert all(generated.bounds.contains(a, b) for a, b in h3.cell_to_boundary(z.h3))
    # z01 holds the place's point; the rest run outward and weigh less the further out
    assert zones[0].h3 == h3.latlng_to_cell(place.lat, place.lon, generated.resolution)
    km = [haversine_km(place.lat, place.lon, z.lat, z.lon) for z in zones]
    assert km[1:] == sorted(km[1:])
    assert all(a.weight >= b.weight for a, b in zip(zones[1:], zones[2:], strict=False))
    if place.population is None:
        assert all(z.population is None for z in zones)
    else:
        assert sum(z.population for z in zones) == place.population
    # the zones make a valid catalog city (its validator checks weights, ids and bounds)
    City(city_id=city_id, name=place.name, timezone=place.timezone, bounds=generated.bounds,
         eia_respondent="NONE", ba_share=1.0, zones=zones)


@pytest.mark.parametrize(("query", "country"), CITIES.items())
def test_a_city_found_by_name_is_zoned(query: str, country: str) -> None:
    place = search(query)[0]
    assert place.country_code == country
    generated = generate_zones(place, "c1")
    _assert_sound(generated, place, "c1")
    assert generated.zones[0].name == "Centre"
    assert place.name not in {z.name for z in generated.zones}  # "Tokyo" inside Tokyo: no
    if query in SOUTHERN:
        assert place.lat < 0 and all(z.lat < 0 for z in generated.zones)


def test_a_big_city_takes_its_zone_names_from_the_gazetteer() -> None:
    zones = generate_zones(search("東京")[0], "tokyo").zones
    names = {z.name for z in zones}
    assert {"Roppongi", "Shibuya", "Ikebukuro"} & names
    assert sum(1 for z in zones if not FALLBACK_NAME.fullmatch(z.name)) > len(zones) // 2


def test_a_small_town_is_centre_and_directions() -> None:
    place = search("Sant Julia de Loria")[0]
    assert place.population is not None and place.population < 10_000
    zones = generate_zones(place, "sjl").zones
    assert zones[0].name == "Centre"
    assert all(FALLBACK_NAME.fullmatch(z.name) for z in zones[1:])


@pytest.mark.parametrize("lon", [179.95, -179.95])
def test_a_city_on_the_antimeridian_has_zones_on_both_sides(lon: float) -> None:
    place = _place(-16.5, lon, 1_000_000)
    generated = generate_zones(place, "dateline")
    _assert_sound(generated, place, "dateline")
    lons = [z.lon for z in generated.zones]
    assert min(lons) < -179 and max(lons) > 179
    b = generated.bounds
    assert b.wraps_antimeridian and b.min_lon > 179 and b.max_lon < -179
    assert not b.contains(-16.5, 0.0) and not b.contains(-16.5, 170.0)


@pytest.mark.parametrize("population", [None, *np.geomspace(1_000, 40_000_000, 25).astype(int)])
@pytest.mark.parametrize(("lat", "lon"), [(40.7, -74.0), (-33.9, 151.2), (69.6, 18.9)])
def test_every_population_gets_20_to_60_zones(population: int | None, lat: float,
                                             lon: float) -> None:
    place = _place(lat, lon, None if population is None else int(population))
    _assert_sound(generate_zones(place, "any"), place, "any")


def test_a_place_beside_an_h3_pentagon_still_gets_enough_zones() -> None:
    for pentagon in sorted(h3.get_pentagons(7))[:3]:
        lat, lon = h3.cell_to_latlng(pentagon)
        place = _place(lat, lon, 1_500_000)
        _assert_sound(generate_zones(place, "pent"), place, "pent")


def test_city_radius_grows_with_population_and_is_clamped() -> None:
    assert city_radius_km(None) == DEFAULT_RADIUS_KM
    assert city_radius_km(0) == DEFAULT_RADIUS_KM
    assert city_radius_km(1_000) == 1.5
    assert city_radius_km(100_000_000) == 40.0
    assert city_radius_km(3_000_000) == pytest.approx(math.sqrt(1000 / math.pi))
    radii = [city_radius_km(p) for p in (10_000, 100_000, 1_000_000, 10_000_000)]
    assert radii == sorted(radii)


def test_generated_city_maps_points_across_the_antimeridian() -> None:
    place = _place(-16.5, 179.95, 1_000_000)
    generated = generate_zones(place, "dl")
    city = City(city_id="dl", name="Dateline", timezone="UTC", bounds=generated.bounds,
                eia_respondent="NONE", ba_share=1.0, zones=generated.zones)
    east = next(z for z in city.zones if z.lon < 0)
    assert nearest_zone(city, east.lat, east.lon).zone_id == east.zone_id
    ids = nearest_zone_ids(city, np.array([z.lat for z in city.zones]),
                           np.array([z.lon for z in city.zones]))
    assert list(ids) == [z.zone_id for z in city.zones]
    assert nearest_zone(city, -16.5, 0.0) is None


def test_bounds_without_wrap_behave_as_before() -> None:
    b = Bounds(min_lat=40.0, min_lon=-74.1, max_lat=41.0, max_lon=-73.9)
    assert not b.wraps_antimeridian
    assert b.contains(40.5, -74.0) and not b.contains(40.5, 179.0)
