"""Which provider really serves a kind for a city, given the catalog and the settings.

A kind is live when the sidecar runs live (CITYLIVE_SOURCE=live), the city's catalog entry
names a provider for it (`live_sources`), and, for a provider offered only where a key is set
(TomTom traffic), that key is set. Every other kind is simulated and labelled so
(docs/architecture.md §4). EIA is not optional in that sense: live power without EIA_API_KEY is
a configuration error the cycle reports, not a silent switch to the simulator.
"""

from __future__ import annotations

from core.catalog import City
from core.settings import Settings
from core.vocabulary import SIMULATED, SOURCE_KINDS

KEY_SETTING = {"tomtom": "tomtom_api_key"}  # providers used only where their key is set


def live_provider(kind: str, city: City, settings: Settings) -> str | None:
    """The live provider serving `kind` for `city`, or None when it is simulated."""
    provider = city.live_sources.get(kind)
    if settings.citylive_source != "live" or not provider:
        return None
    key = KEY_SETTING.get(provider)
    secret = getattr(settings, key) if key is not None else None
    if key is not None and (secret is None or not secret.get_secret_value()):
        return None
    return provider


def city_sources(city: City, settings: Settings) -> dict[str, str]:
    """Kind -> provider label ("simulated" where no live provider serves it)."""
    return {kind: live_provider(kind, city, settings) or SIMULATED for kind in SOURCE_KINDS}
