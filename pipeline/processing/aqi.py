"""US AQI -> EPA category name and colour (EPA Technical Assistance Document, AirNow palette).

The AQI is an integer index, so an averaged value is rounded before it is placed; each
category includes its upper breakpoint (50 is Good, 51 Moderate).
"""

from __future__ import annotations

import math
from typing import NamedTuple


class AqiCategory(NamedTuple):
    upper: int  # highest AQI in the category
    name: str
    color: str


AQI_CATEGORIES = (
    AqiCategory(50, "Good", "#00e400"),
    AqiCategory(100, "Moderate", "#ffff00"),
    AqiCategory(150, "Unhealthy for Sensitive Groups", "#ff7e00"),
    AqiCategory(200, "Unhealthy", "#ff0000"),
    AqiCategory(300, "Very Unhealthy", "#8f3f97"),
    AqiCategory(10**9, "Hazardous", "#7e0023"),
)


def aqi_category(us_aqi: float | None) -> dict[str, str] | None:
    """{"name", "color"} for an AQI value; None for no (or no finite) value."""
    if us_aqi is None or not math.isfinite(us_aqi) or us_aqi < 0:
        return None
    index = math.floor(us_aqi + 0.5)
    for category in AQI_CATEGORIES:
        if index <= category.upper:
            return {"name": category.name, "color": category.color}
    return None  # unreachable: the last category is open-ended
