from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.ids import iso_minute, make_id, raw_id, zone_key


def test_make_id_uses_natural_key_with_utc_minutes():
    ts = datetime(2026, 11, 28, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert make_id("nyc", "z07", ts) == "nyc|z07|2026-11-28T14:00Z"


def test_same_instant_in_two_timezones_gives_the_same_id():
    utc = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
    assert make_id("a", utc) == make_id("a", utc.astimezone(timezone(timedelta(hours=9))))


def test_naive_datetimes_and_separator_in_parts_are_refused():
    with pytest.raises(ValueError):
        iso_minute(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        make_id("nyc|x", "z01")
    with pytest.raises(ValueError):
        make_id("", "z01")


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
