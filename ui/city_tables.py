"""Pure builders for City Live: KPIs, the zone table and map frame, alerts, recommendations.

Input: read-model documents as stored (zone_latest, city_latest, alerts, recommendations).
Output: DataFrames/dicts ready for st.dataframe / st.metric, times in the city's local time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from core.aqi import aqi_category
from core.units import QUANTITIES, display_value, format_value
from core.vocabulary import SOURCE_KINDS
from ui.formatting import age_seconds, format_age, local_time

STALE_AFTER_S = {"demand_mw": 3 * 3600, "demand_forecast_mw": 3 * 3600}
DEFAULT_STALE_AFTER_S = 3600
TABLE_METRICS = ("demand_mw", "us_aqi", "congestion", "temperature_c", "open_incidents")
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def stale_after(metric: str) -> float:
    return STALE_AFTER_S.get(metric, DEFAULT_STALE_AFTER_S)


def metric_gap(entry: dict[str, Any] | None, now: datetime, metric: str) -> str | None:
    """None when the metric has a fresh value, else why not (`no data (last seen 3 h ago)`)."""
    entry = entry or {}
    age = age_seconds(entry.get("observed_at"), now)
    if entry.get("value") is None:
        if age is None:
            return "no data (never seen)"
        return f"no data (last seen {format_age(age)} ago)"
    if age is not None and age > stale_after(metric):
        return f"stale (last seen {format_age(age)} ago)"
    return None


def metric_value(doc: dict[str, Any], metric: str) -> float | None:
    return ((doc.get("metrics") or {}).get(metric) or {}).get("value")


def zone_table(docs: list[dict[str, Any]], zone_names: dict[str, str], now: datetime,
               tz: ZoneInfo) -> pd.DataFrame:
    """One row per zone, highest risk first; gaps name each missing or stale metric."""
    rows = []
    for doc in docs:
        metrics = doc.get("metrics") or {}
        gaps = []
        for metric in TABLE_METRICS:
            gap = metric_gap(metrics.get(metric), now, metric)
            if gap:
                gaps.append(f"{QUANTITIES[metric].label}: {gap}")
        category = (doc.get("aqi_category") or {}).get("name")
        if category is None:
            found = aqi_category(metric_value(doc, "us_aqi"))
            category = found.name if found else None
        zone_id = doc.get("zone_id", "")
        rows.append({
            "Zone": doc.get("zone_name") or zone_names.get(zone_id, zone_id),
            "Zone id": zone_id,
            "Risk": doc.get("risk_level") or "unknown",
            "Risk score": doc.get("risk_score"),
            "Demand, est. (MW)": display_value("demand_mw", metric_value(doc, "demand_mw")),
            "US AQI": display_value("us_aqi", metric_value(doc, "us_aqi")),
            "AQI category": category,
            "Congestion (%)": display_value("congestion", metric_value(doc, "congestion")),
            "Temperature (°C)": display_value("temperature_c", metric_value(doc, "temperature_c")),
            "Open 311": display_value("open_incidents", metric_value(doc, "open_incidents")),
            "Open alerts": doc.get("open_alerts") or 0,
            "Anomalies": ", ".join(a.get("metric", "?") for a in doc.get("anomalies") or []),
            "Updated": local_time(doc.get("updated_at"), tz, with_date=False),
            "Data gaps": "; ".join(gaps) or "none",
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["Risk score"] = pd.to_numeric(frame["Risk score"], errors="coerce")
    return frame.sort_values(["Risk score", "Zone"], ascending=[False, True],
                             na_position="last").reset_index(drop=True)


def map_frame(docs: list[dict[str, Any]], zones: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Zone centres and H3 cells with the chosen metric's display value (None where missing)."""
    by_zone = {d.get("zone_id"): d for d in docs}
    rows = []
    for zone in zones.itertuples(index=False):
        doc = by_zone.get(zone.zone_id, {})
        raw = doc.get(metric) if metric == "risk_score" else metric_value(doc, metric)
        rows.append({"zone_id": zone.zone_id, "name": zone.name, "lat": zone.lat,
                     "lon": zone.lon, "h3": getattr(zone, "h3", None),
                     "value": display_value(metric, raw), "risk_level": doc.get("risk_level")})
    return pd.DataFrame(rows, columns=["zone_id", "name", "lat", "lon", "h3", "value",
                                       "risk_level"])


def simulated_kinds(docs: list[dict[str, Any]]) -> list[str]:
    """Source kinds whose newest reading is simulated in any zone, in a fixed order."""
    seen = {kind for d in docs for kind, provider in (d.get("sources") or {}).items()
            if provider == "simulated"}
    return [k for k in SOURCE_KINDS if k in seen]


def city_kpis(city: dict[str, Any] | None, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers: city_latest where present, else derived from the zone documents."""
    city = city or {}

    def values(metric: str) -> list[float]:
        return [v for d in docs if (v := metric_value(d, metric)) is not None]

    def pick(key: str, derived: Any) -> Any:
        return city[key] if city.get(key) is not None else derived

    demand, forecast = values("demand_mw"), values("demand_forecast_mw")
    aqi, congestion = values("us_aqi"), values("congestion")
    incidents = values("open_incidents")
    worst_doc = max((d for d in docs if metric_value(d, "us_aqi") is not None),
                    key=lambda d: metric_value(d, "us_aqi"), default=None)
    return {
        "demand_mw": pick("demand_mw", sum(demand) if demand else None),
        "demand_forecast_mw": pick("demand_forecast_mw", sum(forecast) if forecast else None),
        "avg_aqi": pick("avg_aqi", sum(aqi) / len(aqi) if aqi else None),
        "worst_aqi": pick("worst_aqi", max(aqi) if aqi else None),
        "worst_aqi_zone": pick("worst_aqi_zone", worst_doc.get("zone_id") if worst_doc else None),
        "avg_congestion": pick("avg_congestion",
                               sum(congestion) / len(congestion) if congestion else None),
        "open_incidents": pick("open_incidents", sum(incidents) if incidents else None),
        "open_alerts": pick("open_alerts", sum(int(d.get("open_alerts") or 0) for d in docs)),
        "updated_at": pick("updated_at", max((d["updated_at"] for d in docs
                                              if d.get("updated_at")), default=None)),
        "source": pick("source", _combined_source(docs)),
    }


def _combined_source(docs: list[dict[str, Any]]) -> str | None:
    sources = {d.get("source") for d in docs if d.get("source")}
    if not sources:
        return None
    return sources.pop() if len(sources) == 1 else "mixed"


def _input_text(name: str, item: Any, now: datetime) -> str:
    if not isinstance(item, dict):
        return f"{name} = {item}"
    value = item.get("value")
    shown = format_value(name, value) if name in QUANTITIES else f"{value}"
    age = item.get("age_s")
    if age is None:
        age = age_seconds(item.get("observed_at"), now)
    return f"{name} = {shown} ({format_age(age)} old)"


def alerts_table(alerts: list[dict[str, Any]], zone_names: dict[str, str], now: datetime,
                 tz: ZoneInfo) -> pd.DataFrame:
    """Open alerts, most severe then newest first, with their inputs and those inputs' ages."""
    rows = []
    for alert in alerts:
        severity = alert.get("severity") or "info"
        inputs = alert.get("inputs") or {}
        opened = alert.get("opened_at")
        rows.append({
            "Severity": severity,
            "Zone": zone_names.get(alert.get("zone_id", ""), alert.get("zone_id", "")),
            "Kind": (alert.get("kind") or "").replace("_", " "),
            "Message": alert.get("message") or "",
            "Opened": local_time(opened, tz),
            "Age": format_age(age_seconds(opened, now)),
            "Inputs (value, age)": "; ".join(_input_text(k, v, now) for k, v in inputs.items()),
            "Rule": alert.get("rule") or "",
            "_order": (SEVERITY_ORDER.get(severity, 9), -(opened.timestamp() if opened else 0)),
        })
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values("_order").drop(columns="_order").reset_index(drop=True)


def recommendations_table(recs: list[dict[str, Any]], zone_names: dict[str, str],
                          tz: ZoneInfo) -> pd.DataFrame:
    rows = [{
        "Priority": rec.get("priority"),
        "Zone": zone_names.get(rec.get("zone_id", ""), rec.get("zone_id", "")),
        "Action": rec.get("action") or "",
        "Why": rec.get("rationale") or "",
        "Issued": local_time(rec.get("issued_at"), tz),
    } for rec in recs]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = frame["Priority"].map(_priority_rank)
    return frame.assign(_o=order).sort_values(["_o", "Zone"]).drop(columns="_o").reset_index(
        drop=True)


def _priority_rank(priority: Any) -> float:
    """Numbers sort ascending (1 = most urgent); words by urgency."""
    words = {"critical": 0, "high": 1, "medium": 2, "moderate": 2, "low": 3}
    if isinstance(priority, int | float):
        return float(priority)
    return float(words.get(str(priority).lower(), 9))


ESTIMATED = frozenset({"demand_mw", "demand_forecast_mw"})  # zone shares of the city's series
DETAIL_METRICS = ("demand_mw", "demand_forecast_mw", "temperature_c", "relative_humidity_pct",
                  "wind_speed_kmh", "precipitation_mm", "us_aqi", "pm2_5", "congestion",
                  "speed_kmh", "incidents_24h", "open_incidents")


def zone_detail(doc: dict[str, Any], now: datetime, tz: ZoneInfo) -> pd.DataFrame:
    """Every metric of one zone: value with unit (or why there is none), when observed."""
    metrics = doc.get("metrics") or {}
    rows = []
    for metric in DETAIL_METRICS:
        entry = metrics.get(metric) or {}
        gap = metric_gap(entry, now, metric)
        value = entry.get("value")
        shown = format_value(metric, value)
        label = QUANTITIES[metric].label
        if metric in ESTIMATED:
            label += " (estimate)"
        rows.append({"Metric": label,
                     "Value": gap if value is None else f"{shown} ({gap})" if gap else shown,
                     "Observed": local_time(entry.get("observed_at"), tz, with_date=False)})
    return pd.DataFrame(rows)


def city_metric_gap(docs: list[dict[str, Any]], metric: str, now: datetime) -> str:
    """City-wide 'no data (last seen X ago)' from the newest zone observation of a metric."""
    seen = [e["observed_at"] for d in docs
            if (e := (d.get("metrics") or {}).get(metric) or {}).get("observed_at")]
    return metric_gap({"value": None, "observed_at": max(seen, default=None)}, now, metric) or ""
