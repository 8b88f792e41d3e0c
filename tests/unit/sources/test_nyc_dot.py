"""NYC DOT link speeds: newest row per link, mph -> km/h, free-flow reference, stale links."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.catalog import Bounds, City, Zone
from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.http import RequestCounter
from ingest.sources.base import FetchContext
from ingest.sources.nyc_dot import NycDotTraffic, congestion, first_point, free_flow_mph
from tests.replay_server import (
    ReplayServer,
    load_fixture,
    replay_server_fixture,  # noqa: F401 (the replay_server fixture)
    settings_for,
)

PATH = "/resource/i4gi-tjb9.json"
END = datetime(2026, 11, 28, 15, tzinfo=UTC)  # 10:00 EST: links older than 09:45 are stale
MPH = 1.609344
ZONES = {"midtown": (40.758, -73.9855), "bedstuy": (40.678, -73.944), "flushing": (40.742, -73.82)}


def make_ctx(base_url: str = "http://unused") -> FetchContext:
    city = City(city_id="nyc", name="NYC", timezone="America/New_York",
                bounds=Bounds(min_lat=40.477, min_lon=-74.259, max_lat=40.917, max_lon=-73.7),
                eia_respondent="NYIS", ba_share=0.33,
                zones=[Zone(zone_id=z, city_id="nyc", name=z, lat=lat, lon=lon, weight=1 / 3)
                       for z, (lat, lon) in ZONES.items()])
    return FetchContext(city=city, settings=settings_for(base_url), start=END, end=END,
                        ingested_at=END)


def parsed():
    return NycDotTraffic().parse(load_fixture("nyc_dot/i4gi-tjb9_last_hour.json"), make_ctx())


def by_link(records) -> dict:
    return {r["link_id"]: r for r in records}


def test_one_request_for_the_last_hour(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, fixture="nyc_dot/i4gi-tjb9_last_hour.json")
    counter = RequestCounter()
    with httpx.Client() as http:
        result = NycDotTraffic().collect(make_ctx(replay_server.base_url), http, counter)
    assert counter.requests == 1 and len(replay_server.requests) == 1
    sent = replay_server.requests[0]
    assert sent.param("$where") == ("data_as_of >= '2026-11-28T09:00:00.000' "
                                    "AND data_as_of < '2026-11-28T10:00:00.000'")
    assert sent.param("$order") == "data_as_of DESC,id"
    assert {"id", "speed", "data_as_of", "link_points"} <= set(sent.param("$select").split(","))
    assert len(result.records) == 4


def test_newest_row_per_link_in_km_per_hour() -> None:
    fdr = by_link(parsed().records)["4616"]
    # three FDR rows in the hour; the newest is 09:52:03 EST at 12.43 mph
    assert fdr["observed_at"] == datetime(2026, 11, 28, 14, 52, 3, tzinfo=UTC)
    assert fdr["speed_kmh"] == pytest.approx(12.43 * MPH)
    assert fdr["zone_id"] == "midtown" and fdr["source"] == "nyc-dot"
    # the reply order ($order=data_as_of DESC) is not relied on
    rows = list(reversed(load_fixture("nyc_dot/i4gi-tjb9_last_hour.json")))
    again = by_link(NycDotTraffic().parse(rows, make_ctx()).records)["4616"]
    assert again["observed_at"] == fdr["observed_at"] and again["speed_kmh"] == fdr["speed_kmh"]


def test_free_flow_is_the_fastest_seen_but_not_below_the_road_class() -> None:
    got = by_link(parsed().records)
    # FDR: fastest seen 41.01 mph < highway floor 45 mph
    assert got["4616"]["free_flow_kmh"] == pytest.approx(45 * MPH)
    assert got["4616"]["congestion"] == pytest.approx(1 - 12.43 / 45)
    # BQE: fastest seen 52.20 mph > floor: the batch is the reference
    assert got["4362"]["free_flow_kmh"] == pytest.approx(52.20 * MPH)
    assert got["4362"]["congestion"] == pytest.approx(1 - 31.07 / 52.20)
    assert got["4362"]["zone_id"] == "bedstuy"
    # a street link: 25 mph floor
    assert got["169"]["free_flow_kmh"] == pytest.approx(25 * MPH)
    assert got["169"]["congestion"] == pytest.approx(1 - 17.39 / 25)


def test_truncated_link_points_use_the_first_pair() -> None:
    qbb = by_link(parsed().records)["126"]
    assert qbb["zone_id"] == "midtown"


def test_stale_unplaceable_and_outside_links_are_rejected() -> None:
    reasons = {r.item["id"]: r.reason for r in parsed().rejects}
    assert reasons["450"] == "stale link"  # newest row 09:31, 29 min before the end
    assert reasons["217"] == "no coordinates in link_points"  # link_points "40.7"
    assert reasons["390"].startswith("outside nyc bounds")  # Westchester
    assert len(reasons) == 3


def test_first_point_parsing() -> None:
    assert first_point("40.7578,-73.9597 40.757441,-73.95883 40.757") == (40.7578, -73.9597)
    assert first_point("40.7") is None and first_point("") is None and first_point(None) is None
    assert first_point("garbage 40.1,-73.2") == (40.1, -73.2)


def test_congestion_is_clipped() -> None:
    assert congestion(60.0, 50.0) == 0.0
    assert congestion(0.0, 50.0) == 1.0
    assert congestion(25.0, 50.0) == pytest.approx(0.5)
    assert free_flow_mph("Cross Bronx E - Webster Ave", None) == 45.0
    assert free_flow_mph("broadway n 34th st - 42nd st", 28.0) == 28.0


def test_socrata_error_and_html(replay_server: ReplayServer) -> None:
    replay_server.add(PATH, fixture="socrata_311/error_query_malformed.json", status=400,
                      times=1)
    replay_server.add_html(PATH)
    with httpx.Client() as http:
        with pytest.raises(ProviderError, match="malformed"):
            NycDotTraffic().fetch(make_ctx(replay_server.base_url), http, RequestCounter())
        with pytest.raises(ProviderShapeError):
            NycDotTraffic().fetch(make_ctx(replay_server.base_url), http, RequestCounter())
