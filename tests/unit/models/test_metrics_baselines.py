"""Error measures and the reference forecasts, checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from models.baselines import (
    eia_day_ahead,
    naive_24h,
    seasonal_naive,
    series_share,
    values_at,
)
from models.metrics import (
    bias,
    coverage,
    error_sums,
    finite_or_none,
    mape,
    pinball,
    rmse,
    share_below,
)


def test_mape_rmse_coverage_by_hand() -> None:
    actual = np.array([100.0, 200.0, np.nan, 50.0])
    forecast = np.array([110.0, 180.0, 70.0, 50.0])
    assert mape(actual, forecast) == pytest.approx((10 / 100 + 20 / 200 + 0) / 3 * 100)
    assert rmse(actual, forecast) == pytest.approx(np.sqrt((100 + 400 + 0) / 3))
    low, high = actual - 5, actual + 5
    high[1] = 150  # the second actual falls outside
    assert coverage(actual, low, high) == pytest.approx(200 / 3)
    assert error_sums(actual, forecast) == pytest.approx((3, 0.2, 500.0))


def test_metrics_ignore_zero_actuals_and_return_none_without_points() -> None:
    assert mape(np.array([0.0, 10.0]), np.array([5.0, 11.0])) == pytest.approx(10.0)
    assert mape(np.array([np.nan]), np.array([1.0])) is None
    assert rmse(np.array([]), np.array([])) is None
    assert bias(np.array([np.nan]), np.array([1.0])) is None
    assert share_below(np.array([np.nan]), np.array([1.0])) is None
    assert pinball(np.array([np.nan]), {0.5: np.array([1.0])}) is None
    assert finite_or_none(float("nan")) is None and finite_or_none(float("inf")) is None


def test_bias_is_signed_forecast_minus_actual() -> None:
    actual = np.array([100.0, 200.0, np.nan])
    assert bias(actual, np.array([110.0, 220.0, 0.0])) == pytest.approx(15.0)
    assert bias(actual, np.array([90.0, 180.0, 0.0])) == pytest.approx(-15.0)


def test_pinball_weighs_each_side_by_its_quantile_level() -> None:
    actual = np.array([100.0, 100.0])
    # p10 at 90 (actual above: 0.1 x 10), p90 at 90 (actual above: 0.9 x 10)
    assert pinball(actual, {0.1: np.array([90.0, 90.0])}) == pytest.approx(1.0)
    assert pinball(actual, {0.9: np.array([90.0, 90.0])}) == pytest.approx(9.0)
    # p10 at 110 (actual below: 0.9 x 10); the mean over levels
    assert pinball(actual, {0.1: np.array([110.0, 110.0]),
                            0.9: np.array([90.0, 90.0])}) == pytest.approx((9.0 + 9.0) / 2)
    assert pinball(actual, {0.5: actual}) == 0.0


def test_share_below_counts_actuals_at_or_under_the_quantile() -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    assert share_below(actual, np.full(5, 2.0)) == pytest.approx(50.0)
    assert share_below(actual, np.full(5, 0.5)) == 0.0


def test_seasonal_naive_is_same_hour_last_week() -> None:
    demand = np.arange(400, dtype=float).reshape(200, 2)  # value encodes (hour, series)
    naive = seasonal_naive(demand, [168, 170])
    assert naive.shape == (2, 2, 24)
    assert naive[1, 1, 5] == demand[170 + 5 - 168, 1]
    actual = values_at(demand, [190])
    assert np.isnan(actual[0, 0, 10:]).all()  # past the end of the data
    assert actual[0, 0, 9] == demand[199, 0]
    with pytest.raises(ValueError):
        seasonal_naive(demand, [168], horizon=30, season=24)


def test_naive_24h_uses_the_latest_day_known_at_issue_time() -> None:
    demand = np.arange(600, dtype=float)[:, None]  # value = hour
    live = naive_24h(demand, [300], gaps=0)[0, 0]
    assert live.tolist() == [300 + h - 24 for h in range(24)]
    # day-ahead: issued at 286 for 300..323, leads 14..37; from lead 24 (hour 296 + 14 = 310)
    # the hour 24 h earlier is at or after the issue, so the value is 48 h old
    day_ahead = naive_24h(demand, [300], gaps=14)[0, 0]
    leads = 14 + np.arange(24)
    expected = 300 + np.arange(24) - np.where(leads < 24, 24, 48)
    assert day_ahead.tolist() == expected.tolist()
    assert (day_ahead < 300 - 14).all()  # every value known at the issue hour
    both = naive_24h(demand, [300, 400], gaps=np.array([0, 24]))
    assert both[1, 0].tolist() == [400 + h - 48 for h in range(24)]


def test_series_share_is_the_trailing_week_share_of_the_ba() -> None:
    n = 500
    ba = np.full(n, 1000.0)
    demand = np.column_stack([np.full(n, 250.0), np.full(n, 700.0)])
    demand[300:, 0] = 500.0  # the share changes from hour 300 on
    ba[50] = np.nan  # an hour without BA demand is left out of both sums
    share = series_share(demand, ba, np.array([200, 300, 300 + 168]))
    assert np.allclose(share[0], [0.25, 0.70])
    assert np.allclose(share[1], [0.25, 0.70])  # hour 300 itself is not known at 300
    assert np.allclose(share[2], [0.50, 0.70])  # a whole week after the change


def test_eia_day_ahead_apportions_the_ba_forecast_by_trailing_share() -> None:
    n = 500
    ba = np.full(n, 1000.0)
    demand = np.column_stack([np.full(n, 300.0), np.full(n, 600.0)])
    demand[286:, 0] = 900.0  # from the issue hour on: must not move the share
    df = 1000.0 + np.arange(n, dtype=float)  # value encodes the target hour
    out = eia_day_ahead(df, demand, ba, [300], gaps=14)
    assert out.shape == (1, 2, 24)
    assert np.allclose(out[0, 0], 0.3 * df[300:324])
    assert np.allclose(out[0, 1], 0.6 * df[300:324])
    df[310] = np.nan  # DF missing for one hour: missing, not zero
    assert np.isnan(eia_day_ahead(df, demand, ba, [300], gaps=14)[0, :, 10]).all()
