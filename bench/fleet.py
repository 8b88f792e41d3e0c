"""Several sidecars on one machine, shared by tests/integration/test_sidecars.py and
bench/sidecars.py: eight cities added by name, Open-Meteo served by the stand-in (weather and
air quality live, the rest simulated, as for any city outside the US), fast cadences."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from pymongo.database import Database

from bench.city_pick import placeholder_registry
from bench.standin import Hit
from core.catalog import City
from core.gazetteer import search
from core.settings import Settings
from core.vocabulary import C
from pipeline.cities import add_city

# one city on each of 8 control partitions (core.ownership.partition_for of their ids), so
# that whichever partitions a sidecar is assigned, it owns cities
NAMES = ("Quito", "Dublin", "Kyiv", "Nairobi", "Perth", "Lisbon", "Prague", "Oslo")
CONTROL_PARTITIONS = 8
CADENCE_SCALE = 0.05  # weather and air quality every 30 s, traffic and 311 every 15 s


def add_cities(db: Database, settings: Settings, names: tuple[str, ...] = NAMES) -> list[City]:
    """The cities, requested for activation, with placeholder registry documents (offline
    training is a separate process and not what is measured here)."""
    cities = [add_city(db, search(name)[0], settings)[0] for name in names]
    placeholder_registry(db, [c.city_id for c in cities])
    return cities


def fleet_env(standin_url: str, scale: float = CADENCE_SCALE) -> dict[str, str]:
    """Sidecar environment (no cities at start: they are requested in MongoDB)."""
    return {"CITYLIVE_SOURCE": "live", "CITYLIVE_BACKFILL_DAYS": "1",
            "CITYLIVE_CADENCE_SCALE": str(scale), "OPEN_METEO_URL": standin_url,
            "OPEN_METEO_AQ_URL": standin_url, "OPEN_METEO_GEOCODING_URL": standin_url,
            "CITYLIVE_CONTROL_PARTITIONS": str(CONTROL_PARTITIONS)}


def hits_per_city(hits: list[Hit], cities: list[City]) -> Counter[str]:
    """Requests the stand-in saw per city, recognised by their zone latitudes (4 decimals,
    as the Open-Meteo client sends them)."""
    by_lat = {f"{z.lat:.4f}": c.city_id for c in cities for z in c.zones}
    found: Counter[str] = Counter()
    for hit in hits:
        first = hit.query.get("latitude", [""])[0].split(",")[0]
        if first in by_lat:
            found[by_lat[first]] += 1
    return found


def runs_of(db: Database, job: str, source: str, since: datetime) -> list[dict[str, Any]]:
    """pipeline_runs of one job and source started since `since`, oldest first."""
    docs = db[C.PIPELINE_RUNS].find({"job": job, "source": source})
    return sorted((d for d in docs if d["started_at"] >= since), key=lambda d: d["started_at"])


def runs_by_city(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        out[run["city_id"]].append(run)
    return out
