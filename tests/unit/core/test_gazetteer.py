"""Offline place search over the bundled GeoNames cities5000 data, and search-text cleaning."""

from __future__ import annotations

import numpy as np
import pytest

from core.gazetteer import (
    MAX_QUERY_CHARS,
    Place,
    PlaceNameError,
    _gazetteer,
    clean_query,
    nearest_places,
    search,
)
from core.geo import haversine_km

# query -> (GeoNames name, country code) of the first result
FIRST_RESULT = {
    "São Paulo": ("São Paulo", "BR"),
    "sao paulo": ("São Paulo", "BR"),
    "Lagos": ("Lagos", "NG"),
    "القاهرة": ("Cairo", "EG"),
    "東京": ("Tokyo", "JP"),
    "Москва": ("Moscow", "RU"),
    "Mumbai": ("Mumbai", "IN"),
    "Bombay": ("Mumbai", "IN"),
    "Sydney": ("Sydney", "AU"),
    "Suva": ("Suva", "FJ"),
    "REYKJAVIK": ("Reykjavík", "IS"),
    "Mexico City": ("Mexico City", "MX"),
    "Nairobi": ("Nairobi", "KE"),
    "Auckland": ("Auckland", "NZ"),
    "Sant Julia de Loria": ("Sant Julià de Lòria", "AD"),
    "Saint Etienne": ("Saint-Étienne", "FR"),
}


@pytest.mark.parametrize(("query", "expected"), FIRST_RESULT.items())
def test_a_city_is_found_by_name_in_any_script_case_and_accents(
        query: str, expected: tuple[str, str]) -> None:
    found = search(query)
    assert found, query
    assert (found[0].name, found[0].country_code) == expected
    assert found[0].source == "geonames" and found[0].geonameid is not None


def test_an_ambiguous_name_offers_each_city_of_that_name() -> None:
    found = search("Portland")
    labels = {p.label() for p in found}
    assert "Portland, Oregon, United States" in labels
    assert "Portland, Maine, United States" in labels
    assert any(p.country_code == "AU" and p.lat < 0 for p in found)  # Portland, Victoria
    assert found[0].label() == "Portland, Oregon, United States"  # the biggest first
    assert len({p.geonameid for p in found}) == len(found)


def test_text_after_a_comma_narrows_by_state_or_country() -> None:
    assert [p.label() for p in search("Portland, Maine")] == ["Portland, Maine, United States"]
    assert {p.country_code for p in search("Portland, Australia")} == {"AU"}
    assert search("Paris, FR")[0].country_code == "FR"


def test_exact_names_come_before_prefixes_whatever_the_population() -> None:
    names = [(p.name, p.country_code) for p in search("Lagos", limit=20)]
    # Lagos, Portugal (33k) is an exact match; Lagos de Moreno (98k) only starts with it
    assert names.index(("Lagos", "PT")) < names.index(("Lagos de Moreno", "MX"))
    assert names[0] == ("Lagos", "NG")


def test_prefix_search_and_limit() -> None:
    found = search("Reykj", limit=3)
    assert 1 <= len(found) <= 3 and found[0].name == "Reykjavík"
    assert len(search("San", limit=7)) == 7


def test_an_unknown_name_gives_no_places() -> None:
    assert search("Zzxqvbn") == []


def test_label_leaves_out_an_unknown_state() -> None:
    place = Place(name="Suva", country_code="FJ", country="Fiji", admin1=None, lat=-18.1,
                  lon=178.4, population=77366, timezone="Pacific/Fiji", geonameid=1,
                  source="geonames")
    assert place.label() == "Suva, Fiji"


@pytest.mark.parametrize(("raw", "words"), [
    ("", "Type a place name"),
    ("   ", "Type a place name"),
    ("\t\n", "Type a place name"),
    ("a" * 300, f"at most {MAX_QUERY_CHARS} characters"),
    ("a" * 5000, f"at most {MAX_QUERY_CHARS} characters"),
    ("<script>alert(1)</script>", "cannot contain < > /"),
    ("**Paris**", "cannot contain *"),
    ("[x](http://a)", "cannot contain [ ] : /"),
    ('{"a": 1}', 'cannot contain { " : }'),
    ("`rm`", "cannot contain `"),
    ("Paris | London", "cannot contain |"),
    ("#Paris", "cannot contain #"),
    ("C:\\Windows", "cannot contain : \\"),
    ("a; b=c", "cannot contain ; ="),
    ("Par\x00is", "control or invisible character (U+0000)"),
    ("Paris\u202e", "control or invisible character (U+202E)"),
    ("12345", "at least one letter"),
    ("...", "at least one letter"),
])
def test_text_that_cannot_be_a_place_name_is_refused_with_the_reason(raw: str, words: str) -> None:
    with pytest.raises(PlaceNameError) as excinfo:
        clean_query(raw)
    assert words in str(excinfo.value)
    with pytest.raises(PlaceNameError):
        search(raw)


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("Paris\n", "Paris"),
    ("  São   Paulo ", "São Paulo"),
    ("Sa\u0303o Paulo", "São Paulo"),  # decomposed input comes back NFC
    ("東京", "東京"),
    ("Москва", "Москва"),
    ("القاهرة", "القاهرة"),
    ("L'Aquila", "L'Aquila"),
    ("Coeur d’Alene", "Coeur d’Alene"),
    ("Stratford-upon-Avon", "Stratford-upon-Avon"),
    ("St. Louis, Missouri", "St. Louis, Missouri"),
    ("Paris 15 (Vaugirard)", "Paris 15 (Vaugirard)"),
    ("a" * MAX_QUERY_CHARS, "a" * MAX_QUERY_CHARS),
])
def test_place_names_in_any_script_pass_cleaning(raw: str, cleaned: str) -> None:
    assert clean_query(raw) == cleaned


def test_a_trailing_newline_is_just_whitespace() -> None:
    assert search("Paris\n")[0].country_code == "FR"


def test_nearest_places_are_sorted_within_the_radius() -> None:
    found = nearest_places(-18.14, 178.42, 30.0)
    assert found[0][0].name == "Suva" and found[0][1] < 1.0
    distances = [d for _, d in found]
    assert distances == sorted(distances) and distances[-1] <= 30.0
    for place, d in found:
        assert d == pytest.approx(haversine_km(-18.14, 178.42, place.lat, place.lon), abs=1e-6)


def test_nearest_places_match_a_brute_force_scan() -> None:
    g = _gazetteer()
    lat, lon, radius = 48.85, 2.35, 12.0
    brute = sorted(
        (haversine_km(lat, lon, float(a), float(b)), int(i))
        for a, b, i in zip(g.lats, g.lons, g.geonameids, strict=True)
        if abs(a - lat) < 1.0)
    expected = [gid for d, gid in brute if d <= radius]
    assert [p.geonameid for p, _ in nearest_places(lat, lon, radius, limit=10_000)] == expected
    assert len(nearest_places(lat, lon, radius, limit=5)) == 5


def test_nearest_places_reach_across_the_antimeridian() -> None:
    # Taveuni and Vanua Levu (Fiji) lie west of 180; the point is just east of it
    found = nearest_places(-16.6, -179.9, 150.0)
    assert found and all(p.lon > 170 for p, _ in found)
    assert all(d <= 150.0 for _, d in found)
    assert np.all(np.diff([d for _, d in found]) >= 0)
