"""Shared fixtures. Integration tests run on PRIVATE PostgreSQL + FerretDB + Kafka instances
that the test session starts itself (bench/private_services.py: the binaries and settings of
`make services`, on free ports, data in a temp folder), never on the services `make run` uses:
nothing the suite does can reach what the app shows. Each test gets its own database and
consumer group on them. `app_data_guard` checks, at the end of the session, that the app's own
server gained no database and its Kafka no consumer group or message because of the tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_ENV = ("MONGO_URI", "KAFKA_BOOTSTRAP_SERVERS")


def _app_view() -> dict[str, Any]:
    """What the app's own services hold that a test could change: database names, consumer
    groups and the end offsets of the app's topics (best effort: a service that does not answer
    is left out)."""
    from core.settings import Settings

    settings = Settings()  # the app's configuration: environment and .env, as `make run` reads
    view: dict[str, Any] = {}
    try:
        from pymongo import MongoClient

        client = MongoClient(settings.mongo_uri.get_secret_value(), serverSelectionTimeoutMS=800)
        view["databases"] = set(client.list_database_names())
        client.close()
    except Exception:  # noqa: BLE001 - the app's server is not running: nothing to guard
        pass
    try:
        from confluent_kafka.admin import AdminClient

        from core.vocabulary import ALL_TOPICS
        from ingest.kafka_io import client_config

        admin = AdminClient({**client_config(settings), "socket.timeout.ms": 1500})
        topics = admin.list_topics(timeout=2).topics
        view["groups"] = {g.group_id for g in admin.list_consumer_groups(
            request_timeout=3).result().valid}
        view["topics"] = sorted(t for t in ALL_TOPICS if t in topics)
    except Exception:  # noqa: BLE001 - the app's Kafka is not running: nothing to guard
        pass
    return view


@pytest.fixture(scope="session", autouse=True)
def app_data_guard() -> Iterator[None]:
    before = _app_view()
    yield
    after = _app_view()
    new_dbs = after.get("databases", set()) - before.get("databases", set())
    new_groups = {g for g in after.get("groups", set()) - before.get("groups", set())
                  if g.startswith(("test-", "faults-", "bench-"))}
    assert not new_dbs, f"the tests created databases on the app's server: {new_dbs}"
    assert not new_groups, f"the tests created consumer groups on the app's Kafka: {new_groups}"


@pytest.fixture(scope="session")
def local_services() -> Iterator[Any]:
    """The session's private services; the environment points every process at them."""
    from bench.private_services import PrivateServices

    services = PrivateServices(prefix="citylive-tests-").start()
    saved = {k: os.environ.get(k) for k in APP_ENV}
    os.environ.update(services.env())
    try:
        yield services
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        services.close()


@pytest.fixture
def test_env(local_services, monkeypatch, request):
    """A private database, consumer group and topic namespace for one test, set in the
    environment (a new group reads its topics from the start: shared topics would hand it
    every earlier test's messages)."""
    suffix = uuid.uuid4().hex[:8]
    db_name = f"citylive_test_{request.node.name[:20].replace('[', '_').replace(']', '')}_{suffix}"
    db_name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in db_name)
    env = {"MONGO_DB": db_name, "KAFKA_CONSUMER_GROUP": f"test-{suffix}",
           "KAFKA_TOPIC_PREFIX": f"test-{suffix}.",
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


@pytest.fixture
def group_at_end(test_env):
    """The test's consumer group placed at the end of every topic: a `--once` run of this test
    consumes what it produced, not what earlier tests of the session left in the topics."""
    from bench.common import commit_group_at_end
    from core.vocabulary import CONSUMED_TOPICS
    from ingest.kafka_io import ensure_topics

    ensure_topics(test_env)
    commit_group_at_end(test_env, CONSUMED_TOPICS)
    return test_env
