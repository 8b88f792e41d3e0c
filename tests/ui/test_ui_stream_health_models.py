"""ui.stream_tables, ui.health_tables and ui.model_tables from stored documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from core.catalog import get_city
from tests.ui.seed_docs import spec_registry, spec_scorecard
from ui.health_tables import failures_table, for_city, freshness_table, last_runs
from ui.model_tables import (
    MODEL_TITLES,
    actuals_frame,
    attention_frame,
    backtest_metrics,
    calibration_frame,
    city_forecast,
    comparison_table,
    edges_frame,
    forecast_caption,
    forecast_frame,
    graph_nodes,
    importances_frame,
    live_scored_frame,
    metric_label,
    metric_text,
    next_score_text,
    profile_frame,
    residuals_frame,
    same_profile,
    scorecard_table,
    series_label,
    weekly_frame,
    zone_share,
)
from ui.stream_tables import consumer_state, dlq_table, latest_messages, per_minute, rate_table

NOW = datetime(2026, 11, 28, 15, 20, 30, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
NYC = get_city("nyc")


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


def test_forecast_frame_pads_missing_quantiles() -> None:
    hours = [NOW + timedelta(hours=h) for h in range(3)]
    forecast = forecast_frame({"hours": hours, "p10": [1, 2, 3], "p50": [2, 3, 4], "p90": [3]})
    assert forecast["p50"].tolist() == [2, 3, 4]
    assert forecast["p90"].isna().tolist() == [False, True, True]
    assert forecast_frame(None).empty


def test_city_forecast_prefers_the_day_ahead_issuance() -> None:
    day_ahead, next_24h = {"kind": "day-ahead"}, {"kind": "next-24h"}
    assert city_forecast({"day-ahead": day_ahead, "next-24h": next_24h}) is day_ahead
    assert city_forecast({"day-ahead": None, "next-24h": next_24h}) is next_24h
    assert city_forecast({"day-ahead": None, "next-24h": None}) is None
    hours = [datetime(2026, 11, 30, 5, tzinfo=UTC) + timedelta(hours=h) for h in range(24)]
    text = forecast_caption({"kind": "day-ahead", "hours": hours, "issued_at": NOW,
                             "model_version": "v1", "interval": "quantile+conformal"}, NY)
    assert text.startswith("Day-ahead forecast for Mon 2026-11-30 · issued 2026-11-28 10:20 EST")
    assert text.endswith("own quantiles, widened on held-out weeks (conformal)")
    odd = forecast_caption({"kind": "next-24h", "hours": hours, "interval": "other"}, NY)
    assert odd.endswith("other p10–p90 band")


def test_actuals_of_a_zone_and_of_the_city_series() -> None:
    ts = pd.to_datetime([NOW, NOW, NOW + timedelta(hours=1)], utc=True)
    frame = pd.DataFrame({"zone_id": ["a", "b", "a"], "ts": ts, "demand_mw": [60.0, 40.0, 61.0],
                          "demand_forecast_mw": [59.0, 41.0, 60.0]})
    zone = actuals_frame(frame, "a")
    assert zone["demand_mw"].tolist() == [60.0, 61.0]
    assert zone["eia_df_mw"].tolist() == [59.0, 60.0]
    city = actuals_frame(frame, None)  # the second hour lacks zone b: no partial sum
    assert city["demand_mw"].tolist() == [100.0]
    assert city["eia_df_mw"].tolist() == [100.0]
    assert actuals_frame(pd.DataFrame(), None).empty


def test_metric_text_never_reads_none_or_nan() -> None:
    assert metric_text("mape", 4.123) == "4.12"
    assert metric_text("rmse", 1234.56) == "1,234.6"
    assert metric_text("bias_mw", -12.04) == "-12.0"
    assert metric_text("skill_vs_baseline", 0.25) == "+25.0 %"
    assert metric_text("issuances", 3) == "3"
    for missing in (None, float("nan"), float("inf"), "x"):
        assert metric_text("mape", missing) == "no data"
    assert metric_label("mape") == "MAPE (%)" and metric_label("rmse") == "RMSE (MW)"
    assert metric_label("train_seconds") == "Training (s)"


def test_comparison_table_has_every_model_and_no_none() -> None:
    registry = spec_registry(NYC, "lstm", NOW)
    registry["metrics"]["eia_df_mape"] = None
    table = comparison_table({"lstm": {"registry": registry}, "tft": {"registry": None}},
                             ("lstm", "tft", "gnn", "gbm"))
    assert table["Model"].tolist() == ["LSTM", "TFT", "GNN", "LightGBM"]
    lstm = table.iloc[0]
    assert lstm["MAPE (%)"] == "4.10" and lstm["MAPE, EIA-DF hours (%)"] == "4.00"
    assert lstm["EIA DF MAPE (%)"] == "no data" and lstm["Training (s)"] == "12.5"
    assert set(table.iloc[3].drop("Model")) == {"not trained"}
    assert {"Naive 168 h MAPE (%)", "Naive 24 h MAPE (%)", "RMSE (MW)", "Bias (MW)",
            "Pinball (MW)", "Coverage p10–p90 (%)"} <= set(table.columns)
    assert_no_missing_text(table)


def test_scorecard_says_when_the_first_score_appears() -> None:
    pending = spec_scorecard(NYC, "gnn", NOW, scored=False)
    scored = spec_scorecard(NYC, "lstm", NOW, scored=True)
    table = scorecard_table({"lstm": {"scorecard": scored}, "tft": {"scorecard": None},
                             "gnn": {"scorecard": pending}}, NY).set_index("Model")
    assert list(table.index) == ["LSTM", "GNN"]
    assert table.loc["LSTM", "MAPE (%)"] == "4.50"
    assert table.loc["LSTM", "Issuances scored"] == "1"
    first = "first score after 2026-11-29 06:20 EST"  # next_score_at = NOW + 20 h
    assert table.loc["GNN", "MAPE (%)"] == first
    assert table.loc["GNN", "Next score"] == "2026-11-29 06:20 EST"
    assert table.loc["GNN", "Issuances scored"] == "0"
    assert_no_missing_text(table.reset_index())
    pending.pop("next_score_at")
    pending["pending"] = []
    table = scorecard_table({"gnn": {"scorecard": pending}}, NY)
    assert table.loc[0, "MAPE (%)"] == "not scored yet"
    assert table.loc[0, "Next score"] == "nothing pending"
    assert next_score_text(None, NY) == "not scored yet"


def test_backtest_profiles_calibration_residuals_and_weeks() -> None:
    registry = spec_registry(NYC, "lstm", NOW)
    horizon = profile_frame(registry, "by_horizon", "lstm")
    assert list(dict.fromkeys(horizon["method"])) == ["LSTM", "Seasonal naive (168 h)",
                                                      "24 h naive", "EIA DF"]
    assert len(horizon) == 4 * 24 and horizon["step"].max() == 23
    by_hour = profile_frame(registry, "by_hour", "lstm")
    assert by_hour[by_hour["method"] == "EIA DF"]["mape"].isna().sum() == 1  # a gap, no text
    assert profile_frame({}, "by_hour", "lstm").empty
    calibration = calibration_frame(registry).set_index("label")
    assert calibration.loc["p10–p90", "nominal"] == 80 and calibration.loc["p90", "observed"] == 88
    fractions = {"backtest": {"calibration": [{"nominal": 0.1, "observed": 0.12}]}}
    assert calibration_frame(fractions).iloc[0].tolist() == ["p10", 10.0, 12.0]
    from_metrics = calibration_frame({"metrics": {"coverage_p10_p90": 70.0}})
    assert from_metrics.iloc[0].tolist() == ["p10–p90", 80.0, 70.0]
    residuals = residuals_frame(registry)
    assert len(residuals) == 14 * 24
    first = residuals.iloc[0]
    assert first["residual"] == pytest.approx(first["actual"] - first["p50"])
    weekly = weekly_frame(registry, NY)
    assert weekly["mape"].tolist() == [4.3, 3.9] and weekly["week"].dt.tz is None
    live = live_scored_frame(spec_scorecard(NYC, "lstm", NOW, scored=True), NY)
    assert live["day"].tolist() == [pd.Timestamp("2026-11-26")] and live["mape"][0] == 4.5
    assert live_scored_frame(None, NY).empty
    by_start = live_scored_frame({"scored": [  # as scoring writes them: target_start, UTC
        {"issued_at": datetime(2026, 11, 26, 15, tzinfo=UTC),
         "target_start": datetime(2026, 11, 27, 5, tzinfo=UTC), "mape": 3.0},
        {"issued_at": datetime(2026, 11, 25, 15, tzinfo=UTC), "mape": None}]}, NY)
    assert by_start["day"].tolist() == [pd.Timestamp("2026-11-26"), pd.Timestamp("2026-11-27")]
    assert same_profile(horizon, horizon) and not same_profile(horizon, by_hour)


def test_tft_importances_nested_by_group_and_attention() -> None:
    registry = spec_registry(NYC, "tft", NOW)
    frame = importances_frame(registry)
    assert list(dict.fromkeys(frame["group"])) == ["static", "encoder", "decoder"]
    assert frame[frame["group"] == "decoder"]["variable"].iloc[0] == "temperature_forecast_c"
    assert attention_frame(registry)["hour"].tolist() == list(range(24))
    trained = attention_frame({"attention": {"hours": [-2, -1, 0, 1],
                                             "weights": [0.1, None, 0.5, 0.4]}})
    assert trained.values.tolist() == [[-2, 0.1], [0, 0.5], [1, 0.4]]
    flat = importances_frame({"variable_importances": {"a": 0.1, "b": 0.3}})
    assert flat["variable"].tolist() == ["b", "a"] and set(flat["group"]) == {"all"}
    listed = importances_frame({"variable_importances": [{"variable": "temp", "importance": 0.2},
                                                         {"name": "hour", "value": 0.7}]})
    assert listed["variable"].tolist() == ["hour", "temp"]
    assert importances_frame(None).empty and attention_frame(None).empty


def test_gnn_graph_of_subregions_marks_the_city_series() -> None:
    registry = spec_registry(NYC, "gnn", NOW)
    nodes = graph_nodes(registry, "ZONJ")
    assert len(nodes) == 11 and nodes.set_index("id").loc["ZONJ", "own"]
    assert nodes["own"].sum() == 1
    assert graph_nodes(registry, None)["own"].iloc[0]  # the city's series comes first
    registry["graph"]["nodes"][3]["own"] = True  # training flags the city's node
    assert graph_nodes(registry, None)["own"].tolist().index(True) == 3
    edges = edges_frame(registry)
    assert len(edges) == 10 and edges.iloc[0]["km"] == 25.0
    old = edges_frame({"edges": [{"src": "a", "dst": "b", "km": 1.0}, ["b", "c"]]})
    assert old.values.tolist()[0] == ["a", "b", 1.0] and pd.isna(old.iloc[1]["km"])
    columns = edges_frame({"graph": {"edges": {"source": ["a"], "target": ["b"], "km": [2]}}})
    assert columns.values.tolist() == [["a", "b", 2.0]]
    lists = edges_frame({"graph": {"edges": [["a", "b", 3.0]]}})  # the spec's list form
    assert lists.values.tolist() == [["a", "b", 3.0]]
    assert graph_nodes(None, "ZONJ").empty


def test_tiles_series_label_and_zone_share() -> None:
    tiles = backtest_metrics(spec_registry(NYC, "gbm", NOW))
    assert {k: v for k, (v, _) in tiles.items()} == {
        "MAPE (%)": "4.10", "Same hours (%)": "4.00", "EIA DF (%)": "5.20",
        "Naive 168 h (%)": "7.90", "Coverage (%)": "78.0"}
    assert "80 % is ideal" in tiles["Coverage (%)"][1]
    assert series_label("New York City", "NYIS", "ZONJ") == "New York City · NYIS ZONJ"
    assert series_label("Springfield", None, None) == "Springfield · city load"
    assert zone_share({"issued_at": NOW, "p50": [1000.0]},
                      {"issued_at": NOW, "p50": [125.0]}) == 0.125
    assert zone_share({"issued_at": NOW, "p50": [1000.0]},
                      {"issued_at": NOW - timedelta(hours=1), "p50": [125.0]}) is None
    assert MODEL_TITLES["gbm"] == "LightGBM"


def assert_no_missing_text(table: pd.DataFrame) -> None:
    text = table.astype(str).to_numpy().ravel().tolist()
    assert not [t for t in text if t.lower() in ("none", "nan", "nat", "<na>")], text
