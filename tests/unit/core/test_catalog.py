"""The shipped city catalog: every file loads and its zones are sane enough to map points to."""

from __future__ import annotations

import itertools
import math
from zoneinfo import ZoneInfo

import pytest

from core.catalog import City, get_city, load_catalog
from core.geo import haversine_km
from core.settings import Settings

EXPECTED = {"nyc": "NYIS", "chicago": "PJM", "sf": "CISO", "boston": "ISNE"}
CITIES = sorted(EXPECTED)


@pytest.fixture(params=CITIES)
def city(request: pytest.FixtureRequest) -> City:
    return get_city(request.param)


def test_catalog_holds_the_four_cities_with_their_balancing_authorities() -> None:
    catalog = load_catalog()
    assert set(catalog) == set(EXPECTED)
    for city_id, respondent in EXPECTED.items():
        assert catalog[city_id].eia_respondent == respondent


def test_weights_sum_to_one(city: City) -> None:
    assert abs(sum(z.weight for z in city.zones) - 1.0) < 1e-9


def test_weights_follow_population(city: City) -> None:
    total = sum(z.population or 0 for z in city.zones)
    for z in city.zones:
        assert z.population and z.population > 0
        assert z.weight == pytest.approx(z.population / total, abs=1e-5)


def test_zone_ids_are_unique_and_sequential(city: City) -> None:
    ids = [z.zone_id for z in city.zones]
    assert ids == [f"z{i:02d}" for i in range(1, len(ids) + 1)]
    assert len({z.name for z in city.zones}) == len(city.zones)
    assert all(z.city_id == city.city_id for z in city.zones)


def test_centroids_inside_bounds_and_distinct(city: City) -> None:
    for z in city.zones:
        assert city.bounds.contains(z.lat, z.lon), z.name
    closest = min(
        haversine_km(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.combinations(city.zones, 2)
    )
    assert closest > 0.4  # a copy-pasted centroid would give 0


def test_bounds_are_city_sized(city: City) -> None:
    b = city.bounds
    height = haversine_km(b.min_lat, b.min_lon, b.max_lat, b.min_lon)
    width = haversine_km(b.min_lat, b.min_lon, b.min_lat, b.max_lon)
    assert 5 < height < 60 and 5 < width < 60


def test_zone_counts() -> None:
    assert 36 <= len(get_city("nyc").zones) <= 40
    for city_id in ("chicago", "sf", "boston"):
        assert 24 <= len(get_city(city_id).zones) <= 32


def test_timezone_and_ba_share(city: City) -> None:
    ZoneInfo(city.timezone)  # raises on an unknown IANA name
    assert 0 < city.ba_share < 0.5
    assert not math.isnan(city.ba_share)


def test_live_sources_are_consistent_with_socrata_settings(city: City) -> None:
    assert {"weather", "aqi", "power"} <= set(city.live_sources)
    assert city.live_sources["power"] == "eia"
    settings = Settings()
    if city.live_sources.get("incidents") == "socrata":
        assert city.socrata_311_dataset
        assert city.socrata_base_url_setting in Settings.model_fields
        assert getattr(settings, city.socrata_base_url_setting).startswith("https://")
    else:
        assert city.socrata_311_dataset is None and city.socrata_base_url_setting is None


def test_boston_has_no_live_311_and_nyc_uses_dot_traffic() -> None:
    assert "incidents" not in get_city("boston").live_sources
    assert get_city("nyc").live_sources["traffic"] == "nyc-dot"
