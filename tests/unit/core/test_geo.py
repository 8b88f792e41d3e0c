"""Point -> zone mapping and the zone graph."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from core.catalog import Bounds, City, Zone, get_city
from core.geo import haversine_km, nearest_zone, nearest_zone_ids, zone_adjacency

CITY_IDS = ["nyc", "chicago", "sf", "boston"]


def _toy_city() -> City:
    """Three zones on a line, 1, 2 and 4 km apart east-west; easy to reason about by hand."""
    km_per_deg_lon = 111.195 * math.cos(math.radians(40.0))
    lons = [-74.0, -74.0 + 1 / km_per_deg_lon, -74.0 + 3 / km_per_deg_lon]
    zones = [
        Zone(zone_id=f"z0{i + 1}", city_id="toy", name=f"Z{i + 1}", lat=40.0, lon=lon, weight=w)
        for i, (lon, w) in enumerate(zip(lons, [0.5, 0.25, 0.25], strict=True))
    ]
    return City(
        city_id="toy",
        name="Toy",
        timezone="UTC",
        bounds=Bounds(min_lat=39.9, min_lon=-74.1, max_lat=40.1, max_lon=-73.9),
        eia_respondent="NYIS",
        ba_share=0.1,
        zones=zones,
    )


def test_haversine_known_distances() -> None:
    assert haversine_km(40.0, -74.0, 40.0, -74.0) == 0.0
    assert haversine_km(0.0, 0.0, 1.0, 0.0) == pytest.approx(111.195, abs=0.01)
    # London -> Paris, a textbook great-circle distance of about 343.5 km
    assert haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)
    assert haversine_km(1, 2, 3, 4) == haversine_km(3, 4, 1, 2)


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_point_at_centroid_maps_to_that_zone(city_id: str) -> None:
    city = get_city(city_id)
    for z in city.zones:
        found = nearest_zone(city, z.lat, z.lon)
        assert found is not None and found.zone_id == z.zone_id
    ids = nearest_zone_ids(city, np.array([z.lat for z in city.zones]),
                           np.array([z.lon for z in city.zones]))
    assert list(ids) == [z.zone_id for z in city.zones]


def test_nearest_picks_the_closer_centroid() -> None:
    city = _toy_city()
    z1, z2, z3 = city.zones
    assert nearest_zone(city, 40.0, z1.lon + 0.4 * (z2.lon - z1.lon)).zone_id == "z01"
    assert nearest_zone(city, 40.0, z1.lon + 0.6 * (z2.lon - z1.lon)).zone_id == "z02"
    assert nearest_zone(city, 40.05, z3.lon + 0.01).zone_id == "z03"


def test_points_outside_bounds_are_rejected() -> None:
    nyc = get_city("nyc")
    outside = [(42.3601, -71.0589), (40.0, -74.0), (40.75, -73.5), (float("nan"), -74.0)]
    for lat, lon in outside:
        assert nearest_zone(nyc, lat, lon) is None
    lats, lons = np.array([p[0] for p in outside]), np.array([p[1] for p in outside])
    assert all(v is None for v in nearest_zone_ids(nyc, lats, lons))


def test_just_inside_the_edge_is_accepted() -> None:
    nyc = get_city("nyc")
    b = nyc.bounds
    assert nearest_zone(nyc, b.max_lat, b.max_lon) is not None
    assert nearest_zone(nyc, b.max_lat + 1e-6, b.max_lon) is None


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_vectorised_and_scalar_agree_on_random_points(city_id: str) -> None:
    city = get_city(city_id)
    b = city.bounds
    rng = np.random.default_rng(7)
    pad = 0.05  # some points fall outside on purpose
    lats = rng.uniform(b.min_lat - pad, b.max_lat + pad, 2000)
    lons = rng.uniform(b.min_lon - pad, b.max_lon + pad, 2000)
    vector = nearest_zone_ids(city, lats, lons)
    scalar = [nearest_zone(city, la, lo) for la, lo in zip(lats, lons, strict=True)]
    assert list(vector) == [z.zone_id if z else None for z in scalar]
    assert any(v is None for v in vector) and any(v is not None for v in vector)


def test_scalar_result_is_truly_nearest() -> None:
    city = get_city("sf")
    rng = np.random.default_rng(3)
    b = city.bounds
    for lat, lon in zip(rng.uniform(b.min_lat, b.max_lat, 200),
                        rng.uniform(b.min_lon, b.max_lon, 200), strict=True):
        best = nearest_zone(city, lat, lon)
        d_best = haversine_km(lat, lon, best.lat, best.lon)
        assert all(d_best <= haversine_km(lat, lon, z.lat, z.lon) for z in city.zones)


def test_vectorised_is_fast_for_100k_points() -> None:
    city = get_city("nyc")
    b = city.bounds
    rng = np.random.default_rng(0)
    lats = rng.uniform(b.min_lat, b.max_lat, 100_000)
    lons = rng.uniform(b.min_lon, b.max_lon, 100_000)
    start = time.perf_counter()
    ids = nearest_zone_ids(city, lats, lons)
    elapsed = time.perf_counter() - start
    assert ids.shape == (100_000,) and None not in set(ids)
    assert elapsed < 2.0


def test_mismatched_lengths_raise() -> None:
    with pytest.raises(ValueError):
        nearest_zone_ids(get_city("nyc"), np.zeros(3), np.zeros(2))


def test_toy_adjacency_by_hand() -> None:
    edges = zone_adjacency(_toy_city(), k=1)
    # z01<->z02 (1 km) is each one's nearest; z03's nearest is z02 (2 km)
    pairs = {(a, b) for a, b, _ in edges}
    assert pairs == {("z01", "z02"), ("z02", "z01"), ("z02", "z03"), ("z03", "z02")}
    km = {(a, b): d for a, b, d in edges}
    assert km[("z01", "z02")] == pytest.approx(1.0, abs=0.01)
    assert km[("z02", "z03")] == pytest.approx(2.0, abs=0.01)
    # k beyond the zone count is capped: a complete graph
    assert len(zone_adjacency(_toy_city(), k=10)) == 6


@pytest.mark.parametrize("city_id", CITY_IDS)
def test_adjacency_symmetric_k_nearest_and_connected(city_id: str) -> None:
    city = get_city(city_id)
    k = 4
    edges = zone_adjacency(city, k=k)
    by_pair = {(a, b): d for a, b, d in edges}
    assert len(by_pair) == len(edges)
    for (a, b), d in by_pair.items():
        assert a != b
        assert by_pair[(b, a)] == d
        za, zb = city.zone(a), city.zone(b)
        assert d == pytest.approx(haversine_km(za.lat, za.lon, zb.lat, zb.lon), rel=1e-9)
    for z in city.zones:
        neighbours = {b for a, b in by_pair if a == z.zone_id}
        assert len(neighbours) >= k
        nearest_k = sorted(
            (o for o in city.zones if o.zone_id != z.zone_id),
            key=lambda o: haversine_km(z.lat, z.lon, o.lat, o.lon),
        )[:k]
        assert {o.zone_id for o in nearest_k} <= neighbours
    # a GNN wants one connected graph: walk it from the first zone
    seen, todo = set(), [city.zones[0].zone_id]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(b for a, b in by_pair if a == node)
    assert seen == {z.zone_id for z in city.zones}


def test_adjacency_rejects_k_below_one() -> None:
    with pytest.raises(ValueError):
        zone_adjacency(get_city("nyc"), k=0)


def _dateline_city() -> City:
    """Two zones either side of 180° in a box that wraps: 179.8 .. -179.8."""
    zones = [
        Zone(zone_id="z01", city_id="dl", name="West", lat=-16.5, lon=179.9, weight=0.5),
        Zone(zone_id="z02", city_id="dl", name="East", lat=-16.5, lon=-179.9, weight=0.5),
    ]
    return City(city_id="dl", name="Dateline", timezone="Pacific/Fiji",
                bounds=Bounds(min_lat=-16.6, min_lon=179.8, max_lat=-16.4, max_lon=-179.8),
                eia_respondent="NONE", ba_share=1.0, zones=zones)


def test_a_box_across_the_antimeridian_wraps() -> None:
    b = _dateline_city().bounds
    assert b.wraps_antimeridian
    for lon in (179.8, 179.95, 180.0, -180.0, -179.95, -179.8):
        assert b.contains(-16.5, lon), lon
    for lon in (179.7, -179.7, 0.0):
        assert not b.contains(-16.5, lon), lon


def test_nearest_zone_across_the_antimeridian() -> None:
    city = _dateline_city()
    # across 180°: 179.99 is 0.09° from West and 0.11° from East; -179.99 the other way round
    assert nearest_zone(city, -16.5, 179.99).zone_id == "z01"
    assert nearest_zone(city, -16.5, -179.99).zone_id == "z02"
    assert nearest_zone(city, -16.5, 179.7) is None
    lats = np.full(5, -16.5)
    lons = np.array([179.99, -179.99, 179.85, -179.85, 179.7])
    assert list(nearest_zone_ids(city, lats, lons)) == ["z01", "z02", "z01", "z02", None]
