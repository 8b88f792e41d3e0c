"""Open-Meteo weather + air quality: one request per city, request-order mapping, tz -> UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from core.vocabulary import Topic
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.schema import to_wire, validate_record
from ingest.sources.base import FetchContext
from ingest.sources.open_meteo import (
    AIR_QUALITY_FIELDS,
    WEATHER_FIELDS,
    OpenMeteoAirQuality,
    OpenMeteoWeather,
    request_params,
)
from tests.replay_server import (
    ReplayServer,
    load_fixture,
    replay_server_fixture,  # noqa: F401 (the replay_server fixture)
    settings_for,
)

FORECAST = "/v1/forecast"
AIR = "/v1/air-quality"
START = datetime(2026, 11, 28, 10, tzinfo=UTC)
END = datetime(2026, 11, 28, 15, tzinfo=UTC)
ZONES = [("z01", 40.7580, -73.9855, 0.5), ("z02", 40.6780, -73.9440, 0.3),
         ("z03", 40.7420, -73.8200, 0.2)]
THREE_DAYS = "forecast_3_zones_gmt_3_days.json"  # 2026-11-28..30: the window and 48 h ahead


def make_city(zones=ZONES) -> City:
    return City(city_id="nyc", name="NYC", timezone="America/New_York",
                bounds=Bounds(min_lat=40.477, min_lon=-74.259, max_lat=40.917, max_lon=-73.7),
                eia_respondent="NYIS", ba_share=0.33,
                zones=[Zone(zone_id=z, city_id="nyc", name=z, lat=lat, lon=lon, weight=w)
                       for z, lat, lon, w in zones])


def make_ctx(base_url: str = "http://unused", city: City | None = None, start=START, end=END,
             **settings) -> FetchContext:
    return FetchContext(city=city or make_city(), settings=settings_for(base_url, **settings),
                        start=start, end=end, ingested_at=END)


def fixture_value(name: str, item: int, variable: str, local_time: str):
    """The value the fixture holds for one item, variable and (reply-local) time string."""
    hourly = load_fixture(f"open_meteo/{name}")[item]["hourly"]
    return hourly[variable][hourly["time"].index(local_time)]


def by_zone_hour(records):
    return {(r["zone_id"], r["observed_at"]): r for r in records}


def test_weather_is_one_request_for_all_zones(replay_server: ReplayServer) -> None:
    replay_server.add(FORECAST, fixture=f"open_meteo/{THREE_DAYS}")
    counter = RequestCounter()
    with httpx.Client() as http:
        result = OpenMeteoWeather().collect(make_ctx(replay_server.base_url), http, counter)

    assert counter.requests == 1 and len(replay_server.requests) == 1
    sent = replay_server.requests[0]
    assert sent.param("latitude") == "40.7580,40.6780,40.7420"
    assert sent.param("longitude") == "-73.9855,-73.9440,-73.8200"
    assert set(sent.param("hourly").split(",")) == {
        "temperature_2m", "relative_humidity_2m", "wind_speed_10m", "precipitation"}
    assert sent.param("timezone") == "GMT"
    # the window's day and the 48 forecast hours from the issue hour (15:00) to 11-30 14:00
    assert (sent.param("start_date"), sent.param("end_date")) == ("2026-11-28", "2026-11-30")
    # 3 zones x hours 10..14 (the window is [start, end)); the later hours are the forecast
    assert [len(v) for v in result.extra.values()] == [1]
    assert len(result.records) == 15 and not result.rejects
    hours = sorted({r["observed_at"] for r in result.records})
    assert hours[0] == START and hours[-1] == datetime(2026, 11, 28, 14, tzinfo=UTC)
    rec = by_zone_hour(result.records)[("z02", datetime(2026, 11, 28, 13, tzinfo=UTC))]
    assert rec["temperature_c"] == fixture_value(THREE_DAYS, 1,
                                                 "temperature_2m", "2026-11-28T13:00")
    assert rec["precipitation_mm"] == 0.7  # item 1 at 13:00 in the fixture
    assert rec["source"] == "open-meteo" and rec["schema_version"] == 1
    assert rec["ingested_at"] == END and rec["city_id"] == "nyc"


def forecast_of(result) -> dict:
    [record] = result.extra[Topic.WEATHER_FORECAST]
    return record


def test_the_forecast_hours_become_one_forecast_record_of_the_issue_hour() -> None:
    raw = load_fixture(f"open_meteo/{THREE_DAYS}")
    end = datetime(2026, 11, 28, 15, 20, tzinfo=UTC)  # a cycle at 15:20: issued at 15:00
    result = OpenMeteoWeather().parse(raw, make_ctx(end=end))

    # the observations are those of the window, as without the forecast hours
    assert len(result.records) == 3 * 6 and not result.rejects
    assert max(r["observed_at"] for r in result.records) == datetime(2026, 11, 28, 15,
                                                                      tzinfo=UTC)
    record = forecast_of(result)
    issued = datetime(2026, 11, 28, 15, tzinfo=UTC)
    assert record["issued_at"] == issued and record["source"] == "open-meteo"
    assert record["hours"] == [issued + timedelta(hours=j) for j in range(48)]
    assert record["zone_ids"] == ["z01", "z02", "z03"] and record["ingested_at"] == END
    for z in range(3):
        for lead, local in ((0, "2026-11-28T15:00"), (20, "2026-11-29T11:00"),
                            (47, "2026-11-30T14:00")):
            assert record["zone_temperature_c"][z][lead] == fixture_value(
                THREE_DAYS, z, "temperature_2m", local)
    # the city value weighs the zones by their catalog weight (0.5, 0.3, 0.2)
    at_lead_20 = [row[20] for row in record["zone_temperature_c"]]
    assert record["temperature_c"][20] == pytest.approx(
        0.5 * at_lead_20[0] + 0.3 * at_lead_20[1] + 0.2 * at_lead_20[2], abs=0.006)
    assert validate_record(Topic.WEATHER_FORECAST, to_wire(record)) == record


def test_a_zone_without_a_forecast_hour_is_null_and_left_out_of_the_city_mean() -> None:
    raw = load_fixture(f"open_meteo/{THREE_DAYS}")
    end = datetime(2026, 11, 29, 0, 5, tzinfo=UTC)  # leads 46, 47: 2026-11-30 22:00, 23:00
    record = forecast_of(OpenMeteoWeather().parse(raw, make_ctx(start=START, end=end)))
    assert [row[46] for row in record["zone_temperature_c"]][2] is None  # null in the reply
    z01 = fixture_value(THREE_DAYS, 0, "temperature_2m", "2026-11-30T22:00")
    z02 = fixture_value(THREE_DAYS, 1, "temperature_2m", "2026-11-30T22:00")
    assert record["temperature_c"][46] == pytest.approx((0.5 * z01 + 0.3 * z02) / 0.8, abs=0.006)


def test_a_reply_without_the_later_hours_gives_a_partial_forecast_or_none() -> None:
    one_day = load_fixture("open_meteo/forecast_3_zones_gmt.json")  # 2026-11-28 only
    record = forecast_of(OpenMeteoWeather().parse(one_day, make_ctx()))
    # issued at 15:00: leads 0..8 are the 28th's 15:00..23:00, the rest were not in the reply
    assert all(v is not None for v in record["temperature_c"][:9])
    assert record["temperature_c"][9:] == [None] * 39
    assert all(row[9:] == [None] * 39 for row in record["zone_temperature_c"])
    later = datetime(2026, 12, 5, tzinfo=UTC)  # none of the forecast hours in the reply
    assert OpenMeteoWeather().parse(one_day, make_ctx(start=later, end=later)).extra == {}


def test_air_quality_asks_for_the_window_only() -> None:
    ctx = make_ctx()
    assert request_params(ctx, AIR_QUALITY_FIELDS)["end_date"] == "2026-11-28"
    assert request_params(ctx, WEATHER_FIELDS, 48)["end_date"] == "2026-11-30"
    assert OpenMeteoAirQuality.ahead_hours == 0


def test_items_map_to_zones_by_request_order_not_coordinates() -> None:
    raw = load_fixture("open_meteo/forecast_3_zones_gmt.json")
    assert "location_id" not in raw[0] and raw[1]["location_id"] == 1
    assert raw[0]["latitude"] != ZONES[0][1]  # snapped to the grid: coordinates do not match
    noon = datetime(2026, 11, 28, 12, tzinfo=UTC)

    result = OpenMeteoWeather().parse(raw, make_ctx())
    got = by_zone_hour(result.records)
    for i, (zone_id, *_rest) in enumerate(ZONES):
        expected = fixture_value("forecast_3_zones_gmt.json", i, "wind_speed_10m",
                                 "2026-11-28T12:00")
        assert got[(zone_id, noon)]["wind_speed_kmh"] == expected

    # the same reply for a city listing its zones the other way round: position decides
    reversed_city = make_city(list(reversed(ZONES)))
    flipped = by_zone_hour(OpenMeteoWeather().parse(raw, make_ctx(city=reversed_city)).records)
    assert flipped[("z03", noon)]["wind_speed_kmh"] == got[("z01", noon)]["wind_speed_kmh"]
    assert flipped[("z01", noon)]["wind_speed_kmh"] == got[("z03", noon)]["wind_speed_kmh"]


def test_local_timezone_reply_is_converted_to_utc() -> None:
    raw = load_fixture("open_meteo/forecast_3_zones_new_york.json")
    assert raw[0]["utc_offset_seconds"] == -18000  # EST

    result = OpenMeteoWeather().parse(raw, make_ctx())
    got = by_zone_hour(result.records)
    assert len(result.records) == 15
    # 10:00 UTC is 05:00 in New York in November
    assert got[("z01", START)]["temperature_c"] == fixture_value(
        "forecast_3_zones_new_york.json", 0, "temperature_2m", "2026-11-28T05:00")
    assert all(r["observed_at"].tzinfo is not None for r in result.records)
    assert all(START <= r["observed_at"] < END for r in result.records)


def test_single_location_reply_is_an_object() -> None:
    raw = load_fixture("open_meteo/forecast_1_zone_gmt.json")
    assert isinstance(raw, dict)
    city = make_city([("z01", 40.7580, -73.9855, 1.0)])
    result = OpenMeteoWeather().parse(raw, make_ctx(city=city))
    assert {r["zone_id"] for r in result.records} == {"z01"} and len(result.records) == 5


def test_reply_with_wrong_number_of_items_is_a_shape_error() -> None:
    raw = load_fixture("open_meteo/forecast_3_zones_gmt.json")[:2]
    with pytest.raises(ProviderShapeError, match="expected 3 location"):
        OpenMeteoWeather().parse(raw, make_ctx())


def test_air_quality_nulls_stay_none_and_empty_hours_are_dropped(
        replay_server: ReplayServer) -> None:
    replay_server.add(AIR, fixture="open_meteo/air_quality_3_zones_gmt.json")
    day_start, day_end = datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)
    ctx = make_ctx(replay_server.base_url, start=day_start, end=day_end)
    with httpx.Client() as http:
        result = OpenMeteoAirQuality().collect(ctx, http, RequestCounter())

    assert replay_server.requests[0].path == AIR
    assert set(replay_server.requests[0].param("hourly").split(",")) == {
        "us_aqi", "pm2_5", "pm10", "ozone", "nitrogen_dioxide"}
    # hours 20..23 are null for every variable (past the model horizon): no record for them
    assert len(result.records) == 3 * 20
    noon = by_zone_hour(result.records)[("z01", datetime(2026, 11, 28, 12, tzinfo=UTC))]
    assert noon["us_aqi"] is None  # null in the reply, kept as None
    assert noon["pm2_5"] == fixture_value("air_quality_3_zones_gmt.json", 0, "pm2_5",
                                          "2026-11-28T12:00")
    other = by_zone_hour(result.records)[("z03", datetime(2026, 11, 28, 3, tzinfo=UTC))]
    assert isinstance(other["us_aqi"], int)


def test_error_400_raises_with_the_reason(replay_server: ReplayServer) -> None:
    replay_server.add(FORECAST, fixture="open_meteo/error_400.json", status=400)
    sleeps: list[float] = []
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        OpenMeteoWeather(sleep=sleeps.append).fetch(make_ctx(replay_server.base_url), http,
                                                    RequestCounter())
    assert err.value.status == 400 and "temperature_3m" in str(err.value)
    assert sleeps == [] and len(replay_server.requests) == 1  # a 4xx is never retried


def test_error_body_with_status_200_raises_with_the_reason() -> None:
    with pytest.raises(ProviderError, match="temperature_3m") as err:
        OpenMeteoWeather().parse(load_fixture("open_meteo/error_400.json"), make_ctx())
    assert not isinstance(err.value, ProviderShapeError)


def test_429_with_retry_after_waits_then_succeeds(replay_server: ReplayServer) -> None:
    replay_server.add(FORECAST, status=429, retry_after="7", times=1,
                      json_body={"error": True, "reason": "Too many concurrent requests"})
    replay_server.add(FORECAST, fixture="open_meteo/forecast_3_zones_gmt.json")
    sleeps: list[float] = []
    counter = RequestCounter()
    with httpx.Client() as http:
        result = OpenMeteoWeather(sleep=sleeps.append).collect(
            make_ctx(replay_server.base_url), http, counter)
    assert sleeps == [7.0]
    assert (counter.requests, counter.attempts) == (1, 2)
    assert len(result.records) == 15


def test_no_retry_on_404(replay_server: ReplayServer) -> None:
    replay_server.add(FORECAST, status=404, body="Not Found", content_type="text/plain")
    sleeps: list[float] = []
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        OpenMeteoWeather(sleep=sleeps.append).fetch(make_ctx(replay_server.base_url), http,
                                                    RequestCounter())
    assert err.value.status == 404 and err.value.attempts == 1
    assert sleeps == [] and len(replay_server.requests) == 1


@pytest.mark.parametrize("answer", ["html", "truncated"])
def test_html_or_truncated_json_is_a_shape_error(replay_server: ReplayServer, answer) -> None:
    if answer == "html":
        replay_server.add_html(FORECAST)
    else:
        replay_server.add(FORECAST, fixture="open_meteo/forecast_3_zones_gmt.json", truncate=900)
    with httpx.Client() as http, pytest.raises(ProviderShapeError, match="not JSON"):
        OpenMeteoWeather().fetch(make_ctx(replay_server.base_url), http, RequestCounter())


def test_slow_provider_times_out_after_retries(replay_server: ReplayServer) -> None:
    replay_server.add(FORECAST, fixture="open_meteo/forecast_3_zones_gmt.json", delay_s=0.5)
    sleeps: list[float] = []
    with httpx.Client(timeout=0.1) as http, pytest.raises(ProviderError, match="timed out") as err:
        OpenMeteoWeather(sleep=sleeps.append).fetch(
            make_ctx(replay_server.base_url, http_max_attempts=2), http, RequestCounter())
    assert err.value.attempts == 2 and len(sleeps) == 1
