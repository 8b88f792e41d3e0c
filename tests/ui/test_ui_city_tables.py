"""ui.city_tables: KPIs, zone table, alerts and recommendations from read-model documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from ui.city_tables import (
    alerts_table,
    city_kpis,
    map_frame,
    metric_gap,
    recommendations_table,
    zone_detail,
    zone_table,
)

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
NAMES = {"z1": "Harlem", "z2": "Chelsea"}


def zone_doc(zone_id: str, risk: float, demand: float | None, aqi: float | None,
             aqi_seen: datetime | None = NOW) -> dict:
    def entry(value, seen=NOW):
        return {"value": value, "observed_at": seen, "unit": ""}

    return {"zone_id": zone_id, "zone_name": NAMES[zone_id], "updated_at": NOW,
            "source": "simulated", "risk_score": risk, "risk_level": "high",
            "metrics": {"demand_mw": entry(demand), "us_aqi": entry(aqi, aqi_seen),
                        "congestion": entry(0.4), "temperature_c": entry(20.0),
                        "open_incidents": entry(3)}, "open_alerts": 1, "anomalies": []}


def test_metric_gap_says_missing_stale_or_nothing() -> None:
    assert metric_gap({"value": 5, "observed_at": NOW}, NOW, "us_aqi") is None
    assert metric_gap({"value": None, "observed_at": NOW - timedelta(hours=3)}, NOW,
                      "us_aqi") == "no data (last seen 3.0 h ago)"
    assert metric_gap(None, NOW, "us_aqi") == "no data (never seen)"
    assert metric_gap({"value": 5, "observed_at": NOW - timedelta(hours=2)}, NOW,
                      "us_aqi") == "stale (last seen 2.0 h ago)"
    # demand from EIA lags: two hours old is still fine
    assert metric_gap({"value": 5, "observed_at": NOW - timedelta(hours=2)}, NOW,
                      "demand_mw") is None


def test_zone_table_sorted_by_risk_with_gaps_and_epa_category() -> None:
    docs = [zone_doc("z1", 20, 100.0, 42), zone_doc("z2", 80, None, None,
                                                     aqi_seen=NOW - timedelta(minutes=90))]
    table = zone_table(docs, NAMES, NOW, NY)
    assert table["Zone"].tolist() == ["Chelsea", "Harlem"]
    chelsea, harlem = table.iloc[0], table.iloc[1]
    assert chelsea["Data gaps"] == ("Demand: no data (last seen 0 s ago); "
                                    "US AQI: no data (last seen 1.5 h ago)")
    assert harlem["Data gaps"] == "none"
    assert harlem["AQI category"] == "Good"  # derived when processing stored none
    assert harlem["Congestion (%)"] == 40
    assert harlem["Updated"] == "10:00 EST"


def test_map_frame_keeps_zones_without_data_as_missing() -> None:
    zones = pd.DataFrame({"zone_id": ["z1", "z2"], "name": ["Harlem", "Chelsea"],
                          "lat": [40.8, 40.7], "lon": [-73.9, -74.0]})
    points = map_frame([zone_doc("z1", 20, 100.0, 42)], zones, "us_aqi")
    assert points["value"].tolist()[0] == 42
    assert pd.isna(points["value"].tolist()[1])
    assert map_frame([zone_doc("z1", 20, 100.0, 42)], zones, "risk_score")["value"][0] == 20


def test_kpis_prefer_city_latest_and_derive_the_rest() -> None:
    docs = [zone_doc("z1", 20, 100.0, 40), zone_doc("z2", 80, 50.0, 60)]
    derived = city_kpis(None, docs)
    assert derived["demand_mw"] == 150.0
    assert derived["avg_aqi"] == 50 and derived["worst_aqi"] == 60
    assert derived["worst_aqi_zone"] == "z2"
    assert derived["open_alerts"] == 2 and derived["source"] == "simulated"
    stored = city_kpis({"demand_mw": 999.0, "avg_aqi": None}, docs)
    assert stored["demand_mw"] == 999.0 and stored["avg_aqi"] == 50


def test_alerts_most_severe_first_with_input_ages() -> None:
    alerts = [{"zone_id": "z1", "kind": "air_quality", "severity": "warning",
               "opened_at": NOW - timedelta(minutes=5), "message": "AQI high",
               "inputs": {"us_aqi": {"value": 160, "observed_at": NOW, "age_s": 600}}},
              {"zone_id": "z2", "kind": "heat", "severity": "critical",
               "opened_at": NOW - timedelta(minutes=50), "message": "hot",
               "inputs": {"temperature_c": {"value": 36.0,
                                            "observed_at": NOW - timedelta(minutes=3)}}}]
    table = alerts_table(alerts, NAMES, NOW, NY)
    assert table["Severity"].tolist() == ["critical", "warning"]
    assert table["Age"].tolist() == ["50 min", "5 min"]
    assert table["Inputs (value, age)"].tolist() == ["temperature_c = 36.0 °C (3 min old)",
                                                     "us_aqi = 160 AQI (10 min old)"]
    assert table["Kind"][0] == "heat" and table["Zone"][0] == "Chelsea"


def test_recommendations_by_priority() -> None:
    recs = [{"zone_id": "z1", "action": "b", "priority": "low", "issued_at": NOW},
            {"zone_id": "z2", "action": "a", "priority": "critical", "issued_at": NOW}]
    assert recommendations_table(recs, NAMES, NY)["Action"].tolist() == ["a", "b"]
    assert recommendations_table([], NAMES, NY).empty


def test_zone_detail_lists_every_metric_with_why_missing() -> None:
    detail = zone_detail(zone_doc("z1", 20, 100.0, None), NOW, NY).set_index("Metric")
    assert detail.loc["Demand (estimate)", "Value"] == "100.0 MW"
    assert detail.loc["US AQI", "Value"] == "no data (last seen 0 s ago)"
    assert detail.loc["PM2.5", "Value"] == "no data (never seen)"


def test_kpis_without_any_value_are_none_not_zero() -> None:
    doc = {"zone_id": "z1", "metrics": {}, "updated_at": NOW, "open_alerts": 0}
    kpis = city_kpis(None, [doc])
    assert kpis["demand_mw"] is None and kpis["open_incidents"] is None
    assert kpis["avg_aqi"] is None and kpis["open_alerts"] == 0


def test_simulated_kinds_lists_each_kind_a_zone_reads_from_the_simulator():
    from ui.city_tables import simulated_kinds

    docs = [{"sources": {"weather": "open-meteo", "traffic": "simulated"}},
            {"sources": {"power": "simulated", "weather": "open-meteo"}}, {"sources": {}}]
    assert simulated_kinds(docs) == ["traffic", "power"]
    assert simulated_kinds([{"sources": {"weather": "open-meteo"}}]) == []
