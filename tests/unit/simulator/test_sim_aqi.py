"""Air quality: EPA AQI arithmetic, and pollution that follows traffic, wind and rain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.catalog import City
from ingest.simulator import simulate
from ingest.simulator.aqi import us_aqi_from_pm25


@pytest.mark.parametrize(("pm25", "aqi"), [
    (0.0, 0), (9.0, 50), (9.1, 51), (12.0, 56), (35.4, 100), (35.5, 101), (55.4, 150),
    (55.5, 151), (125.4, 200), (225.4, 300), (325.4, 500), (900.0, 500), (9.09, 50)])
def test_epa_pm25_breakpoints(pm25: float, aqi: int) -> None:
    # values worked by hand from the EPA 2024 table; 12.0 -> 49/26.3*2.9+51 = 56.4 -> 56
    assert us_aqi_from_pm25(np.array([pm25])).tolist() == [aqi]


@pytest.fixture(scope="module")
def month(nyc: City) -> dict[str, list[dict]]:
    start = datetime(2026, 2, 2, tzinfo=UTC)
    end = start + timedelta(days=30)
    return {k: simulate(k, nyc, start, end, end, seed=3) for k in ("aqi", "traffic", "weather")}


def test_records_match_the_aqi_formula(month: dict[str, list[dict]]) -> None:
    recs = month["aqi"]
    pm = np.array([r["pm2_5"] for r in recs])
    assert np.array_equal(us_aqi_from_pm25(pm), np.array([r["us_aqi"] for r in recs]))
    assert all(isinstance(r["us_aqi"], int) for r in recs)
    assert 4.0 < pm.mean() < 16.0
    assert all(r["pm10"] >= r["pm2_5"] for r in recs)


def test_aqi_is_worse_with_traffic_and_calm_and_better_in_rain(
        month: dict[str, list[dict]]) -> None:
    cong: dict[tuple, list[float]] = {}
    for r in month["traffic"]:
        cong.setdefault((r["zone_id"], r["observed_at"]), []).append(r["congestion"])
    weather = {(r["zone_id"], r["observed_at"]): r for r in month["weather"]}
    rows = [(np.mean(cong[k]), weather[k]["wind_speed_kmh"], weather[k]["precipitation_mm"],
             r["us_aqi"], r["nitrogen_dioxide"])
            for r in month["aqi"] for k in [(r["zone_id"], r["observed_at"])]]
    c, wind, rain, aqi, no2 = (np.array(col) for col in zip(*rows, strict=True))
    busy, quiet = c > np.quantile(c, 0.75), c < np.quantile(c, 0.25)
    assert aqi[busy].mean() > aqi[quiet].mean() + 3
    assert no2[busy].mean() > 1.5 * no2[quiet].mean()
    calm, windy = wind < np.quantile(wind, 0.25), wind > np.quantile(wind, 0.75)
    assert aqi[calm].mean() > aqi[windy].mean() + 3
    assert aqi[rain > 1.0].mean() < aqi[rain == 0].mean()
