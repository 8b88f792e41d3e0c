"""Cities for the simulator tests: the catalog's NYC, plus a hand-built city with no
climate normals (exercises the latitude fallback and an unknown balancing authority)."""

from __future__ import annotations

import pytest

from core.catalog import Bounds, City, Zone, get_city


@pytest.fixture(scope="session")
def nyc() -> City:
    return get_city("nyc")


@pytest.fixture(scope="session")
def toy_city() -> City:
    """Four zones on a 2x2 grid, 3 km apart; population 400k."""
    zones = [
        Zone(zone_id=f"t{i + 1}", city_id="toy", name=f"T{i + 1}", lat=45.0 + 0.03 * (i // 2),
             lon=-93.0 + 0.04 * (i % 2), weight=0.25, population=100_000)
        for i in range(4)
    ]
    return City(city_id="toy", name="Toy", timezone="America/Chicago",
                bounds=Bounds(min_lat=44.95, min_lon=-93.05, max_lat=45.08, max_lon=-92.91),
                eia_respondent="XYZ", ba_share=0.1, zones=zones)
