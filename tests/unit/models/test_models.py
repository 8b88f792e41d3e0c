"""Tiny CPU training runs of every model: shapes, quantile order, determinism, beating the
naive forecasts day-ahead, and what each model exposes (TFT importances, the GNN's graph)."""

from __future__ import annotations

import numpy as np
import pytest

from models.backtest import day_ahead_schedule
from models.baselines import naive_24h, seasonal_naive
from models.features import (
    DEMAND,
    FUTURE_FEATURES,
    MAX_GAP,
    PAST_FEATURES,
    WEEK_HOURS,
    build_panel,
    feature_cube,
    make_windows,
)
from models.metrics import mape
from tests.unit.models.conftest import SERIES

MODELS = ("lstm", "tft", "gnn", "gbm")


def _by_name(trained_set, name):
    return next(t for t in trained_set.trained if t.forecaster.name == name)


def _panel(trained_set, context):
    frame = trained_set.frame
    return build_panel(frame, context.zone_ids, frame["ts"].min(), trained_set.end,
                       context.timezone, trained_set.forecast)


def _predict(trained_set, forecaster, gaps=(0, 14, MAX_GAP)):
    """Forecasts issued every 12 h over the last two weeks, cycling through `gaps`."""
    ctx = forecaster.context
    panel = _panel(trained_set, ctx)
    issues = np.arange(panel.n_hours - 2 * WEEK_HOURS, panel.n_hours - 24, 12)
    gap = np.resize(np.asarray(gaps), len(issues))
    windows = make_windows(feature_cube(panel, ctx.scaler), issues, ctx.encoder_hours, gaps=gap)
    return forecaster.predict(windows), windows


@pytest.mark.parametrize("name", MODELS)
def test_predictions_have_the_documented_shape_and_ordered_quantiles(trained_set, name) -> None:
    f = _by_name(trained_set, name).forecaster
    assert f.context.zone_ids == SERIES  # the city's own series first
    pred, windows = _predict(trained_set, f)
    assert pred.shape == (len(windows.origins), len(SERIES), 24, 3)
    assert np.isfinite(pred).all() and (pred > 0).all()
    assert (pred[..., 0] <= pred[..., 1]).all() and (pred[..., 1] <= pred[..., 2]).all()
    assert (pred[..., 2] > pred[..., 0]).mean() > 0.9  # a real interval, not a point
    # in MW of each series: the series' forecasts sit near their own trailing level
    ratio = pred[..., 1].mean(axis=-1) / windows.level
    assert np.all((ratio > 0.6) & (ratio < 1.6))


@pytest.mark.parametrize("name", MODELS)
def test_beats_the_naive_forecasts_day_ahead(trained_set, name) -> None:
    metrics = _by_name(trained_set, name).metrics
    assert metrics["mape"] is not None and metrics["baseline_mape"] is not None
    assert metrics["mape"] < metrics["baseline_mape"]
    assert metrics["mape"] < metrics["naive24_mape"]
    assert metrics["skill_vs_baseline"] > 0
    # the synthetic history carries EIA's DF: compared on the same hours
    assert metrics["eia_df_mape"] is not None and metrics["mape_same_points"] is not None


def test_most_models_beat_seasonal_naive_by_a_margin(trained_set) -> None:
    """Not just a hair better: the easy synthetic series leaves a lot to learn."""
    margins = {t.forecaster.name: t.metrics["mape"] / t.metrics["baseline_mape"]
               for t in trained_set.trained}
    assert sum(m < 0.6 for m in margins.values()) >= 3, margins


@pytest.mark.parametrize("name", ["gnn", "gbm", "tft"])
def test_learns_more_than_the_lag_blend(trained_set, name) -> None:
    """The networks start from mean(latest known day, last week); training must beat it on
    the very day-ahead hours of the backtest."""
    ctx = _by_name(trained_set, name).forecaster.context
    panel = _panel(trained_set, ctx)
    demand = panel.values[DEMAND]
    start = panel.n_hours - trained_set.test_hours
    issues, gaps = day_ahead_schedule(panel.times(), ctx.timezone, start, panel.n_hours)
    origins = issues + gaps
    blend = (naive_24h(demand, origins, gaps) + seasonal_naive(demand, origins)) / 2
    actual = np.stack([demand[o:o + 24] for o in origins]).transpose(0, 2, 1)
    blend_mape = mape(actual[:, 0], blend[:, 0])
    assert _by_name(trained_set, name).metrics["mape"] < blend_mape


@pytest.mark.parametrize("name", ["lstm", "tft", "gnn"])
def test_same_seed_gives_the_same_model(retrain, trained_set, name) -> None:
    again = retrain(name, seed=0)
    first = _by_name(trained_set, name)
    assert np.array_equal(_predict(trained_set, again.forecaster)[0],
                          _predict(trained_set, first.forecaster)[0])
    assert np.array_equal(again.forecaster.calibration, first.forecaster.calibration)
    assert again.metrics == first.metrics


def test_a_different_seed_changes_the_model(retrain, trained_set) -> None:
    other = retrain("tft", seed=1)
    assert not np.allclose(_predict(trained_set, other.forecaster)[0],
                           _predict(trained_set, _by_name(trained_set, "tft").forecaster)[0])


def test_tft_exposes_variable_importances_and_attention(trained_set) -> None:
    f = _by_name(trained_set, "tft").forecaster
    importances = f.extras["variable_importances"]
    assert set(importances) == {"static", "encoder", "decoder"}
    assert list(importances["encoder"]) == list(PAST_FEATURES)
    assert list(importances["decoder"]) == list(FUTURE_FEATURES)
    for group in importances.values():
        assert sum(group.values()) == pytest.approx(1.0, abs=1e-3)
        assert all(w >= 0 for w in group.values())
    attention = f.extras["attention"]
    assert attention, "the TFT must report its mean attention"


def test_gnn_uses_the_series_graph(trained_set) -> None:
    trained = _by_name(trained_set, "gnn")
    f = trained.forecaster
    assert f.context.edges, "the GNN must be trained with k-nearest-series edges"
    assert {s for s, _, _ in f.context.edges} | {d for _, d, _ in f.context.edges} <= set(
        SERIES)
    assert all(km > 0 for _, _, km in f.context.edges)
    assert f.network.edge_index.shape[0] == 2 and f.network.edge_index.shape[1] == len(
        f.context.edges)
    assert set(f.network.edge_index.flatten().tolist()) <= set(range(len(SERIES)))
    graph = trained.graph
    assert [n["id"] for n in graph["nodes"]] == list(SERIES)
    assert graph["nodes"][0]["own"] and not any(n["own"] for n in graph["nodes"][1:])
    assert len(graph["edges"]) == len(f.context.edges)
