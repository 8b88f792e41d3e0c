"""Shared fixtures. Integration tests use the REAL local FerretDB and Kafka that `make test`
starts (infra/services.py); each test gets its own database and consumer group."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _services_up() -> bool:
    sys.path.insert(0, str(ROOT / "infra"))
    import services  # infra/services.py

    return services.mongo_ping() and services.kafka_ready()


@pytest.fixture(scope="session")
def local_services() -> None:
    """Make sure FerretDB and Kafka answer; start them (idempotent) when they do not."""
    if not _services_up():
        proc = subprocess.run([sys.executable, str(ROOT / "infra" / "services.py"), "start"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def test_env(local_services, monkeypatch, request):
    """A private database and consumer group for one test, set in the environment."""
    suffix = uuid.uuid4().hex[:8]
    db_name = f"citylive_test_{request.node.name[:20].replace('[', '_').replace(']', '')}_{suffix}"
    db_name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in db_name)
    env = {"MONGO_DB": db_name, "KAFKA_CONSUMER_GROUP": f"test-{suffix}",
           "CITYLIVE_ARTIFACTS_DIR": str(ROOT / "data" / "test-artifacts" / suffix)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from core.settings import Settings

    settings = Settings(_env_file=None)
    yield settings
    from core.storage import mongo_client

    client = mongo_client(settings)
    client.drop_database(db_name)
    client.close()


@pytest.fixture
def db(test_env):
    from core.storage import ensure_indexes, mongo_client

    client = mongo_client(test_env)
    database = client[test_env.mongo_db]
    ensure_indexes(database)
    yield database
    client.close()


def pytest_collection_modifyitems(config, items):
    """Order: unit tests first, then integration, then browser tests (slowest last)."""
    def rank(item) -> int:
        path = str(item.fspath)
        return 2 if "browser" in item.keywords else 1 if os.sep + "unit" + os.sep not in path else 0

    items.sort(key=rank)
