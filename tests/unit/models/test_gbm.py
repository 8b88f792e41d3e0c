"""The LightGBM quantile model, tiny on CPU: shapes, quantile order, beating seasonal naive,
determinism and the registry round trip (models/gbm.py, registry.LightGBMFlavour)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from models.base import ModelContext
from models.baselines import seasonal_naive
from models.features import (
    DEMAND,
    FORECAST_LEADS,
    FUTURE_FEATURES,
    SERIES_COLUMN,
    WEEK_HOURS,
    FeatureCube,
    Panel,
    Scaler,
    Windows,
    build_panel,
    feature_cube,
    make_windows,
    zone_statics,
)
from models.metrics import mape
from tests.unit.models.conftest import synthetic_forecasts, synthetic_frame

SERIES = 3
DAYS = 35
VAL_HOURS = TEST_HOURS = 96
TINY = {"n_estimators": 150, "num_leaves": 15, "min_child_samples": 10,
        "early_stopping_rounds": 20, "n_jobs": 2}
TZ = "America/New_York"


@dataclass(frozen=True)
class GbmCase:
    panel: Panel
    cube: FeatureCube
    context: ModelContext
    train: Windows
    val: Windows
    test: Windows


def _windows(cube: FeatureCube, start: int, end: int, stride: int, encoder: int) -> Windows:
    """Issues in [start, end - 24 - 14]; gaps cycle 0..14 (next-24-h up to day-ahead)."""
    issues = np.arange(max(start, WEEK_HOURS), end - 24 - 14 + 1, stride)
    return make_windows(cube, issues, encoder, gaps=issues % 15)


@pytest.fixture(scope="module")
def case() -> GbmCase:
    frame = synthetic_frame(zones=SERIES, days=DAYS)
    series = list(dict.fromkeys(frame[SERIES_COLUMN]))
    end = frame["ts"].max() + pd.Timedelta(hours=1)
    panel = build_panel(frame, series, frame["ts"].min(), end, TZ, synthetic_forecasts(frame))
    train_end = panel.n_hours - TEST_HOURS - VAL_HOURS
    scaler = Scaler.fit(panel, train_end)
    cube = feature_cube(panel, scaler)
    statics = zone_statics([40.7 + 0.1 * i for i in range(SERIES)],
                           [-74.0 + 0.05 * i for i in range(SERIES)])
    context = ModelContext("testcity", tuple(series), TZ, scaler, statics, WEEK_HOURS)
    return GbmCase(panel, cube, context,
                   _windows(cube, 0, train_end, 2, WEEK_HOURS),
                   _windows(cube, train_end, train_end + VAL_HOURS, 3, WEEK_HOURS),
                   _windows(cube, train_end + VAL_HOURS, panel.n_hours, 6, WEEK_HOURS))


def _fitted(case: GbmCase, seed: int = 0, calibrate: bool = True):
    from models.gbm import GBMForecaster

    forecaster = GBMForecaster(case.context, {**TINY, "seed": seed})
    seen: list[tuple[int, float]] = []
    losses = forecaster.fit(case.train, case.val, seed, lambda e, v: seen.append((e, v)))
    if calibrate:
        forecaster.calibrate(case.val)
    return forecaster, losses, seen


@pytest.fixture(scope="module")
def fitted(case: GbmCase):
    return _fitted(case)


def test_the_registry_knows_gbm_and_loads_lightgbm_only_with_it() -> None:
    from core.vocabulary import MODEL_NAMES
    from models.registry import forecaster_class

    assert "gbm" in MODEL_NAMES and forecaster_class("gbm").name == "gbm"
    probe = ("import sys, models.registry, models.base; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lightgbm'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_design_matrix_has_one_row_per_window_series_and_step(case: GbmCase) -> None:
    from models.gbm import design_matrix, feature_names

    names = feature_names(case.context.encoder_hours)
    x = design_matrix(case.test, case.context.zone_static)
    n, k, h = case.test.target.shape
    assert x.shape == (n * k * h, len(names))
    assert set(FUTURE_FEATURES) <= set(names) and "target_hour_mean" in names
    rows = x.reshape(n, k, h, -1)
    assert np.array_equal(rows[0, 0, :, names.index("step")], np.arange(h))
    assert np.array_equal(rows[0, :, 0, names.index("series")], case.test.zone_index[0])
    for i, column in enumerate(FUTURE_FEATURES):  # every known-future input, by name
        assert np.array_equal(rows[..., names.index(column)], case.test.future[..., i])


def test_fits_and_reports_one_validation_loss(fitted) -> None:
    forecaster, losses, seen = fitted
    assert len(losses) == 1 and np.isfinite(losses[0]) and losses[0] > 0
    assert seen == [(0, losses[0])]
    assert set(forecaster.network.boosters) == {"p10", "p50", "p90"}
    assert forecaster.calibration is not None
    assert forecaster.calibration.shape == (FORECAST_LEADS, 2)


def test_predictions_have_the_documented_shape_and_ordered_quantiles(case, fitted) -> None:
    forecaster, _, _ = fitted
    pred = forecaster.predict(case.test)
    assert pred.shape == (len(case.test.origins), SERIES, 24, 3)
    assert np.isfinite(pred).all()
    assert (pred[..., 0] <= pred[..., 1]).all() and (pred[..., 1] <= pred[..., 2]).all()
    assert (pred[..., 2] > pred[..., 0]).mean() > 0.9  # a real interval, not a point
    native = forecaster.predict_scaled(case.test)  # before calibration and sorting
    assert native.shape == pred.shape
    assert (native[..., 0] < native[..., 2]).mean() > 0.9


def test_beats_seasonal_naive_on_the_synthetic_series(case, fitted) -> None:
    forecaster, _, _ = fitted
    p50 = forecaster.predict(case.test)[..., 1]
    demand = case.panel.values[DEMAND]
    actual = np.stack([demand[o:o + 24].T for o in case.test.origins])
    naive = seasonal_naive(demand, case.test.origins)
    assert mape(actual, p50) < 0.8 * mape(actual, naive)


def test_same_seed_gives_the_same_model(case, fitted) -> None:
    first, _, _ = fitted
    again, _, _ = _fitted(case, seed=0)
    assert np.array_equal(again.predict(case.test), first.predict(case.test))
    assert all(again.network.boosters[k].model_to_string()
               == first.network.boosters[k].model_to_string() for k in ("p10", "p50", "p90"))


def test_save_load_round_trip_gives_identical_predictions(case, fitted, tmp_path) -> None:
    from models.registry import CHECKSUM_FILE, LightGBMFlavour, load, save

    forecaster, _, _ = fitted
    directory = tmp_path / "testcity" / "gbm" / "v1"
    checksum = save(forecaster, directory, {"version": "v1"})
    weights = json.loads((directory / LightGBMFlavour.weights_file).read_text())
    assert set(weights) == {"p10", "p50", "p90"}
    assert (directory / CHECKSUM_FILE).read_text().strip() == checksum
    loaded = load(directory, checksum)
    assert type(loaded) is type(forecaster) and loaded.flavour.name == "lightgbm"
    assert np.array_equal(loaded.calibration, forecaster.calibration)
    assert np.array_equal(loaded.predict(case.test), forecaster.predict(case.test))


def test_an_unfitted_model_refuses_to_predict(case) -> None:
    from models.gbm import GBMForecaster

    with pytest.raises(RuntimeError, match="no boosters"):
        GBMForecaster(case.context, TINY).predict(case.test)
