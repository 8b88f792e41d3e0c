"""Adding cities by name against the real local services: the CLI, the offline gazetteer, the
UI's city_searches exchange, bad input, the city limit, and first data for a new city."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.catalog import get_city
from core.city_store import city_from_docs, load_added_cities
from core.gazetteer import search
from core.vocabulary import C
from pipeline.cities import CityLimitError, add_city
from pipeline.city_searches import serve_city_searches
from pipeline.cycle import Services
from tests.replay_server import replay_server_fixture  # noqa: F401

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

# name -> (what the gazetteer must find first: country code, southern?)
WORLD = {
    "São Paulo": "BR", "Lagos": "NG", "القاهرة": "EG", "東京": "JP", "Москва": "RU",
    "Mumbai": "IN", "Sydney": "AU", "Suva": "FJ", "Reykjavik": "IS", "Mexico City": "MX",
    "Nairobi": "KE", "Auckland": "NZ",
}


def cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "pipeline.cities", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def services(settings, db) -> Services:
    return Services(settings=settings, db=db, producer=None, http=httpx.Client(timeout=5),
                    catalog={})


def test_twelve_cities_on_every_continent(test_env, db):
    settings = test_env.model_copy(update={"citylive_max_cities": 25})
    added = {}
    for name, country in WORLD.items():
        place = search(name)[0]
        assert place.country_code == country, (name, place)
        city, created = add_city(db, place, settings)
        assert created
        added[name] = city
    for name, city in added.items():
        zones = list(db[C.ZONES].find({"city_id": city.city_id}))
        assert 20 <= len(zones) <= 60, (name, len(zones))
        stored = city_from_docs(db[C.CITIES].find_one({"_id": city.city_id}), zones)
        assert stored == city  # MongoDB is the catalog: the record reads back whole
        assert all(city.bounds.contains(z.lat, z.lon) for z in city.zones)
        assert db[C.CITY_REQUESTS].find_one({"_id": city.city_id})["status"] == "requested"
    assert added["São Paulo"].zones[0].lat < 0  # south of the equator
    suva = added["Suva"]
    assert all(abs(z.lon) > 170 for z in suva.zones)
    # a very small and a very large place
    small = search("Sant Julia de Loria")[0]
    assert (small.population or 0) < 10_000
    city, _ = add_city(db, small, settings)
    assert 20 <= len(city.zones) <= 60
    assert len(added["東京"].zones) <= 60 and (added["東京"].population or 0) > 5_000_000
    # another process knows them all from MongoDB alone
    assert {c.city_id for c in load_added_cities(db)} >= {c.city_id for c in added.values()}


def test_the_cli_adds_lists_and_returns_an_existing_city(test_env, db):
    first = cli("add", "Reykjavik")
    assert first.returncode == 0, first.stderr
    city_id = first.stdout.strip()
    assert city_id == "reykjavik-is"
    again = cli("add", "reykjavík")
    assert again.returncode == 0 and again.stdout.strip() == city_id
    assert "already" in again.stderr
    seed = cli("add", "New York City")
    assert seed.stdout.strip() == "nyc"
    listed = cli("list")
    assert "reykjavik-is" in listed.stdout and "nyc" in listed.stdout
    assert db[C.CITIES].count_documents({"origin": "generated"}) == 1


def test_an_ambiguous_name_offers_the_choice(test_env, db):
    proc = cli("add", "Portland")
    assert proc.returncode == 3
    assert "Oregon" in proc.stdout and "Maine" in proc.stdout and "Australia" in proc.stdout
    assert db[C.CITIES].count_documents({"origin": "generated"}) == 0
    maine = next(i for i, line in enumerate(proc.stdout.splitlines(), 1) if "Maine" in line)
    chosen = cli("add", "Portland", "--choice", str(maine))
    assert chosen.returncode == 0, chosen.stderr
    assert get_city_from_db(db, chosen.stdout.strip()).admin1 == "Maine"


def get_city_from_db(db, city_id):
    load_added_cities(db)
    return get_city(city_id)


@pytest.mark.parametrize("name, message", [
    ("", "type a place name"), ("x" * 300, "at most 100"),
    ("<script>alert(1)</script>", "cannot contain"),
    ("**Paris**", "cannot contain"), ("[x](http://a)", "cannot contain"),
    ('{"a": 1}', "cannot contain"), ("Par\x07is", "control"), ("Zzxqvbnm", "no place"),
])
def test_bad_names_get_a_clear_message_and_change_nothing(test_env, db, name, message):
    before = {c: db[c].count_documents({}) for c in (C.CITIES, C.ZONES, C.CITY_REQUESTS)}
    proc = cli("add", name)
    assert proc.returncode == 2
    assert message in proc.stderr.lower() and "Traceback" not in proc.stderr
    assert {c: db[c].count_documents({}) for c in before} == before


def test_the_city_limit_is_a_clear_error(test_env, db):
    settings = test_env.model_copy(update={"citylive_max_cities": 5})
    add_city(db, search("Nairobi")[0], settings)  # 4 seed cities + 1
    with pytest.raises(CityLimitError, match="CITYLIVE_MAX_CITIES=5"):
        add_city(db, search("Lagos")[0], settings)
    assert db[C.CITIES].count_documents({"origin": "generated"}) == 1


def test_the_ui_exchange_finds_then_adds(test_env, db):
    svc = services(test_env, db)
    db[C.CITY_SEARCHES].insert_one({"_id": "s1", "query": "Portland", "status": "pending"})
    db[C.CITY_SEARCHES].insert_one({"_id": "s2", "query": "<b>", "status": "pending"})
    assert serve_city_searches(svc) == 2
    found = db[C.CITY_SEARCHES].find_one({"_id": "s1"})
    labels = [c["label"] for c in found["candidates"]]
    assert found["status"] == "found" and any("Maine" in lab for lab in labels)
    assert db[C.CITY_SEARCHES].find_one({"_id": "s2"})["status"] == "error"
    choice = next(i for i, lab in enumerate(labels) if "Oregon" in lab)
    db[C.CITY_SEARCHES].update_one({"_id": "s1"}, {"$set": {"status": "chosen", "choice": choice}})
    serve_city_searches(svc)
    added = db[C.CITY_SEARCHES].find_one({"_id": "s1"})
    assert added["status"] == "added" and added["city_id"] == "portland-us"
    assert db[C.CITY_REQUESTS].find_one({"_id": "portland-us"})["status"] == "requested"


def test_a_geocoder_that_fails_falls_back_to_the_gazetteer(test_env, db, replay_server):
    from ingest.sources.geocoding import PATH

    replay_server.add(PATH, status=503)
    replay_server.add("/slow" + PATH, delay_s=3, fixture="open_meteo/geocoding_portland.json")
    for base in (replay_server.base_url, replay_server.base_url + "/slow"):
        settings = test_env.model_copy(update={"citylive_source": "live", "http_timeout_s": 1.0,
                                               "open_meteo_geocoding_url": base,
                                               "http_max_attempts": 2})
        svc = services(settings, db)
        svc.http = httpx.Client(timeout=1.0)
        db[C.CITY_SEARCHES].insert_one({"_id": base, "query": "Nairobi", "status": "pending"})
        serve_city_searches(svc)
        doc = db[C.CITY_SEARCHES].find_one({"_id": base})
        assert doc["status"] == "found" and doc["candidates"][0]["country_code"] == "KE"
        assert "offline gazetteer" in doc["note"]


def test_a_new_city_has_first_data_after_one_cycle(test_env, db):
    added = cli("add", "Nairobi")
    city_id = added.stdout.strip()
    start = time.monotonic()
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "pipeline.scheduler", "--once", "--city", city_id,
                           "--backfill-days", "0", "--no-precompute"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    latest = list(db[C.ZONE_LATEST].find({"city_id": city_id}))
    city = get_city_from_db(db, city_id)
    assert len(latest) == len(city.zones)
    assert {d["source"] for d in latest} == {"simulated"}
    assert all(d["metrics"]["temperature_c"]["value"] is not None for d in latest)
    assert all(d["metrics"]["demand_mw"]["value"] is not None for d in latest)
    print(f"first data for {city_id} in {elapsed:.1f} s (one --once cycle, cold process)")
