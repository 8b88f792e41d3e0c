"""Open-Meteo weather + air quality: one request per city, request-order mapping, tz -> UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.open_meteo import OpenMeteoAirQuality, OpenMeteoWeather
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
    replay_server.add(FORECAST, fixture="open_meteo/forecast_3_zones_gmt.json")
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
    assert (sent.param("start_date"), sent.param("end_date")) == ("2026-11-28", "2026-11-28")
    # 3 zones x hours 10..14 (the window is [start, end))
    assert len(result.records) == 15 and not result.rejects
    hours = sorted({r["observed_at"] for r in result.records})
    assert hours[0] == START and hours[-1] == datetime(2026, 11, 28, 14, tzinfo=UTC)
    rec = by_zone_hour(result.records)[("z02", datetime(2026, 11, 28, 13, tzinfo=UTC))]
    assert rec["temperature_c"] == fixture_value("forecast_3_zones_gmt.json", 1,
                                                 "temperature_2m", "2026-11-28T13:00")
    assert rec["precipitation_mm"] == 0.7  # item 1 at 13:00 in the fixture
    assert rec["source"] == "open-meteo" and rec["schema_version"] == 1
    assert rec["ingested_at"] == END and rec["city_id"] == "nyc"


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
