"""TomTom flowSegmentData: one request per zone (the provider's limit), rejects, key redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.tomtom import TomTomTraffic
from tests.replay_server import (
    ReplayServer,
    load_fixture,
    replay_server_fixture,  # noqa: F401 (the replay_server fixture)
    settings_for,
)

PATH = "/traffic/services/4/flowSegmentData/absolute/10/json"
KEY = "tt-key-abcdef0123456789"
NOW = datetime(2026, 11, 28, 15, 2, tzinfo=UTC)
ZONES = {"loop": (41.8827, -87.6323), "hydepark": (41.7948, -87.5932),
         "lake": (41.9000, -87.5800)}  # the last one is in Lake Michigan: no road nearby


def make_ctx(base_url: str = "http://unused", key: str | None = KEY, **settings) -> FetchContext:
    city = City(city_id="chicago", name="Chicago", timezone="America/Chicago",
                bounds=Bounds(min_lat=41.644, min_lon=-87.94, max_lat=42.023, max_lon=-87.524),
                eia_respondent="PJM", ba_share=0.07, live_sources={"traffic": "tomtom"},
                zones=[Zone(zone_id=z, city_id="chicago", name=z, lat=lat, lon=lon,
                            weight=1 / 3) for z, (lat, lon) in ZONES.items()])
    return FetchContext(city=city, settings=settings_for(base_url, tomtom_api_key=key,
                                                         **settings),
                        start=NOW, end=NOW, ingested_at=NOW)


def serve_city(server: ReplayServer) -> None:
    server.add(PATH, query={"point": "41.88270,-87.63230"}, fixture="tomtom/flow_loop.json")
    server.add(PATH, query={"point": "41.79480,-87.59320"}, fixture="tomtom/flow_road_closed.json")
    server.add(PATH, query={"point": "41.90000,-87.58000"}, status=400,
               fixture="tomtom/error_point_too_far.json")


def test_one_request_per_zone_and_records(replay_server: ReplayServer) -> None:
    serve_city(replay_server)
    counter = RequestCounter()
    with httpx.Client() as http:
        result = TomTomTraffic().collect(make_ctx(replay_server.base_url), http, counter)

    assert counter.requests == len(ZONES) == len(replay_server.requests)
    assert all(r.param("key") == KEY and r.param("unit") == "KMPH"
               for r in replay_server.requests)
    got = {r["zone_id"]: r for r in result.records}
    loop = got["loop"]  # fixture: currentSpeed 19, freeFlowSpeed 42 km/h
    assert (loop["speed_kmh"], loop["free_flow_kmh"]) == (19.0, 42.0)
    assert loop["congestion"] == pytest.approx(1 - 19 / 42)
    assert loop["link_id"] == "tomtom:loop" and loop["observed_at"] == NOW
    assert got["hydepark"]["congestion"] == 1.0  # roadClosure
    assert [r.item["zone_id"] for r in result.rejects] == ["lake"]
    assert "Point too far" in result.rejects[0].reason
    assert KEY not in repr(result.rejects) + repr(result.records)


def test_forbidden_key_fails_the_cycle_without_leaking_it(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, status=403, fixture="tomtom/error_developer_inactive.html")
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        TomTomTraffic().fetch(make_ctx(replay_server.base_url), http, RequestCounter())
    assert err.value.status == 403 and "Developer Inactive" in str(err.value)
    assert len(replay_server.requests) == 1  # stops at the first zone


def test_key_echoed_in_an_error_is_redacted(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, status=403, json_body={"error": f"Invalid key {KEY}"})
    with httpx.Client() as http, pytest.raises(ProviderError) as err:
        TomTomTraffic().fetch(make_ctx(replay_server.base_url), http, RequestCounter())
    assert KEY not in str(err.value) and "***" in str(err.value)


def test_connection_errors_never_show_the_key() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as http, \
            pytest.raises(ProviderError) as err:
        TomTomTraffic(sleep=lambda _s: None).fetch(make_ctx(http_max_attempts=2), http,
                                                   RequestCounter())
    assert "connection failed" in str(err.value) and KEY not in str(err.value)


def test_rate_limit_is_retried_with_retry_after(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, status=429, retry_after="2", times=1, body="Over the limit")
    serve_city(replay_server)
    sleeps: list[float] = []
    with httpx.Client() as http:
        result = TomTomTraffic(sleep=sleeps.append).collect(
            make_ctx(replay_server.base_url), http, RequestCounter())
    assert sleeps == [2.0] and len(result.records) == 2


def test_missing_key_fails_before_any_request(replay_server: ReplayServer) -> None:
    with httpx.Client() as http, pytest.raises(ProviderError, match="TOMTOM_API_KEY"):
        TomTomTraffic().fetch(make_ctx(replay_server.base_url, key=None), http,
                              RequestCounter())
    assert replay_server.requests == []


def test_reply_without_flow_data_is_a_shape_error() -> None:
    raw = [{"zone_id": "loop", "reply": {"unexpected": True}}]
    with pytest.raises(ProviderShapeError):
        TomTomTraffic().parse(raw, make_ctx())
    ok = [{"zone_id": "loop", "reply": load_fixture("tomtom/flow_loop.json")}]
    assert len(TomTomTraffic().parse(ok, make_ctx()).records) == 1
