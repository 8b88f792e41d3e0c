"""Open-Meteo geocoding client against recorded responses on a local HTTP server."""

from __future__ import annotations

import httpx
import pytest

from ingest.exceptions import ProviderError, ProviderShapeError
from ingest.sources.geocoding import PATH, geocode, parse_places
from tests.replay_server import replay_server_fixture, settings_for  # noqa: F401


def test_candidates_come_with_their_admin_area_country_and_timezone(replay_server):
    replay_server.add(PATH, query={"name": "Portland"},
                      fixture="open_meteo/geocoding_portland.json")
    with httpx.Client() as http:
        places = geocode(http, settings_for(replay_server.base_url), "Portland")
    assert [(p.admin1, p.country_code) for p in places] == [
        ("Oregon", "US"), ("Maine", "US"), ("Victoria", "AU")]  # no coordinates: skipped
    oregon = places[0]
    assert oregon.geonameid == 5746545 and oregon.timezone == "America/Los_Angeles"
    assert oregon.population == 652503 and oregon.source == "open-meteo"
    assert oregon.label() == "Portland, Oregon, United States"
    [request] = replay_server.requests
    assert request.param("count") == "10" and request.param("format") == "json"


def test_a_name_nothing_matches_is_an_empty_list(replay_server):
    replay_server.add(PATH, fixture="open_meteo/geocoding_none.json")
    with httpx.Client() as http:
        assert geocode(http, settings_for(replay_server.base_url), "Zzxqv") == []


def test_a_server_error_is_a_provider_error_after_retries(replay_server):
    replay_server.add(PATH, status=503)
    settings = settings_for(replay_server.base_url, http_max_attempts=2)
    with httpx.Client() as http, pytest.raises(ProviderError, match="HTTP 503"):
        geocode(http, settings, "Portland")
    assert len(replay_server.requests) == 2


def test_an_answer_of_another_shape_is_a_shape_error():
    with pytest.raises(ProviderShapeError):
        parse_places([])
    with pytest.raises(ProviderShapeError):
        parse_places({"results": "no"})
