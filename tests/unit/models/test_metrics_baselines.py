"""Error measures and the seasonal-naive baseline, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from models.baselines import seasonal_naive, values_at
from models.metrics import coverage, finite_or_none, mape, rmse


def test_mape_rmse_coverage_by_hand() -> None:
    actual = np.array([100.0, 200.0, np.nan, 50.0])
    forecast = np.array([110.0, 180.0, 70.0, 50.0])
    assert mape(actual, forecast) == pytest.approx((10 / 100 + 20 / 200 + 0) / 3 * 100)
    assert rmse(actual, forecast) == pytest.approx(np.sqrt((100 + 400 + 0) / 3))
    low, high = actual - 5, actual + 5
    high[1] = 150  # the second actual falls outside
    assert coverage(actual, low, high) == pytest.approx(200 / 3)


def test_metrics_ignore_zero_actuals_and_return_none_without_points() -> None:
    assert mape(np.array([0.0, 10.0]), np.array([5.0, 11.0])) == pytest.approx(10.0)
    assert mape(np.array([np.nan]), np.array([1.0])) is None
    assert rmse(np.array([]), np.array([])) is None
    assert finite_or_none(float("nan")) is None and finite_or_none(float("inf")) is None


def test_seasonal_naive_is_same_hour_last_week() -> None:
    demand = np.arange(400, dtype=float).reshape(200, 2)  # value encodes (hour, zone)
    naive = seasonal_naive(demand, [168, 170])
    assert naive.shape == (2, 2, 24)
    assert naive[1, 1, 5] == demand[170 + 5 - 168, 1]
    actual = values_at(demand, [190])
    assert np.isnan(actual[0, 0, 10:]).all()  # past the end of the data
    assert actual[0, 0, 9] == demand[199, 0]
