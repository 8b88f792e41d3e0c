"""Recommendations: a concrete action per firing rule, with a rationale naming its inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from pipeline.processing.recommendations import zone_recommendations
from pipeline.processing.rules import RULES_BY_NAME, zone_findings

NOW = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)


def test_each_firing_rule_gets_an_action_and_a_rationale_naming_its_inputs() -> None:
    findings = zone_findings({"demand_ratio": 1.15, "congestion": 0.75, "heat_index_c": 28.0})
    inputs = {"demand_mw": (1150.0, NOW - timedelta(minutes=30)),
              "high_day_peak_mw": (1000.0, NOW - timedelta(hours=1)),
              "temperature_c": (34.0, NOW - timedelta(minutes=5)),
              "congestion": (0.75, NOW - timedelta(minutes=2)), "speed_kmh": (None, None)}
    docs = {d["rule"]: d for d in zone_recommendations("toy", "z01", "Harbour", findings,
                                                       inputs, NOW)}
    # heat caution only adds risk points: it asks for no action
    assert set(docs) == {"demand_stress", "congestion"}
    demand = docs["demand_stress"]
    assert demand["_id"] == "toy|z01|demand_stress"
    assert "Harbour" in demand["action"]
    for name in RULES_BY_NAME["demand_stress"].inputs:
        assert name in demand["rationale"]
        assert name in demand["inputs"]
    assert "demand_mw 1,150.0 MW" in demand["rationale"] and "30 min old" in demand["rationale"]
    assert demand["inputs"]["demand_mw"]["age_s"] == 1800
    assert "speed_kmh: no data" in docs["congestion"]["rationale"]
    # the critical demand band outranks the warning congestion band
    assert demand["priority"] < docs["congestion"]["priority"]
    assert demand["issued_at"] == NOW


def test_quiet_zone_gets_no_recommendation() -> None:
    assert zone_recommendations("toy", "z01", "Harbour", [], {}, NOW) == []


def test_anomalies_get_a_verification_recommendation() -> None:
    anomalies = pd.DataFrame({"zone_id": ["z01"], "ts": [pd.Timestamp(NOW)],
                              "metric": ["us_aqi"], "value": [180.0], "zscore": [4.0],
                              "baseline_mean": [40.0], "baseline_std": [10.0]})
    [doc] = zone_recommendations("toy", "z01", "Harbour", [], {}, NOW, anomalies)
    assert doc["rule"] == "zscore_anomaly"
    assert "us_aqi" in doc["action"] and "us_aqi" in doc["inputs"]
    assert "+4.0 sd" in doc["rationale"] and "40" in doc["rationale"]


def test_congestion_rationale_is_in_percent() -> None:
    findings = zone_findings({"congestion": 0.75})
    inputs = {"congestion": (0.75, NOW - timedelta(minutes=2)), "speed_kmh": (12.0, NOW)}
    [doc] = zone_recommendations("toy", "z01", "Harbour", findings, inputs, NOW)
    assert "congestion 75 %" in doc["rationale"]
    assert "at or above 70 %" in doc["rationale"]
    assert "0.75" not in doc["rationale"]
