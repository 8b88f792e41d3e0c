from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.ids import iso_minute, make_id, raw_id, split_id, zone_key


def test_make_id_uses_natural_key_with_utc_minutes():
    ts = datetime(2026, 11, 28, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert make_id("nyc", "z07", ts) == "nyc|z07|2026-11-28T14:00Z"


def test_same_instant_in_two_timezones_gives_the_same_id():
    utc = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    assert make_id("a", utc) == make_id("a", utc.astimezone(timezone(timedelta(hours=9))))


def test_naive_datetimes_and_empty_parts_are_refused():
    with pytest.raises(ValueError):
        iso_minute(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        make_id("", "z01")


def test_separator_and_escape_characters_in_parts_are_percent_encoded():
    assert make_id("nyc|x", "z01") == "nyc%7Cx|z01"
    assert make_id("50%", "a|b%7C") == "50%25|a%7Cb%257C"
    # unique: a part that looks like an escape stays apart from the text it would decode to
    assert make_id("a|b") != make_id("a%7Cb")
    assert split_id(make_id("a|b", "50%", "%7C", "z01")) == ["a|b", "50%", "%7C", "z01"]


def test_ids_without_separator_characters_are_unchanged():
    ts = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
    assert make_id("nyc", "z07", "L-9:x.y", ts, 3) == "nyc|z07|L-9:x.y|2026-11-28T14:05Z|3"


def test_an_incident_id_with_a_pipe_gets_a_raw_id():
    rec = {"city_id": "nyc", "zone_id": "z01", "observed_at": datetime(2026, 11, 28, tzinfo=UTC),
           "incident_id": "SR|123", "source": "socrata"}
    assert raw_id("raw_311", rec) == "nyc|SR%7C123|socrata"


def test_raw_ids_per_collection():
    ts = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
    rec = {"city_id": "nyc", "zone_id": "z01", "observed_at": ts, "link_id": "L9",
           "incident_id": "123", "source": "socrata"}
    assert raw_id("raw_weather", rec) == "nyc|z01|2026-11-28T14:05Z|socrata"
    assert raw_id("raw_traffic", rec) == "nyc|z01|L9|2026-11-28T14:05Z|socrata"
    assert raw_id("raw_311", rec) == "nyc|123|socrata"
    # the same zone and time from another provider is another observation
    assert raw_id("raw_weather", dict(rec, source="simulated")) != raw_id("raw_weather", rec)
    assert zone_key("nyc", "z01") == "nyc:z01"
