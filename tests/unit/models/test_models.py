"""Tiny CPU training runs: shapes, quantile order, determinism, beating seasonal naive."""

from __future__ import annotations

import numpy as np
import pytest

from models.features import FUTURE_FEATURES, PAST_FEATURES

MODELS = ("lstm", "tft", "gnn")


def _by_name(trained_set, name):
    return next(t for t in trained_set.trained if t.forecaster.name == name)


@pytest.mark.parametrize("name", MODELS)
def test_predictions_have_the_documented_shape_and_ordered_quantiles(trained_set, name) -> None:
    from models.backtest import origins_between
    from models.features import Scaler, build_panel, feature_cube, make_windows

    trained = _by_name(trained_set, name)
    f = trained.forecaster
    panel = build_panel(trained_set.frame, f.context.zone_ids, trained_set.frame.ts.min(),
                        trained_set.end, f.context.timezone)
    cube = feature_cube(panel, f.context.scaler)
    origins = origins_between(200, panel.n_hours, 12)
    pred = f.predict(make_windows(cube, origins, f.context.encoder_hours))
    assert pred.shape == (len(origins), 4, 24, 3)
    assert np.isfinite(pred).all()
    assert (pred[..., 0] <= pred[..., 1]).all() and (pred[..., 1] <= pred[..., 2]).all()
    assert (pred[..., 2] > pred[..., 0]).mean() > 0.9  # a real interval, not a point
    assert isinstance(Scaler.from_dict(f.context.scaler.to_dict()), Scaler)


@pytest.mark.parametrize("name", MODELS)
def test_beats_seasonal_naive_on_an_easy_series(trained_set, name) -> None:
    metrics = _by_name(trained_set, name).metrics
    assert metrics["mape"] is not None and metrics["baseline_mape"] is not None
    assert metrics["mape"] < 0.8 * metrics["baseline_mape"]
    assert metrics["eia_df_mape"] is not None  # the synthetic history carries a DF column


@pytest.mark.parametrize("name", MODELS)
def test_learns_more_than_the_lag_blend_it_starts_from(trained_set, name) -> None:
    """LSTM and GNN start from mean(same hour yesterday, last week); training must beat it."""
    frame = trained_set.frame
    demand = frame.pivot(index="ts", columns="zone_id", values="demand_mw").to_numpy()
    n_hours = demand.shape[0]
    origins = range(n_hours - trained_set.test_hours, n_hours - 23, 6)  # the backtest's
    errors = []
    for o in origins:
        for h in range(24):
            blend = (demand[o + h - 24] + demand[o + h - 168]) / 2
            errors.extend(np.abs(blend - demand[o + h]) / demand[o + h])
    assert _by_name(trained_set, name).metrics["mape"] < np.mean(errors) * 100


def _predict(trained_set, forecaster):
    from models.backtest import origins_between
    from models.features import build_panel, feature_cube, make_windows

    ctx = forecaster.context
    panel = build_panel(trained_set.frame, ctx.zone_ids, trained_set.frame.ts.min(),
                        trained_set.end, ctx.timezone)
    windows = make_windows(feature_cube(panel, ctx.scaler),
                           origins_between(400, panel.n_hours, 24), ctx.encoder_hours)
    return forecaster.predict(windows)


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_gives_the_same_predictions(retrain, trained_set, name) -> None:
    again = retrain(name, seed=0)
    first = _by_name(trained_set, name)
    assert np.array_equal(_predict(trained_set, again.forecaster),
                          _predict(trained_set, first.forecaster))
    assert again.metrics == first.metrics


def test_a_different_seed_changes_the_model(retrain, trained_set) -> None:
    other = retrain("tft", seed=1)
    assert not np.allclose(_predict(trained_set, other.forecaster),
                           _predict(trained_set, _by_name(trained_set, "tft").forecaster))


def test_tft_exposes_variable_importances(trained_set) -> None:
    importances = _by_name(trained_set, "tft").forecaster.extras["variable_importances"]
    assert set(importances) == {"static", "encoder", "decoder"}
    assert list(importances["encoder"]) == list(PAST_FEATURES)
    assert list(importances["decoder"]) == list(FUTURE_FEATURES)
    for group in importances.values():
        assert sum(group.values()) == pytest.approx(1.0, abs=1e-3)
        assert all(w >= 0 for w in group.values())


def test_gnn_uses_the_zone_graph(trained_set) -> None:
    f = _by_name(trained_set, "gnn").forecaster
    assert f.context.edges, "the GNN must be trained with k-nearest-zone edges"
    assert f.network.edge_index.shape[0] == 2 and f.network.edge_index.shape[1] == len(
        f.context.edges)
    assert set(f.network.edge_index.flatten().tolist()) <= set(range(4))
