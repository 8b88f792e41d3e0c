"""Current readings and the zone_latest / city_latest documents: missing stays missing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pipeline.processing.demand import demand_profile
from pipeline.processing.latest import (
    city_latest_doc,
    latest_readings,
    source_label,
    with_demand_estimates,
    zone_latest_doc,
)
from pipeline.processing.raw_frames import raw_frames
from tests.unit.processing.factories import (
    T0,
    aqi,
    assert_mongo_safe,
    hourly_frame,
    incident,
    power,
    toy_city,
    traffic,
    weather,
)

NOW = T0 + timedelta(days=3, hours=15)
M = timedelta(minutes=1)


def _readings(raw: dict) -> dict:
    city = toy_city()
    return latest_readings(raw_frames(raw, city), city, NOW)


def _doc(readings: dict, zone: str = "z01", **kw: Any) -> dict:
    args = {"demand_estimated": False, "risk_score": 0.0, "risk_factors": [], "anomalies": [],
            "open_alerts": 0, **kw}
    return zone_latest_doc(toy_city(), zone, readings[zone], NOW, **args)


def test_stale_aqi_is_none_with_the_time_it_was_last_seen() -> None:
    last_seen = NOW - timedelta(hours=7)
    readings = _readings({"raw_aqi": [aqi("z01", last_seen - timedelta(hours=1), us_aqi=30),
                                      aqi("z01", last_seen, us_aqi=44)],
                          "raw_weather": [weather("z01", NOW - 5 * M)]})
    doc = _doc(readings)
    assert doc["metrics"]["us_aqi"] == {"value": None, "observed_at": last_seen,
                                        "unit": "AQI"}
    assert doc["aqi_category"] is None
    assert doc["metrics"]["temperature_c"]["value"] == 20.0


def test_a_metric_never_seen_is_none_without_a_time() -> None:
    doc = _doc(_readings({"raw_weather": [weather("z01", NOW - 5 * M)]}))
    assert doc["metrics"]["us_aqi"] == {"value": None, "observed_at": None, "unit": "AQI"}
    assert doc["metrics"]["incidents_24h"]["value"] is None


def test_a_null_reading_does_not_hide_the_last_real_value() -> None:
    # the newest record carries no AQI (past the model horizon): the one before it counts
    readings = _readings({"raw_aqi": [aqi("z01", NOW - 40 * M, us_aqi=61),
                                      aqi("z01", NOW - 10 * M, us_aqi=None)]})
    assert readings["z01"]["us_aqi"].value == 61.0
    assert readings["z01"]["us_aqi"].observed_at == NOW - 40 * M


def test_traffic_is_the_mean_of_each_links_newest_reading_among_recent_links() -> None:
    readings = _readings({"raw_traffic": [
        traffic("z01", "a", NOW - 30 * M, congestion=0.9),
        traffic("z01", "a", NOW - 5 * M, congestion=0.6),
        traffic("z01", "b", NOW - 4 * M, congestion=0.2),
        traffic("z01", "c", NOW - 90 * M, congestion=1.0),  # a link that went quiet
    ]})
    assert readings["z01"]["congestion"].value == pytest.approx(0.4)
    assert readings["z01"]["congestion"].observed_at == NOW - 4 * M


def test_incident_counts_cover_the_last_24_hours_and_open_statuses() -> None:
    readings = _readings({"raw_311": [
        incident("z01", "a", NOW - timedelta(hours=2), status="Open"),
        incident("z01", "b", NOW - timedelta(hours=5), status="Closed"),
        incident("z01", "c", NOW - timedelta(hours=30), status="In Progress"),
        incident("z02", "d", NOW - timedelta(hours=1), status="Open"),
    ]})
    assert readings["z01"]["incidents_24h"].value == 2
    assert readings["z01"]["open_incidents"].value == 2  # a and c
    assert readings["z03"]["incidents_24h"].value == 0  # the source reports: a true zero


def test_demand_falls_back_to_a_flagged_temperature_estimate() -> None:
    city = toy_city()
    raw = {"raw_power": [power("z01", NOW - 6 * timedelta(hours=1), demand_mw=500.0)],
           "raw_weather": [weather("z01", NOW - 5 * M, temperature_c=30.0),
                           weather("z02", NOW - 5 * M, temperature_c=30.0)]}
    readings = latest_readings(raw_frames(raw, city), city, NOW)
    assert readings["z01"]["demand_mw"].value is None  # 6 h old meter value: stale
    history = hourly_frame(["z01"], T0, 72, demand_mw=400.0, temperature_c=30.0)
    filled, estimated = with_demand_estimates(readings, demand_profile(history), city, NOW)
    assert estimated == {"z01", "z02"}
    assert filled["z01"]["demand_mw"].value == pytest.approx(400.0)
    assert filled["z01"]["demand_mw"].observed_at == NOW - 5 * M
    assert filled["z03"]["demand_mw"].value is None  # no temperature: nothing to estimate from


def test_zone_document_is_mongo_safe_and_labels_its_sources() -> None:
    readings = _readings({"raw_weather": [weather("z01", NOW - 5 * M)],
                          "raw_aqi": [{**aqi("z01", NOW - 5 * M), "source": "open-meteo"}]})
    doc = _doc(readings, risk_factors=[{"rule": "heat", "value": 30.0, "points": 3}])
    assert doc["_id"] == "toy|z01" and doc["zone_name"] == "Harbour"
    assert doc["source"] == "mixed"
    assert doc["sources"] == {"weather": "simulated", "aqi": "open-meteo"}
    assert_mongo_safe(doc)


def test_a_zone_with_no_current_data_has_no_risk_score() -> None:
    doc = _doc(_readings({}), risk_score=0.0)
    assert doc["risk_score"] is None and doc["risk_level"] is None and doc["source"] is None


def test_city_kpis_ignore_missing_zones_rather_than_counting_them_as_zero() -> None:
    raw = {"raw_aqi": [aqi("z01", NOW - 5 * M, us_aqi=50), aqi("z02", NOW - 5 * M, us_aqi=150)],
           "raw_power": [power("z01", NOW - 30 * M, demand_mw=100.0),
                         power("z02", NOW - 30 * M, demand_mw=50.0)]}
    readings = _readings(raw)
    docs = [_doc(readings, z, risk_score=s) for z, s in (("z01", 10.0), ("z02", 40.0),
                                                         ("z03", 0.0))]
    city = city_latest_doc(toy_city(), docs, NOW, open_alerts=2)
    assert city["avg_aqi"] == 100.0  # z03 has no AQI: not averaged in as 0
    assert (city["worst_aqi"], city["worst_aqi_zone"]) == (150.0, "z02")
    assert city["demand_mw"] == 150.0
    assert city["zones_reporting"] == 2 and city["max_risk_score"] == 40.0
    assert city["avg_congestion"] is None
    assert city["data_age_s"] == 300 and city["open_alerts"] == 2
    assert_mongo_safe(city)


def test_source_label() -> None:
    assert source_label(["simulated", "simulated"]) == "simulated"
    assert source_label(["eia", "open-meteo"]) == "live"
    assert source_label(["eia", "simulated"]) == "mixed"
    assert source_label([]) is None

