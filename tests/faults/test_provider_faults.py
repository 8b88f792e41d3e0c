"""A provider answering 429 + Retry-After, 500, too slowly, truncated JSON, HTML or JSON of
another shape: retried as designed (only what is transient), one recorded failure for that
source and cycle in pipeline_runs, and the other sources of the cycle land unaffected."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bench.standin import StandIn
from core.catalog import get_city
from core.vocabulary import C
from ingest.kafka_io import make_producer
from pipeline.cycle import Services, ingest_city

pytestmark = [pytest.mark.faults, pytest.mark.integration]
TIMEOUT_S = 1.0

# fault -> (attempts the client makes, text the recorded error must contain)
CASES = {
    "429": (3, "HTTP 429"),
    "500": (3, "HTTP 500"),
    "timeout": (3, "timed out"),
    "truncated": (1, "not JSON"),
    "html": (1, "text/html"),
    "shape": (1, "location"),
}


@pytest.mark.parametrize("fault", list(CASES))
def test_one_misbehaving_provider_is_recorded_and_the_others_land(fault, fault_settings,
                                                                  fault_db):
    attempts, message = CASES[fault]
    city = get_city("nyc")
    with StandIn(hang_s=TIMEOUT_S * 2.5) as standin, httpx.Client(timeout=TIMEOUT_S) as http:
        standin.fault, standin.fault_paths = fault, ("/v1/forecast",)
        settings = fault_settings.model_copy(update={
            "citylive_source": "live", "open_meteo_url": standin.url,
            "open_meteo_aq_url": standin.url, "http_timeout_s": TIMEOUT_S,
            "http_max_attempts": 3})
        svc = Services(settings=settings, db=fault_db, producer=make_producer(settings),
                       http=http, catalog={city.city_id: city})
        oks = ingest_city(svc, city, datetime.now(UTC), kinds=("weather", "aqi"))
        weather_hits = standin.hits_for("/v1/forecast")
        aqi_hits = standin.hits_for("/v1/air-quality")

    assert oks == {"weather": False, "aqi": True}
    runs = {r["source"]: r for r in fault_db[C.PIPELINE_RUNS].find({"job": "ingest"})}
    weather, aqi = runs["weather"], runs["aqi"]
    assert not weather["ok"] and message in weather["error"], weather["error"]
    assert weather["provider"] == "open-meteo" and weather["city_id"] == "nyc"
    assert weather["requests"] == 1 and weather["attempts"] == attempts
    assert len(weather_hits) == attempts  # retried transient failures only
    if fault == "429":  # Retry-After: 1 is honoured (the default backoff starts at 0.5 s)
        gaps = [b.at - a.at for a, b in zip(weather_hits, weather_hits[1:], strict=False)]
        assert all(gap >= 0.95 for gap in gaps), gaps
    # the other source of the same cycle is untouched
    assert aqi["ok"] and aqi["error"] is None and aqi["requests"] == 1 == len(aqi_hits)
    assert aqi["records"] >= len(city.zones)
