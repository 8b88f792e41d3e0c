"""Fault tests run against a PRIVATE FerretDB and Kafka (bench/private_services.py): the
shared services on 27017/9092 serve everything else and are never stopped here.

Every test here is marked `faults`, so `make faults` (pytest -m faults tests/faults) runs them
all. The outage tests (also marked `slow`, ~30 s each) are skipped by plain `pytest`; the quick
ones (poison messages, provider faults, security; also marked `integration`) run in `make test`
as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bench.private_services import PrivateServices
from core.settings import Settings

OUTAGE_SKIP = "slow fault test: run with `make faults` (pytest -m faults tests/faults)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the slow outage tests unless the -m expression asks for `faults`."""
    expr = config.getoption("markexpr") or ""
    if "faults" in expr.replace("not faults", ""):
        return
    skip = pytest.mark.skip(reason=OUTAGE_SKIP)
    for item in items:
        if item.get_closest_marker("faults") and item.get_closest_marker("slow"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def private_services() -> Iterator[PrivateServices]:
    """One private FerretDB + Kafka for the session, started on first use."""
    services = PrivateServices(prefix="citylive-faults-").start()
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def fault_settings(private_services: PrivateServices, request) -> Iterator[Settings]:
    """Settings on the private services with a fresh database and consumer group; services a
    previous test left stopped are started again first."""
    from core.storage import ensure_indexes, mongo_client
    from ingest.kafka_io import ensure_topics

    private_services.ferret.start()
    private_services.kafka.start()
    suffix = uuid.uuid4().hex[:8]
    name = "".join(c if c.isalnum() else "_" for c in request.node.name[:24])
    settings = Settings(_env_file=None, mongo_uri=private_services.ferret.uri,
                        kafka_bootstrap_servers=private_services.kafka.bootstrap,
                        mongo_db=f"citylive_test_faults_{name}_{suffix}",
                        kafka_consumer_group=f"faults-{suffix}", mongo_timeout_ms=2000)
    ensure_topics(settings)
    client = mongo_client(settings)
    ensure_indexes(client[settings.mongo_db])
    try:
        yield settings
    finally:
        private_services.ferret.start()  # a test may have left it stopped
        client.drop_database(settings.mongo_db)
        client.close()


@pytest.fixture
def fault_db(fault_settings: Settings):
    from core.storage import mongo_client

    client = mongo_client(fault_settings)
    yield client[fault_settings.mongo_db]
    client.close()
