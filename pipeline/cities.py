"""Cities added by name: search a place, generate its zones, store it, ask the sidecar for it.

    python -m pipeline.cities add "São Paulo"          # prints the new (or existing) city_id
    python -m pipeline.cities add Portland --choice 2  # an ambiguous name: pick a candidate
    python -m pipeline.cities list

Live mode (CITYLIVE_SOURCE=live) geocodes with Open-Meteo; simulated mode, and a geocoder that
fails, use the offline GeoNames gazetteer (core.gazetteer), so adding a city needs no key and
no network. Zones are H3 cells (core.zonegen). The sources a place really has are chosen by
capability (live_sources_for); the rest are simulated and labelled so. The sidecar serves the
same steps to the UI through `city_searches` documents (docs/architecture.md §1, §6).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import unicodedata
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import gazetteer
from core.capabilities import city_sources
from core.catalog import City, own_load_mw
from core.city_store import known_cities, save_city
from core.gazetteer import Place, PlaceNameError
from core.settings import Settings, get_settings
from core.storage import get_db
from core.vocabulary import C
from core.zonegen import generate_zones
from ingest.exceptions import ProviderError
from ingest.sources.geocoding import geocode

US_BA_FILE = Path(__file__).resolve().parents[1] / "core" / "reference_data" / \
    "us_balancing_authorities.json"
SAME_CITY_KM = 25.0  # a place this close to a known city's centre, with its name, is that city
MAX_ID_CHARS = 40


class CityLimitError(ValueError):
    """Adding would pass CITYLIVE_MAX_CITIES."""


class UnknownPlaceError(LookupError):
    """No place has that name."""


@dataclass(frozen=True)
class Found:
    """Candidates for a query, best first, and a note on how they were found."""

    places: list[Place]
    note: str | None = None


def find_places(query: str, settings: Settings, http: httpx.Client | None = None) -> Found:
    """Candidate places for a city name. Raises PlaceNameError for a name no place has the
    shape of, UnknownPlaceError when nothing matches."""
    name = gazetteer.clean_query(query)
    note = None
    places: list[Place] | None = None
    if settings.citylive_source == "live":
        try:
            client = http or httpx.Client(timeout=settings.http_timeout_s)
            places = geocode(client, settings, name)
        except ProviderError as exc:
            note = f"the geocoder did not answer ({exc}); the offline gazetteer answered instead"
    if places is None or (not places and note is None and settings.citylive_source != "live"):
        places = gazetteer.search(name)
    if not places:
        raise UnknownPlaceError(f"no place called {name!r} was found; check the spelling, "
                                "or add the country (\"Portland, Maine\")")
    return Found(places, note)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(a)))


def _centre(city: City) -> tuple[float, float]:
    lats = [z.lat for z in city.zones]
    lons = [z.lon for z in city.zones]
    return sum(lats) / len(lats), sum(lons) / len(lons)


def existing_city(place: Place, cities: dict[str, City]) -> City | None:
    """The known city that is this place: the same GeoNames id, or a name that matches
    (one contains the other: "New York" / "New York City") within SAME_CITY_KM."""
    for city in cities.values():
        if place.geonameid is not None and city.geonameid == place.geonameid:
            return city
    name = _fold(place.name)
    for city in cities.values():
        other = _fold(city.name)
        if (name in other or other in name) and _km(place.lat, place.lon,
                                                    *_centre(city)) <= SAME_CITY_KM:
            return city
    return None


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_ID_CHARS]


def city_id_for(place: Place, taken: set[str]) -> str:
    """A readable, stable id: "sao-paulo-br"; a name without Latin letters: "city-1850147"."""
    base = slug(place.name)
    cc = place.country_code.lower()
    candidate = f"{base}-{cc}" if base and cc else (base or f"city-{place.geonameid or 0}")
    if candidate in taken:
        region = slug(place.admin1 or "")
        candidate = f"{candidate}-{region}" if region else candidate
    n = 2
    unique = candidate
    while unique in taken:
        unique = f"{candidate}-{n}"
        n += 1
    return unique


@lru_cache(maxsize=1)
def _us_ba() -> dict[str, Any]:
    return json.loads(US_BA_FILE.read_text(encoding="utf-8"))


def us_balancing_authority(place: Place) -> str | None:
    """The EIA BA for a US place by state (admin1 as a code or a name), else None."""
    if place.country_code != "US" or not place.admin1:
        return None
    states = _us_ba()["states"]
    admin = place.admin1.strip()
    if admin.upper() in states:
        return states[admin.upper()]["ba"]
    for state in states.values():
        if state["name"].casefold() == admin.casefold():
            return state["ba"]
    return None


def ba_share(city_load_mw: float, respondent: str | None) -> float:
    """The city's share of its BA's nominal load (1 when the city is its own BA)."""
    if respondent is None:
        return 1.0
    nominal = _us_ba()["nominal_load_mw"].get(respondent)
    if not nominal:
        return 0.1
    return round(min(max(city_load_mw / nominal, 0.001), 1.0), 4)


def live_sources_for(respondent: str | None) -> dict[str, str]:
    """What a generated city can have live: Open-Meteo weather and air quality everywhere,
    EIA demand where a US BA serves it, TomTom traffic where a key is set (core.capabilities).
    311 stays simulated: the Socrata clients know the NYC, Chicago and SF datasets only."""
    sources = {"weather": "open-meteo", "aqi": "open-meteo", "traffic": "tomtom"}
    if respondent:
        sources["power"] = "eia"
    return sources


def build_city(place: Place, city_id: str, respondent: str | None = None) -> City:
    """The City record of a place: generated zones and sources by capability."""
    zones = generate_zones(place, city_id)
    respondent = respondent if respondent is not None else us_balancing_authority(place)
    draft = City(city_id=city_id, name=place.name, timezone=place.timezone, bounds=zones.bounds,
                 zones=zones.zones, origin="generated", country_code=place.country_code or None,
                 country=place.country or None, admin1=place.admin1, population=place.population,
                 geonameid=place.geonameid, h3_resolution=zones.resolution)
    share = ba_share(own_load_mw(draft), respondent)
    return draft.model_copy(update={"eia_respondent": respondent, "ba_share": share,
                                    "live_sources": live_sources_for(respondent)})


def add_city(db: Database, place: Place, settings: Settings, *,
             respondent: str | None = None) -> tuple[City, bool]:
    """Store the city of `place` and ask the sidecar to start it; returns (city, created).

    A place that is a known city returns that city unchanged (created False)."""
    cities = known_cities(db)
    found = existing_city(place, cities)
    if found is not None:
        return found, False
    if len(cities) >= settings.citylive_max_cities:
        raise CityLimitError(f"City Live holds {len(cities)} cities, the limit "
                             f"(CITYLIVE_MAX_CITIES={settings.citylive_max_cities}); "
                             "remove one or raise the limit")
    city = build_city(place, city_id_for(place, set(cities)), respondent)
    save_city(db, city)
    db[C.CITIES].update_one({"_id": city.city_id},
                            {"$set": {"sources": city_sources(city, settings)}})
    request_city(db, city.city_id)
    return city, True


def request_city(db: Database, city_id: str) -> None:
    """Ask the sidecar to start the city (a request that exists already is left alone)."""
    now = datetime.now(UTC)
    with contextlib.suppress(DuplicateKeyError):
        db[C.CITY_REQUESTS].insert_one({"_id": city_id, "city_id": city_id,
                                        "status": "requested", "requested_at": now,
                                        "updated_at": now})


def place_doc(place: Place) -> dict[str, Any]:
    return asdict(place)


def place_from_doc(doc: dict[str, Any]) -> Place:
    return Place(**{k: doc.get(k) for k in Place.__dataclass_fields__})


# --- command line ----------------------------------------------------------------------------

def _print_choices(places: list[Place]) -> None:
    for i, place in enumerate(places, start=1):
        pop = f", population {place.population:,}" if place.population else ""
        print(f"  {i}. {place.label()} ({place.lat:.3f}, {place.lon:.3f}{pop})")


def _add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        found = find_places(args.name, settings)
    except (PlaceNameError, UnknownPlaceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if found.note:
        print(f"note: {found.note}", file=sys.stderr)
    places = found.places
    if args.choice is None and len(places) > 1 and not _clear_winner(places):
        print(f"{args.name!r} names {len(places)} places; run again with --choice N:",
              file=sys.stderr)
        _print_choices(places)
        return 3
    index = (args.choice or 1) - 1
    if not 0 <= index < len(places):
        print(f"error: --choice must be between 1 and {len(places)}", file=sys.stderr)
        return 2
    db = get_db(settings)
    try:
        city, created = add_city(db, places[index], settings, respondent=args.ba)
    except CityLimitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not created:
        print(f"{places[index].label()} is already City Live's {city.name!r}", file=sys.stderr)
    print(city.city_id)
    return 0


def _clear_winner(places: list[Place]) -> bool:
    """One candidate clearly meant: ten times the population of the next."""
    first, second = places[0].population or 0, places[1].population or 0
    return first >= 10 * max(second, 1)


def _list(settings: Settings) -> int:
    db = get_db(settings)
    cities = known_cities(db)
    requests = {d["_id"]: d.get("status") for d in db[C.CITY_REQUESTS].find({})}
    for city in sorted(cities.values(), key=lambda c: c.city_id):
        where = ", ".join(x for x in (city.admin1, city.country) if x)
        print(f"{city.city_id:<28} {city.name}{f' ({where})' if where else ''}  "
              f"{len(city.zones)} zones  {city.origin}  {requests.get(city.city_id) or 'idle'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.cities", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="add a city by name and print its city_id")
    add.add_argument("name")
    add.add_argument("--choice", type=int, help="which candidate of an ambiguous name (1..)")
    add.add_argument("--ba", help="EIA balancing authority code, overriding the state lookup")
    sub.add_parser("list", help="list the cities")
    args = parser.parse_args(argv)
    settings = get_settings()
    return _add(args, settings) if args.command == "add" else _list(settings)


if __name__ == "__main__":
    sys.exit(main())
