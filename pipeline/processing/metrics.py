"""Names, units and source kinds of the metrics shown per zone (zone_latest, alert inputs)."""

from __future__ import annotations

from datetime import timedelta

# metric -> (unit, source kind it comes from)
LATEST_METRICS: dict[str, tuple[str, str]] = {
    "demand_mw": ("MW", "power"),
    "demand_forecast_mw": ("MW", "power"),
    "temperature_c": ("°C", "weather"),
    "relative_humidity_pct": ("%", "weather"),
    "wind_speed_kmh": ("km/h", "weather"),
    "precipitation_mm": ("mm", "weather"),
    "us_aqi": ("US AQI", "aqi"),
    "pm2_5": ("µg/m³", "aqi"),
    "congestion": ("fraction", "traffic"),
    "speed_kmh": ("km/h", "traffic"),
    "incidents_24h": ("count", "incidents"),
    "open_incidents": ("count", "incidents"),
}
# derived yardsticks that appear among alert/recommendation inputs
DERIVED_UNITS = {"high_day_peak_mw": "MW", "typical_daily_incidents": "count/day",
                 "heat_index_c": "°C", "demand_ratio": "fraction", "incident_ratio": "ratio"}

# How old a reading may be and still count as current, per source kind. Older readings are
# shown as "no data (last seen ...)" with their time, never as a current value. Power allows
# more because EIA publishes hourly demand an hour or two late.
MAX_AGE: dict[str, timedelta] = {
    "weather": timedelta(hours=2),
    "aqi": timedelta(hours=3),
    "traffic": timedelta(hours=1),
    "power": timedelta(hours=4),
    "incidents": timedelta(hours=6),
}


def unit_of(metric: str) -> str:
    if metric in LATEST_METRICS:
        return LATEST_METRICS[metric][0]
    return DERIVED_UNITS.get(metric, "")
