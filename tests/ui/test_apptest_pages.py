"""Every page through streamlit.testing (AppTest) against the real local MongoDB: with data
(nyc, seeded), without data (chicago, catalog only) and with bad query parameters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from core.catalog import get_city
from core.vocabulary import MODEL_NAMES, C
from pipeline.history import day_id, read_city_day
from tests.ui.model_checks import assert_models_page_complete
from tests.ui.ui_env import APP, Seeded, clear_streamlit_caches
from ui.model_tables import MODEL_TITLES

pytestmark = pytest.mark.integration

PAGES = {"analytics": "pages/history_analytics.py", "models": "pages/model_forecasts.py",
         "live_stream": "pages/stream_monitor.py", "pipeline_health": "pages/pipeline_status.py"}
NYC = get_city("nyc")
NYC_TZ = ZoneInfo(NYC.timezone)


@pytest.fixture(autouse=True)
def fresh_caches(seeded_db: Seeded) -> Iterator[None]:
    """Each test reads the database as it is now, not what an earlier test cached."""
    clear_streamlit_caches()
    yield
    seeded_db.db[C.CITY_REQUESTS].delete_many({})


def app(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    if page:
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "success",
                                  "warning", "error") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


# AppTest does not keep the key of a display-only st.dataframe: find tables by a column
# only that table has.
TABLE_COLUMNS = {"zone_table": "Data gaps", "alerts_table": "Inputs (value, age)",
                 "series_table": "zone", "scorecard_table": "Pending issuances",
                 "comparison_table": "Training (s)",
                 "rate_table": "Lag (msgs)", "latest_weather_obs": "Partition/offset",
                 "dlq_table": "Reason", "runs_table": "Last error",
                 "freshness_table": "Collection", "sidecars_table": "Dead-lettered"}


def frame_by_key(at: AppTest, key: str):
    column = TABLE_COLUMNS[key]
    matches = [df.value for df in at.dataframe if column in df.value.columns]
    assert matches, f"no {key} (column {column!r}) among {len(at.dataframe)} tables"
    return matches[0]


# --- City Live ----------------------------------------------------------------------------

def test_city_live_with_data_shows_kpis_zones_alerts(seeded_db: Seeded) -> None:
    at = app()
    assert at.title[0].value == "City Live · New York City"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Demand (MW)"] == "6,000"  # sum of zone demands = 6000 x weights (sum 1)
    assert metrics["Open alerts"] == "3"
    zones = frame_by_key(at, "zone_table")
    assert len(zones) == len(NYC.zones)
    scores = zones["Risk score"].tolist()
    assert scores == sorted(scores, reverse=True)
    gaps = zones.set_index("Zone id")["Data gaps"]
    assert gaps[NYC.zones[-1].zone_id].startswith("US AQI: no data (last seen 3.0 h ago)")
    assert gaps[NYC.zones[0].zone_id] == "none"
    alerts = frame_by_key(at, "alerts_table")
    assert alerts["Severity"].tolist() == ["critical", "warning", "info"]  # resolved one hidden
    assert "temperature_c = 35.2 °C (5 min old)" in alerts["Inputs (value, age)"][0]
    assert "SIMULATED DATA" in texts(at)
    assert at.query_params == {"city": "nyc", "zone": NYC.zones[0].zone_id}


def test_city_live_aqi_category_badges_follow_epa(seeded_db: Seeded) -> None:
    at = app()
    notes = [m.value for m in at.markdown if "-background[" in m.value]
    city = seeded_db.db[C.CITY_LATEST].find_one({"_id": "nyc"})
    assert city["worst_aqi"] > 100  # seeded so the worst zone is past "Moderate"
    assert notes[0].startswith(":yellow-background[Moderate]")  # the average
    assert notes[1].startswith(":orange-background[Unhealthy for Sensitive Groups]")


def test_city_without_data_is_requested_once_and_shows_loading(seeded_db: Seeded) -> None:
    at = app({"city": "chicago"})
    assert "Loading Chicago" in texts(at)
    requests = list(seeded_db.db[C.CITY_REQUESTS].find({"_id": "chicago"}))
    assert len(requests) == 1 and requests[0]["status"] == "requested"
    first = requests[0]["requested_at"]
    at.run()  # a rerun (the poll) must not write a second request or move the first
    requests = list(seeded_db.db[C.CITY_REQUESTS].find({}))
    assert [r["_id"] for r in requests] == ["chicago"]
    assert requests[0]["requested_at"] == first


def test_loading_city_shows_data_once_it_lands(seeded_db: Seeded) -> None:
    at = app({"city": "chicago"})
    assert "Loading Chicago" in texts(at)
    chicago = get_city("chicago")
    seeded_db.db[C.ZONE_LATEST].insert_one({
        "_id": f"chicago|{chicago.zones[0].zone_id}", "city_id": "chicago",
        "zone_id": chicago.zones[0].zone_id, "zone_name": chicago.zones[0].name,
        "updated_at": datetime.now(UTC), "source": "simulated", "metrics": {},
        "risk_score": 10, "risk_level": "low", "anomalies": [], "open_alerts": 0})
    try:
        clear_streamlit_caches()
        at.run()
        assert not at.exception
        assert "Loading Chicago" not in texts(at)
        assert len(frame_by_key(at, "zone_table")) == 1
        assert "no data (never seen)" in frame_by_key(at, "zone_table")["Data gaps"][0]
    finally:
        seeded_db.db[C.ZONE_LATEST].delete_many({"city_id": "chicago"})


def test_unknown_city_in_url_warns_and_falls_back(seeded_db: Seeded) -> None:
    at = app({"city": "nowhere"})
    assert any("Unknown city 'nowhere'" in w.value and "New York City" in w.value
               for w in at.warning)
    assert at.title[0].value == "City Live · New York City"
    assert at.query_params["city"] == "nyc"


def test_unknown_zone_in_url_warns_and_falls_back(seeded_db: Seeded) -> None:
    at = app({"city": "nyc", "zone": "z999"})
    assert any("Unknown zone 'z999'" in w.value for w in at.warning)
    assert at.query_params["zone"] == NYC.zones[0].zone_id


def test_link_text_from_the_url_cannot_inject_markdown(seeded_db: Seeded) -> None:
    at = app({"city": "[click](http://example.invalid)"})
    warning = at.warning[0].value
    assert "\\[click\\]\\(http\\:" in warning  # shown literally, not as a link
    assert "[click](" not in warning


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_survives_bad_query_params(seeded_db: Seeded, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGES[page])
    at.query_params.update({"city": "nowhere", "zone": "nope"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Unknown city 'nowhere'" in w.value for w in at.warning)
    assert any("Unknown zone 'nope'" in w.value for w in at.warning)


# --- selection across pages ---------------------------------------------------------------

def test_deep_link_opens_page_city_and_zone(seeded_db: Seeded) -> None:
    zone = NYC.zones[4]
    at = app({"city": "nyc", "zone": zone.zone_id}, page="models")
    assert at.title[0].value == "Model forecasts · New York City"
    assert f"Zone: {zone.name}" in at.caption[0].value
    assert at.query_params == {"city": "nyc", "zone": zone.zone_id}


def test_zone_choice_persists_across_pages_and_in_url(seeded_db: Seeded) -> None:
    zone = NYC.zones[6]
    at = app()
    at.selectbox(key="_zone_widget").set_value(zone.zone_id).run()
    assert at.query_params["zone"] == zone.zone_id
    at.switch_page(PAGES["analytics"]).run()  # a page without a zone selector
    assert at.query_params == {"city": "nyc", "zone": zone.zone_id}
    at.switch_page(PAGES["models"]).run()
    assert at.selectbox(key="_zone_widget").value == zone.zone_id
    assert f"Zone: {zone.name}" in at.caption[0].value


def test_city_choice_persists_across_pages(seeded_db: Seeded) -> None:
    at = app()
    at.selectbox(key="_city_widget").set_value("chicago").run()
    at.switch_page(PAGES["live_stream"]).run()
    assert at.title[0].value == "Live Stream · Chicago"
    assert at.query_params["city"] == "chicago"


# --- Analytics ----------------------------------------------------------------------------

def test_analytics_series_is_the_stored_history(seeded_db: Seeded) -> None:
    zone = NYC.zones[2]
    at = app(page="analytics")
    at.radio(key="an_range").set_value("24 h")
    at.multiselect(key="an_zones").set_value([zone.zone_id]).run()
    shown = frame_by_key(at, "series_table")
    assert set(shown["zone"]) == {zone.name}
    assert len(shown) == 24
    # the values are the city_day values of that zone at those hours, read straight from Mongo
    now = datetime.now(UTC)
    expected = {}
    for day in (now - timedelta(days=1), now):
        doc = read_city_day(seeded_db.db, day_id("nyc", day))
        for hour, value in zip(doc["hours"], doc["zones"][zone.zone_id]["demand_mw"],
                               strict=True):
            expected[hour.replace(tzinfo=UTC)] = value
    for ts, value in zip(shown["time"], shown["Demand (MW)"], strict=True):
        assert value == pytest.approx(expected[ts.to_pydatetime().astimezone(UTC)], abs=1e-3)
    assert at.get("download_button")[0].label == "Download CSV of this chart's data"


def test_analytics_city_aggregate_sums_demand(seeded_db: Seeded) -> None:
    at = app(page="analytics")
    at.radio(key="an_range").set_value("24 h").run()
    shown = frame_by_key(at, "series_table")
    assert set(shown["zone"]) == {"City total"}
    doc = read_city_day(seeded_db.db, day_id("nyc", datetime.now(UTC)))
    first_hour = doc["hours"][0].replace(tzinfo=UTC)
    total = sum(z["demand_mw"][0] for z in doc["zones"].values())
    row = shown[shown["time"].map(lambda t: t.to_pydatetime().astimezone(UTC)) == first_hour]
    assert row["Demand (MW)"].iloc[0] == pytest.approx(total, rel=1e-6)


def test_analytics_without_history_says_why(seeded_db: Seeded) -> None:
    at = app({"city": "chicago"}, page="analytics")
    assert "No history for Chicago in this range" in texts(at)
    assert "still being loaded (status requested" in texts(at)  # the request banner
    assert not at.get("download_button")


# --- Models -------------------------------------------------------------------------------

def test_models_page_with_models(seeded_db: Seeded) -> None:
    at = app(page="models")
    assert_models_page_complete(at, MODEL_NAMES)
    score = frame_by_key(at, "scorecard_table").set_index("Model")
    assert list(score.index) == [MODEL_TITLES[m] for m in MODEL_NAMES]
    last = MODEL_TITLES[MODEL_NAMES[-1]]  # seeded pending only: says when it is scored
    assert score.loc[last, "MAPE (%)"].startswith("first score after ")
    assert "model version 20260101T000000Z-lstm" in texts(at)
    assert "Day-ahead forecast for" in texts(at)  # the city's day-ahead issuance is drawn
    assert "**Subregion graph** · 11 subregions of NYIS, 10 edges" in texts(at)


def test_models_page_zone_view_says_estimate(seeded_db: Seeded) -> None:
    at = app(page="models")
    at.radio(key="mf_scope").set_value("zone").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "are **estimates**: the city's series (NYIS ZONJ)" in texts(at)
    assert f"city series × {NYC.zones[0].weight:.1%}" in texts(at)
    assert_models_page_complete(at, MODEL_NAMES)


def test_models_page_with_a_model_missing(seeded_db: Seeded) -> None:
    db, model = seeded_db.db, MODEL_NAMES[-1]
    saved = {c: list(db[c].find({"model": model})) for c in (
        C.MODEL_OUTPUTS, C.MODEL_REGISTRY, C.MODEL_SCORECARD)}
    for collection in saved:
        db[collection].delete_many({"model": model})
    try:
        clear_streamlit_caches()
        at = app(page="models")
        title = MODEL_TITLES[model]
        assert f"**{title} is not trained for New York City**" in texts(at)
        comparison = frame_by_key(at, "comparison_table").set_index("Model")
        assert set(comparison.loc[title]) == {"not trained"}
        assert title not in frame_by_key(at, "scorecard_table")["Model"].tolist()
        assert_models_page_complete(at, MODEL_NAMES[:-1])
    finally:
        for collection, docs in saved.items():
            db[collection].insert_many(docs)
        clear_streamlit_caches()


def test_models_page_without_models_explains_training(seeded_db: Seeded) -> None:
    at = app({"city": "chicago"}, page="models")
    assert "python -m models.train --city chicago" in texts(at)
    assert "none registered yet" in texts(at)


# --- Live Stream and Pipeline Health --------------------------------------------------------

def test_live_stream_with_data(seeded_db: Seeded) -> None:
    at = app(page="live_stream")
    rates = frame_by_key(at, "rate_table").set_index("Topic")
    status = seeded_db.db[C.CONSUMER_STATUS].find_one({"_id": "consumer"})
    assert rates["Lag (msgs)"].to_dict() == status["lag"]
    assert len(frame_by_key(at, "latest_weather_obs")) == 12
    dlq = frame_by_key(at, "dlq_table")
    assert dlq["Reason"].tolist()[0] == "missing field observed_at (0)"  # newest first
    assert {m.label: m.value for m in at.metric}["Dead-letter queue"] == "2 messages"


def test_live_stream_without_data(seeded_db: Seeded) -> None:
    at = app({"city": "chicago"}, page="live_stream")
    assert "No messages for this city in the last 30 min" in texts(at)


def test_pipeline_health_with_data(seeded_db: Seeded) -> None:
    at = app(page="pipeline_health")
    runs = frame_by_key(at, "runs_table")
    power = runs[(runs["Job"] == "ingest") & (runs["Source"] == "power")].iloc[0]
    assert power["Failures"] == 1 and power["Runs"] == 3
    assert power["Last error"] == "HTTPStatusError: 503 from eia"
    fresh = frame_by_key(at, "freshness_table").set_index("Collection")["State"]
    assert fresh["zone_latest"] == "fresh" and fresh["consumer_status"] == "fresh"
    assert {m.label: m.value for m in at.metric}["MongoDB"] == "up"


def test_pipeline_health_lists_the_sidecars(seeded_db: Seeded) -> None:
    from ingest.consumer import ConsumeStats
    from pipeline.consumer_supervisor import status_doc

    now = datetime.now(UTC)
    docs = [status_doc(ConsumeStats(stored=7), "running", None, 0, {}, now - timedelta(seconds=age),
                       worker) for worker, age in (("sidecar-a", 400), ("sidecar-b", 30))]
    seeded_db.db[C.CONSUMER_STATUS].insert_many(docs)
    try:
        clear_streamlit_caches()
        at = app(page="pipeline_health")
        table = frame_by_key(at, "sidecars_table").set_index("Worker")
        assert table.loc["sidecar-b", "State"] == "running"
        assert table.loc["sidecar-a", "State"] == "silent"  # no report for 400 s
        assert table.loc["sidecar-b", "Stored"] == 7
        assert "3 sidecars reported in the last 24 h" in texts(at)
    finally:
        seeded_db.db[C.CONSUMER_STATUS].delete_many({"_id": {"$in": [d["_id"] for d in docs]}})
        clear_streamlit_caches()


def test_pipeline_health_without_runs(seeded_db: Seeded) -> None:
    at = app({"city": "chicago"}, page="pipeline_health")
    assert "No pipeline runs in the last 24 h" in texts(at)
    fresh = frame_by_key(at, "freshness_table").set_index("Collection")["State"]
    assert fresh["zone_latest"] == "empty"


def test_mongo_down_is_a_message_not_a_traceback(seeded_db: Seeded,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("MONGO_URI", "mongodb://127.0.0.1:9/")  # nothing listens on port 9
    monkeypatch.setenv("MONGO_TIMEOUT_MS", "300")
    get_settings.cache_clear()
    clear_streamlit_caches()
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
        assert not at.exception
        assert "MongoDB is not reachable" in at.error[0].value
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        clear_streamlit_caches()


def test_analytics_custom_range_of_local_days(seeded_db: Seeded) -> None:
    at = app(page="analytics")
    at.radio(key="an_range").set_value("custom").run()
    today = datetime.now(UTC).astimezone(NYC_TZ).date()
    at.date_input(key="an_dates").set_value((today - timedelta(days=1), today)).run()
    assert not at.exception
    shown = frame_by_key(at, "series_table")
    days = {t.date() for t in shown["time"]}
    assert days <= {today - timedelta(days=1), today} and len(days) >= 1
    assert "of 3 days of history found" in texts(at)  # 2 local days touch 3 UTC days
