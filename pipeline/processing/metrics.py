"""Which metrics a zone reports, the source kind each comes from, and how old a reading may be.

Labels and units are in core.units (one unit per quantity everywhere).
"""

from __future__ import annotations

from datetime import timedelta

# metric -> source kind it comes from
LATEST_METRICS: dict[str, str] = {
    "demand_mw": "power",
    "demand_forecast_mw": "power",
    "temperature_c": "weather",
    "relative_humidity_pct": "weather",
    "wind_speed_kmh": "weather",
    "precipitation_mm": "weather",
    "us_aqi": "aqi",
    "pm2_5": "aqi",
    "congestion": "traffic",
    "speed_kmh": "traffic",
    "incidents_24h": "incidents",
    "open_incidents": "incidents",
}

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
