"""Zone hexagons for the City Live map (pure: a zone frame in, GeoJSON out).

A zone of a generated city carries its H3 cell (`h3`). A curated zone has only a centre, so
it gets the H3 cell containing that centre at one resolution for the whole city, chosen from
how far apart the city's zone centres are (hexagon edge about 0.4 x the median distance to
the nearest other centre) and made finer until no two zones share a cell.

Rings are GeoJSON order (lng, lat), closed (first vertex repeated last). A hexagon that
straddles the antimeridian gets continuous longitudes (negative ones shifted by +360), as
does every hexagon of a city whose zones lie on both sides of it, so MapLibre draws one
connected shape instead of a band across the world.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import h3
import pandas as pd

from core.geo import haversine_km

EDGE_PER_SPACING = 0.4  # hexagon edge / median nearest-neighbour distance of zone centres
LONE_ZONE_RES = 7  # a city with one zone: edge ~1.4 km
MIN_RES, MAX_RES = 0, 15


def _has_cell(value: Any) -> bool:
    return isinstance(value, str) and h3.is_valid_cell(value)


def median_spacing_km(lats: Sequence[float], lons: Sequence[float]) -> float | None:
    """Median distance from each centre to its nearest other centre; None for < 2 zones."""
    points = list(zip(lats, lons, strict=True))
    if len(points) < 2:
        return None
    nearest = [min(haversine_km(a[0], a[1], b[0], b[1]) for j, b in enumerate(points) if j != i)
               for i, a in enumerate(points)]
    return float(pd.Series(nearest).median())


def resolution_for_spacing(spacing_km: float | None) -> int:
    """The H3 resolution whose mean edge is closest (in ratio) to 0.4 x the spacing."""
    if spacing_km is None or not spacing_km > 0:
        return LONE_ZONE_RES
    target = EDGE_PER_SPACING * spacing_km
    return min(range(MIN_RES, MAX_RES + 1), key=lambda res: abs(
        math.log(h3.average_hexagon_edge_length(res, unit="km") / target)))


def zone_cells(zones: pd.DataFrame) -> dict[str, str]:
    """zone_id -> H3 cell: the zone's own `h3`, else the cell of its centre (unique per city)."""
    given = {z: c for z, c in zip(zones["zone_id"], _h3_column(zones), strict=True)
             if _has_cell(c)}
    rest = zones[~zones["zone_id"].isin(list(given))]
    if rest.empty:
        return given
    res = resolution_for_spacing(median_spacing_km(zones["lat"].tolist(), zones["lon"].tolist()))
    while True:
        derived = {z: h3.latlng_to_cell(float(lat), float(lon), res)
                   for z, lat, lon in zip(rest["zone_id"], rest["lat"], rest["lon"], strict=True)}
        cells = list(given.values()) + list(derived.values())
        if len(set(cells)) == len(cells) or res == MAX_RES:
            return {**given, **derived}
        res += 1


def _h3_column(zones: pd.DataFrame) -> list[Any]:
    return zones["h3"].tolist() if "h3" in zones else [None] * len(zones)


def unwrap_lons(lons: Sequence[float]) -> list[float]:
    """Longitudes made continuous across ±180: negatives +360 when they span > 180°."""
    values = [float(x) for x in lons]
    if values and max(values) - min(values) > 180:
        return [x + 360 if x < 0 else x for x in values]
    return values


def cell_ring(cell: str, shift_negative: bool = False) -> list[list[float]]:
    """The cell's closed boundary ring as [lng, lat] pairs, continuous across ±180."""
    boundary = h3.cell_to_boundary(cell)  # ((lat, lng), ...), not closed
    lats = [lat for lat, _ in boundary]
    lons = unwrap_lons([lng for _, lng in boundary])
    if shift_negative:
        lons = [x + 360 if x < 0 else x for x in lons]
    ring = [[lng, lat] for lng, lat in zip(lons, lats, strict=True)]
    return ring + [ring[0]]


def crosses_antimeridian(lons: Sequence[float]) -> bool:
    """Whether a city's zone centres lie on both sides of ±180 (span > 180° as plain numbers)."""
    return bool(len(lons)) and max(lons) - min(lons) > 180


def zone_geojson(zones: pd.DataFrame) -> dict[str, Any]:
    """FeatureCollection with one hexagon Polygon per zone; feature id = zone_id."""
    cells = zone_cells(zones)
    shift = crosses_antimeridian([float(x) for x in zones["lon"]])
    features = [{"type": "Feature", "id": zone_id,
                 "properties": {"zone_id": zone_id, "h3": cells[zone_id]},
                 "geometry": {"type": "Polygon",
                              "coordinates": [cell_ring(cells[zone_id], shift)]}}
                for zone_id in zones["zone_id"]]
    return {"type": "FeatureCollection", "features": features}


def geojson_bounds(geojson: dict[str, Any]) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) over every vertex; None when there is no feature."""
    points = [p for f in geojson["features"] for ring in f["geometry"]["coordinates"]
              for p in ring]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def fit_view(bounds: tuple[float, float, float, float] | None, width_px: int = 640,
             height_px: int = 430) -> tuple[dict[str, float], float]:
    """Centre {lat, lon} and zoom that show the bounds in a map of about that size."""
    if bounds is None:
        return {"lat": 0.0, "lon": 0.0}, 1.0
    west, south, east, north = bounds
    y_south, y_north = _mercator_y(south), _mercator_y(north)
    centre_lat = math.degrees(math.atan(math.sinh((y_south + y_north) / 2)))
    centre_lon = ((west + east) / 2 + 180) % 360 - 180
    lon_span = max(east - west, 1e-6)
    y_span = max(y_north - y_south, 1e-6)
    # web mercator: the world is 512 px wide at zoom 0 (MapLibre tiles), 2*pi in mercator y
    zoom_x = math.log2(width_px * 360 / (512 * lon_span))
    zoom_y = math.log2(height_px * 2 * math.pi / (512 * y_span))
    zoom = min(zoom_x, zoom_y) - 0.2  # a margin around the outer hexagons
    return {"lat": centre_lat, "lon": centre_lon}, max(0.0, min(16.0, zoom))


def _mercator_y(lat: float) -> float:
    lat = max(-85.0, min(85.0, lat))
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
