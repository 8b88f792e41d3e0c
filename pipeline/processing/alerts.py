"""Alert lifecycle, pure: open alerts + current conditions -> alerts to open, update, resolve.

One open alert per zone and kind: a condition that is still true updates its open alert
(severity, message, inputs, updated_at) instead of opening another; a condition that is gone
resolves it. Should two open alerts of one zone/kind ever exist (a crash between writes, an
old bug), the oldest stays and the others are resolved as duplicates. Every alert names its
inputs with their value, observation time and age, so a reader can see what it rests on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from core.ids import make_id
from core.units import format_value
from pipeline.processing.rules import SEVERITY_RANK, Finding, Severity

ANOMALY_KIND = "anomaly"
# |z| at or above -> severity of an anomaly alert (ascending)
ANOMALY_SEVERITY: tuple[tuple[float, Severity], ...] = ((3.0, "info"), (5.0, "warning"))


@dataclass(frozen=True)
class Condition:
    """A current reason for an alert of `kind` in one zone."""

    zone_id: str
    kind: str
    severity: Severity
    rule: str
    message: str
    inputs: dict[str, dict[str, Any]]


@dataclass
class AlertChanges:
    opened: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> list[dict[str, Any]]:
        return [*self.opened, *self.updated, *self.resolved]

    @property
    def open_now(self) -> list[dict[str, Any]]:
        return [*self.opened, *self.updated]


def describe_input(value: Any, observed_at: datetime | None, now: datetime) -> dict[str, Any]:
    """{"value", "observed_at", "age_s"} for one input (age None when its time is unknown)."""
    age = None if observed_at is None else max(0, int((now - observed_at).total_seconds()))
    return {"value": value, "observed_at": observed_at, "age_s": age}


def alert_id(city_id: str, zone_id: str, kind: str, opened_at: datetime) -> str:
    return make_id(city_id, zone_id, kind, opened_at)


def rule_conditions(zone_id: str, zone_name: str, findings: Iterable[Finding],
                    inputs: Mapping[str, tuple[Any, datetime | None]], now: datetime
                    ) -> list[Condition]:
    """Conditions for the findings whose band carries a severity.

    `inputs` maps an input name to (value, observed_at); each rule names the ones it uses.
    """
    out = []
    for finding in findings:
        severity = finding.band.severity
        if severity is None:
            continue
        named = {name: describe_input(*inputs.get(name, (None, None)), now)
                 for name in finding.rule.inputs}
        named[finding.rule.metric] = describe_input(
            round(finding.value, 4), _oldest(named.values()), now)
        out.append(Condition(zone_id, finding.rule.alert_kind, severity, finding.rule.name,
                             f"{zone_name}: {finding.explain()}", named))
    return out


def _oldest(described: Iterable[Mapping[str, Any]]) -> datetime | None:
    times = [d["observed_at"] for d in described if d["observed_at"] is not None]
    return min(times, default=None)


def anomaly_severity(zscore: float) -> Severity | None:
    reached = [sev for at_least, sev in ANOMALY_SEVERITY if abs(zscore) >= at_least]
    return reached[-1] if reached else None


def anomaly_condition(zone_id: str, zone_name: str, anomalies: pd.DataFrame, now: datetime
                      ) -> Condition | None:
    """One condition for a zone's current-hour anomalies (all metrics), or None."""
    if anomalies.empty:
        return None
    worst = anomalies.loc[anomalies["zscore"].abs().idxmax()]
    severity = anomaly_severity(float(worst["zscore"]))
    if severity is None:
        return None
    inputs: dict[str, dict[str, Any]] = {}
    parts = []
    for row in anomalies.itertuples(index=False):
        ts = pd.Timestamp(row.ts).to_pydatetime()
        inputs[row.metric] = describe_input(round(float(row.value), 4), ts, now)
        inputs[f"{row.metric}_baseline_mean"] = describe_input(
            round(float(row.baseline_mean), 4), ts, now)
        inputs[f"{row.metric}_zscore"] = describe_input(round(float(row.zscore), 2), ts, now)
        direction = "above" if row.zscore > 0 else "below"
        parts.append(f"{row.metric} {format_value(row.metric, row.value)} is "
                     f"{abs(row.zscore):.1f} sd {direction} its usual "
                     f"{format_value(row.metric, row.baseline_mean)} for this hour")
    return Condition(zone_id, ANOMALY_KIND, severity, "zscore_anomaly",
                     f"{zone_name}: " + "; ".join(parts), inputs)


def _strongest(conditions: Iterable[Condition]) -> dict[tuple[str, str], Condition]:
    best: dict[tuple[str, str], Condition] = {}
    for cond in conditions:
        key = (cond.zone_id, cond.kind)
        if key not in best or SEVERITY_RANK[cond.severity] > SEVERITY_RANK[best[key].severity]:
            best[key] = cond
    return best


def _resolve(alert: Mapping[str, Any], now: datetime, why: str) -> dict[str, Any]:
    return {**alert, "status": "resolved", "resolved_at": now, "updated_at": now,
            "resolution": why}


def reconcile_alerts(city_id: str, open_alerts: Iterable[Mapping[str, Any]],
                     conditions: Iterable[Condition], now: datetime,
                     no_data: Collection[tuple[str, str]] = ()) -> AlertChanges:
    """Decide what to write so that exactly one alert is open per live zone/kind condition.

    `no_data` names the (zone_id, kind) pairs whose input has no current reading: their open
    alerts resolve saying so, rather than claiming the condition cleared.
    """
    changes = AlertChanges()
    current = _strongest(conditions)
    standing: dict[tuple[str, str], Mapping[str, Any]] = {}
    for alert in sorted((a for a in open_alerts if a.get("status") == "open"),
                        key=lambda a: (a["opened_at"], a["alert_id"])):
        key = (alert["zone_id"], alert["kind"])
        if key in standing:
            changes.resolved.append(
                _resolve(alert, now, f"duplicate of {standing[key]['alert_id']}"))
        else:
            standing[key] = alert
    for key, cond in current.items():
        body = {"severity": cond.severity, "rule": cond.rule, "message": cond.message,
                "inputs": cond.inputs, "updated_at": now}
        if key in standing:
            changes.updated.append({**standing[key], **body})
            continue
        new_id = alert_id(city_id, cond.zone_id, cond.kind, now)
        changes.opened.append({
            "_id": new_id, "alert_id": new_id, "city_id": city_id, "zone_id": cond.zone_id,
            "kind": cond.kind, "status": "open", "opened_at": now, "resolved_at": None, **body,
        })
    for key, alert in standing.items():
        if key not in current:
            why = "no current data for its input" if key in no_data else "condition cleared"
            changes.resolved.append(_resolve(alert, now, why))
    return changes
