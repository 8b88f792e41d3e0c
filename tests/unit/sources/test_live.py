"""live_source: every (kind, provider) the catalog names has a client with that label."""

from __future__ import annotations

import pytest

from core.catalog import load_catalog
from core.vocabulary import SOURCE_KINDS, SOURCES
from ingest.sources.live import LIVE_SOURCES, live_source


def test_every_catalog_live_source_resolves() -> None:
    pairs = {(kind, provider) for city in load_catalog().values()
             for kind, provider in city.live_sources.items()}
    assert pairs  # the catalog names live providers
    for kind, provider in pairs:
        source = live_source(kind, provider)
        assert (source.kind, source.provider) == (kind, provider)


def test_labels_are_known_kinds_and_sources() -> None:
    for kind, provider in LIVE_SOURCES:
        assert kind in SOURCE_KINDS and provider in SOURCES


def test_unknown_pair_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="traffic/tomtom"):
        live_source("weather", "tomtom")
