"""Cities in MongoDB: the curated seed cities and the cities analysts added by name.

`cities` holds one document per city (the City record without its zones, plus `zone_ids`);
`zones` one per zone (docs/architecture.md §6). Added cities (`origin: "generated"`) exist only
there, so a process reads them in (`load_added_cities`) before it resolves a city id.
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core.catalog import City, load_catalog, register_city
from core.storage import load_catalog_into
from core.vocabulary import C

CITY_DOC_EXTRA = ("_id", "zone_ids", "active")


def city_from_docs(city_doc: dict[str, Any], zone_docs: list[dict[str, Any]]) -> City:
    """The City record a `cities` document and its `zones` documents describe."""
    fields = {k: v for k, v in city_doc.items() if k not in CITY_DOC_EXTRA}
    order = {zid: i for i, zid in enumerate(city_doc.get("zone_ids") or [])}
    zones = sorted(({k: v for k, v in z.items() if k != "_id"} for z in zone_docs),
                   key=lambda z: (order.get(z["zone_id"], len(order)), z["zone_id"]))
    return City.model_validate({**fields, "zones": zones})


def load_added_cities(db: Database) -> list[City]:
    """Read every added city from MongoDB and register it in this process; returns them."""
    docs = list(db[C.CITIES].find({"origin": "generated"}))
    if not docs:
        return []
    ids = [d["_id"] for d in docs]
    zones: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for zone in db[C.ZONES].find({"city_id": {"$in": ids}}):
        zones.setdefault(zone["city_id"], []).append(zone)
    cities = [city_from_docs(d, zones[d["_id"]]) for d in docs]
    for city in cities:
        register_city(city)
    return cities


def save_city(db: Database, city: City) -> None:
    """Store an added city and its zones, and register it in this process."""
    load_catalog_into(db, [city])
    register_city(city)


def known_cities(db: Database) -> dict[str, City]:
    """The seed cities plus the added cities stored in this database (not the ones this
    process may have registered from another database)."""
    return {**load_catalog(), **{c.city_id: c for c in load_added_cities(db)}}
