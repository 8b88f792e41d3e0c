"""Raw records -> typed frames: apportioning, de-duplication, filtering."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from core.subregions import subregion
from pipeline.processing.raw_frames import finite_or_none, raw_frames
from tests.unit.processing.factories import T0, aqi, incident, power, toy_city, weather


def test_power_is_apportioned_by_ba_share_and_zone_weight() -> None:
    city = toy_city()  # ba_share 0.5; z01 weight 0.5, z02 weight 0.3
    raw = {"raw_power": [power("z01", T0, ba_demand_mw=1000.0, ba_forecast_mw=1200.0),
                         power("z02", T0, ba_demand_mw=1000.0),
                         power("z03", T0, demand_mw=77.0, ba_demand_mw=1000.0)]}
    frame = raw_frames(raw, city).power.set_index("zone_id")
    assert frame.loc["z01", "demand_mw"] == pytest.approx(1000 * 0.5 * 0.5)
    assert frame.loc["z01", "demand_forecast_mw"] == pytest.approx(1200 * 0.5 * 0.5)
    assert frame.loc["z02", "demand_mw"] == pytest.approx(1000 * 0.5 * 0.3)
    assert math.isnan(frame.loc["z02", "demand_forecast_mw"])
    # a record that already carries the zone's share keeps it
    assert frame.loc["z03", "demand_mw"] == pytest.approx(77.0)


def test_incidents_keep_the_newest_version_of_each_id() -> None:
    city = toy_city()
    raw = {"raw_311": [
        incident("z01", "a", T0, status="Open", observed_at=T0),
        incident("z01", "a", T0, status="Closed", observed_at=T0 + timedelta(hours=2)),
        incident("z02", "b", T0),
    ]}
    frame = raw_frames(raw, city).incidents.set_index("incident_id")
    assert len(frame) == 2
    assert frame.loc["a", "status"] == "Closed"


def test_other_cities_unknown_zones_and_out_of_window_records_are_dropped() -> None:
    city = toy_city()
    stray = {**weather("z01", T0), "city_id": "elsewhere"}
    raw = {"raw_weather": [weather("z01", T0), weather("z99", T0), stray,
                           weather("z02", T0 - timedelta(days=1)),
                           weather("z03", T0 + timedelta(hours=5))],
           "raw_aqi": [aqi("z01", T0, us_aqi=None)]}
    frames = raw_frames(raw, city, since=T0 - timedelta(hours=1), until=T0 + timedelta(hours=1))
    assert frames.weather["zone_id"].tolist() == ["z01"]
    assert math.isnan(frames.aqi["us_aqi"].iloc[0])  # a null stays missing, not 0


def test_finite_or_none() -> None:
    assert finite_or_none(float("nan")) is None
    assert finite_or_none(float("inf")) is None
    assert finite_or_none(None) is None
    assert finite_or_none(3) == 3.0


def test_a_subregion_city_uses_its_subregions_share_of_the_ba() -> None:
    city = toy_city().model_copy(update={"eia_subba": "ZONJ"})  # its demand is NYIS ZONJ
    share = subregion("NYIS", "ZONJ").share  # type: ignore[union-attr]
    raw = {"raw_power": [{**power("z01", T0, ba_demand_mw=1000.0, ba_forecast_mw=1200.0),
                          "city_demand_mw": 400.0}]}
    frame = raw_frames(raw, city).power.set_index("zone_id")
    assert frame.loc["z01", "demand_forecast_mw"] == pytest.approx(1200 * share * 0.5)
    assert frame.loc["z01", "demand_mw"] == pytest.approx(1000 * share * 0.5)  # no estimate
    assert frame.loc["z01", "city_demand_mw"] == 400.0
