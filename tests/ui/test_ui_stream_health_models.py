"""ui.stream_tables, ui.health_tables and ui.model_tables from stored documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from ui.health_tables import failures_table, for_city, freshness_table, last_runs
from ui.model_tables import (
    backtest_metrics,
    edges_frame,
    forecast_frame,
    importances_frame,
    scorecard_table,
)
from ui.stream_tables import consumer_state, dlq_table, latest_messages, per_minute, rate_table

NOW = datetime(2026, 11, 28, 15, 20, 30, tzinfo=UTC)
NY = ZoneInfo("America/New_York")


def feed(rows: list[tuple[str, float]]) -> pd.DataFrame:
    """(topic, minutes ago) -> a live-feed frame, newest first like load_live_feed."""
    frame = pd.DataFrame([{"topic": t, "partition": 0, "offset": i, "zone_id": "z1",
                           "consumed_at": NOW - timedelta(minutes=m),
                           "observed_at": NOW - timedelta(minutes=m + 1), "summary": f"s{i}",
                           "source": "simulated"} for i, (t, m) in enumerate(rows)])
    return frame.sort_values("consumed_at", ascending=False).reset_index(drop=True)


def test_per_minute_counts_by_topic_with_zero_minutes() -> None:
    counts = per_minute(feed([("weather_obs", 0.1), ("weather_obs", 0.2), ("aqi_stream", 2.0)]),
                        NOW, 10, NY)
    assert len(counts) == 10
    assert counts["weather_obs"].iloc[-1] == 2
    assert counts["aqi_stream"].iloc[-3] == 1
    assert counts["traffic_events"].sum() == 0
    assert str(counts.index.tz) == "America/New_York"


def test_rate_table_uses_window_and_reported_lag() -> None:
    counts = per_minute(feed([("weather_obs", 0.1)] * 10), NOW, 10, NY)
    rates = rate_table(counts, {"lag": {"weather_obs": 7}}, 5).set_index("Topic")
    assert rates.loc["weather_obs", "msg/min (5 min)"] == 2.0
    assert rates.loc["weather_obs", "Lag (msgs)"] == 7
    assert pd.isna(rates.loc["aqi_stream", "Lag (msgs)"])


def test_latest_messages_newest_first_per_topic() -> None:
    rows = latest_messages(feed([("weather_obs", 5), ("weather_obs", 1), ("aqi_stream", 0)]),
                           "weather_obs", 5, {"z1": "Harlem"}, NY)
    assert rows["Summary"].tolist() == ["s1", "s0"]
    assert rows["Zone"].tolist() == ["Harlem", "Harlem"]


def test_consumer_state_says_reconnecting_with_the_error() -> None:
    level, sentence, note = consumer_state({"updated_at": NOW - timedelta(seconds=5),
                                            "state": "reconnecting",
                                            "last_error": "Kafka: all brokers down"}, NOW)
    assert level == "reconnecting" and "all brokers down" in sentence
    assert note.startswith("reconnecting")


def test_consumer_state_from_its_last_report() -> None:
    assert consumer_state(None, NOW)[0] == "unknown"
    assert consumer_state({"updated_at": NOW - timedelta(seconds=20)}, NOW)[0] == "ok"
    level, sentence, note = consumer_state({"updated_at": NOW - timedelta(minutes=10)}, NOW)
    assert level == "stale" and "sidecar" in sentence and note == "last report 10 min ago"


def test_dlq_table_has_reason_and_age() -> None:
    table = dlq_table([{"topic": "t", "reason": "bad", "received_at": NOW - timedelta(seconds=30),
                        "stage": "consumer"}], NOW, NY)
    assert table.iloc[0][["Reason", "Age", "Stage"]].tolist() == ["bad", "30 s", "consumer"]


def runs() -> pd.DataFrame:
    def run(job, source, minutes, ok=True, error=None, city="nyc"):
        started = pd.Timestamp(NOW - timedelta(minutes=minutes))
        return {"job": job, "city_id": city, "source": source, "provider": "p",
                "started_at": started, "finished_at": started, "duration_s": 1.5, "ok": ok,
                "error": error, "attempts": 1, "requests": 1, "records": 10, "rejects": 0}

    return pd.DataFrame([run("ingest", "weather", 30, ok=False, error="timeout"),
                         run("ingest", "weather", 5), run("process", None, 2),
                         run("consume", None, 1, city=None), run("ingest", "aqi", 3, city="sf")])


def test_last_runs_one_row_per_job_and_source_with_failures() -> None:
    table = last_runs(for_city(runs(), "nyc"), NY, NOW)
    assert table[["Job", "Source"]].values.tolist() == [["consume", "-"], ["ingest", "weather"],
                                                       ["process", "-"]]
    weather = table.set_index("Source").loc["weather"]
    assert weather["OK"] and weather["Runs"] == 2 and weather["Failures"] == 1
    assert weather["Last error"] == "timeout" and weather["Age"] == "5 min"


def test_failures_and_freshness() -> None:
    assert failures_table(runs(), NY)["Error"].tolist() == ["timeout"]
    fresh = freshness_table({"zone_latest": NOW - timedelta(minutes=2),
                             "consumer_status": NOW - timedelta(minutes=30), "alerts": NOW,
                             "dlq": None}, NOW, NY).set_index("Collection")["State"]
    assert fresh.to_dict() == {"zone_latest": "fresh", "consumer_status": "stale",
                               "alerts": "event-driven", "dlq": "empty"}


def test_model_tables_from_registry_shapes() -> None:
    hours = [NOW + timedelta(hours=h) for h in range(3)]
    forecast = forecast_frame({"hours": hours, "p10": [1, 2, 3], "p50": [2, 3, 4], "p90": [3]})
    assert forecast["p50"].tolist() == [2, 3, 4]
    assert forecast["p90"].isna().tolist() == [False, True, True]
    assert forecast_frame(None).empty
    registry = {"metrics": {"mape": 4.2, "custom": 1.0, "note": "x"},
                "variable_importances": [{"variable": "temp", "importance": 0.2},
                                         {"name": "hour", "value": 0.7}],
                "edges": [{"source": "a", "target": "b", "km": 1.0}, ["b", "c", 2.0]]}
    assert backtest_metrics(registry) == {"MAPE (%)": 4.2, "custom": 1.0}
    assert importances_frame(registry)["variable"].tolist() == ["hour", "temp"]
    assert importances_frame({"variable_importances": {"a": 0.1, "b": 0.3}})["variable"][0] == "b"
    assert edges_frame(registry).values.tolist() == [["a", "b", 1.0], ["b", "c", 2.0]]
    card = scorecard_table({"lstm": {"scorecard": {"mape": 5.0, "updated_at": NOW}},
                            "tft": {"scorecard": None}}, NY)
    assert card["Model"].tolist() == ["LSTM"] and card["MAPE (%)"][0] == 5.0
