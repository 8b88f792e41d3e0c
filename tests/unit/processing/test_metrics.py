"""The zone_latest metric list matches the read-model contract and every kind has a max age."""

from __future__ import annotations

from core.units import QUANTITIES
from core.vocabulary import SOURCE_KINDS
from pipeline.processing.metrics import LATEST_METRICS, MAX_AGE

# docs/read models: zone_latest.metrics
CONTRACT = {"demand_mw", "demand_forecast_mw", "temperature_c", "relative_humidity_pct",
            "wind_speed_kmh", "precipitation_mm", "us_aqi", "pm2_5", "congestion", "speed_kmh",
            "incidents_24h", "open_incidents"}


def test_latest_metrics_are_exactly_the_contracts() -> None:
    assert set(LATEST_METRICS) == CONTRACT


def test_every_metric_comes_from_a_catalog_source_kind_with_a_freshness_limit() -> None:
    for metric, kind in LATEST_METRICS.items():
        assert kind in SOURCE_KINDS, metric
        assert MAX_AGE[kind].total_seconds() > 0


def test_every_zone_metric_has_a_label_and_unit() -> None:
    assert set(LATEST_METRICS) <= set(QUANTITIES)
