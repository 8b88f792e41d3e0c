"""Road links: stable ids, free-flow by type, rush hours, speed consistent with congestion."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.catalog import City
from ingest.simulator import simulate


@pytest.fixture(scope="module")
def two_weeks(nyc: City) -> list[dict]:
    start = datetime(2026, 3, 2, 5, tzinfo=UTC)
    return simulate("traffic", nyc, start, start + timedelta(days=14), start + timedelta(days=14))


def test_links_per_zone_and_fields(nyc: City, two_weeks: list[dict]) -> None:
    first = two_weeks[0]["observed_at"]
    links = [r for r in two_weeks if r["observed_at"] == first]
    per_zone = Counter(r["zone_id"] for r in links)
    assert set(per_zone) == {z.zone_id for z in nyc.zones}
    assert set(per_zone.values()) <= {2, 3} and len(set(per_zone.values())) == 2
    for r in links:
        assert r["link_id"].startswith(f"{r['zone_id']}-L")
        assert 30.0 <= r["free_flow_kmh"] <= 90.0
    for r in two_weeks:
        assert 0.0 <= r["congestion"] <= 0.95
        assert r["speed_kmh"] == pytest.approx(r["free_flow_kmh"] * (1 - r["congestion"]),
                                               abs=0.06)


def test_rush_hours_are_congested_nights_are_not(nyc: City, two_weeks: list[dict]) -> None:
    tz = ZoneInfo(nyc.timezone)
    by_hour: dict[tuple[bool, int], list[float]] = {}
    for r in two_weeks:
        local = r["observed_at"].astimezone(tz)
        by_hour.setdefault((local.weekday() < 5, local.hour), []).append(r["congestion"])
    mean = {k: float(np.mean(v)) for k, v in by_hour.items()}
    night = mean[(True, 3)]
    assert mean[(True, 8)] > night + 0.3 and mean[(True, 17)] > night + 0.3
    assert mean[(True, 8)] > mean[(True, 12)] and mean[(True, 17)] > mean[(True, 12)]
    assert mean[(False, 8)] < mean[(True, 8)] - 0.2  # no weekend morning rush
