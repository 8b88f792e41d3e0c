"""Rollups: city_day documents (history.py shape), the window merge, processed and meters."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.history import HOURLY_METRICS, city_days_to_frame, frame_to_city_days
from pipeline.processing.rollups import city_day_docs, merge_city_day, meter_docs, processed_docs
from tests.unit.processing.factories import T0, assert_mongo_safe, hourly_frame

H = timedelta(hours=1)


def _frame(days: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 2 * 24 * days
    values = rng.normal(100, 10, n)
    values[::7] = np.nan
    return hourly_frame(["z01", "z02"], T0 + 5 * H, 24 * days, demand_mw=values,
                        us_aqi=rng.normal(40, 5, n), risk_score=10.0)


def test_city_day_docs_have_the_shape_history_py_writes_and_reads() -> None:
    frame = _frame()
    ours = city_day_docs(frame)
    reference = frame_to_city_days(frame)
    assert [d["_id"] for d in ours] == [d["_id"] for d in reference]
    for mine, ref in zip(ours, reference, strict=True):
        assert mine["hours"] == ref["hours"] and mine["day_start"] == ref["day_start"]
        assert set(mine["zones"]) == set(ref["zones"])
        for zone, metrics in ref["zones"].items():
            for metric in HOURLY_METRICS:
                got, want = mine["zones"][zone][metric], metrics[metric]
                assert [v is None for v in got] == [v is None for v in want]
                assert [v for v in got if v is not None] == pytest.approx(
                    [v for v in want if v is not None])
    back = city_days_to_frame(ours, frame["ts"].min(), frame["ts"].max() + H)
    assert back["demand_mw"].isna().sum() == frame["demand_mw"].isna().sum()
    assert np.nansum(back["demand_mw"]) == pytest.approx(np.nansum(frame["demand_mw"]))


def test_anomalies_and_complaint_counts_are_filed_under_their_day() -> None:
    ts = pd.Timestamp(T0) + pd.Timedelta(hours=30)
    anomalies = pd.DataFrame({"zone_id": ["z01"], "ts": [ts], "metric": ["us_aqi"],
                              "value": [180.0], "zscore": [5.0], "baseline_mean": [40.0],
                              "baseline_std": [5.0]})
    docs = city_day_docs(_frame(), anomalies, {pd.Timestamp(T0): {"Noise": 3}})
    first, second = docs[0], docs[1]
    assert first["incidents_by_type"] == {"Noise": 3} and second["incidents_by_type"] == {}
    assert first["anomalies"] == []
    assert second["anomalies"] == [{"zone_id": "z01", "ts": ts.to_pydatetime(),
                                    "metric": "us_aqi", "value": 180.0, "zscore": 5.0}]
    assert_mongo_safe(docs)


def test_merge_keeps_hours_before_the_window_and_gaps_inside_it() -> None:
    day = city_day_docs(hourly_frame(["z01"], T0, 24, temperature_c=10.0, incident_count=1.0))[0]
    day["anomalies"] = [{"zone_id": "z01", "ts": T0 + 2 * H, "metric": "us_aqi", "value": 1.0,
                         "zscore": 4.0}]
    day["incidents_by_type"] = {"Noise": 5, "Heat": 2}
    since = T0 + 12 * H
    window = hourly_frame(["z01", "z02"], since, 12, temperature_c=lambda ts, z: np.where(
        ts.hour == 20, np.nan, 30.0), incident_count=0.0)
    new = city_day_docs(window, None, {pd.Timestamp(T0): {"Noise": 3, "Rats": 1}})[0]
    merged = merge_city_day(day, new, since)
    temps = merged["zones"]["z01"]["temperature_c"]
    assert temps[:12] == [10.0] * 12  # before the window: untouched
    assert temps[12:20] == [30.0] * 8 and temps[21:] == [30.0] * 3  # the window wins
    assert temps[20] == 10.0  # a gap in the window keeps the stored value
    assert merged["zones"]["z02"]["temperature_c"][:12] == [None] * 12  # new zone
    assert merged["anomalies"] == day["anomalies"]  # older anomaly kept, none new
    assert merged["incidents_by_type"] == {"Noise": 5, "Heat": 2, "Rats": 1}
    assert merge_city_day(None, new, since) is new


def test_processed_and_meter_documents_are_clean_and_keyed_by_zone_hour() -> None:
    frame = _frame(days=1)
    frame["demand_estimated"] = frame["demand_mw"].isna()
    frame.loc[frame["demand_estimated"], "demand_mw"] = 77.0
    frame["risk_level"] = "low"
    frame.loc[0, "risk_level"] = None
    docs = processed_docs(frame)
    assert len(docs) == len(frame)
    first = docs[0]
    assert first["_id"] == "toy|z01|" + (T0 + 5 * H).strftime("%Y-%m-%dT%H:%MZ")
    assert set(HOURLY_METRICS) <= set(first) and first["risk_level"] is None
    assert_mongo_safe(docs)
    meters = meter_docs(frame, {"z01": "eia", "z02": "eia"}, {"z01": "open-meteo",
                                                               "z02": "open-meteo"})
    assert len(meters) == len(frame)
    estimated = [m for m in meters if m["estimated"]]
    assert estimated and all(m["source"] == "open-meteo" and m["demand_mw"] == 77.0
                             for m in estimated)
    assert all(m["source"] == "eia" for m in meters if not m["estimated"])
    assert_mongo_safe(meters)
