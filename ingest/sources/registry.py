"""Which Source serves a kind for a city: catalog data + the CITYLIVE_SOURCE setting."""

from __future__ import annotations

from core.capabilities import live_provider
from core.catalog import City
from core.settings import Settings
from core.vocabulary import SOURCE_KINDS
from ingest.sources.base import Source


def source_for(kind: str, city: City, settings: Settings) -> Source:
    """The live provider named in the catalog when running live (with its key, where it needs
    one), else the simulator (core.capabilities)."""
    if kind not in SOURCE_KINDS:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {SOURCE_KINDS}")
    provider = live_provider(kind, city, settings)
    if provider:
        from ingest.sources.live import live_source

        return live_source(kind, provider)
    from ingest.sources.simulated import SimulatedSource

    return SimulatedSource(kind)
