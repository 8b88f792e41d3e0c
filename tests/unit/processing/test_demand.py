"""Demand estimate: metered demand wins; without it, average x temperature, flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.processing.demand import (
    COMFORT_C,
    demand_profile,
    estimate_demand,
    nominal_zone_demand_mw,
    temperature_factor,
)
from tests.unit.processing.factories import T0, hourly_frame, toy_city


def _history(days: int = 7, demand: float = 100.0, temperature: float = COMFORT_C
             ) -> pd.DataFrame:
    return hourly_frame(["z01", "z02", "z03"], T0, 24 * days,
                        demand_mw=lambda ts, z: demand * (z + 1) + ts.hour,
                        temperature_c=temperature)


def _now(temps: dict[str, float | None], demand: dict[str, float | None] | None = None,
         hour: int = 14) -> pd.DataFrame:
    ts = pd.Timestamp(T0) + pd.Timedelta(days=30, hours=hour)
    zones = list(temps)
    return pd.DataFrame({
        "zone_id": zones, "ts": [ts] * len(zones),
        "demand_mw": [np.nan if (demand or {}).get(z) is None else demand[z] for z in zones],
        "temperature_c": [np.nan if temps[z] is None else temps[z] for z in zones],
    })


def test_metered_demand_is_kept_and_not_flagged() -> None:
    out = estimate_demand(_now({"z01": 35.0}, {"z01": 123.0}), demand_profile(_history()),
                          toy_city())
    assert out["demand_mw"].iloc[0] == 123.0
    assert not out["demand_estimated"].iloc[0]


def test_without_power_data_demand_is_the_zone_average_at_that_hour_flagged() -> None:
    profile = demand_profile(_history())  # z02 averages 200 + hour, observed at COMFORT_C
    out = estimate_demand(_now({"z02": COMFORT_C}), profile, toy_city())
    assert out["demand_estimated"].iloc[0]
    assert out["demand_mw"].iloc[0] == pytest.approx(200 + 14)


def test_the_estimate_rises_with_heat_and_with_cold() -> None:
    profile = demand_profile(_history())
    out = estimate_demand(_now({"z01": COMFORT_C, "z02": COMFORT_C, "z03": COMFORT_C}),
                          profile, toy_city())
    hot = estimate_demand(_now({"z01": 35.0, "z02": 35.0, "z03": 35.0}), profile, toy_city())
    cold = estimate_demand(_now({"z01": -5.0, "z02": -5.0, "z03": -5.0}), profile, toy_city())
    assert (hot["demand_mw"] > out["demand_mw"]).all()
    assert (cold["demand_mw"] > out["demand_mw"]).all()


def test_the_adjustment_is_relative_to_the_temperature_the_average_was_seen_at() -> None:
    # history observed at 30 °C; the same 30 °C now must give back the plain average
    profile = demand_profile(_history(temperature=30.0))
    out = estimate_demand(_now({"z01": 30.0}), profile, toy_city())
    assert out["demand_mw"].iloc[0] == pytest.approx(100 + 14)


def test_no_temperature_means_no_estimate() -> None:
    out = estimate_demand(_now({"z01": None}), demand_profile(_history()), toy_city())
    assert np.isnan(out["demand_mw"].iloc[0])
    assert not out["demand_estimated"].iloc[0]


def test_without_any_history_the_zone_share_of_the_ba_typical_load_stands_in() -> None:
    city = toy_city()
    out = estimate_demand(_now({"z01": COMFORT_C}), demand_profile(pd.DataFrame()), city)
    nominal = nominal_zone_demand_mw(city)["z01"]
    assert nominal > 0
    assert out["demand_mw"].iloc[0] == pytest.approx(nominal)
    assert out["demand_estimated"].iloc[0]


def test_estimates_in_history_do_not_feed_the_profile() -> None:
    history = _history(days=4)
    history["demand_mw"] = np.nan
    assert demand_profile(history).empty


def test_temperature_factor_is_one_at_comfort_and_grows_either_side() -> None:
    factor = temperature_factor(np.array([COMFORT_C - 10, COMFORT_C, COMFORT_C + 10]))
    assert factor[1] == 1.0
    assert factor[0] > 1.0 and factor[2] > 1.0
