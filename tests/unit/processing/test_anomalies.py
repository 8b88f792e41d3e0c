"""Z-score anomalies against the rolling same-hour baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.processing.anomalies import MIN_SAMPLES, zscore_anomalies
from tests.unit.processing.factories import T0, hourly_frame

DAYS = 30
ZONES = ["z01", "z02", "z03"]


def _normal(seed: int = 7) -> pd.DataFrame:
    """30 days of noisy but ordinary data with a daily cycle."""
    rng = np.random.default_rng(seed)
    n = len(ZONES) * DAYS * 24
    hours = np.tile(np.arange(DAYS * 24) % 24, len(ZONES))
    daily = 300 + 100 * np.sin(hours / 24 * 2 * np.pi)
    return hourly_frame(ZONES, T0, DAYS * 24,
                        demand_mw=daily + rng.normal(0, 10, n),
                        us_aqi=40 + rng.normal(0, 4, n),
                        temperature_c=15 + 5 * np.sin(hours / 24 * 2 * np.pi) + rng.normal(0, 1, n),
                        incident_count=rng.poisson(0.4, n).astype(float))


def _spike(frame: pd.DataFrame, zone: str, ts: pd.Timestamp, metric: str, value: float
           ) -> pd.DataFrame:
    out = frame.copy()
    out.loc[(out["zone_id"] == zone) & (out["ts"] == ts), metric] = value
    return out


def test_an_injected_spike_is_found_with_its_zscore_and_baseline() -> None:
    ts = pd.Timestamp(T0) + pd.Timedelta(days=DAYS - 1, hours=4)
    frame = _spike(_normal(), "z02", ts, "demand_mw", 900.0)
    found = zscore_anomalies(frame, since=ts)
    demand = found[found["metric"] == "demand_mw"]
    assert len(demand) == 1
    hit = demand.iloc[0]
    assert (hit["zone_id"], hit["ts"]) == ("z02", ts)
    assert hit["value"] == 900.0
    assert hit["zscore"] > 3
    # the baseline is what 04:00 usually looks like for that zone (about 300 + 100 sin)
    assert hit["baseline_mean"] == pytest.approx(300 + 100 * np.sin(4 / 24 * 2 * np.pi), abs=10)


def test_a_value_normal_for_its_hour_is_not_flagged_even_if_far_from_the_daily_mean() -> None:
    frame = _normal()
    since = pd.Timestamp(T0) + pd.Timedelta(days=DAYS - 3)
    judged = 72 * len(ZONES) * 4  # hours x zones x metrics of ordinary data
    found = zscore_anomalies(frame, since=since)
    # at |z| >= 3 only the odd outlier (Gaussian: 0.3 %), while a loose threshold flags many,
    # which shows the values were judged at all
    assert len(found) <= 0.01 * judged
    assert len(zscore_anomalies(frame, since=since, threshold=1.5)) > 0.05 * judged


def test_a_drop_is_an_anomaly_too() -> None:
    ts = pd.Timestamp(T0) + pd.Timedelta(days=DAYS - 1, hours=10)
    found = zscore_anomalies(_spike(_normal(), "z01", ts, "us_aqi", 0.0), since=ts)
    hit = found[(found["metric"] == "us_aqi") & (found["zone_id"] == "z01")]
    assert len(hit) == 1 and hit.iloc[0]["zscore"] < -3


def test_too_little_history_flags_nothing() -> None:
    short = _normal()
    short = short[short["ts"] < pd.Timestamp(T0) + pd.Timedelta(days=MIN_SAMPLES - 1)]
    ts = short["ts"].max()
    found = zscore_anomalies(_spike(short, "z01", ts, "demand_mw", 5000.0))
    assert found.empty


def test_a_near_constant_series_does_not_turn_a_small_wobble_into_an_anomaly() -> None:
    frame = _normal()
    frame["incident_count"] = 0.0  # a quiet zone: zero incidents every hour
    ts = pd.Timestamp(T0) + pd.Timedelta(days=DAYS - 1, hours=2)
    found = zscore_anomalies(_spike(frame, "z03", ts, "incident_count", 1.0), since=ts)
    assert found[found["metric"] == "incident_count"].empty
    surge = zscore_anomalies(_spike(frame, "z03", ts, "incident_count", 6.0), since=ts)
    assert len(surge[surge["metric"] == "incident_count"]) == 1


def test_estimated_demand_is_neither_judged_nor_in_the_baseline() -> None:
    ts = pd.Timestamp(T0) + pd.Timedelta(days=DAYS - 1, hours=4)
    frame = _spike(_normal(), "z02", ts, "demand_mw", 900.0)
    frame["demand_estimated"] = (frame["zone_id"] == "z02") & (frame["ts"] == ts)
    found = zscore_anomalies(frame, since=ts)
    assert found[found["metric"] == "demand_mw"].empty


def test_only_hours_from_since_are_reported() -> None:
    early = pd.Timestamp(T0) + pd.Timedelta(days=20, hours=4)
    late = pd.Timestamp(T0) + pd.Timedelta(days=DAYS - 1, hours=4)
    frame = _spike(_spike(_normal(), "z01", early, "demand_mw", 900.0),
                   "z01", late, "demand_mw", 900.0)
    found = zscore_anomalies(frame, since=late - pd.Timedelta(hours=1))
    assert found[found["metric"] == "demand_mw"]["ts"].tolist() == [late]
