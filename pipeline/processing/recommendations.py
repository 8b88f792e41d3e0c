"""Concrete actions per zone, each with the rationale: which rule, which inputs, how current.

A recommendation is issued for every rule whose band in a zone carries a severity (the band
decides the priority; bands that only add risk points, like "heavy traffic", ask for no
action) and for a zone's current anomalies. The rationale is a sentence an operator can
check: the rule, the band it reached, and every input with its value, unit and age.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from core.ids import make_id
from core.units import format_value
from pipeline.processing.alerts import anomaly_severity, describe_input
from pipeline.processing.rules import Finding

PRIORITY: dict[str | None, int] = {"critical": 1, "warning": 2, "info": 3}
ANOMALY_RULE = "zscore_anomaly"


def _age_text(age_s: int | None) -> str:
    if age_s is None:
        return "time unknown"
    if age_s < 90:
        return f"{age_s} s old"
    if age_s < 90 * 60:
        return f"{round(age_s / 60)} min old"
    return f"{age_s / 3600:.1f} h old"


def input_text(name: str, described: Mapping[str, Any]) -> str:
    """'demand_mw 812.3 MW (14:05Z, 6 min old)' or 'us_aqi: no data'."""
    value = described["value"]
    if value is None:
        return f"{name}: no data"
    shown = format_value(name, value) if isinstance(value, int | float) else str(value)
    when = described["observed_at"]
    stamp = when.strftime("%Y-%m-%d %H:%MZ") + ", " if when is not None else ""
    return f"{name} {shown} ({stamp}{_age_text(described['age_s'])})"


def _doc(city_id: str, zone_id: str, rule: str, action: str, rationale: str,
         inputs: dict[str, dict[str, Any]], priority: int, now: datetime) -> dict[str, Any]:
    return {"_id": make_id(city_id, zone_id, rule), "city_id": city_id, "zone_id": zone_id,
            "rule": rule, "action": action, "rationale": rationale, "inputs": inputs,
            "priority": priority, "issued_at": now}


def zone_recommendations(city_id: str, zone_id: str, zone_name: str,
                         findings: Iterable[Finding],
                         inputs: Mapping[str, tuple[Any, datetime | None]], now: datetime,
                         anomalies: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Recommendation documents for one zone (read-model contract: recommendations)."""
    docs = []
    for finding in findings:
        rule, band = finding.rule, finding.band
        if band.severity is None:
            continue
        named = {name: describe_input(*inputs.get(name, (None, None)), now)
                 for name in rule.inputs}
        listed = "; ".join(input_text(n, d) for n, d in named.items())
        rationale = (f"Rule {rule.name}: {finding.explain()}, at or above "
                     f"{format_value(rule.metric, band.at_least)}"
                     f" ({band.points} risk points). Inputs: {listed}.")
        docs.append(_doc(city_id, zone_id, rule.name, rule.action.format(zone=zone_name),
                         rationale, named, PRIORITY[band.severity], now))
    if anomalies is not None and not anomalies.empty:
        docs.append(_anomaly_doc(city_id, zone_id, zone_name, anomalies, now))
    return docs


def _anomaly_doc(city_id: str, zone_id: str, zone_name: str, anomalies: pd.DataFrame,
                 now: datetime) -> dict[str, Any]:
    named: dict[str, dict[str, Any]] = {}
    parts = []
    for row in anomalies.itertuples(index=False):
        ts = pd.Timestamp(row.ts).to_pydatetime()
        named[row.metric] = describe_input(round(float(row.value), 4), ts, now)
        parts.append(f"{input_text(row.metric, named[row.metric])} is {row.zscore:+.1f} sd from "
                     f"its usual {format_value(row.metric, row.baseline_mean)} at this hour")
    metrics = ", ".join(sorted(anomalies["metric"].unique()))
    worst = float(anomalies["zscore"].abs().max())
    action = (f"Verify the unusual {metrics} in {zone_name}: confirm the feed is sound, then "
              "look for an event on the ground before acting on it.")
    rationale = (f"Rule {ANOMALY_RULE}: |z| >= 3 against the same hour on the previous "
                 f"14-28 days. " + "; ".join(parts) + ".")
    return _doc(city_id, zone_id, ANOMALY_RULE, action, rationale, named,
                PRIORITY[anomaly_severity(worst)], now)
