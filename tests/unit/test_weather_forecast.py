"""ingest.weather_forecast: the forecast record of one issuance, its stored document, and the
backfill's documents of many issuances (which must equal the record path's); and its schema,
ingest.schema.WeatherForecast."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from bson.binary import Binary

from core.retention import stamp
from core.vocabulary import FORECAST_HOURS, C, Topic
from ingest.exceptions import RecordRejected
from ingest.schema import TIME_FIELD, check_plausible_time, to_wire, validate_record
from ingest.weather_forecast import (
    city_mean,
    forecast_document,
    forecast_documents,
    forecast_id,
    forecast_record,
    issue_hour,
)
from pipeline.forecasts import decode_zone_temperatures

ISSUED = datetime(2026, 11, 29, 14, tzinfo=UTC)
NOW = datetime(2026, 11, 29, 14, 23, 5, tzinfo=UTC)
ZONES = ["z01", "z02", "z03"]
WEIGHTS = [0.5, 0.3, 0.2]


def zone_values(offset: float = 0.0) -> np.ndarray:
    """[3 zones, 48 h]: zone z at lead j is 10z + j/10 (+ offset), so values say where they
    came from."""
    return offset + 10.0 * np.arange(3)[:, None] + np.arange(FORECAST_HOURS)[None, :] / 10.0


def record(values: np.ndarray | None = None, **over) -> dict:
    args = {"city_id": "nyc", "source": "simulated", "issued_at": ISSUED, "ingested_at": NOW,
            "zone_ids": ZONES, "zone_values": zone_values() if values is None else values,
            "weights": WEIGHTS, **over}
    return forecast_record(**args)


def test_the_record_has_48_target_hours_from_the_issue_hour_and_a_weighted_city_mean():
    rec = record(issued_at=NOW)  # a cycle at 14:23 issues the 14:00 forecast
    assert rec["issued_at"] == ISSUED
    assert rec["hours"][0] == ISSUED and rec["hours"][-1] == ISSUED + timedelta(hours=47)
    assert rec["zone_ids"] == ZONES and rec["zone_temperature_c"][2][5] == 20.5
    assert rec["temperature_c"][5] == pytest.approx(0.5 * 0.5 + 0.3 * 10.5 + 0.2 * 20.5)
    assert validate_record(Topic.WEATHER_FORECAST, to_wire(rec)) == rec


def test_missing_values_are_null_and_the_city_mean_uses_the_zones_that_have_one():
    values = zone_values()
    values[2, 7] = np.nan  # one zone missing at lead 7
    values[:, 9] = np.nan  # every zone missing at lead 9
    rec = record(values)
    assert rec["zone_temperature_c"][2][7] is None
    assert rec["temperature_c"][7] == pytest.approx((0.5 * 0.7 + 0.3 * 10.7) / 0.8)
    assert rec["temperature_c"][9] is None
    assert validate_record(Topic.WEATHER_FORECAST, to_wire(rec)) == rec  # JSON: no NaN


def test_city_mean_weights_need_not_sum_to_one():
    values = np.array([[1.0, 3.0], [np.nan, 5.0], [np.nan, np.nan]])
    assert city_mean(values, [1_000_000, 3_000_000]).tolist()[:2] == [2.5, 5.0]
    assert np.isnan(city_mean(values, [1, 3])[2])


def test_a_wrongly_shaped_forecast_is_refused():
    with pytest.raises(ValueError, match="shaped"):
        record(zone_values()[:, :24])


def test_the_document_packs_zones_by_hours_and_is_keyed_by_city_and_issue_hour():
    rec = record()
    doc = forecast_document(rec)
    assert doc["_id"] == forecast_id("nyc", NOW) == "nyc|2026-11-29T14"
    assert isinstance(doc["zone_temperature_c"], Binary)
    assert len(doc["zone_temperature_c"]) == 3 * FORECAST_HOURS * 8  # float64
    np.testing.assert_array_equal(decode_zone_temperatures(doc), zone_values())
    assert doc["temperature_c"] == rec["temperature_c"] and doc["hours"] == rec["hours"]
    [stamped] = stamp(C.WEATHER_FORECASTS, [doc])
    assert stamped["bucket_day"] == "2026-11-29"  # purged by issue day, kept 120 days


def test_a_missing_zone_value_is_nan_in_the_stored_matrix():
    values = zone_values()
    values[1, 3] = np.nan
    decoded = decode_zone_temperatures(forecast_document(record(values)))
    assert np.isnan(decoded[1, 3]) and np.isnan(decoded).sum() == 1


def test_the_backfill_documents_equal_the_record_path_issuance_by_issuance():
    issued = [ISSUED - timedelta(hours=2), ISSUED - timedelta(hours=1), ISSUED]
    cube = np.stack([zone_values(offset=k) for k in range(3)]).transpose(0, 2, 1)  # [3, 48, z]
    cube[1, 4, 0] = np.nan
    docs = forecast_documents(city_id="nyc", source="simulated", issued=issued,
                              ingested_at=NOW, zone_ids=ZONES, zone_values=cube,
                              weights=WEIGHTS)
    for k, doc in enumerate(docs):
        one = forecast_document(validate_record(Topic.WEATHER_FORECAST, to_wire(record(
            cube[k].T, issued_at=issued[k]))))
        assert doc == one
    assert [d["_id"] for d in docs] == ["nyc|2026-11-29T12", "nyc|2026-11-29T13",
                                        "nyc|2026-11-29T14"]


def test_issue_hour_refuses_a_naive_time():
    with pytest.raises(ValueError, match="naive"):
        issue_hour(datetime(2026, 11, 29, 14))


def wire(**over) -> dict:
    """A forecast record as JSON would carry it, with fields replaced."""
    return {**json.loads(to_wire(record())), **over}


@pytest.mark.parametrize(("over", "reason"), [
    ({"issued_at": "2026-11-29T14:30:00Z"}, "whole UTC hour"),
    ({"issued_at": "2026-11-29T14:00:00"}, "UTC offset"),
    ({"hours": wire()["hours"][:47]}, "hours"),
    ({"hours": wire()["hours"][1:] + ["2026-12-01T14:00:00Z"]}, "issued_at + 0, 1"),
    ({"temperature_c": [99.0] * 48}, "temperature_c"),
    ({"zone_ids": ["z01", "z01", "z03"]}, "zone_ids repeat"),
    ({"zone_ids": ["z01", "z02"]}, "one row per zone_id"),
    ({"zone_temperature_c": [[1.0] * 48, [1.0] * 48, [1.0] * 47]}, "one value per hour"),
    ({"zone_temperature_c": [[1.0] * 48, [1.0] * 48, ["warm"] * 48]}, "zone_temperature_c"),
    ({"zone_id": "z01"}, "zone_id"),  # city-wide: no zone field
    ({"source": "made-up"}, "source"),
])
def test_a_bad_forecast_record_is_rejected_with_a_reason(over, reason):
    with pytest.raises(RecordRejected) as err:
        validate_record(Topic.WEATHER_FORECAST, wire(**over))
    assert reason in err.value.reason


def test_nan_never_passes_on_the_wire():
    with pytest.raises(RecordRejected, match="NaN"):
        validate_record(Topic.WEATHER_FORECAST,
                        to_wire(record()).replace(b"[0.0,", b"[NaN,", 1))


def test_the_plausible_time_of_a_forecast_is_its_issue_time():
    rec = record()
    check_plausible_time(rec, NOW, timedelta(days=7), TIME_FIELD[Topic.WEATHER_FORECAST])
    with pytest.raises(RecordRejected, match="issued_at .* older than"):
        check_plausible_time(rec, NOW + timedelta(days=8), timedelta(days=7), "issued_at")
