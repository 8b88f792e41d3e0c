"""ui.formatting: units, ages, local times, EPA categories, Markdown escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.units import display_value, format_value
from ui.formatting import city_tz, format_age, local_time, md_escape


@pytest.mark.parametrize(("metric", "value", "text"), [
    ("demand_mw", 1234.56, "1,234.6 MW"),
    ("congestion", 0.357, "36 %"),
    ("us_aqi", 42.4, "42 AQI"),
    ("temperature_c", -3.04, "-3.0 °C"),
    ("pm2_5", None, "no data"),
    ("pm2_5", float("nan"), "no data"),
])
def test_format_value_has_units_and_says_no_data(metric, value, text) -> None:
    assert format_value(metric, value) == text


def test_display_value_scales_congestion_to_percent() -> None:
    assert display_value("congestion", 0.5) == 50.0
    assert display_value("demand_mw", None) is None


@pytest.mark.parametrize(("seconds", "text"), [
    (5, "5 s"), (89, "89 s"), (600, "10 min"), (3 * 3600, "3.0 h"), (12 * 3600, "12 h"),
    (3 * 86400, "3 d"), (None, "unknown"), (-4, "0 s"),
])
def test_format_age(seconds, text) -> None:
    assert format_age(seconds) == text


def test_local_time_uses_the_city_zone_and_dst() -> None:
    ny = city_tz("America/New_York")
    assert local_time(datetime(2026, 1, 15, 17, 5, tzinfo=UTC), ny) == "2026-01-15 12:05 EST"
    assert local_time(datetime(2026, 7, 15, 17, 5, tzinfo=UTC), ny) == "2026-07-15 13:05 EDT"
    assert local_time(None, ny) == "never"
    assert str(city_tz("Not/AZone")) == "UTC"


def test_md_escape_neutralises_markdown_directives() -> None:
    assert md_escape(":red[x] **b**") == "\\:red\\[x\\] \\*\\*b\\*\\*"
