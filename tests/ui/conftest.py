"""Fixtures for the UI tests: a dedicated database on the test session's private FerretDB
(tests/conftest.py `local_services`), seeded with read-model documents, pointed at through
MONGO_DB, dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from core.settings import get_settings
from tests.ui.model_fixture import (
    TrainedCity,
    build_trained_city,
    connect,
    new_artifacts_dir,
    remove,
)
from tests.ui.seed_docs import seed_catalog, seed_city, seed_shared
from tests.ui.ui_env import (
    TEST_DB,
    Seeded,
    clear_streamlit_caches,
    point_settings_at,
)


@pytest.fixture(scope="module")
def seeded_db(local_services) -> Iterator[Seeded]:
    """nyc seeded with every read model (3 days of history); chicago in the catalog only.

    Module scope: MONGO_DB is restored when the module's tests are done, so other test
    packages never see the test database.
    """
    uri = local_services.ferret.uri
    client = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=3000)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        pytest.fail(f"the UI integration tests need the private FerretDB at {uri}: {exc}")
    get_settings.cache_clear()  # MONGO_URI now names the private server
    previous = os.environ.get("MONGO_DB")
    client.drop_database(TEST_DB)
    db = client[TEST_DB]
    now = datetime.now(UTC)
    catalog = seed_catalog(db, active=("nyc",))
    seed_city(db, catalog["nyc"], now, days=3)
    seed_shared(db, now)
    point_settings_at(TEST_DB)
    assert get_settings().mongo_db == TEST_DB
    clear_streamlit_caches()
    try:
        yield Seeded(db, now, TEST_DB)
    finally:
        client.drop_database(TEST_DB)
        client.close()
        point_settings_at(previous)
        clear_streamlit_caches()


@pytest.fixture(scope="session")
def trained_city(local_services) -> Iterator[TrainedCity]:
    """nyc backfilled, every model trained (1 epoch), forecasts precomputed and scored by the
    real code (tests/ui/model_fixture.py): once per session, in its own database."""
    uri = local_services.ferret.uri
    client, artifacts = connect(uri), new_artifacts_dir()
    try:  # removed even when the real code fails half-way
        yield build_trained_city(client, uri, artifacts)
    finally:
        remove(client, artifacts)


@pytest.fixture(scope="module")
def trained_ui(trained_city: TrainedCity) -> Iterator[TrainedCity]:
    """The app pointed at the trained database for one module's tests."""
    previous = os.environ.get("MONGO_DB")
    point_settings_at(trained_city.name)
    clear_streamlit_caches()
    try:
        yield trained_city
    finally:
        point_settings_at(previous)
        clear_streamlit_caches()
