"""EIA v2 region-data and region-sub-ba-data: paging by offset until the (string) total, the
city's subregion series and its zone estimates, lagging subregion hours, error shapes, and the
api_key (echoed by EIA in request.params) never leaking."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from core.subregions import series_ids
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.eia import SUBBA_PATH, EiaPower
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
NYIS_ZONES = ["ZONA", "ZONB", "ZONC", "ZOND", "ZONE", "ZONF", "ZONG", "ZONH", "ZONI", "ZONJ",
              "ZONK"]


def make_city(subba: str | None = None) -> City:
    spots = {"z01": (40.758, -73.9855), "z02": (40.678, -73.944), "z03": (40.742, -73.82)}
    return City(city_id="nyc", name="NYC", timezone="America/New_York",
                bounds=Bounds(min_lat=40.477, min_lon=-74.259, max_lat=40.917, max_lon=-73.7),
                eia_respondent="NYIS", eia_subba=subba, ba_share=0.33,
                zones=[Zone(zone_id=z, city_id="nyc", name=z, lat=spots[z][0], lon=spots[z][1],
                            weight=w) for z, w in WEIGHTS.items()])


def make_ctx(base_url: str = "http://unused", key: str | None = KEY, subba: str | None = None,
             **settings) -> FetchContext:
    return FetchContext(city=make_city(subba), settings=settings_for(base_url, eia_api_key=key,
                                                                     **settings),
                        start=START, end=END, ingested_at=END)


def pages() -> list:
    return [load_fixture(f"eia/region_data_nyis_page{i}.json") for i in (1, 2, 3)]


def subba_raw() -> dict:
    """fetch's reply for NYC (ZONJ): BA D/DF for 10-13 (DF to 14), subregions for 10-12 only."""
    return {"region": [load_fixture("eia/region_data_nyis_one_page.json")],
            "subba": [load_fixture("eia/sub_ba_data_nyis_one_page.json")]}


def subba_ctx(**kwargs) -> FetchContext:
    return make_ctx(subba="ZONJ", **kwargs)


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
    assert replay_server.requests_to(SUBBA_PATH) == []  # no subregion: BA load x ba_share


def test_paging_works_through_a_mock_transport_too() -> None:
    replies = {str(4 * i): page for i, page in enumerate(pages())}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = request.url.params["offset"]
        seen.append(offset)
        return httpx.Response(200, json=replies[offset])

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        raw = EiaPower(page_length=4).fetch(make_ctx(), http, RequestCounter())
    assert seen == ["0", "4", "8"] and len(raw["region"]) == 3
    assert "subba" not in raw  # a city without a subregion asks for none


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
    # without a subregion the city's one series is "CITY" = BA demand x ba_share
    assert z01["subba"] == "CITY" and z01["series_mw"] == {"CITY": pytest.approx(17310 * 0.33)}
    assert z01["city_demand_mw"] == pytest.approx(17310 * 0.33)
    assert z01["demand_method"] == "estimate"


def test_hour_without_actual_demand_keeps_the_forecast() -> None:
    z02 = at(EiaPower().parse(pages(), make_ctx()).records, "z02", 14)
    # the fixture has only DF ("17480") for 14:00: D is not published yet
    assert z02["ba_demand_mw"] is None and z02["demand_mw"] is None
    assert z02["city_demand_mw"] is None and z02["series_mw"] == {"CITY": None}
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
    assert len(raw["region"]) == 1 and len(replay_server.requests) == 1


# --- region-sub-ba-data: the city's own subregion and its siblings --------------------------

def subba_pages(size: int) -> list[dict]:
    """The recorded sub-BA page cut into pages of `size` rows, as EIA pages with offset/length."""
    whole = load_fixture("eia/sub_ba_data_nyis_one_page.json")
    rows = whole["response"]["data"]
    cut = []
    for offset in range(0, len(rows), size):
        page = json.loads(json.dumps(whole))
        page["response"]["data"] = rows[offset:offset + size]
        page["request"]["params"].update(offset=offset, length=size)
        cut.append(page)
    return cut


def test_fetch_asks_for_the_parent_and_every_subregion(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, fixture="eia/region_data_nyis_one_page.json")
    replay_server.add(SUBBA_PATH, fixture="eia/sub_ba_data_nyis_one_page.json")
    counter = RequestCounter()
    with httpx.Client() as http:
        result = EiaPower().collect(subba_ctx(base_url=replay_server.base_url), http, counter)

    assert [r.path for r in replay_server.requests] == [PATH, SUBBA_PATH]
    assert counter.requests == 2
    sub = replay_server.requests_to(SUBBA_PATH)[0]
    assert sub.query["facets[parent][]"] == ["NYIS"]
    # the city's own subregion first, then its siblings: all 11 NYISO zones
    assert sub.query["facets[subba][]"][0] == "ZONJ"
    assert sorted(sub.query["facets[subba][]"]) == NYIS_ZONES
    assert "facets[respondent][]" not in sub.query and "facets[type][]" not in sub.query
    assert sub.param("api_key") == KEY and sub.param("frequency") == "hourly"
    assert sub.param("data[0]") == "value" and sub.param("offset") == "0"
    assert (sub.param("start"), sub.param("end")) == ("2026-11-28T10", "2026-11-28T14")
    assert (sub.param("sort[0][column]"), sub.param("sort[0][direction]")) == ("period", "asc")
    assert sub.param("length") == "5000"
    assert len(result.records) == 5 * 3 and not result.rejects  # hours 10-14 x 3 zones


def test_subregion_query_pages_by_offset(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, fixture="eia/region_data_nyis_one_page.json")  # 9 rows: one page
    for page in subba_pages(12):  # 33 rows: offsets 0, 12, 24
        replay_server.add(SUBBA_PATH, json_body=page,
                          query={"offset": str(page["request"]["params"]["offset"])})
    with httpx.Client() as http:
        raw = EiaPower(page_length=12).fetch(subba_ctx(base_url=replay_server.base_url), http,
                                             RequestCounter())
    sent = replay_server.requests_to(SUBBA_PATH)
    assert [r.param("offset") for r in sent] == ["0", "12", "24"]  # total "33": three pages
    assert all(r.param("length") == "12" for r in sent)
    assert len(raw["region"]) == 1 and len(raw["subba"]) == 3
    whole = EiaPower().parse(subba_raw(), subba_ctx())
    assert EiaPower().parse(raw, subba_ctx()).records == whole.records


def test_city_demand_is_its_subregion_and_zones_are_estimates() -> None:
    result = EiaPower().parse(subba_raw(), subba_ctx())
    assert not result.rejects
    z01 = at(result.records, "z01", 11)
    # fixture at 2026-11-28T11: ZONJ "5401", ZONK "2245", BA D "17045", DF "16980"
    assert z01["subba"] == "ZONJ" and z01["city_demand_mw"] == 5401.0
    assert list(z01["series_mw"]) == series_ids(make_city("ZONJ"))  # own first, EIA order
    assert z01["series_mw"]["ZONJ"] == 5401.0 and z01["series_mw"]["ZONK"] == 2245.0
    assert z01["ba_demand_mw"] == 17045.0 and z01["ba_forecast_mw"] == 16980.0
    assert z01["demand_mw"] == pytest.approx(5401 * 0.5)  # ZONJ x zone weight, not BA x share
    assert (z01["demand_method"], z01["source"], z01["respondent"]) == ("estimate", "eia", "NYIS")
    eleven = [r for r in result.records if r["observed_at"] == z01["observed_at"]]
    assert sum(r["demand_mw"] for r in eleven) == pytest.approx(5401)
    assert all(r["series_mw"] == z01["series_mw"] for r in eleven)


def test_a_null_sibling_value_is_none_not_zero_and_not_a_reject() -> None:
    result = EiaPower().parse(subba_raw(), subba_ctx())
    noon = at(result.records, "z02", 12)  # the recording has ZOND null at 12:00
    assert noon["series_mw"]["ZOND"] is None and noon["series_mw"]["ZONA"] == 1757.0
    assert noon["city_demand_mw"] == 5523.0 and noon["demand_mw"] == pytest.approx(5523 * 0.3)
    assert result.rejects == []


def test_lagging_subregion_hours_have_no_demand_but_keep_the_ba_values() -> None:
    records = EiaPower().parse(subba_raw(), subba_ctx()).records
    one_pm = at(records, "z01", 13)  # BA D published, subregions not yet
    assert one_pm["ba_demand_mw"] == 17234.0 and one_pm["ba_forecast_mw"] == 17390.0
    assert one_pm["demand_mw"] is None and one_pm["city_demand_mw"] is None
    assert set(one_pm["series_mw"].values()) == {None} and len(one_pm["series_mw"]) == 11
    two_pm = at(records, "z03", 14)  # only DF
    assert two_pm["demand_mw"] is None and two_pm["ba_forecast_mw"] == 17480.0


def test_hours_with_only_subregion_data_are_kept() -> None:
    raw = {"region": [load_fixture("eia/region_data_empty.json")],
           "subba": [load_fixture("eia/sub_ba_data_nyis_one_page.json")]}
    records = EiaPower().parse(raw, subba_ctx()).records
    assert len(records) == 3 * 3  # hours 10-12
    ten = at(records, "z01", 10)
    assert ten["ba_demand_mw"] is None and ten["city_demand_mw"] == 5318.0


def test_numeric_values_are_read_like_strings() -> None:
    raw = subba_raw()
    for row in raw["subba"][0]["response"]["data"]:
        if row["value"] is not None:
            row["value"] = int(row["value"])
    assert at(EiaPower().parse(raw, subba_ctx()).records, "z01", 10)["city_demand_mw"] == 5318.0


@pytest.mark.parametrize(("change", "reason"), [
    ({"subba": "ZONZ"}, "unknown subregion 'ZONZ'"),
    ({"subba": None}, "unknown subregion None"),
    ({"parent": "PJM"}, "parent 'PJM'"),
    ({"period": "2026-11-28 11:00"}, "bad period"),
    ({"value": "n/a"}, "bad ZONJ value 'n/a'"),
    ({"value": -5}, "bad ZONJ value -5"),
])
def test_bad_subregion_rows_are_rejected_with_a_reason(change, reason) -> None:
    raw = subba_raw()
    rows = raw["subba"][0]["response"]["data"]
    row = next(r for r in rows if r["subba"] == "ZONJ" and r["period"] == "2026-11-28T11")
    row.update(change)
    result = EiaPower().parse(raw, subba_ctx())
    assert len(result.rejects) == 1 and reason in result.rejects[0].reason
    assert result.rejects[0].item is row
    z01 = at(result.records, "z01", 11)
    assert z01["city_demand_mw"] is None and z01["demand_mw"] is None  # never 0
    assert z01["series_mw"]["ZONK"] == 2245.0  # the rest of the hour stands
    assert len(result.records) == 5 * 3


def test_a_row_that_is_not_an_object_is_rejected() -> None:
    raw = subba_raw()
    raw["subba"][0]["response"]["data"].append(["2026-11-28T11", "ZONJ", "1"])
    result = EiaPower().parse(raw, subba_ctx())
    assert [r.reason for r in result.rejects] == ["row is not an object"]


@pytest.mark.parametrize(("fixture", "status", "message"), [
    ("eia/error_api_key_invalid.json", 403, "API_KEY_INVALID"),
    ("eia/error_invalid_facet.json", 400, "Invalid facet"),
    ("eia/error_invalid_facet.json", 200, "Invalid facet"),
    ("eia/warnings_without_data.json", 200, "frequency"),
])
def test_subregion_error_pages_raise_provider_error(replay_server: ReplayServer, fixture,
                                                   status, message) -> None:
    replay_server.add(PATH, fixture="eia/region_data_nyis_one_page.json")
    replay_server.add(SUBBA_PATH, fixture=fixture, status=status)
    with httpx.Client() as http, pytest.raises(ProviderError, match=message) as err:
        EiaPower(sleep=lambda _s: None).fetch(subba_ctx(base_url=replay_server.base_url), http,
                                              RequestCounter())
    assert not isinstance(err.value, ProviderShapeError) and KEY not in str(err.value)


def test_subregion_key_echo_is_redacted(replay_server: ReplayServer) -> None:
    echo = {"error": f"api_key {KEY} is suspended", "code": 403}
    replay_server.add(PATH, fixture="eia/region_data_nyis_one_page.json")
    replay_server.add(SUBBA_PATH, json_body=echo, status=403)
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        EiaPower().fetch(subba_ctx(base_url=replay_server.base_url), http, RequestCounter())
    assert KEY not in str(err.value) and "***" in str(err.value)
    raw = subba_raw()
    raw["subba"].append(echo)  # the same body with HTTP 200: parse-side, redacted as well
    with pytest.raises(ProviderError) as err200:
        EiaPower().parse(raw, subba_ctx())
    assert KEY not in str(err200.value) and "***" in str(err200.value)


def test_the_key_echoed_by_the_subregion_page_never_reaches_records_or_rejects() -> None:
    raw = subba_raw()
    assert KEY in json.dumps(raw["subba"])  # EIA echoes it
    raw["subba"][0]["response"]["data"].append({"period": "2026-11-28T11", "subba": "ZONQ",
                                                "parent": "NYIS", "value": "1"})
    result = EiaPower().parse(raw, subba_ctx())
    assert result.rejects and result.records
    assert KEY not in repr(result.records) + repr(result.rejects)
