"""One label and one display unit per quantity, for every message, chart and table.

Values are stored in the canonical units of docs/architecture.md ("Canonical records"):
congestion and ratios as fractions. What a person reads is built here, from the stored value,
so an alert message, a recommendation, a KPI card and a table all say `37 %` for a congestion
of 0.37.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    label: str
    unit: str  # the one unit it is shown in
    decimals: int = 1
    scale: float = 1.0  # shown value = stored value * scale (fraction 0..1 -> %)

    @property
    def stored_unit(self) -> str:
        """The unit of the stored value: a scaled percentage is stored as a fraction."""
        return "fraction" if self.unit == "%" and self.scale == 100.0 else self.unit


QUANTITIES: dict[str, Quantity] = {
    "risk_score": Quantity("Risk score", "/100", 0),
    "demand_mw": Quantity("Demand", "MW", 1),
    "demand_forecast_mw": Quantity("Demand forecast", "MW", 1),
    "temperature_c": Quantity("Temperature", "°C", 1),
    "relative_humidity_pct": Quantity("Humidity", "%", 0),
    "wind_speed_kmh": Quantity("Wind speed", "km/h", 1),
    "precipitation_mm": Quantity("Precipitation", "mm", 1),
    "us_aqi": Quantity("US AQI", "AQI", 0),
    "pm2_5": Quantity("PM2.5", "µg/m³", 1),
    "congestion": Quantity("Congestion", "%", 0, 100.0),
    "speed_kmh": Quantity("Traffic speed", "km/h", 1),
    "incidents_24h": Quantity("311 incidents (24 h)", "incidents", 0),
    "open_incidents": Quantity("Open 311 incidents", "incidents", 0),
    "incident_count": Quantity("311 incidents", "per hour", 0),
    # derived yardsticks named among alert and recommendation inputs
    "high_day_peak_mw": Quantity("High-day peak", "MW", 1),
    "typical_daily_incidents": Quantity("Typical 311 incidents", "per day", 1),
    "heat_index_c": Quantity("Heat index", "°C", 1),
    "demand_ratio": Quantity("Demand vs high-day peak", "%", 0, 100.0),
    "incident_ratio": Quantity("311 incidents vs usual", "× usual", 1),
}


def quantity(metric: str) -> Quantity:
    """The metric's quantity; an unknown metric is shown by its name, without a unit."""
    return QUANTITIES.get(metric, Quantity(metric, ""))


def unit_of(metric: str) -> str:
    return quantity(metric).unit


def metric_label(metric: str) -> str:
    """`Congestion (%)`; the bare name for a metric without a quantity."""
    info = QUANTITIES.get(metric)
    return f"{info.label} ({info.unit})" if info else metric


def display_value(metric: str, value: float | None) -> float | None:
    """Stored value -> the number shown (scaled, rounded); None stays None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    info = QUANTITIES.get(metric)
    if info is None:  # no declared precision: four significant digits
        return float(f"{float(value):.4g}")
    return round(float(value) * info.scale, info.decimals)


def format_value(metric: str, value: float | None) -> str:
    """`1,234.5 MW`, `42 AQI`, `37 %`; `no data` when missing."""
    shown = display_value(metric, value)
    if shown is None:
        return "no data"
    info = quantity(metric)
    decimals = info.decimals if metric in QUANTITIES else _natural_decimals(shown)
    return f"{shown:,.{decimals}f} {info.unit}".strip()


def _natural_decimals(value: float) -> int:
    """Decimals for a number without a declared precision: up to 4 significant digits."""
    if value == 0 or abs(value) >= 1000:
        return 0
    return max(0, 3 - math.floor(math.log10(abs(value))))
