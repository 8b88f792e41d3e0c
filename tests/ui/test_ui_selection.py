"""ui.selection: which city and zone a page shows, from the URL, the session and defaults."""

from __future__ import annotations

from ui.selection import default_city, resolve_selection

CITIES = ["boston", "chicago", "nyc"]
ZONES = {"boston": {"b1": "Back Bay"}, "chicago": {"c1": "Loop", "c2": "Hyde Park"},
         "nyc": {"z01": "Financial District", "z02": "Tribeca"}}
NAMES = {"boston": "Boston", "chicago": "Chicago", "nyc": "New York City"}


def resolve(**kwargs):
    args = {"requested_city": None, "requested_zone": None, "current_city": None,
            "current_zone": None, "city_ids": CITIES, "zones_of": ZONES.__getitem__,
            "default": "nyc", "city_name": NAMES.__getitem__}
    return resolve_selection(**{**args, **kwargs})


def test_default_prefers_configured_then_active_then_first() -> None:
    assert default_city(CITIES, active=["chicago"], configured=["nyc"]) == "nyc"
    assert default_city(CITIES, active=["chicago"], configured=["paris"]) == "chicago"
    assert default_city(CITIES, active=[], configured=[]) == "boston"


def test_fresh_session_gets_default_city_and_its_first_zone() -> None:
    choice = resolve()
    assert (choice.city_id, choice.zone_id, choice.warnings) == ("nyc", "z01", ())


def test_deep_link_wins_over_session() -> None:
    choice = resolve(requested_city="chicago", requested_zone="c2", current_city="nyc",
                     current_zone="z02")
    assert (choice.city_id, choice.zone_id, choice.warnings) == ("chicago", "c2", ())


def test_unknown_city_warns_and_keeps_the_session_city() -> None:
    choice = resolve(requested_city="atlantis", current_city="chicago", current_zone="c2")
    assert (choice.city_id, choice.zone_id) == ("chicago", "c2")
    assert choice.warnings == ("Unknown city 'atlantis' in the link; showing Chicago instead.",)


def test_unknown_city_in_a_fresh_session_falls_back_to_default() -> None:
    choice = resolve(requested_city="atlantis")
    assert choice.city_id == "nyc"
    assert "New York City" in choice.warnings[0]


def test_unknown_zone_warns_and_names_the_fallback_zone() -> None:
    choice = resolve(requested_city="nyc", requested_zone="z99")
    assert choice.zone_id == "z01"
    assert choice.warnings == ("Unknown zone 'z99' for New York City; showing Financial "
                               "District instead.",)


def test_switching_city_drops_a_zone_of_the_old_city() -> None:
    choice = resolve(current_city="chicago", current_zone="z02")
    assert (choice.city_id, choice.zone_id, choice.warnings) == ("chicago", "c1", ())


def test_city_without_zones_has_no_zone() -> None:
    choice = resolve(requested_city="boston", requested_zone="x", city_ids=CITIES,
                     zones_of=lambda c: {} if c == "boston" else ZONES[c])
    assert choice.zone_id is None
    assert "showing no zone instead" in choice.warnings[0]
