"""Three sidecars share eight cities through Kafka's group coordination; one is SIGKILLed and
its cities move; a fourth joins and takes a share. Real sidecar processes on the session's
services, Open-Meteo served by the stand-in, which counts every request."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bench.common import end_offsets
from bench.fleet import (
    CADENCE_SCALE,
    CONTROL_PARTITIONS,
    add_cities,
    fleet_env,
    hits_per_city,
    runs_by_city,
    runs_of,
)
from bench.standin import StandIn
from core.ownership import partition_for
from core.vocabulary import CADENCE_MIN, DATA_TOPICS, C
from tests.faults.helpers import SidecarProcess, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WEATHER_EVERY_S = CADENCE_MIN["weather"] * 60 * CADENCE_SCALE


def statuses(db) -> dict[str, str]:
    return {d["_id"]: d.get("status") for d in db[C.CITY_REQUESTS].find({})}


def owners(db, since: datetime) -> dict[str, set[str]]:
    """city -> workers that ran its weather ingest since `since`."""
    return {city: {r["worker"] for r in runs}
            for city, runs in runs_by_city(runs_of(db, "ingest", "weather", since)).items()}


@pytest.mark.timeout(600)  # ~280 s of cadence-scaled waits alone; the default 300 s is too close
def test_sidecars_share_cities_survive_a_kill_and_take_in_a_new_one(test_env, db, tmp_path):
    cities = add_cities(db, test_env)
    ids = {c.city_id for c in cities}
    # one city per control partition: any share a sidecar is given holds cities
    assert sorted(partition_for(c, CONTROL_PARTITIONS) for c in ids) == list(
        range(CONTROL_PARTITIONS))
    with StandIn() as standin:
        env = fleet_env(standin.url)
        fleet = {w: SidecarProcess(test_env, _dir(tmp_path, w), CITYLIVE_WORKER_ID=w, **env)
                 for w in ("s1", "s2", "s3", "s4")}
        try:
            for w in ("s1", "s2", "s3"):
                fleet[w].start()
            assert wait_until(lambda: set(statuses(db).values()) == {"active"}, 300, 1), (
                statuses(db), fleet["s1"].log())
            # several weather cycles with the three of them
            t0, m0 = datetime.now(UTC), time.monotonic()
            time.sleep(2.5 * WEATHER_EVERY_S)
            t1, m1 = datetime.now(UTC), time.monotonic()
            steady = runs_by_city([r for r in runs_of(db, "ingest", "weather", t0)
                                   if r["started_at"] < t1])
            assert set(steady) == ids
            for city, runs in steady.items():
                assert len({r["worker"] for r in runs}) == 1, (city, runs)  # one owner
                assert 2 <= len(runs) <= 3, (city, [r["started_at"] for r in runs])
                gaps = [(b["started_at"] - a["started_at"]).total_seconds()
                        for a, b in zip(runs, runs[1:], strict=False)]
                assert all(g > 0.8 * WEATHER_EVERY_S for g in gaps), (city, gaps)  # once a cycle
            owner = {city: runs[0]["worker"] for city, runs in steady.items()}
            assert set(owner.values()) == {"s1", "s2", "s3"}  # each took a share
            # at the provider: each city's weather fetched by its owner alone, once a cycle
            seen = fetches(standin, cities, m0 + 1, m1 - 1)
            assert set(seen) == ids
            for city, workers in seen.items():
                assert set(workers) == {owner[city]}, (city, workers)
                assert 1 <= len(workers) <= 3, (city, workers)

            # SIGKILL one: its cities move to the others within 60 s
            victims = {c for c, w in owner.items() if w == "s1"}
            assert victims
            fleet["s1"].kill()
            killed_at = datetime.now(UTC)
            moved = lambda: all(owners(db, killed_at).get(c, set()) - {"s1"} for c in victims)  # noqa: E731
            assert wait_until(moved, 90, 1), (owners(db, killed_at), fleet["s2"].log())
            first = {c: runs_of(db, "ingest", "weather", killed_at) for c in victims}
            taken = max(min(r["started_at"] for r in runs if r["city_id"] == c)
                        for c, runs in first.items())
            assert (taken - killed_at).total_seconds() <= 60, taken - killed_at

            # a fourth joins and takes a share; the others let go of it
            fleet["s4"].start()
            joined = datetime.now(UTC)
            assert wait_until(lambda: "s4" in {w for ws in owners(db, joined).values()
                                               for w in ws}, 120, 1), fleet["s4"].log()
            time.sleep(1.5 * WEATHER_EVERY_S)
            settled, m_settled = datetime.now(UTC), time.monotonic()
            time.sleep(2.2 * WEATHER_EVERY_S)
            late = owners(db, settled)
            assert set(late) == ids
            assert all(len(ws) == 1 for ws in late.values()), late  # one owner each again
            assert "s4" in set().union(*late.values()) and "s1" not in set().union(*late.values())
            for w in ("s2", "s3", "s4"):
                assert fleet[w].alive(), fleet[w].log()
            seen = fetches(standin, cities, m_settled, time.monotonic())
            assert all(len(set(ws)) == 1 for ws in seen.values()), seen
            # every message consumed: the group catches up with what was produced so far
            produced = end_offsets(test_env, DATA_TOPICS)
            assert wait_until(lambda: caught_up(test_env, produced), 180, 1)  # 2 busy cores
            for w in ("s2", "s3", "s4"):
                fleet[w].stop(db)
        finally:
            for sidecar in fleet.values():
                sidecar.cleanup()

    # and each stored once: no Kafka message became two documents
    for coll in (C.RAW_WEATHER, C.RAW_AQI, C.RAW_TRAFFIC):
        offsets = [(d["partition"], d["offset"]) for d in db[coll].find(
            {"offset": {"$exists": True}}, {"partition": 1, "offset": 1})]
        assert offsets and len(offsets) == len(set(offsets)), coll
    workers = {d["worker"] for d in db[C.PIPELINE_RUNS].find({"job": "ingest"}, {"worker": 1})}
    assert workers == {"s1", "s2", "s3", "s4"}


def fetches(standin: StandIn, cities, since: float, until: float) -> dict[str, list[str]]:
    """city -> the worker of each weather request the stand-in saw in [since, until]."""
    out: dict[str, list[str]] = {}
    for hit in standin.hits_for("/v1/forecast"):
        if since <= hit.at <= until:
            for city in hits_per_city([hit], cities):
                out.setdefault(city, []).append(hit.worker or "?")
    return out


def caught_up(settings, produced) -> bool:
    """The data consumers' group has committed every offset in `produced` (wire names)."""
    from confluent_kafka import TopicPartition

    from ingest.kafka_io import make_consumer, unwrap

    consumer, _names = unwrap(make_consumer(settings))
    try:
        committed = consumer.committed([TopicPartition(tp.topic, tp.partition)
                                        for tp in produced], timeout=10)
    finally:
        consumer.close()
    done = {(tp.topic, tp.partition): tp.offset for tp in committed}
    return all(done.get((tp.topic, tp.partition), -1) >= tp.offset for tp in produced)


def _dir(root, name):
    path = root / name
    path.mkdir()
    return path
