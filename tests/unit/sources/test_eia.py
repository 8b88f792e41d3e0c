"""EIA v2 region-data: paging by offset until the (string) total, apportioning, error shapes,
and the api_key (echoed by EIA in request.params) never leaking."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.eia import EiaPower
from tests.replay_server import (
    ReplayServer,
    load_fixture,
    replay_server_fixture,  # noqa: F401 (the replay_server fixture)
    settings_for,
)

PATH = "/v2/electricity/rto/region-data/data/"
KEY = "TESTKEY0eia0fixture0123456789abcdef"  # the key the fixtures echo in request.params
START = datetime(2026, 11, 28, 10, tzinfo=UTC)
END = datetime(2026, 11, 28, 15, tzinfo=UTC)
WEIGHTS = {"z01": 0.5, "z02": 0.3, "z03": 0.2}


def make_city() -> City:
    spots = {"z01": (40.758, -73.9855), "z02": (40.678, -73.944), "z03": (40.742, -73.82)}
    return City(city_id="nyc", name="NYC", timezone="America/New_York",
                bounds=Bounds(min_lat=40.477, min_lon=-74.259, max_lat=40.917, max_lon=-73.7),
                eia_respondent="NYIS", ba_share=0.33,
                zones=[Zone(zone_id=z, city_id="nyc", name=z, lat=spots[z][0], lon=spots[z][1],
                            weight=w) for z, w in WEIGHTS.items()])


def make_ctx(base_url: str = "http://unused", key: str | None = KEY, **settings) -> FetchContext:
    return FetchContext(city=make_city(), settings=settings_for(base_url, eia_api_key=key,
                                                                **settings),
                        start=START, end=END, ingested_at=END)


def pages() -> list:
    return [load_fixture(f"eia/region_data_nyis_page{i}.json") for i in (1, 2, 3)]


def at(records, zone_id: str, hour: int) -> dict:
    return next(r for r in records if r["zone_id"] == zone_id
                and r["observed_at"] == datetime(2026, 11, 28, hour, tzinfo=UTC))


def test_fetch_pages_by_offset_until_the_string_total(replay_server: ReplayServer) -> None:
    for offset, page in ((0, 1), (4, 2), (8, 3)):
        replay_server.add(PATH, query={"offset": str(offset)},
                          fixture=f"eia/region_data_nyis_page{page}.json")
    counter = RequestCounter()
    with httpx.Client() as http:
        result = EiaPower(page_length=4).collect(make_ctx(replay_server.base_url), http, counter)

    sent = replay_server.requests
    assert [r.param("offset") for r in sent] == ["0", "4", "8"]  # total "9": stop after 3 pages
    assert counter.requests == 3
    first = sent[0]
    assert first.param("api_key") == KEY and first.param("frequency") == "hourly"
    assert first.param("data[0]") == "value"
    assert first.query["facets[respondent][]"] == ["NYIS"]
    assert sorted(first.query["facets[type][]"]) == ["D", "DF"]
    assert (first.param("start"), first.param("end")) == ("2026-11-28T10", "2026-11-28T14")
    assert first.param("sort[0][column]") == "period" and first.param("length") == "4"
    assert len(result.records) == 5 * 3 and not result.rejects  # 5 hours x 3 zones


def test_paging_works_through_a_mock_transport_too() -> None:
    replies = {str(4 * i): page for i, page in enumerate(pages())}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = request.url.params["offset"]
        seen.append(offset)
        return httpx.Response(200, json=replies[offset])

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        raw = EiaPower(page_length=4).fetch(make_ctx(), http, RequestCounter())
    assert seen == ["0", "4", "8"] and len(raw) == 3


def test_apportioning_to_zones() -> None:
    result = EiaPower().parse(pages(), make_ctx())
    noon = [r for r in result.records if r["observed_at"] == datetime(2026, 11, 28, 12,
                                                                       tzinfo=UTC)]
    assert {r["zone_id"] for r in noon} == set(WEIGHTS)
    z01 = at(result.records, "z01", 12)
    # fixture: D = "17310", DF = "17402" at 2026-11-28T12; ba_share 0.33, z01 weight 0.5
    assert z01["ba_demand_mw"] == 17310.0 and z01["ba_forecast_mw"] == 17402.0
    assert z01["demand_mw"] == pytest.approx(17310 * 0.33 * 0.5)
    assert sum(r["demand_mw"] for r in noon) == pytest.approx(17310 * 0.33)
    assert all(r["respondent"] == "NYIS" and r["source"] == "eia" for r in result.records)


def test_hour_without_actual_demand_keeps_the_forecast() -> None:
    z02 = at(EiaPower().parse(pages(), make_ctx()).records, "z02", 14)
    # the fixture has only DF ("17480") for 14:00: D is not published yet
    assert z02["ba_demand_mw"] is None and z02["demand_mw"] is None
    assert z02["ba_forecast_mw"] == 17480.0


def test_incomplete_return_warning_with_data_is_still_parsed() -> None:
    raw = load_fixture("eia/region_data_incomplete_warning.json")
    assert raw["response"]["warnings"]
    assert len(EiaPower().parse(raw, make_ctx()).records) == 15


def test_empty_reply_is_no_records_not_an_error() -> None:
    result = EiaPower().parse([load_fixture("eia/region_data_empty.json")], make_ctx())
    assert result.records == [] and result.rejects == []


def test_bad_value_is_rejected_and_the_field_left_empty() -> None:
    raw = load_fixture("eia/region_data_nyis_one_page.json")
    raw["response"]["data"][0]["value"] = "-42"  # D at 10:00
    result = EiaPower().parse(raw, make_ctx())
    assert len(result.rejects) == 1 and "-42" in result.rejects[0].reason
    assert at(result.records, "z01", 10)["ba_demand_mw"] is None


def test_the_key_never_reaches_records_or_rejects() -> None:
    raw = load_fixture("eia/region_data_nyis_one_page.json")
    assert KEY in json.dumps(raw)  # EIA echoes it
    raw["response"]["data"].append({"period": "2026-11-28T11", "respondent": "NYIS",
                                    "type": "NG", "value": "1"})
    result = EiaPower().parse(raw, make_ctx())
    assert result.rejects  # the unexpected row type
    assert KEY not in repr(result.records) + repr(result.rejects)


@pytest.mark.parametrize(("fixture", "status", "message"), [
    ("eia/error_api_key_invalid.json", 403, "API_KEY_INVALID"),
    ("eia/error_api_key_invalid.json", 200, "API_KEY_INVALID"),
    ("eia/error_invalid_facet.json", 200, "Invalid facet"),
    ("eia/error_invalid_facet.json", 400, "Invalid facet"),
    ("eia/error_code_message.json", 200, "query could not be completed"),
    ("eia/warnings_without_data.json", 200, "frequency"),
])
def test_error_shapes_raise_provider_error(replay_server: ReplayServer, fixture, status,
                                           message) -> None:
    replay_server.add(PATH, fixture=fixture, status=status)
    sleeps: list[float] = []
    with httpx.Client() as http, pytest.raises(ProviderError, match=message) as err:
        EiaPower(sleep=sleeps.append).fetch(make_ctx(replay_server.base_url), http,
                                            RequestCounter())
    assert not isinstance(err.value, ProviderShapeError)
    assert sleeps == [] and KEY not in str(err.value)


def test_key_echoed_in_an_error_body_is_redacted(replay_server: ReplayServer) -> None:
    echo = {"error": f"api_key {KEY} is suspended", "code": 403}
    replay_server.add(PATH, json_body=echo, status=403)
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        EiaPower().fetch(make_ctx(replay_server.base_url), http, RequestCounter())
    assert KEY not in str(err.value) and "***" in str(err.value)
    # the same body with HTTP 200 goes through parse-side checks: redacted as well
    with pytest.raises(ProviderError) as err200:
        EiaPower().parse(echo, make_ctx())
    assert KEY not in str(err200.value) and "***" in str(err200.value)


def test_server_errors_are_retried_and_the_key_stays_out(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, status=503, body=f"<html>busy for key={KEY}</html>",
                      content_type="text/html")
    sleeps: list[float] = []
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        EiaPower(sleep=sleeps.append).fetch(make_ctx(replay_server.base_url,
                                                     http_max_attempts=3), http,
                                            RequestCounter())
    assert err.value.status == 503 and err.value.attempts == 3 and len(sleeps) == 2
    assert KEY not in str(err.value)


@pytest.mark.parametrize("answer", ["html", "truncated"])
def test_html_or_truncated_json_is_a_shape_error(replay_server: ReplayServer, answer) -> None:
    if answer == "html":
        replay_server.add_html(PATH)
    else:
        replay_server.add(PATH, fixture="eia/region_data_nyis_page1.json", truncate=300)
    with httpx.Client() as http, pytest.raises(ProviderShapeError):
        EiaPower().fetch(make_ctx(replay_server.base_url), http, RequestCounter())


def test_missing_key_fails_before_any_request(replay_server: ReplayServer) -> None:
    with httpx.Client() as http, pytest.raises(ProviderError, match="EIA_API_KEY"):
        EiaPower().fetch(make_ctx(replay_server.base_url, key=None), http, RequestCounter())
    assert replay_server.requests == []


def test_a_short_page_below_total_does_not_loop_forever(replay_server: ReplayServer) -> None:
    stuck = load_fixture("eia/region_data_empty.json")
    stuck["response"]["total"] = "9"  # claims more rows but sends none
    replay_server.add(PATH, json_body=stuck)
    with httpx.Client() as http:
        raw = EiaPower(page_length=4).fetch(make_ctx(replay_server.base_url), http,
                                            RequestCounter())
    assert len(raw) == 1 and len(replay_server.requests) == 1
