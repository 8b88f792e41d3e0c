"""The whole pure pass: backfill history, then scheduled passes that open/keep/resolve alerts."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.catalog import get_city
from pipeline.history import city_days_to_frame
from pipeline.processing.compute import (
    SETTLE,
    CityResult,
    changed_rows,
    compute_city,
    compute_history,
    keep_stored_risk,
    trailing_incidents_24h,
)
from pipeline.processing.rollups import merge_city_day
from tests.unit.processing.factories import (
    T0,
    aqi,
    assert_mongo_safe,
    hourly_frame,
    simulated_raw,
    toy_city,
)

DAYS = 30
END = T0 + timedelta(days=DAYS)


@pytest.fixture(scope="module")
def backfill() -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """30 days of simulated records for the toy city and the city_day docs they make."""
    city = toy_city()
    raw = simulated_raw(city, T0, DAYS * 24, seed=11)
    result = compute_history(city, raw, T0, END - timedelta(days=2))
    return raw, result.city_days


def _pass(raw: dict, days: list[dict], open_alerts: list[dict], now) -> CityResult:
    history = city_days_to_frame(days)
    return compute_city(toy_city(), raw, history, days, open_alerts, now)


def _fold(days: list[dict], result: CityResult, since) -> list[dict]:
    stored = {d["_id"]: d for d in days}
    for doc in result.city_days:
        stored[doc["_id"]] = merge_city_day(stored.get(doc["_id"]), doc, since)
    return sorted(stored.values(), key=lambda d: d["_id"])


def _with(raw: dict, collection: str, records: list[dict]) -> dict:
    return {**raw, collection: [*raw[collection], *records]}


def test_backfill_writes_every_day_with_every_zone(backfill) -> None:
    _raw, days = backfill
    assert len(days) == DAYS - 2
    assert all(set(d["zones"]) == {"z01", "z02", "z03"} for d in days)
    assert all(d["incidents_by_type"] for d in days)
    assert_mongo_safe(days)


def test_a_scheduled_pass_opens_keeps_and_resolves_an_aqi_alert(backfill) -> None:
    raw, days = backfill
    now = END - timedelta(minutes=3)
    spike = [{**aqi("z02", now - timedelta(minutes=20), us_aqi=180), "city_id": "toy"}]
    first = _pass(_with(raw, "raw_aqi", spike), days, [], now)

    opened = {(a["zone_id"], a["kind"]): a for a in first.alerts.opened}
    assert ("z02", "air_quality") in opened
    assert opened[("z02", "air_quality")]["inputs"]["us_aqi"]["value"] == 180.0
    z02 = next(d for d in first.zone_latest if d["zone_id"] == "z02")
    assert z02["aqi_category"]["name"] == "Unhealthy"
    assert {"rule": "air_quality", "value": 180.0, "points": 15} in z02["risk_factors"]
    assert z02["open_alerts"] == len([a for a in first.alerts.opened if a["zone_id"] == "z02"])
    assert any(a["metric"] == "us_aqi" for a in z02["anomalies"])
    assert first.city_latest["worst_aqi_zone"] == "z02"
    assert any(r["zone_id"] == "z02" and r["rule"] == "air_quality"
               for r in first.recommendations)
    for docs in (first.zone_latest, [first.city_latest], first.alerts.changed,
                 first.recommendations, first.processed, first.meter_readings, first.city_days):
        assert_mongo_safe(docs)

    # ten minutes later the spike is still the newest reading: same alert, updated
    days = _fold(days, first, first.enriched.frame["ts"].min())
    later = now + timedelta(minutes=10)
    second = _pass(_with(raw, "raw_aqi", spike), days, first.alerts.open_now, later)
    assert not second.alerts.opened
    ids = {a["_id"] for a in second.alerts.updated}
    assert opened[("z02", "air_quality")]["_id"] in ids
    # processed rows are offered once their hour has settled; none was revised since
    settled_before = (pd.Timestamp(later).floor("h") - SETTLE).to_pydatetime()
    assert second.processed and all(d["ts"] < settled_before for d in second.processed)
    assert second.revised == set()

    # a normal reading arrives: the AQI alert resolves, and only it
    calm = [{**aqi("z02", later + timedelta(minutes=5), us_aqi=42), "city_id": "toy"}]
    third = _pass(_with(_with(raw, "raw_aqi", spike), "raw_aqi", calm), days,
                  second.alerts.open_now, later + timedelta(minutes=10))
    resolved = {(a["zone_id"], a["kind"]) for a in third.alerts.resolved}
    assert ("z02", "air_quality") in resolved
    still_open = Counter((a["zone_id"], a["kind"]) for a in third.alerts.open_now)
    assert ("z02", "air_quality") not in still_open
    assert set(still_open.values()) <= {1}


def test_without_power_data_demand_is_estimated_and_flagged_but_not_stored_as_observed(
        backfill) -> None:
    raw, days = backfill
    now = END - timedelta(minutes=3)
    no_power = {**raw, "raw_power": [r for r in raw["raw_power"]
                                     if r["observed_at"] < now - timedelta(hours=8)]}
    result = _pass(no_power, days, [], now)
    for doc in result.zone_latest:
        assert doc["demand_estimated"] is True
        assert doc["metrics"]["demand_mw"]["value"] > 0
    assert result.city_latest["demand_estimated"] is True
    recent = [d for d in result.processed if d["ts"] >= now - timedelta(hours=7)]
    assert recent and all(d["demand_estimated"] and d["demand_mw"] > 0 for d in recent)
    today = result.city_days[-1]["zones"]["z01"]["demand_mw"]
    assert today[pd.Timestamp(now).hour] is None  # city_day keeps observations only


def test_changed_rows_spots_new_and_revised_hours() -> None:
    stored = hourly_frame(["z01"], T0, 4, temperature_c=10.0)
    window = hourly_frame(["z01"], T0, 5, temperature_c=10.0)
    window.loc[1, "temperature_c"] = 11.0
    assert changed_rows(window, stored).tolist() == [False, True, False, False, True]


def test_trailing_incident_count_sums_the_last_24_hours_per_zone() -> None:
    frame = hourly_frame(["z01", "z02"], T0, 48, incident_count=lambda ts, z: float(z + 1))
    counts = trailing_incidents_24h(frame)
    last = frame["ts"] == frame["ts"].max()
    assert counts[last].tolist() == [24.0, 48.0]
    assert np.isnan(counts.iloc[0])  # too few hours behind it to say


@pytest.mark.slow
def test_a_90_day_backfill_of_40_zones_processes_in_seconds() -> None:
    city = get_city("nyc")
    assert len(city.zones) == 40
    start = T0
    raw = simulated_raw(city, start, 90 * 24, seed=3, incident_rate=0.5)
    begin = time.perf_counter()
    result = compute_history(city, raw, start, start + timedelta(days=90),
                             processed_since=start + timedelta(days=55),
                             meters_since=start + timedelta(days=83))
    elapsed = time.perf_counter() - begin
    assert len(result.city_days) == 90
    assert len(result.processed) == 40 * 35 * 24
    assert elapsed < 10.0, f"backfill processing took {elapsed:.1f} s"  # ~1.5 s when idle


def test_a_late_value_for_a_settled_hour_marks_it_revised(backfill) -> None:
    raw, days = backfill
    now = END - timedelta(minutes=3)
    first = _pass(raw, days, [], now)
    days = _fold(days, first, first.enriched.frame["ts"].min())
    late_hour = pd.Timestamp(now).floor("h") - pd.Timedelta(hours=10)
    late = [{**aqi("z03", late_hour.to_pydatetime() + timedelta(minutes=30), us_aqi=300),
             "city_id": "toy"}]
    second = _pass(_with(raw, "raw_aqi", late), days, first.alerts.open_now,
                   now + timedelta(minutes=5))
    assert second.revised == {"toy|z03|" + late_hour.strftime("%Y-%m-%dT%H:%MZ")}


def test_an_hours_risk_score_stays_as_stored_until_its_data_changes() -> None:
    stored = hourly_frame(["z01"], T0, 3, temperature_c=30.0, risk_score=30.0)
    frame = hourly_frame(["z01"], T0, 3, temperature_c=30.0, risk_score=5.0)
    frame.loc[2, "temperature_c"] = 35.0  # new data for the last hour
    frame["demand_estimated"] = False
    frame["risk_level"] = "low"
    out = keep_stored_risk(frame, stored)
    assert out["risk_score"].tolist() == [30.0, 30.0, 5.0]
    assert out["risk_level"].tolist() == ["moderate", "moderate", "low"]
