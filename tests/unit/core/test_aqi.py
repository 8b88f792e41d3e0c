"""The one EPA AQI category function, at every breakpoint edge."""

from __future__ import annotations

import pytest

from core.aqi import AQI_CATEGORIES, aqi_category, aqi_category_doc, aqi_index

# EPA / AirNow, written out here as the oracle: (lowest index, highest index, name, colour)
EPA = [(0, 50, "Good", "#00e400"), (51, 100, "Moderate", "#ffff00"),
       (101, 150, "Unhealthy for Sensitive Groups", "#ff7e00"), (151, 200, "Unhealthy", "#ff0000"),
       (201, 300, "Very Unhealthy", "#8f3f97"), (301, 500, "Hazardous", "#7e0023")]


@pytest.mark.parametrize(("low", "high", "name", "color"), EPA)
def test_each_category_spans_its_epa_breakpoints(low: int, high: int, name: str,
                                                 color: str) -> None:
    for value in (low, high, low - 0.5 if low else low, high + 0.4):
        category = aqi_category(value)
        assert (category.name, category.color) == (name, color), value
    if high < 500:
        assert aqi_category(high + 0.5).name != name  # rounds up into the next category
        assert aqi_category(high + 1).name != name


def test_rounding_happens_before_placing_50_4_is_good_50_5_is_moderate() -> None:
    assert aqi_category(50.4).name == "Good"
    assert aqi_category(50.5).name == "Moderate"
    assert aqi_index(50.4) == 50 and aqi_index(50.5) == 51


def test_beyond_the_index_stays_hazardous() -> None:
    assert aqi_category(500).name == "Hazardous"
    assert aqi_category(501).name == "Hazardous"
    assert aqi_category(9999.0).name == "Hazardous"


@pytest.mark.parametrize("value", [None, float("nan"), float("inf"), -0.4, -1, -500])
def test_missing_negative_and_non_finite_values_have_no_category(value: float | None) -> None:
    assert aqi_category(value) is None
    assert aqi_category_doc(value) is None


def test_the_stored_form_is_name_and_official_colour() -> None:
    assert aqi_category_doc(151.2) == {"name": "Unhealthy", "color": "#ff0000"}


def test_categories_are_ordered_and_contiguous() -> None:
    uppers = [c.upper for c in AQI_CATEGORIES]
    assert uppers == sorted(uppers) and uppers[-1] == 500
