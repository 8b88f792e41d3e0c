"""Zones for any place on Earth: H3 hexagons over the city's disc, named from the gazetteer.

A city's extent is guessed from its population (`city_radius_km`); the H3 resolution is the
one whose cells over that disc come nearest to ~40, and the zone count is then held to
[MIN_ZONES, MAX_ZONES] by taking the cells nearest the centre. H3 resolutions differ by 7x
in cell area, so the nearest resolution can give from ~15 to ~105 cells over the disc; the
clamp trims or widens the disc slightly rather than leaving a city with 8 or 300 zones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
import numpy as np

from core.catalog import Bounds, Zone
from core.gazetteer import Place, nearest_places
from core.geo import haversine_many_km

MIN_ZONES, MAX_ZONES = 20, 60
TARGET_ZONES = 40
PEOPLE_PER_KM2 = 3000.0  # a typical urban density: a city of 3M covers ~1,000 km²
MIN_RADIUS_KM, MAX_RADIUS_KM = 1.5, 40.0
DEFAULT_RADIUS_KM = 5.0  # population unknown: a mid-sized town (~235k people at 3,000/km²)
_COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
            "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")


@dataclass(frozen=True)
class GeneratedZones:
    zones: list[Zone]  # z01 is the centre cell, then by distance from the centre
    bounds: Bounds  # covers every zone's whole hexagon; wraps when it crosses the antimeridian
    resolution: int  # the H3 resolution of every zone's cell


def city_radius_km(population: int | None) -> float:
    """Radius of the disc a city of this population covers, clamped to 1.5..40 km."""
    if population is None or population <= 0:
        return DEFAULT_RADIUS_KM
    radius = math.sqrt(population / PEOPLE_PER_KM2 / math.pi)
    return min(MAX_RADIUS_KM, max(MIN_RADIUS_KM, radius))


def generate_zones(place: Place, city_id: str) -> GeneratedZones:
    """20-60 H3 zones around the place, weighted towards the centre, each with a unique name."""
    radius = city_radius_km(place.population)
    resolution, cells, dist = _cells_for_disc(place.lat, place.lon, radius)
    centres = [h3.cell_to_latlng(cell) for cell in cells]
    weights = 1.0 / (1.0 + (dist / (radius / 2.0)) ** 2)  # half weight at half the radius
    weights = weights / weights.sum()
    populations = (_apportion(place.population, weights) if place.population
                   else [None] * len(cells))
    names = _zone_names(place, centres, dist, _cell_spacing_km(resolution))
    zones = [
        Zone(zone_id=f"z{i + 1:02d}", city_id=city_id, name=names[i], lat=lat, lon=lon,
             weight=float(weights[i]), population=populations[i], h3=cells[i])
        for i, (lat, lon) in enumerate(centres)
    ]
    return GeneratedZones(zones=zones, bounds=_hexagon_bounds(cells, place.lon),
                          resolution=resolution)


def _cell_spacing_km(resolution: int) -> float:
    """Distance between neighbouring cell centres: sqrt(3) x the average edge length."""
    return math.sqrt(3.0) * h3.average_hexagon_edge_length(resolution, unit="km")


def _cells_for_disc(lat: float, lon: float, radius_km: float) -> tuple[int, list[str], np.ndarray]:
    """(resolution, cells nearest first, their centres' km from the point).

    Every resolution whose estimated disc count is plausible is counted exactly; the one
    nearest TARGET_ZONES (in ratio) wins, and its nearest MIN..MAX cells are kept.
    """
    best: tuple[float, int, list[str], np.ndarray, int] | None = None
    for resolution in range(16):
        estimate = math.pi * radius_km**2 / h3.average_hexagon_area(resolution, unit="km^2")
        if not 2.0 <= estimate <= 7 * 7 * MAX_ZONES:
            continue
        cells, dist = _cells_by_distance(lat, lon, resolution, radius_km)
        in_disc = max(1, int(np.count_nonzero(dist <= radius_km)))
        score = abs(math.log(in_disc / TARGET_ZONES))
        if best is None or score < best[0]:
            best = (score, resolution, cells, dist, in_disc)
    assert best is not None  # some resolution always lands within 2..2940 for 1.5..40 km
    _, resolution, cells, dist, in_disc = best
    keep = min(MAX_ZONES, max(MIN_ZONES, in_disc))
    return resolution, cells[:keep], dist[:keep]


def _cells_by_distance(lat: float, lon: float, resolution: int,
                       radius_km: float) -> tuple[list[str], np.ndarray]:
    """Cells around the point out past radius_km (and at least 3 rings), nearest first.

    The cell holding the point comes first even where H3's distortion puts a neighbour's
    centre a little nearer.
    """
    centre = h3.latlng_to_cell(lat, lon, resolution)
    rings = max(3, math.ceil(radius_km / _cell_spacing_km(resolution)) + 2)
    cells = sorted(h3.grid_disk(centre, rings))
    latlngs = np.array([h3.cell_to_latlng(cell) for cell in cells])
    dist = haversine_many_km(lat, lon, latlngs[:, 0], latlngs[:, 1])
    order = sorted(range(len(cells)), key=lambda i: (cells[i] != centre, dist[i], cells[i]))
    return [cells[i] for i in order], dist[order]


def _apportion(total: int, weights: np.ndarray) -> list[int]:
    """Integer shares of total proportional to weights, summing exactly to total."""
    exact = weights * total
    shares = np.floor(exact).astype(np.int64)
    remainder = total - int(shares.sum())
    for i in np.argsort(-(exact - shares), kind="stable")[:remainder]:
        shares[i] += 1
    return [int(s) for s in shares]


def _zone_names(place: Place, centres: list[tuple[float, float]], dist: np.ndarray,
                spacing_km: float) -> list[str]:
    """z01 is "Centre"; every other zone takes the nearest gazetteer place within one cell
    spacing, each name once (the nearest zone wins), else its distance and direction.

    The place itself is not a zone name (a "Tokyo" zone inside Tokyo says nothing), and at
    coarse resolutions the centre cell holds several districts, so it is just "Centre".
    """
    names: list[str | None] = ["Centre"] + [None] * (len(centres) - 1)
    nearby = [p for p, _ in nearest_places(place.lat, place.lon,
                                           float(dist.max()) + spacing_km, limit=5000)
              if p.name != place.name and p.geonameid != place.geonameid]
    if nearby:
        p_lat = np.array([p.lat for p in nearby])
        p_lon = np.array([p.lon for p in nearby])
        candidates = []
        for z, (lat, lon) in enumerate(centres[1:], start=1):
            d = haversine_many_km(lat, lon, p_lat, p_lon)
            candidates += [(float(d[j]), z, int(j)) for j in np.flatnonzero(d <= spacing_km)]
        used = {"Centre"}
        for _, z, j in sorted(candidates):
            name = nearby[j].name
            if names[z] is None and name not in used:
                names[z] = name
                used.add(name)
    taken = {n for n in names if n is not None}
    out: list[str] = []
    for z, (lat, lon) in enumerate(centres):
        name = names[z]
        if name is None:
            name = _fallback_name(place, lat, lon, float(dist[z]), taken)
            taken.add(name)
        out.append(name)
    return out


def _fallback_name(place: Place, lat: float, lon: float, km: float, taken: set[str]) -> str:
    """E.g. "3.2 km NE" from the place's point; made unique against `taken`."""
    bearing = _bearing_deg(place.lat, place.lon, lat, lon)
    base = f"{km:.1f} km {_COMPASS[round(bearing / 22.5) % 16]}"
    for candidate in (base, f"{base} ({bearing:.0f}°)"):
        if candidate not in taken:
            return candidate
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


def _bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360.0


def _hexagon_bounds(cells: list[str], centre_lon: float) -> Bounds:
    """The box around every vertex of every cell; wraps when it crosses the antimeridian.

    Longitudes are measured as offsets east of the centre (in -180..180) so a city straddling
    180° gets a narrow wrapping box, not one spanning the whole globe.
    """
    vertices = np.array([v for cell in cells for v in h3.cell_to_boundary(cell)])
    offsets = (vertices[:, 1] - centre_lon + 180.0) % 360.0 - 180.0
    if offsets.max() - offsets.min() >= 180.0:  # a polar cap: every longitude
        west, east = -180.0, 180.0
    else:  # the extreme vertices' own longitudes: no rounding can leave a vertex outside
        west = float(vertices[np.argmin(offsets), 1])
        east = float(vertices[np.argmax(offsets), 1])
    return Bounds(min_lat=float(vertices[:, 0].min()), min_lon=west,
                  max_lat=float(vertices[:, 0].max()), max_lon=east)
