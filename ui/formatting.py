"""Pure display helpers: metric labels and units, ages, local times, EPA AQI categories.

Pages show numbers with units and times in the city's local time; every such string is
built here so the pages stay descriptions of the screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: str
    decimals: int = 1
    scale: float = 1.0  # display value = stored value * scale (congestion 0..1 -> %)


METRICS: dict[str, MetricInfo] = {
    "risk_score": MetricInfo("Risk score", "/100", 0),
    "demand_mw": MetricInfo("Demand", "MW", 1),
    "demand_forecast_mw": MetricInfo("Demand forecast", "MW", 1),
    "temperature_c": MetricInfo("Temperature", "°C", 1),
    "relative_humidity_pct": MetricInfo("Humidity", "%", 0),
    "wind_speed_kmh": MetricInfo("Wind speed", "km/h", 1),
    "precipitation_mm": MetricInfo("Precipitation", "mm", 1),
    "us_aqi": MetricInfo("US AQI", "AQI", 0),
    "pm2_5": MetricInfo("PM2.5", "µg/m³", 1),
    "congestion": MetricInfo("Congestion", "%", 0, 100.0),
    "speed_kmh": MetricInfo("Traffic speed", "km/h", 1),
    "incidents_24h": MetricInfo("311 incidents (24 h)", "incidents", 0),
    "open_incidents": MetricInfo("Open 311 incidents", "incidents", 0),
    "incident_count": MetricInfo("311 incidents", "per hour", 0),
}

# EPA AQI breakpoints (upper bound inclusive), category name, official colour, badge colour.
EPA_CATEGORIES: tuple[tuple[int, str, str, str], ...] = (
    (50, "Good", "#00e400", "green"),
    (100, "Moderate", "#ffff00", "yellow"),
    (150, "Unhealthy for Sensitive Groups", "#ff7e00", "orange"),
    (200, "Unhealthy", "#ff0000", "red"),
    (300, "Very Unhealthy", "#8f3f97", "violet"),
    (10_000, "Hazardous", "#7e0023", "red"),
)


def metric_label(metric: str) -> str:
    info = METRICS.get(metric)
    return f"{info.label} ({info.unit})" if info else metric


def display_value(metric: str, value: float | None) -> float | None:
    """Stored value -> the number shown (scaled, rounded); None stays None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    info = METRICS.get(metric, MetricInfo(metric, ""))
    return round(float(value) * info.scale, info.decimals)


def format_value(metric: str, value: float | None) -> str:
    """`1,234.5 MW`, `42 AQI`, `35 %`; `no data` when missing."""
    shown = display_value(metric, value)
    if shown is None:
        return "no data"
    info = METRICS.get(metric, MetricInfo(metric, ""))
    number = f"{shown:,.{info.decimals}f}"
    return f"{number} {info.unit}".strip()


def format_age(seconds: float | None) -> str:
    """Human age: `45 s`, `12 min`, `3.5 h`, `2 d`; `unknown` when missing."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        hours = seconds / 3600
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{seconds / 86400:.0f} d"


def age_seconds(ts: datetime | None, now: datetime) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (now - ts).total_seconds()


def city_tz(name: str | None) -> ZoneInfo:
    """The city's zone; UTC when the catalog names none or an unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(ts: datetime | None, tz: ZoneInfo, with_date: bool = True) -> str:
    """`2026-11-28 09:15 EST` in the city's local time; `never` when missing."""
    if ts is None:
        return "never"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    fmt = "%Y-%m-%d %H:%M %Z" if with_date else "%H:%M %Z"
    return ts.astimezone(tz).strftime(fmt)


def aqi_category(aqi: float | None) -> tuple[str, str, str] | None:
    """EPA category of an AQI value: (name, official hex colour, Streamlit badge colour)."""
    if aqi is None or not math.isfinite(aqi):
        return None
    for upper, name, hex_colour, badge in EPA_CATEGORIES:
        if aqi <= upper:
            return name, hex_colour, badge
    return None


def md_escape(text: str) -> str:
    """Escape the characters that make inline Markdown (emphasis, links, images, directives,
    code, math, HTML-looking tags) in text from Mongo or the URL before st.markdown & co."""
    out = []
    for ch in str(text):
        if ch in "\\`*_{}[]()#!|<>:~$":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
