"""Risk rules as data: each rule maps one derived metric to points, an alert and an action.

A zone's risk score is the sum of the points of the band each rule's value reaches (0..100,
the bands' maxima add up to 100); its level follows RISK_LEVELS. A band with a severity also
opens an alert of the rule's kind; a band without one only adds to the score. Changing a
threshold is an edit to RULES, nothing else.

Derived metrics the rules read (see `rule_metrics`):
- demand_ratio: demand_mw / the zone's high-day peak (baseline.zone_profiles: the 90th
  percentile of its daily peaks over 28 days), so a normal daily peak scores little;
- us_aqi: EPA breakpoints (101 sensitive groups, 151 unhealthy, 201 very unhealthy, 301
  hazardous);
- congestion: 1 - speed / free-flow, 0..1;
- incident_ratio: 311 incidents in the last 24 h / the zone's typical daily count;
- heat_index_c: NWS heat index (Rothfusz) from temperature and humidity; NWS categories
  caution 27 °C, extreme caution 32 °C, danger 41 °C, extreme danger 54 °C.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 1, "warning": 2, "critical": 3}


@dataclass(frozen=True)
class Band:
    """Values >= at_least score `points`; with a severity they also open an alert."""

    at_least: float
    points: int
    label: str
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str  # derived metric the bands compare (a column of rule_metrics)
    bands: tuple[Band, ...]  # ascending at_least
    alert_kind: str
    inputs: tuple[str, ...]  # the observed values that explain the rule's verdict
    action: str  # recommended action; `{zone}` is the zone's name
    reading: str  # how the value reads in a sentence; `{value}` is the metric value

    def band_for(self, value: float | None) -> Band | None:
        """The highest band the value reaches; None below the first or with no value."""
        if value is None or not np.isfinite(value):
            return None
        reached = [b for b in self.bands if value >= b.at_least]
        return reached[-1] if reached else None


RULES: tuple[Rule, ...] = (
    Rule(
        name="demand_stress", metric="demand_ratio", alert_kind="demand_stress",
        bands=(Band(0.9, 10, "elevated demand"),
               Band(1.0, 20, "demand at a high day's peak", "warning"),
               Band(1.1, 30, "demand well above a high day's peak", "critical")),
        inputs=("demand_mw", "high_day_peak_mw", "temperature_c"),
        action=("Call on demand response in {zone}: ask large customers to shed or shift load "
                "and pre-stage peaking capacity for the coming hours."),
        reading="demand at {value:.0%} of the zone's high-day peak",
    ),
    Rule(
        name="air_quality", metric="us_aqi", alert_kind="air_quality",
        bands=(Band(101, 8, "unhealthy for sensitive groups", "info"),
               Band(151, 15, "unhealthy air", "warning"),
               Band(201, 20, "very unhealthy air", "critical"),
               Band(301, 25, "hazardous air", "critical")),
        inputs=("us_aqi", "pm2_5"),
        action=("Issue an air-quality advisory for {zone}: sensitive groups limit outdoor "
                "exertion; pause idling and dust-raising street works."),
        reading="US AQI {value:.0f}",
    ),
    Rule(
        name="congestion", metric="congestion", alert_kind="congestion",
        bands=(Band(0.5, 5, "heavy traffic"),
               Band(0.7, 10, "severe congestion", "warning"),
               Band(0.85, 15, "gridlock", "critical")),
        inputs=("congestion", "speed_kmh"),
        action=("Retime signals and post detour guidance around {zone}; hold non-urgent "
                "road works until traffic clears."),
        reading="congestion {value:.0%} below free-flow speed",
    ),
    Rule(
        name="incident_surge", metric="incident_ratio", alert_kind="incident_surge",
        bands=(Band(1.5, 5, "more 311 incidents than usual"),
               Band(2.0, 10, "311 incidents at twice the usual rate", "warning"),
               Band(3.0, 15, "311 incidents at three times the usual rate", "critical")),
        inputs=("incidents_24h", "typical_daily_incidents", "open_incidents"),
        action=("Send extra 311 field crews to {zone} and triage the open backlog by "
                "complaint type."),
        reading="311 incidents in the last 24 h at {value:.1f}x the usual daily count",
    ),
    Rule(
        name="heat", metric="heat_index_c", alert_kind="heat",
        bands=(Band(27, 3, "heat caution"),
               Band(32, 8, "extreme heat caution", "warning"),
               Band(41, 12, "heat danger", "critical"),
               Band(54, 15, "extreme heat danger", "critical")),
        inputs=("temperature_c", "relative_humidity_pct"),
        action=("Open cooling centres in {zone}, extend their hours and check on vulnerable "
                "residents."),
        reading="heat index {value:.1f} °C",
    ),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}
RISK_LEVELS: tuple[tuple[float, str], ...] = (
    (75, "critical"), (50, "high"), (25, "moderate"), (0, "low"),
)


def heat_index_c(temperature_c: np.ndarray | pd.Series | float,
                 humidity_pct: np.ndarray | pd.Series | float) -> np.ndarray:
    """NWS heat index (°C). Without humidity it is the air temperature (no humid uplift)."""
    t_c = np.asarray(temperature_c, dtype="float64")
    rh = np.asarray(humidity_pct, dtype="float64")
    t = t_c * 9 / 5 + 32
    simple = 0.5 * (t + 61.0 + (t - 68.0) * 1.2 + rh * 0.094)
    full = (-42.379 + 2.04901523 * t + 10.14333127 * rh - 0.22475541 * t * rh
            - 0.00683783 * t * t - 0.05481717 * rh * rh + 0.00122874 * t * t * rh
            + 0.00085282 * t * rh * rh - 0.00000199 * t * t * rh * rh)
    with np.errstate(invalid="ignore"):
        dry = (rh < 13) & (t >= 80) & (t <= 112)
        full = full - np.where(dry, (13 - rh) / 4 * np.sqrt(np.clip(17 - np.abs(t - 95), 0, None)
                                                            / 17), 0.0)
        humid = (rh > 85) & (t >= 80) & (t <= 87)
        full = full + np.where(humid, (rh - 85) / 10 * (87 - t) / 5, 0.0)
        hi_f = np.where((simple + t) / 2 >= 80, full, simple)
    hi_c = (hi_f - 32) * 5 / 9
    return np.where(np.isnan(rh), t_c, hi_c)


def rule_metrics(values: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Zone values -> the derived metric of every rule (NaN where an input is missing).

    `values` has zone_id, demand_mw, us_aqi, congestion, incidents_24h, temperature_c and
    relative_humidity_pct (one row per zone, or per zone-hour); `profiles` is
    baseline.zone_profiles.
    """
    peak = values["zone_id"].map(profiles["high_day_peak_mw"]).astype("float64")
    usual = values["zone_id"].map(profiles["typical_daily_incidents"]).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        demand_ratio = values["demand_mw"].astype("float64") / peak
        incident_ratio = values["incidents_24h"].astype("float64") / usual
    return pd.DataFrame({
        "demand_ratio": demand_ratio,
        "us_aqi": values["us_aqi"].astype("float64"),
        "congestion": values["congestion"].astype("float64"),
        "incident_ratio": incident_ratio,
        "heat_index_c": heat_index_c(values["temperature_c"], values["relative_humidity_pct"]),
    }, index=values.index)


def rule_points(metrics: pd.DataFrame) -> pd.DataFrame:
    """Points of every rule (columns = rule names) for each row of rule_metrics."""
    points = {}
    for rule in RULES:
        value = metrics[rule.metric].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            conditions = [value >= band.at_least for band in reversed(rule.bands)]
        points[rule.name] = np.select(conditions, [b.points for b in reversed(rule.bands)], 0)
    return pd.DataFrame(points, index=metrics.index)


def risk_score(points: pd.DataFrame) -> pd.Series:
    return points.sum(axis=1).clip(0, 100).astype("float64")


def risk_level(score: float | None) -> str | None:
    if score is None or not np.isfinite(score):
        return None
    return next(level for floor, level in RISK_LEVELS if score >= floor)


def risk_levels(scores: pd.Series) -> pd.Series:
    """Vectorised risk_level."""
    conditions = [scores.to_numpy() >= floor for floor, _ in RISK_LEVELS]
    return pd.Series(np.select(conditions, [lvl for _, lvl in RISK_LEVELS], default="low"),
                     index=scores.index)


@dataclass(frozen=True)
class Finding:
    """One rule that fired for a zone: its value and the band it reached."""

    rule: Rule
    value: float
    band: Band

    def explain(self) -> str:
        return f"{self.rule.reading.format(value=self.value)} ({self.band.label})"


def zone_findings(metrics: Mapping[str, float | None]) -> list[Finding]:
    """Every rule that scores points for one zone's derived metrics, in RULES order."""
    found = []
    for rule in RULES:
        value = metrics.get(rule.metric)
        band = rule.band_for(value)
        if band is not None and value is not None:
            found.append(Finding(rule, float(value), band))
    return found
