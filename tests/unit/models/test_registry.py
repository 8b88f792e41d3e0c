"""The registry: versioned artifacts with checksums, round trips, and the Mongo document."""

from __future__ import annotations

import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from models.exceptions import ArtifactChecksumError
from models.features import (
    FEATURE_VERSION,
    FORECAST_LEADS,
    MAX_GAP,
    build_panel,
    feature_cube,
    make_windows,
)
from models.registry import CHECKSUM_FILE, META_FILE, load, metadata, registered
from tests.unit.models.conftest import SERIES

MODELS = ("lstm", "tft", "gnn", "gbm")
METRIC_KEYS = {"mape", "rmse", "coverage_p10_p90", "baseline_mape", "eia_df_mape",
               "mape_same_points", "naive24_mape", "bias_mw", "bias_pct", "pinball_mw",
               "coverage_p10", "coverage_p50", "coverage_p90", "skill_vs_baseline",
               "n_issuances", "n_points", "eia_df_points"}
FLAVOURS = {"lstm": "keras", "tft": "torch", "gnn": "torch", "gbm": "lightgbm"}
BACKTEST_SERIES = {"model", "naive168", "naive24", "eia_df"}


def _windows(trained_set, forecaster):
    ctx = forecaster.context
    frame = trained_set.frame
    panel = build_panel(frame, ctx.zone_ids, frame["ts"].min(), trained_set.end, ctx.timezone,
                        trained_set.forecast)
    issues = np.arange(300, panel.n_hours - 24, 8)
    return make_windows(feature_cube(panel, ctx.scaler), issues, ctx.encoder_hours,
                        gaps=np.resize([0, 14, MAX_GAP], len(issues)))


def _walk(value, path="doc"):
    """Yield (path, value) of every leaf, failing on what FerretDB refuses to store: arrays
    nested directly in arrays, keys with '.' or a leading '$' (docs/architecture.md §8)."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert "." not in k and not k.startswith("$"), f"bad key {path}.{k}"
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert not isinstance(v, list | tuple), f"nested array at {path}[{i}]"
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip_gives_identical_predictions(trained_set, name) -> None:
    trained = next(t for t in trained_set.trained if t.forecaster.name == name)
    doc = next(d for d in trained_set.docs if d["model"] == name)
    loaded = load(Path(doc["artifact_path"]), doc["checksum"])
    windows = _windows(trained_set, trained.forecaster)
    assert type(loaded) is type(trained.forecaster)
    assert np.array_equal(loaded.predict(windows), trained.forecaster.predict(windows))
    assert loaded.context.zone_ids == trained.forecaster.context.zone_ids == SERIES
    assert loaded.context.edges == trained.forecaster.context.edges
    assert loaded.context.scaler.to_dict() == trained.forecaster.context.scaler.to_dict()
    assert np.shape(loaded.calibration) == (FORECAST_LEADS, 2)
    assert np.allclose(loaded.calibration, trained.forecaster.calibration)


@pytest.mark.parametrize("name", ["lstm", "gnn", "gbm"])
def test_a_tampered_artifact_is_refused(trained_set, tmp_path, name) -> None:
    doc = next(d for d in trained_set.docs if d["model"] == name)
    copy = tmp_path / "copy"
    shutil.copytree(doc["artifact_path"], copy)
    meta = copy / META_FILE
    meta.write_text(meta.read_text().replace('"seed": 0', '"seed": 1'))
    with pytest.raises(ArtifactChecksumError):
        load(copy, doc["checksum"])
    with pytest.raises(ArtifactChecksumError):  # the checksum file beside it catches it too
        load(copy)


def test_registry_documents_have_the_agreed_shape(trained_set) -> None:
    assert sorted(d["model"] for d in trained_set.docs) == sorted(MODELS)
    for doc in trained_set.docs:
        model, city = doc["model"], trained_set.city.city_id
        assert doc["_id"] == f"{city}|{model}" and doc["city_id"] == city
        assert set(doc["metrics"]) == METRIC_KEYS
        assert all(v is None or (isinstance(v, int | float) and math.isfinite(v))
                   for v in doc["metrics"].values())
        assert isinstance(doc["trained_at"], datetime) and doc["trained_at"].tzinfo
        window = doc["training_window"]
        assert (window["start"] < window["end"] < window["validation_end"]
                < window["calibration_end"] < window["test_end"])
        path = Path(doc["artifact_path"])
        assert path == trained_set.root / city / model / doc["version"]
        assert (path / META_FILE).is_file() and (path / CHECKSUM_FILE).is_file()
        assert len(doc["checksum"]) == 64 and doc["checksum"] == (path / CHECKSUM_FILE
                                                                   ).read_text().strip()
        assert doc["flavour"] == FLAVOURS[model]
        assert doc["params"]["seed"] == 0
        assert doc["series"] == list(SERIES) and doc["series_count"] == len(SERIES)
        assert doc["feature_version"] == FEATURE_VERSION
        assert metadata(path)["metrics"] == doc["metrics"]
        for where, leaf in _walk(doc):
            assert not (isinstance(leaf, float) and not math.isfinite(leaf)), where
        assert registered(trained_set.db, city, model) == doc


def test_registry_backtest_holds_what_the_models_page_draws(trained_set) -> None:
    for doc in trained_set.docs:
        bt = doc["backtest"]
        assert set(bt["by_horizon"]) == set(bt["by_hour"]) == BACKTEST_SERIES
        assert all(len(v) == 24 for v in bt["by_horizon"].values())
        assert all(len(v) == 24 for v in bt["by_hour"].values())
        assert {c["nominal"] for c in bt["calibration"]} == {10.0, 50.0, 90.0, 80.0}
        n = doc["metrics"]["n_issuances"]
        predictions = bt["predictions"]
        assert len(predictions["issued_at"]) == n and len(predictions["hours"]) == 24 * n
        assert all(len(predictions[k]) == 24 * n
                   for k in ("actual", "p10", "p50", "p90", "naive168", "naive24", "eia_df"))
        assert bt["weekly"] and {"week_start", "model_mape", "eia_df_mape"} <= set(
            bt["weekly"][0])


def test_tft_and_gnn_documents_carry_their_explanations(trained_set) -> None:
    tft = next(d for d in trained_set.docs if d["model"] == "tft")
    assert set(tft["variable_importances"]) == {"static", "encoder", "decoder"}
    assert tft["attention"]
    gnn = next(d for d in trained_set.docs if d["model"] == "gnn")
    assert [n["id"] for n in gnn["graph"]["nodes"]] == list(SERIES)
    edges = gnn["graph"]["edges"]
    assert edges and all(set(e) == {"source", "target", "km"} for e in edges)
    assert {e["source"] for e in edges} | {e["target"] for e in edges} <= set(SERIES)
    assert all("graph" not in d for d in trained_set.docs if d["model"] != "gnn")
