"""US AQI -> EPA category (EPA Technical Assistance Document for the AQI, AirNow palette).

The one AQI category function of City Live: processing stores it in zone_latest, alerts name
it, and the UI colours badges, tables and maps with it.

The AQI is an integer index, so a value (an hourly mean, say) is rounded half up before it is
placed, and each category includes its upper breakpoint: 50.4 -> 50 -> Good, 50.5 -> 51 ->
Moderate. A negative, missing or non-finite value has no category (None). Values above 500 are
beyond the index; they stay Hazardous.
"""

from __future__ import annotations

import math
from typing import NamedTuple


class AqiCategory(NamedTuple):
    upper: int  # highest AQI index in the category
    name: str
    color: str  # the official hex colour
    badge: str  # the nearest Streamlit badge colour


AQI_CATEGORIES = (
    AqiCategory(50, "Good", "#00e400", "green"),
    AqiCategory(100, "Moderate", "#ffff00", "yellow"),
    AqiCategory(150, "Unhealthy for Sensitive Groups", "#ff7e00", "orange"),
    AqiCategory(200, "Unhealthy", "#ff0000", "red"),
    AqiCategory(300, "Very Unhealthy", "#8f3f97", "violet"),
    AqiCategory(500, "Hazardous", "#7e0023", "red"),
)


def aqi_index(us_aqi: float | None) -> int | None:
    """The integer index a value stands for (rounded half up); None when it has none."""
    if us_aqi is None or not math.isfinite(us_aqi) or us_aqi < 0:
        return None
    return math.floor(us_aqi + 0.5)


def aqi_category(us_aqi: float | None) -> AqiCategory | None:
    """The EPA category of an AQI value, or None for a missing, negative or non-finite one."""
    index = aqi_index(us_aqi)
    if index is None:
        return None
    for category in AQI_CATEGORIES:
        if index <= category.upper:
            return category
    return AQI_CATEGORIES[-1]  # beyond the index (> 500): still Hazardous


def aqi_category_doc(us_aqi: float | None) -> dict[str, str] | None:
    """{"name", "color"} as stored in read models; None when there is no category."""
    category = aqi_category(us_aqi)
    return None if category is None else {"name": category.name, "color": category.color}
