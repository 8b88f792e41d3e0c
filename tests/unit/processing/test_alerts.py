"""Alert dedupe: open once, update while true, resolve when gone, never two open per zone/kind."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pandas as pd

from pipeline.processing.alerts import (
    Condition,
    anomaly_condition,
    describe_input,
    reconcile_alerts,
    rule_conditions,
)
from pipeline.processing.rules import RULES_BY_NAME, zone_findings

NOW = datetime(2026, 7, 1, 15, 0, tzinfo=UTC)
SEEN = NOW - timedelta(minutes=12)


def _cond(zone: str = "z01", kind: str = "air_quality", severity: str = "warning",
          aqi: float = 160) -> Condition:
    return Condition(zone, kind, severity, kind, f"{zone}: US AQI {aqi}",  # type: ignore[arg-type]
                     {"us_aqi": describe_input(aqi, SEEN, NOW)})


def _store(store: dict[str, dict], changes) -> None:
    for alert in changes.changed:
        store[alert["_id"]] = alert


def _open(store: dict[str, dict]) -> list[dict]:
    return [a for a in store.values() if a["status"] == "open"]


def test_a_condition_opens_one_alert_with_named_inputs_and_their_age() -> None:
    changes = reconcile_alerts("toy", [], [_cond()], NOW)
    assert len(changes.opened) == 1 and not changes.updated and not changes.resolved
    alert = changes.opened[0]
    assert alert["_id"] == alert["alert_id"] == "toy|z01|air_quality|2026-07-01T15:00Z"
    assert (alert["status"], alert["severity"], alert["opened_at"]) == ("open", "warning", NOW)
    assert alert["resolved_at"] is None
    assert alert["inputs"]["us_aqi"] == {"value": 160, "observed_at": SEEN, "age_s": 720}


def test_a_lasting_condition_updates_its_alert_instead_of_opening_another() -> None:
    store: dict[str, dict] = {}
    _store(store, reconcile_alerts("toy", [], [_cond()], NOW))
    later = NOW + timedelta(minutes=10)
    changes = reconcile_alerts("toy", _open(store), [_cond(severity="critical", aqi=230)], later)
    assert not changes.opened and not changes.resolved
    [alert] = changes.updated
    assert alert["opened_at"] == NOW and alert["updated_at"] == later
    assert alert["severity"] == "critical" and "230" in alert["message"]
    _store(store, changes)
    assert len(store) == 1


def test_a_cleared_condition_resolves_its_alert_and_a_return_opens_a_new_one() -> None:
    store: dict[str, dict] = {}
    _store(store, reconcile_alerts("toy", [], [_cond()], NOW))
    t1 = NOW + timedelta(minutes=10)
    changes = reconcile_alerts("toy", _open(store), [], t1)
    [resolved] = changes.resolved
    assert (resolved["status"], resolved["resolved_at"]) == ("resolved", t1)
    assert resolved["resolution"] == "condition cleared"
    _store(store, changes)
    t2 = NOW + timedelta(minutes=20)
    _store(store, reconcile_alerts("toy", _open(store), [_cond()], t2))
    assert len(store) == 2 and len(_open(store)) == 1
    assert _open(store)[0]["opened_at"] == t2


def test_missing_input_data_resolves_saying_so() -> None:
    store: dict[str, dict] = {}
    _store(store, reconcile_alerts("toy", [], [_cond()], NOW))
    changes = reconcile_alerts("toy", _open(store), [], NOW + timedelta(minutes=5),
                               no_data={("z01", "air_quality")})
    assert changes.resolved[0]["resolution"] == "no current data for its input"


def test_never_two_open_alerts_per_zone_and_kind() -> None:
    # repeated conditions in one pass, and a stray duplicate already stored
    stray = reconcile_alerts("toy", [], [_cond()], NOW - timedelta(hours=1)).opened[0]
    other = reconcile_alerts("toy", [], [_cond()], NOW - timedelta(hours=2)).opened[0]
    conditions = [_cond(severity="info"), _cond(severity="critical"), _cond(kind="heat"),
                  _cond(zone="z02")]
    store = {a["_id"]: a for a in (stray, other)}
    changes = reconcile_alerts("toy", _open(store), conditions, NOW)
    _store(store, changes)
    counts = Counter((a["zone_id"], a["kind"]) for a in _open(store))
    assert set(counts.values()) == {1}
    assert set(counts) == {("z01", "air_quality"), ("z01", "heat"), ("z02", "air_quality")}
    kept = next(a for a in _open(store) if a["kind"] == "air_quality" and a["zone_id"] == "z01")
    assert kept["_id"] == other["_id"]  # the oldest stays
    assert kept["severity"] == "critical"  # the strongest condition wins
    assert store[stray["_id"]]["resolution"].startswith("duplicate of")


def test_rule_conditions_come_only_from_bands_with_a_severity() -> None:
    findings = zone_findings({"us_aqi": 160.0, "congestion": 0.55})  # congestion: points only
    inputs = {"us_aqi": (160.0, SEEN), "pm2_5": (55.0, SEEN)}
    [cond] = rule_conditions("z01", "Harbour", findings, inputs, NOW)
    assert (cond.kind, cond.severity) == ("air_quality", "warning")
    assert set(RULES_BY_NAME["air_quality"].inputs) <= set(cond.inputs)
    assert cond.inputs["pm2_5"]["age_s"] == 720
    assert cond.message.startswith("Harbour:")


def test_anomaly_condition_names_metric_value_baseline_and_zscore() -> None:
    ts = pd.Timestamp(NOW - timedelta(hours=1))
    anomalies = pd.DataFrame({"zone_id": ["z01"], "ts": [ts], "metric": ["demand_mw"],
                              "value": [900.0], "zscore": [6.2], "baseline_mean": [300.0],
                              "baseline_std": [20.0]})
    cond = anomaly_condition("z01", "Harbour", anomalies, NOW)
    assert cond is not None and cond.kind == "anomaly" and cond.severity == "warning"
    assert cond.inputs["demand_mw"]["value"] == 900.0
    assert cond.inputs["demand_mw_baseline_mean"]["value"] == 300.0
    assert cond.inputs["demand_mw"]["age_s"] == 3600
    assert anomaly_condition("z01", "Harbour", anomalies.iloc[0:0], NOW) is None


def test_congestion_anomaly_message_is_in_percent_like_the_kpi_card() -> None:
    ts = pd.Timestamp(NOW - timedelta(hours=1))
    anomalies = pd.DataFrame({"zone_id": ["z01"], "ts": [ts], "metric": ["congestion"],
                              "value": [0.3653], "zscore": [5.5], "baseline_mean": [0.1941],
                              "baseline_std": [0.03]})
    cond = anomaly_condition("z01", "Harbour", anomalies, NOW)
    assert "congestion 37 % is 5.5 sd above its usual 19 %" in cond.message
    assert "0.3653" not in cond.message
