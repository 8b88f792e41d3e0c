"""EPA AQI categories: names, colours and the breakpoints between them."""

from __future__ import annotations

import pytest

from pipeline.processing.aqi import aqi_category

# EPA / AirNow: (highest AQI of the category, name, colour)
EPA = [(50, "Good", "#00e400"), (100, "Moderate", "#ffff00"),
       (150, "Unhealthy for Sensitive Groups", "#ff7e00"), (200, "Unhealthy", "#ff0000"),
       (300, "Very Unhealthy", "#8f3f97")]


@pytest.mark.parametrize(("upper", "name", "color"), EPA)
def test_each_category_includes_its_upper_breakpoint_and_not_the_next_value(
        upper: int, name: str, color: str) -> None:
    assert aqi_category(upper) == {"name": name, "color": color}
    assert aqi_category(upper + 1)["name"] != name


def test_zero_is_good_and_beyond_300_is_hazardous() -> None:
    assert aqi_category(0)["name"] == "Good"
    assert aqi_category(301) == {"name": "Hazardous", "color": "#7e0023"}
    assert aqi_category(999)["name"] == "Hazardous"


def test_averaged_values_are_rounded_to_the_integer_index_first() -> None:
    assert aqi_category(50.4)["name"] == "Good"
    assert aqi_category(50.5)["name"] == "Moderate"


@pytest.mark.parametrize("value", [None, float("nan"), -1])
def test_no_value_has_no_category(value: float | None) -> None:
    assert aqi_category(value) is None
