"""Adding a city by name, the pure parts: ids, "is it a city we know", sources by capability."""

from __future__ import annotations

import pytest

from core.capabilities import city_sources, live_provider
from core.catalog import get_city, load_catalog
from core.gazetteer import Place
from core.settings import Settings
from pipeline.cities import (
    _clear_winner,
    ba_share,
    build_city,
    city_id_for,
    existing_city,
    us_balancing_authority,
)


def place(name="Portland", cc="US", admin1="Oregon", lat=45.52, lon=-122.68, pop=650_000,
          tz="America/Los_Angeles", gid=5746545) -> Place:
    return Place(name=name, country_code=cc, country="United States" if cc == "US" else cc,
                 admin1=admin1, lat=lat, lon=lon, population=pop, timezone=tz, geonameid=gid,
                 source="geonames")


def test_ids_are_readable_stable_and_unique():
    sao = place("São Paulo", "BR", "São Paulo", -23.55, -46.63, 12_000_000,
                "America/Sao_Paulo", 3448439)
    assert city_id_for(sao, set()) == "sao-paulo-br"
    tokyo = place("東京", "JP", None, 35.69, 139.69, 9_000_000, "Asia/Tokyo", 1850147)
    assert city_id_for(tokyo, set()) == "city-1850147"
    maine = place(admin1="Maine", gid=4975802)
    assert city_id_for(maine, {"portland-us"}) == "portland-us-maine"
    assert city_id_for(maine, {"portland-us", "portland-us-maine"}) == "portland-us-maine-2"


def test_a_place_that_is_a_seed_city_is_that_city():
    cities = load_catalog()
    assert existing_city(place("New York City", admin1="New York", lat=40.71, lon=-74.01,
                               gid=5128581), cities).city_id == "nyc"
    # another gazetteer's id, but the name and the place agree
    assert existing_city(place("Chicago", admin1="Illinois", lat=41.85, lon=-87.65, gid=None),
                         cities).city_id == "chicago"
    # inside NYC's extent but another name: not NYC
    assert existing_city(place("Brooklyn", admin1="New York", lat=40.65, lon=-73.95, gid=5110302),
                         cities) is None
    # the same name far away: not the seed city
    assert existing_city(place("Boston", "GB", "England", 52.98, -0.03, 35_000, "Europe/London",
                               2655138), cities) is None


def test_us_places_get_their_states_balancing_authority():
    assert us_balancing_authority(place()) == "PGE"
    assert us_balancing_authority(place(admin1="OR")) == "PGE"  # the gazetteer's state code
    assert us_balancing_authority(place(admin1="Hawaii")) is None  # outside EIA-930
    assert us_balancing_authority(place(cc="AU", admin1="Victoria")) is None
    assert ba_share(500.0, "PGE") == pytest.approx(0.2)
    assert ba_share(500.0, None) == 1.0


def test_a_generated_city_has_h3_zones_and_the_sources_it_really_has():
    city = build_city(place(), "portland-us")
    assert city.origin == "generated" and 20 <= len(city.zones) <= 60
    assert all(z.h3 for z in city.zones)
    assert city.eia_respondent == "PGE" and city.live_sources["power"] == "eia"
    assert "incidents" not in city.live_sources  # no Socrata client for Portland's 311
    lagos = place("Lagos", "NG", "Lagos", 6.45, 3.39, 9_000_000, "Africa/Lagos", 2332459)
    abroad = build_city(lagos, "lagos-ng")
    assert abroad.eia_respondent is None and "power" not in abroad.live_sources
    assert abroad.ba_share == 1.0
    overridden = build_city(place(), "portland-us", respondent="BPAT")
    assert overridden.eia_respondent == "BPAT"


def test_live_sources_need_live_mode_and_tomtom_its_key():
    city = get_city("chicago")
    simulated = Settings(_env_file=None)
    live = Settings(_env_file=None, citylive_source="live")
    keyed = Settings(_env_file=None, citylive_source="live", tomtom_api_key="k")
    assert live_provider("traffic", city, simulated) is None
    assert live_provider("traffic", city, live) is None  # no key: simulated, labelled so
    assert live_provider("traffic", city, keyed) == "tomtom"
    assert live_provider("power", city, live) == "eia"  # EIA without a key fails loudly instead
    assert set(city_sources(city, simulated).values()) == {"simulated"}


def test_one_candidate_is_clearly_meant_only_when_far_larger_than_the_next():
    big, small = place(pop=650_000), place(pop=60_000)
    assert _clear_winner([big, small])
    assert not _clear_winner([big, place(pop=600_000)])
