"""Injected events: deterministic, window-independent, seasonal, and they move their metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from core.catalog import City
from ingest.simulator import CityWorld, list_events, simulate

YEAR = datetime(2025, 1, 1, tzinfo=UTC)


def test_events_are_deterministic_and_window_independent(nyc: City) -> None:
    whole = list_events(nyc, YEAR, YEAR + timedelta(days=365))
    assert whole == list_events(nyc, YEAR, YEAR + timedelta(days=365))
    mid_start, mid_end = YEAR + timedelta(days=100), YEAR + timedelta(days=190)
    part = list_events(nyc, mid_start, mid_end)
    assert part == [e for e in whole if e.end > mid_start and e.start < mid_end]
    assert list_events(nyc, YEAR, YEAR + timedelta(days=365), seed=1) != whole


def test_each_kind_occurs_a_few_times_per_90_days_in_season(nyc: City) -> None:
    events = list_events(nyc, YEAR, YEAR + timedelta(days=3 * 365))
    per_90 = {k: sum(e.kind == k for e in events) / (3 * 365 / 90)
              for k in ("grid_stress", "aqi_spike")}
    assert all(1.0 <= n <= 8.0 for n in per_90.values()), per_90
    heat = [e for e in events if e.kind == "heat_wave"]
    cold = [e for e in events if e.kind == "cold_snap"]
    assert len(heat) >= 3 and len(cold) >= 3
    assert all(5 <= e.start.month <= 10 for e in heat)
    assert all(e.start.month in (10, 11, 12, 1, 2, 3, 4) for e in cold)
    for e in heat:
        assert timedelta(days=2) <= e.end - e.start <= timedelta(days=4)
        assert 6.0 <= e.magnitude <= 10.0
    for e in events:
        assert e.start.tzinfo is not None and e.start < e.end
        assert set(e.zone_ids) <= {z.zone_id for z in nyc.zones}
    spikes = [e for e in events if e.kind == "aqi_spike"]
    assert all(1 <= len(e.zone_ids) <= 3 for e in spikes)
    for k in ("heat_wave", "grid_stress"):  # never two of a kind at once
        same = sorted((e for e in events if e.kind == k), key=lambda e: e.start)
        assert all(a.end <= b.start for a, b in zip(same, same[1:], strict=False))


def _values(records: list[dict], field: str) -> dict[tuple, float]:
    return {(r["zone_id"], r["observed_at"]): r[field] for r in records}


def _during(event, nyc: City, kind: str, field: str) -> tuple[list[float], list[float]]:
    """Field values with and without events, over the event's middle (the plateau)."""
    mid = event.start + (event.end - event.start) / 2
    start, end = mid - timedelta(hours=1), mid + timedelta(hours=2)
    now = end
    on = simulate(kind, nyc, start, end, now, world=CityWorld(nyc, with_events=True))
    off = simulate(kind, nyc, start, end, now, world=CityWorld(nyc, with_events=False))
    a, b = _values(on, field), _values(off, field)
    keys = [k for k in a if k[0] in event.zone_ids]
    return [a[k] for k in keys], [b[k] for k in keys]


def test_heat_wave_raises_temperature_and_demand(nyc: City) -> None:
    event = next(e for e in list_events(nyc, YEAR, YEAR + timedelta(days=365))
                 if e.kind == "heat_wave")
    with_e, without = _during(event, nyc, "weather", "temperature_c")
    assert np.mean(with_e) - np.mean(without) > 0.8 * event.magnitude
    with_p, without_p = _during(event, nyc, "power", "ba_demand_mw")
    assert np.mean(with_p) > 1.05 * np.mean(without_p)


def test_grid_stress_raises_city_demand_not_forecast(nyc: City) -> None:
    event = next(e for e in list_events(nyc, YEAR, YEAR + timedelta(days=365))
                 if e.kind == "grid_stress" and e.end - e.start >= timedelta(hours=4))
    with_e, without = _during(event, nyc, "power", "city_demand_mw")
    ratio = np.mean(with_e) / np.mean(without)
    assert 1.0 + 0.8 * event.magnitude < ratio < 1.0 + 1.01 * event.magnitude
    ba_on, ba_off = _during(event, nyc, "power", "ba_demand_mw")  # the city's part of the BA
    assert 1.0 < np.mean(ba_on) / np.mean(ba_off) < ratio
    fc_on, fc_off = _during(event, nyc, "power", "ba_forecast_mw")
    assert fc_on == fc_off  # an unforecast stress: the day-ahead forecast did not see it


def test_aqi_spike_multiplies_pm25_only_in_its_zones(nyc: City) -> None:
    event = next(e for e in list_events(nyc, YEAR, YEAR + timedelta(days=365))
                 if e.kind == "aqi_spike" and e.end - e.start >= timedelta(hours=5))
    with_e, without = _during(event, nyc, "aqi", "pm2_5")
    assert np.mean(with_e) > 0.8 * event.magnitude * np.mean(without)
    mid = event.start + (event.end - event.start) / 2
    on = simulate("aqi", nyc, mid, mid + timedelta(hours=1), mid)
    off = simulate("aqi", nyc, mid, mid + timedelta(hours=1), mid,
                   world=CityWorld(nyc, with_events=False))
    outside = [(a["pm2_5"], b["pm2_5"]) for a, b in zip(on, off, strict=True)
               if a["zone_id"] not in event.zone_ids]
    assert outside and all(a == b for a, b in outside)
