"""Risk rules: thresholds, points, score, level, heat index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.processing.rules import (
    RULES,
    RULES_BY_NAME,
    heat_index_c,
    risk_level,
    risk_levels,
    risk_score,
    rule_metrics,
    rule_points,
    zone_findings,
)


def _f_to_c(f: float) -> float:
    return (f - 32) * 5 / 9


def _severity(rule: str, value: float) -> str | None:
    band = RULES_BY_NAME[rule].band_for(value)
    return None if band is None else (band.severity or "points-only")


def test_aqi_rule_follows_the_epa_breakpoints() -> None:
    assert _severity("air_quality", 100) is None  # Moderate scores nothing
    assert _severity("air_quality", 101) == "info"  # sensitive groups
    assert _severity("air_quality", 150) == "info"
    assert _severity("air_quality", 151) == "warning"  # unhealthy
    assert _severity("air_quality", 201) == "critical"  # very unhealthy


def test_demand_stress_is_judged_against_the_zones_high_day_peak() -> None:
    values = pd.DataFrame({"zone_id": ["a", "b", "c", "d"],
                           "demand_mw": [80.0, 105.0, 600.0, 112.0],
                           "us_aqi": np.nan, "congestion": np.nan, "incidents_24h": np.nan,
                           "temperature_c": np.nan, "relative_humidity_pct": np.nan})
    profiles = pd.DataFrame({"high_day_peak_mw": [100.0, 100.0, 1000.0, 100.0],
                             "typical_daily_incidents": np.nan},
                            index=pd.Index(["a", "b", "c", "d"], name="zone_id"))
    ratio = rule_metrics(values, profiles)["demand_ratio"]
    assert ratio.tolist() == pytest.approx([0.8, 1.05, 0.6, 1.12])
    # judged per zone: 105 MW stresses a zone peaking at 100 MW, 600 MW not one at 1000 MW
    assert [_severity("demand_stress", r) for r in ratio] == [None, "warning", None,
                                                               "critical"]
    assert _severity("demand_stress", 0.92) == "points-only"


def test_unknown_typical_peak_means_no_demand_verdict() -> None:
    values = pd.DataFrame({"zone_id": ["a"], "demand_mw": [1e6], "us_aqi": [np.nan],
                           "congestion": [np.nan], "incidents_24h": [np.nan],
                           "temperature_c": [np.nan], "relative_humidity_pct": [np.nan]})
    profiles = pd.DataFrame({"high_day_peak_mw": [], "typical_daily_incidents": []},
                            index=pd.Index([], name="zone_id"))
    metrics = rule_metrics(values, profiles)
    assert np.isnan(metrics["demand_ratio"].iloc[0])
    assert rule_points(metrics).to_numpy().sum() == 0


def test_congestion_and_incident_thresholds() -> None:
    assert _severity("congestion", 0.49) is None
    assert _severity("congestion", 0.6) == "points-only"
    assert _severity("congestion", 0.7) == "warning"
    assert _severity("congestion", 0.9) == "critical"
    assert _severity("incident_surge", 1.4) is None
    assert _severity("incident_surge", 2.0) == "warning"
    assert _severity("incident_surge", 3.5) == "critical"


def test_heat_index_matches_the_nws_table() -> None:
    # NWS heat index chart: 90 °F/70 % -> 106 °F; 100 °F/50 % -> 118 °F; 80 °F/40 % -> 80 °F
    cases = [(90, 70, 106), (100, 50, 118), (80, 40, 80)]
    for temp_f, rh, expected_f in cases:
        got = heat_index_c(_f_to_c(temp_f), rh)
        assert float(got) == pytest.approx(_f_to_c(expected_f), abs=0.7)
    assert float(heat_index_c(30.0, np.nan)) == 30.0  # no humidity: the air temperature
    assert _severity("heat", float(heat_index_c(_f_to_c(90), 70))) == "critical"  # danger


def test_points_sum_to_the_score_and_all_rules_at_their_worst_make_100() -> None:
    worst = {rule.metric: rule.bands[-1].at_least for rule in RULES}
    metrics = pd.DataFrame([worst, {m: np.nan for m in worst}])
    points = rule_points(metrics)
    scores = risk_score(points)
    assert scores.tolist() == [100.0, 0.0]
    assert risk_levels(scores).tolist() == ["critical", "low"]


def test_vectorised_points_agree_with_the_per_zone_findings() -> None:
    rng = np.random.default_rng(3)
    metrics = pd.DataFrame({
        "demand_ratio": rng.uniform(0.5, 1.2, 200), "us_aqi": rng.uniform(0, 400, 200),
        "congestion": rng.uniform(0, 1, 200), "incident_ratio": rng.uniform(0, 4, 200),
        "heat_index_c": rng.uniform(10, 60, 200),
    })
    points = rule_points(metrics)
    for i in range(len(metrics)):
        findings = zone_findings(metrics.iloc[i].to_dict())
        by_rule = {f.rule.name: f.band.points for f in findings}
        assert by_rule == {k: v for k, v in points.iloc[i].to_dict().items() if v}


def test_risk_levels_at_their_boundaries() -> None:
    assert [risk_level(s) for s in (0, 24.9, 25, 49, 50, 74, 75, 100)] == [
        "low", "low", "moderate", "moderate", "high", "high", "critical", "critical"]
    assert risk_level(None) is None


def test_rules_are_well_formed_data() -> None:
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        thresholds = [b.at_least for b in rule.bands]
        assert thresholds == sorted(thresholds)
        assert [b.points for b in rule.bands] == sorted(b.points for b in rule.bands)
        assert "{zone}" in rule.action
