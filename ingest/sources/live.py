"""The live provider clients, by (kind, provider) as the catalog names them in live_sources."""

from __future__ import annotations

from collections.abc import Callable

from ingest.sources.base import Source
from ingest.sources.eia import EiaPower
from ingest.sources.nyc_dot import NycDotTraffic
from ingest.sources.open_meteo import OpenMeteoAirQuality, OpenMeteoWeather
from ingest.sources.socrata_311 import Socrata311
from ingest.sources.tomtom import TomTomTraffic

LIVE_SOURCES: dict[tuple[str, str], Callable[[], Source]] = {
    ("weather", "open-meteo"): OpenMeteoWeather,
    ("aqi", "open-meteo"): OpenMeteoAirQuality,
    ("traffic", "nyc-dot"): NycDotTraffic,
    ("traffic", "tomtom"): TomTomTraffic,
    ("power", "eia"): EiaPower,
    ("incidents", "socrata"): Socrata311,
}


def live_source(kind: str, provider: str) -> Source:
    """A fresh client for `provider` serving `kind`; ValueError for a pair we do not have."""
    factory = LIVE_SOURCES.get((kind, provider))
    if factory is None:
        known = ", ".join(f"{k}/{p}" for k, p in sorted(LIVE_SOURCES))
        raise ValueError(f"no live source for kind {kind!r} from {provider!r}; known: {known}")
    return factory()
