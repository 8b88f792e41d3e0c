"""Socrata 311: paging, watermark and lookback, per-dataset columns, both location formats,
rejects."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.socrata_311 import (
    LOOKBACK,
    MAX_PAGES,
    Socrata311,
    coordinates,
    from_floating,
    since,
    to_floating,
)
from tests.replay_server import (
    ReplayServer,
    load_fixture,
    replay_server_fixture,  # noqa: F401 (the replay_server fixture)
    settings_for,
)
from tests.unit.sources.fake_socrata import FakeSocrata, nyc_row

NYC_PATH = "/resource/erm2-nwe9.json"
WATERMARK = datetime(2026, 11, 28, 14, tzinfo=UTC)  # 09:00 in New York (EST)
NOW = datetime(2026, 11, 28, 15, tzinfo=UTC)
TOKEN = "app-token-0123456789"


def make_city(city_id: str, tz: str, bounds: tuple, zones: dict, dataset: str,
              setting: str) -> City:
    weight = 1 / len(zones)
    return City(city_id=city_id, name=city_id, timezone=tz,
                bounds=Bounds(min_lat=bounds[0], min_lon=bounds[1], max_lat=bounds[2],
                              max_lon=bounds[3]),
                eia_respondent="X", ba_share=0.1, socrata_311_dataset=dataset,
                socrata_base_url_setting=setting,
                zones=[Zone(zone_id=z, city_id=city_id, name=z, lat=lat, lon=lon, weight=weight)
                       for z, (lat, lon) in zones.items()])


NYC = make_city("nyc", "America/New_York", (40.477, -74.259, 40.917, -73.7),
                {"midtown": (40.758, -73.9855), "bedstuy": (40.678, -73.944),
                 "flushing": (40.742, -73.82)}, "erm2-nwe9", "socrata_nyc_url")
CHICAGO = make_city("chicago", "America/Chicago", (41.644, -87.94, 42.023, -87.524),
                    {"loop": (41.8837, -87.6319), "hydepark": (41.7943, -87.5907)},
                    "v6vf-nfxy", "socrata_chicago_url")
SF = make_city("sf", "America/Los_Angeles", (37.703, -122.518, 37.833, -122.355),
               {"mission": (37.760, -122.415), "richmond": (37.778, -122.48)},
               "vw6y-z8j6", "socrata_sf_url")


def make_ctx(city: City = NYC, base_url: str = "http://unused", watermark=WATERMARK,
             **settings) -> FetchContext:
    return FetchContext(city=city, settings=settings_for(base_url, **settings),
                        start=datetime(2026, 11, 28, 13, tzinfo=UTC), end=NOW, ingested_at=NOW,
                        watermark=watermark)


def nyc_rows() -> list:
    return (load_fixture("socrata_311/nyc_erm2-nwe9_page1.json")
            + load_fixture("socrata_311/nyc_erm2-nwe9_page2.json"))


def by_id(records) -> dict:
    return {r["incident_id"]: r for r in records}


def test_pages_until_a_short_page_and_nothing_is_lost_past_page_one(
        replay_server: ReplayServer) -> None:
    replay_server.add(NYC_PATH, query={"$offset": "0"},
                      fixture="socrata_311/nyc_erm2-nwe9_page1.json")
    replay_server.add(NYC_PATH, query={"$offset": "3"},
                      fixture="socrata_311/nyc_erm2-nwe9_page2.json")
    counter = RequestCounter()
    ctx = make_ctx(base_url=replay_server.base_url, socrata_app_token=TOKEN)
    with httpx.Client() as http:
        result = Socrata311(page_size=3).collect(ctx, http, counter)

    sent = replay_server.requests
    assert [r.param("$offset") for r in sent] == ["0", "3"] and counter.requests == 2
    assert sent[0].param("$order") == "created_date DESC,unique_key DESC"
    assert sent[0].param("$limit") == "3"
    assert sent[0].headers["x-app-token"] == TOKEN
    assert set(by_id(result.records)) == {"63418201", "63418202", "63418204"}  # 04: page 2
    assert result.watermark == datetime(2026, 11, 28, 14, 11, 7, tzinfo=UTC)  # 09:11:07 EST


def test_without_a_watermark_the_first_fetch_looks_back_48_h_from_now(
        replay_server: ReplayServer) -> None:
    """A new city, or one switched from the simulator: the rows of the last two days."""
    replay_server.add(NYC_PATH, json_body=[])
    with httpx.Client() as http:
        result = Socrata311().collect(make_ctx(base_url=replay_server.base_url, watermark=None),
                                      http, RequestCounter())
    sent = replay_server.requests[0]
    assert sent.param("$where") == "created_date >= '2026-11-26T10:00:00.000'"  # NOW - 48 h
    assert "x-app-token" not in sent.headers
    assert result.records == [] and result.watermark is None


def test_the_lower_bound_is_the_watermark_minus_the_48_h_lookback(
        replay_server: ReplayServer) -> None:
    """NYC publishes rows created hours before they appear: each fetch re-reads two days."""
    replay_server.add(NYC_PATH, json_body=[])
    with httpx.Client() as http:
        Socrata311().fetch(make_ctx(base_url=replay_server.base_url), http, RequestCounter())
    # watermark 2026-11-28T14:00Z = 09:00 EST; two days earlier, in New York wall time
    assert replay_server.requests[0].param("$where") == (
        "created_date >= '2026-11-26T09:00:00.000'")


def test_the_lookback_keeps_a_longer_window_and_stays_within_raw_retention() -> None:
    ctx = make_ctx()
    assert since(ctx) == WATERMARK - LOOKBACK
    # a backfill's window reaches further back than the lookback: it is kept
    backfill = replace(make_ctx(watermark=None), start=NOW - timedelta(days=90))
    assert since(backfill) == NOW - timedelta(days=90)
    # a row stamped in the future (a provider clock) never moves the fetch past the window
    assert since(make_ctx(watermark=NOW + timedelta(days=30))) == ctx.start
    # after a long outage: nothing older than the consumer would keep
    retention = timedelta(days=ctx.settings.citylive_raw_retention_days)
    assert since(make_ctx(watermark=NOW - timedelta(days=30))) == NOW - retention


def test_a_late_published_row_is_read_and_kept_without_moving_the_watermark_back() -> None:
    """A row created 6 h before the watermark but published after the last fetch is stored;
    the watermark stays the newest created date seen."""
    late = nyc_row("70000001", WATERMARK - timedelta(hours=6))
    newer = nyc_row("70000002", WATERMARK + timedelta(minutes=10))
    too_old = nyc_row("70000003", WATERMARK - LOOKBACK - timedelta(hours=1))
    socrata = FakeSocrata([too_old, late, newer])
    with socrata.client() as http:
        result = Socrata311().collect(make_ctx(), http, RequestCounter())
    assert set(by_id(result.records)) == {"70000001", "70000002"}
    assert by_id(result.records)["70000001"]["created_at"] == WATERMARK - timedelta(hours=6)
    assert result.watermark == WATERMARK + timedelta(minutes=10)

    socrata.rows = [late]  # only a late row this time: the watermark does not move back
    with socrata.client() as http:
        result = Socrata311().collect(make_ctx(), http, RequestCounter())
    assert list(by_id(result.records)) == ["70000001"] and result.watermark == WATERMARK


def test_the_newest_rows_are_reached_when_the_lookback_holds_more_than_the_page_cap() -> None:
    """Newest first: the page cap cuts the oldest end of the lookback, never the new rows."""
    old = [nyc_row(f"6000{i:04d}", WATERMARK - timedelta(hours=40) + timedelta(minutes=i))
           for i in range(MAX_PAGES + 5)]
    newest = nyc_row("70000009", WATERMARK + timedelta(minutes=3))
    socrata = FakeSocrata([*old, newest])
    with socrata.client() as http:
        result = Socrata311(page_size=1).collect(make_ctx(), http, RequestCounter())
    assert len(socrata.requests) == MAX_PAGES
    assert "70000009" in by_id(result.records)
    assert result.watermark == WATERMARK + timedelta(minutes=3)


def test_no_rows_keeps_the_previous_watermark() -> None:
    assert Socrata311().parse([], make_ctx()).watermark == WATERMARK


def test_both_location_formats_map_to_zones() -> None:
    got = by_id(Socrata311().parse(nyc_rows(), make_ctx()).records)
    assert got["63418201"]["zone_id"] == "midtown"  # lat/lon strings + legacy location
    assert got["63418202"]["zone_id"] == "bedstuy"  # lat/lon strings + GeoJSON point
    # GeoJSON only: coordinates are [lon, lat]
    assert (got["63418204"]["lat"], got["63418204"]["lon"]) == (40.7589, -73.8301)
    assert got["63418204"]["zone_id"] == "flushing"


def test_nyc_fields_and_local_time_to_utc() -> None:
    rec = by_id(Socrata311().parse(nyc_rows(), make_ctx()).records)["63418201"]
    assert rec["complaint_type"] == "Noise - Street/Sidewalk"
    assert rec["descriptor"] == "Loud Music/Party" and rec["agency"] == "NYPD"
    assert rec["status"] == "In Progress" and rec["source"] == "socrata"
    assert rec["created_at"] == WATERMARK == rec["observed_at"]  # 09:00 EST
    assert rec["ingested_at"] == NOW and rec["city_id"] == "nyc"


def test_rows_without_coordinates_or_outside_the_city_are_rejected() -> None:
    rejects = Socrata311().parse(nyc_rows(), make_ctx()).rejects
    reasons = {r.item["unique_key"]: r.reason for r in rejects}
    assert reasons.keys() == {"63418203", "63418205"}
    assert reasons["63418203"] == "no coordinates"
    assert reasons["63418205"].startswith("outside nyc bounds")


def test_chicago_columns_and_legacy_location_only() -> None:
    rows = load_fixture("socrata_311/chicago_v6vf-nfxy.json")
    result = Socrata311().parse(rows, make_ctx(CHICAGO, watermark=None))
    got = by_id(result.records)
    loop = got["SR26-02154611"]
    assert loop["zone_id"] == "loop" and loop["complaint_type"] == "Pothole in Street Complaint"
    assert loop["agency"] == "CDOT - Department of Transportation" and loop["descriptor"] is None
    assert loop["created_at"] == datetime(2026, 11, 28, 14, 14, 52, tzinfo=UTC)  # CST = UTC-6
    assert got["SR26-02154618"]["zone_id"] == "hydepark"  # legacy location column only
    assert [r.item["sr_number"] for r in result.rejects] == ["SR26-02154620"]
    assert result.watermark == datetime(2026, 11, 28, 14, 16, 40, tzinfo=UTC)  # rejects count


def test_sf_columns_and_geojson_point_only() -> None:
    rows = load_fixture("socrata_311/sf_vw6y-z8j6.json")
    result = Socrata311().parse(rows, make_ctx(SF, watermark=None))
    got = by_id(result.records)
    mission = got["19283746"]
    assert mission["zone_id"] == "mission" and mission["descriptor"] == "Bulky Items"
    assert mission["complaint_type"] == "Street and Sidewalk Cleaning"
    assert mission["status"] == "Open" and mission["agency"] == "Recology_Abandoned"
    assert mission["created_at"] == datetime(2026, 11, 28, 14, 31, 9, tzinfo=UTC)  # PST = UTC-8
    assert got["19283751"]["zone_id"] == "richmond"  # point only, no lat/long columns
    assert len(result.rejects) == 1 and "outside sf bounds" in result.rejects[0].reason


def test_chicago_fetch_uses_its_own_base_url_and_order(replay_server: ReplayServer) -> None:
    replay_server.add("/resource/v6vf-nfxy.json", fixture="socrata_311/chicago_v6vf-nfxy.json")
    with httpx.Client() as http:
        Socrata311().fetch(make_ctx(CHICAGO, base_url=replay_server.base_url), http,
                           RequestCounter())
    sent = replay_server.requests[0]
    assert sent.param("$order") == "created_date DESC,sr_number DESC"
    assert sent.param("$where") == "created_date >= '2026-11-26T08:00:00.000'"  # CST, -48 h


def test_malformed_query_error_shape(replay_server: ReplayServer) -> None:
    replay_server.add(NYC_PATH, fixture="socrata_311/error_query_malformed.json", status=400)
    with httpx.Client() as http, pytest.raises(ProviderError, match="query.compiler.malformed"):
        Socrata311().fetch(make_ctx(base_url=replay_server.base_url), http, RequestCounter())
    assert len(replay_server.requests) == 1


def test_error_object_with_status_200_and_other_shapes() -> None:
    with pytest.raises(ProviderError, match="query.compiler.malformed") as err:
        Socrata311().parse(load_fixture("socrata_311/error_query_malformed.json"), make_ctx())
    assert not isinstance(err.value, ProviderShapeError)
    with pytest.raises(ProviderShapeError):
        Socrata311().parse({"rows": []}, make_ctx())


@pytest.mark.parametrize("answer", ["html", "truncated"])
def test_html_or_truncated_json_is_a_shape_error(replay_server: ReplayServer, answer) -> None:
    if answer == "html":
        replay_server.add_html(NYC_PATH)
    else:
        replay_server.add(NYC_PATH, fixture="socrata_311/nyc_erm2-nwe9_page1.json", truncate=250)
    with httpx.Client() as http, pytest.raises(ProviderShapeError):
        Socrata311().fetch(make_ctx(base_url=replay_server.base_url), http, RequestCounter())


def test_city_without_a_311_dataset_is_an_error() -> None:
    city = NYC.model_copy(update={"socrata_311_dataset": None})
    with pytest.raises(ProviderError, match="no 311 dataset"):
        Socrata311().parse([], make_ctx(city))


def test_floating_timestamps_round_trip_across_dst() -> None:
    summer = datetime(2026, 7, 1, 16, tzinfo=UTC)
    assert to_floating(summer, "America/New_York") == "2026-07-01T12:00:00.000"  # EDT
    assert from_floating("2026-07-01T12:00:00.000", "America/New_York") == summer
    assert from_floating("not a date", "America/New_York") is None


def test_a_repeated_autumn_hour_is_read_as_its_later_instant() -> None:
    """01:30 happens twice in New York on 2026-11-01 (EDT, then EST): a row stamped 01:30 may
    be from the second one, so it is read as that one, never before it could be published."""
    edt, est = datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert to_floating(edt, "America/New_York") == to_floating(est, "America/New_York")
    assert from_floating("2026-11-01T01:30:00.000", "America/New_York") == est
    # the hours around it are not ambiguous
    assert from_floating("2026-11-01T00:59:00.000", "America/New_York") == datetime(
        2026, 11, 1, 4, 59, tzinfo=UTC)
    assert from_floating("2026-11-01T02:00:00.000", "America/New_York") == datetime(
        2026, 11, 1, 7, tzinfo=UTC)


def test_a_skipped_spring_hour_is_read_as_its_later_instant() -> None:
    """02:30 does not exist in New York on 2026-03-08 (01:59 EST is followed by 03:00 EDT);
    read with the offset before the jump it is 07:30Z (03:30 EDT), the later candidate."""
    assert from_floating("2026-03-08T02:30:00.000", "America/New_York") == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC)
    assert from_floating("2026-03-08T03:00:00.000", "America/New_York") == datetime(
        2026, 3, 8, 7, tzinfo=UTC)


def test_coordinates_prefers_columns_and_rejects_garbage() -> None:
    assert coordinates({"latitude": "40.1", "longitude": "-73.2"}, "latitude", "longitude",
                       "location") == (40.1, -73.2)
    assert coordinates({"location": {"latitude": "40.5", "longitude": "-73.5"}}, "latitude",
                       "longitude", "location") == (40.5, -73.5)
    assert coordinates({"latitude": "NaN", "longitude": "x"}, "latitude", "longitude",
                       "location") is None
