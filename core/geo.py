"""Point -> zone mapping and zone geometry (pure).

Point data (311 incidents, traffic links) belongs to the zone with the nearest centroid, but
only inside the city's bounds: a point outside is rejected (None), never guessed
(docs/architecture.md §4).
"""

from __future__ import annotations

import math

import numpy as np

from core.catalog import Bounds, City, Zone

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
_CHUNK = 20_000  # points per block in the vectorised path: bounds the (points x zones) matrix


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km; exact enough at city scale and cheap."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _haversine_matrix_km(
    lats: np.ndarray, lons: np.ndarray, zone_lats: np.ndarray, zone_lons: np.ndarray
) -> np.ndarray:
    """Distances (points x zones) in km, the same formula as haversine_km, broadcast."""
    p1 = np.radians(lats)[:, None]
    p2 = np.radians(zone_lats)[None, :]
    dl = np.radians(zone_lons[None, :] - lons[:, None])
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def haversine_many_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distances in km from one point to many (same formula as haversine_km, vectorised)."""
    return _haversine_matrix_km(np.array([lat], dtype=float), np.array([lon], dtype=float),
                                np.asarray(lats, dtype=float), np.asarray(lons, dtype=float))[0]


def inside_bounds(bounds: Bounds, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Vectorised Bounds.contains (antimeridian-aware); NaN coordinates are outside."""
    in_lat = (lats >= bounds.min_lat) & (lats <= bounds.max_lat)
    if bounds.wraps_antimeridian:
        return in_lat & ((lons >= bounds.min_lon) | (lons <= bounds.max_lon))
    return in_lat & (lons >= bounds.min_lon) & (lons <= bounds.max_lon)


def nearest_zone(city: City, lat: float, lon: float) -> Zone | None:
    """The zone whose centroid is nearest to the point; None outside the city's bounds."""
    if not city.bounds.contains(lat, lon) or not city.zones:
        return None
    return min(city.zones, key=lambda z: haversine_km(lat, lon, z.lat, z.lon))


def nearest_zone_ids(city: City, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Vectorised nearest_zone: an object array of zone_id, None where outside the bounds.

    Works in blocks so 100k points stay fast without a 100k x zones matrix in memory.
    """
    lats = np.asarray(lats, dtype=float).ravel()
    lons = np.asarray(lons, dtype=float).ravel()
    if lats.shape != lons.shape:
        raise ValueError(f"lats and lons differ in length: {lats.size} vs {lons.size}")
    out = np.full(lats.size, None, dtype=object)
    if not city.zones:
        return out
    # NaN compares False everywhere, so missing coordinates are rejected as outside.
    idx = np.flatnonzero(inside_bounds(city.bounds, lats, lons))
    zone_ids = np.array([z.zone_id for z in city.zones], dtype=object)
    zone_lats = np.array([z.lat for z in city.zones], dtype=float)
    zone_lons = np.array([z.lon for z in city.zones], dtype=float)
    for start in range(0, idx.size, _CHUNK):
        block = idx[start : start + _CHUNK]
        dist = _haversine_matrix_km(lats[block], lons[block], zone_lats, zone_lons)
        out[block] = zone_ids[np.argmin(dist, axis=1)]
    return out


def zone_adjacency(city: City, k: int = 4) -> list[tuple[str, str, float]]:
    """Graph edges between a city's zones: see point_adjacency."""
    return point_adjacency([z.zone_id for z in city.zones], [z.lat for z in city.zones],
                           [z.lon for z in city.zones], k)


def point_adjacency(ids: list[str], lats: list[float], lons: list[float], k: int = 4
                    ) -> list[tuple[str, str, float]]:
    """Graph edges for the GNN: each point linked to its k nearest points, made symmetric.

    Returns directed edges (src, dst, km) with both directions of every linked pair present
    (ready for an edge_index), sorted by (src, dst). k is capped at len(ids) - 1.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = len(ids)
    if n < 2:
        return []
    k = min(k, n - 1)
    lat = np.array(lats, dtype=float)
    lon = np.array(lons, dtype=float)
    dist = _haversine_matrix_km(lat, lon, lat, lon)
    np.fill_diagonal(dist, np.inf)
    pairs: dict[tuple[int, int], float] = {}
    for i in range(n):
        for j in np.argsort(dist[i], kind="stable")[:k]:
            a, b = (i, int(j)) if i < j else (int(j), i)
            pairs[(a, b)] = float(dist[a, b])
    edges: list[tuple[str, str, float]] = []
    for (a, b), km in pairs.items():
        edges.append((ids[a], ids[b], km))
        edges.append((ids[b], ids[a], km))
    return sorted(edges)
