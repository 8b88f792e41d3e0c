"""EIA-930 subregions: the series a city's demand is, and its neighbours on the grid.

A catalog city names its parent balancing authority (`eia_respondent`) and the subregion that
covers it (`eia_subba`, e.g. NYIS ZONJ). Its demand is that subregion's hourly series; the
parent's other subregions are the context the models (and the GNN's graph) see. A city without
a subregion has one series, "CITY": its own load (docs/architecture.md §4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.catalog import City

REFERENCE = Path(__file__).with_name("reference_data") / "eia_subregions.json"
CITY_SERIES = "CITY"  # the one series of a city without an EIA subregion


@dataclass(frozen=True)
class Subregion:
    code: str
    name: str
    lat: float
    lon: float
    share: float  # of the parent's load (normalised per parent)


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[Subregion, ...]]:
    data = json.loads(REFERENCE.read_text())["parents"]
    table = {}
    for parent, rows in data.items():
        total = sum(float(r["share"]) for r in rows) or 1.0
        table[parent] = tuple(Subregion(str(r["code"]), r["name"], float(r["lat"]),
                                        float(r["lon"]), float(r["share"]) / total)
                              for r in rows)
    return table


def subregions(parent: str | None) -> list[Subregion]:
    """The subregions EIA reports for a parent BA, in EIA's order (none for an unknown BA)."""
    return list(_table().get((parent or "").upper(), ()))


def subregion(parent: str | None, code: str | None) -> Subregion | None:
    return next((s for s in subregions(parent) if s.code == code), None)


def has_subregion(city: City) -> bool:
    return subregion(city.eia_respondent, city.eia_subba) is not None


def series_ids(city: City) -> list[str]:
    """The city's own series first, then the parent's other subregions."""
    if not has_subregion(city):
        return [CITY_SERIES]
    own = str(city.eia_subba)
    return [own] + [s.code for s in subregions(city.eia_respondent) if s.code != own]


def series_names(city: City) -> dict[str, str]:
    if not has_subregion(city):
        return {CITY_SERIES: city.name}
    return {s.code: s.name for s in subregions(city.eia_respondent)}


def series_points(city: City) -> list[tuple[str, float, float]]:
    """(code, lat, lon) per series in series_ids order; the city's own is its centre."""
    b = city.bounds
    centre = ((b.min_lat + b.max_lat) / 2.0, (b.min_lon + b.max_lon) / 2.0)
    if not has_subregion(city):
        return [(CITY_SERIES, *centre)]
    by_code = {s.code: s for s in subregions(city.eia_respondent)}
    return [(code, *(centre if i == 0 else (by_code[code].lat, by_code[code].lon)))
            for i, code in enumerate(series_ids(city))]
