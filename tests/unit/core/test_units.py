"""One unit per quantity: what alerts, recommendations and pages print for a stored value."""

from __future__ import annotations

import pytest

from core.units import display_value, format_value, metric_label, quantity, unit_of


def test_congestion_is_stored_as_a_fraction_and_shown_in_percent() -> None:
    assert format_value("congestion", 0.3653) == "37 %"
    assert display_value("congestion", 0.1941) == 19
    assert metric_label("congestion") == "Congestion (%)"
    assert quantity("congestion").stored_unit == "fraction"


def test_ratios_are_percent_or_multiples_not_bare_fractions() -> None:
    assert format_value("demand_ratio", 1.1) == "110 %"
    assert format_value("incident_ratio", 2.0) == "2.0 × usual"


@pytest.mark.parametrize(("metric", "value", "text"), [
    ("demand_mw", 1234.56, "1,234.6 MW"),
    ("us_aqi", 42.4, "42 AQI"),
    ("temperature_c", -3.25, "-3.2 °C"),
    ("pm2_5", None, "no data"),
    ("pm2_5", float("nan"), "no data"),
    ("no_such_metric", 0.123456, "0.1235"),
])
def test_format_value(metric: str, value: float | None, text: str) -> None:
    assert format_value(metric, value) == text


def test_units() -> None:
    assert unit_of("demand_mw") == "MW"
    assert unit_of("high_day_peak_mw") == "MW"
    assert unit_of("no_such_metric") == ""
