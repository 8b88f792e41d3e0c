import json
from datetime import UTC, datetime, timedelta

import pytest

from core.vocabulary import Topic
from ingest.exceptions import RecordRejected
from ingest.schema import check_plausible_time, to_wire, validate_record


def weather(**over):
    base = {"schema_version": 1, "source": "simulated", "city_id": "nyc", "zone_id": "z01",
            "observed_at": "2026-11-28T14:00:00Z", "ingested_at": "2026-11-28T14:01:00+00:00",
            "temperature_c": 3.5, "relative_humidity_pct": 60, "wind_speed_kmh": 12.0,
            "precipitation_mm": None}
    base.update(over)
    return base


def test_valid_record_round_trips_through_the_wire_format():
    rec = validate_record(Topic.WEATHER, json.dumps(weather()).encode())
    assert rec["observed_at"] == datetime(2026, 11, 28, 14, tzinfo=UTC)
    assert rec["precipitation_mm"] is None
    assert validate_record(Topic.WEATHER, to_wire(rec)) == rec


def test_offsets_are_normalised_to_utc():
    rec = validate_record(Topic.WEATHER, weather(observed_at="2026-11-28T09:00:00-05:00"))
    assert rec["observed_at"] == datetime(2026, 11, 28, 14, tzinfo=UTC)


@pytest.mark.parametrize("value,reason", [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"temperature_c": NaN}', "NaN"),
    (json.dumps(weather(temperature_c="warm")).encode(), "temperature_c"),
    (json.dumps(weather(temperature_c=999)).encode(), "temperature_c"),
    (json.dumps(weather(observed_at="2026-11-28T14:00:00")).encode(), "observed_at"),
    (json.dumps(weather(source="made-up")).encode(), "source"),
    (json.dumps(weather(unexpected=1)).encode(), "unexpected"),
    (json.dumps({k: v for k, v in weather().items() if k != "zone_id"}).encode(), "zone_id"),
    (json.dumps(weather(zone_id="z" * 5000)).encode(), "zone_id"),
])
def test_invalid_values_are_rejected_with_a_reason(value, reason):
    with pytest.raises(RecordRejected) as err:
        validate_record(Topic.WEATHER, value)
    assert reason in err.value.reason


def test_unknown_topic_is_rejected():
    with pytest.raises(RecordRejected, match="no canonical schema"):
        validate_record("nope", weather())


def test_incident_requires_coordinates_and_created_at():
    inc = {"schema_version": 1, "source": "socrata", "city_id": "nyc", "zone_id": "z01",
           "observed_at": "2026-11-28T14:00:00Z", "ingested_at": "2026-11-28T14:01:00Z",
           "incident_id": "1", "complaint_type": "Noise", "created_at": "2026-11-28T14:00:00Z",
           "lat": 40.7, "lon": -74.0}
    assert validate_record(Topic.INCIDENTS, inc)["lat"] == 40.7
    del inc["lat"]
    with pytest.raises(RecordRejected, match="lat"):
        validate_record(Topic.INCIDENTS, inc)


def test_to_wire_refuses_nan():
    with pytest.raises(ValueError):
        to_wire({"x": float("nan")})


NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def timed(observed: datetime, created: datetime | None = None) -> dict:
    record = {"observed_at": observed}
    if created is not None:
        record["created_at"] = created
    return record


@pytest.mark.parametrize("record", [
    timed(NOW),
    timed(NOW + timedelta(hours=23)),
    timed(NOW - timedelta(days=6, hours=23)),
    # an old request observed now is fine (311 rows are updated long after they are created)
    timed(NOW - timedelta(hours=1), created=NOW - timedelta(days=40)),
    timed(NOW, created=NOW + timedelta(hours=23)),
])
def test_plausible_times_pass(record):
    check_plausible_time(record, NOW, WEEK)


@pytest.mark.parametrize("record,reason", [
    (timed(datetime(2029, 11, 29, 10, tzinfo=UTC)),
     "observed_at 2029-11-29T10:00Z is more than 1 day in the future"),
    (timed(NOW - timedelta(days=8)),
     "observed_at 2026-11-20T14:00Z is older than the 7 days raw retention window"),
    (timed(NOW, created=NOW + timedelta(days=2)),
     "created_at 2026-11-30T14:00Z is more than 1 day in the future"),
])
def test_implausible_times_are_rejected_with_a_reason(record, reason):
    with pytest.raises(RecordRejected) as err:
        check_plausible_time(record, NOW, WEEK)
    assert err.value.reason == reason


def power(**over):
    base = {"schema_version": 1, "source": "eia", "city_id": "nyc", "zone_id": "z01",
            "observed_at": "2026-11-28T14:00:00Z", "ingested_at": "2026-11-28T14:01:00Z",
            "respondent": "NYIS", "ba_demand_mw": 18000.0, "ba_forecast_mw": 18200.0,
            "demand_mw": 140.0}
    base.update(over)
    return base


def test_power_records_carry_the_subregion_series_and_older_ones_still_validate():
    assert validate_record(Topic.POWER, power())["demand_mw"] == 140.0  # before subregions
    rec = validate_record(Topic.POWER, power(
        subba="ZONJ", city_demand_mw=5600.0, series_mw={"ZONJ": 5600.0, "ZONK": None},
        demand_method="estimate"))
    assert rec["series_mw"] == {"ZONJ": 5600.0, "ZONK": None}
    assert validate_record(Topic.POWER, to_wire(rec)) == rec


@pytest.mark.parametrize("over,reason", [
    ({"series_mw": {"ZONJ": -1.0}}, "negative"),
    ({"series_mw": {"a.b": 1.0}}, "series code"),
    ({"series_mw": {"$x": 1.0}}, "series code"),
    ({"series_mw": {"ZONJ": "lots"}}, "series_mw"),
    ({"demand_method": "metered"}, "demand_method"),
])
def test_bad_power_series_are_rejected(over, reason):
    with pytest.raises(RecordRejected) as err:
        validate_record(Topic.POWER, power(**over))
    assert reason in err.value.reason
