"""The registry: versioned artifacts with checksums, round trips, and the Mongo document."""

from __future__ import annotations

import math
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from models.backtest import origins_between
from models.exceptions import ArtifactChecksumError
from models.features import build_panel, feature_cube, make_windows
from models.registry import CHECKSUM_FILE, META_FILE, load, metadata, registered

METRIC_KEYS = {"mape", "rmse", "coverage_p10_p90", "baseline_mape", "eia_df_mape"}


def _windows(trained_set, forecaster):
    ctx = forecaster.context
    panel = build_panel(trained_set.frame, ctx.zone_ids, trained_set.frame.ts.min(),
                        trained_set.end, ctx.timezone)
    return make_windows(feature_cube(panel, ctx.scaler), origins_between(300, panel.n_hours, 8),
                        ctx.encoder_hours)


def _walk(value, path="doc"):
    """Yield (path, value) of every leaf, failing on arrays nested directly in arrays."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert "." not in k and not k.startswith("$"), f"bad key {path}.{k}"
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert not isinstance(v, list), f"nested array at {path}[{i}]"
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


@pytest.mark.parametrize("name", ["lstm", "tft", "gnn"])
def test_save_load_round_trip_gives_identical_predictions(trained_set, name) -> None:
    trained = next(t for t in trained_set.trained if t.forecaster.name == name)
    doc = next(d for d in trained_set.docs if d["model"] == name)
    loaded = load(Path(doc["artifact_path"]), doc["checksum"])
    windows = _windows(trained_set, trained.forecaster)
    assert type(loaded) is type(trained.forecaster)
    assert np.array_equal(loaded.predict(windows), trained.forecaster.predict(windows))
    assert loaded.context.zone_ids == trained.forecaster.context.zone_ids


@pytest.mark.parametrize("name", ["lstm", "gnn"])
def test_a_tampered_artifact_is_refused(trained_set, tmp_path, name) -> None:
    doc = next(d for d in trained_set.docs if d["model"] == name)
    copy = tmp_path / "copy"
    shutil.copytree(doc["artifact_path"], copy)
    meta = copy / META_FILE
    meta.write_text(meta.read_text().replace('"epochs": ', '"epochs": 1'))
    with pytest.raises(ArtifactChecksumError):
        load(copy, doc["checksum"])
    with pytest.raises(ArtifactChecksumError):  # the checksum file beside it catches it too
        load(copy)


def test_registry_documents_have_the_agreed_shape(trained_set) -> None:
    for doc in trained_set.docs:
        model, city = doc["model"], trained_set.city.city_id
        assert doc["_id"] == f"{city}|{model}" and doc["city_id"] == city
        assert set(doc["metrics"]) == METRIC_KEYS
        assert all(v is None or (isinstance(v, float) and math.isfinite(v))
                   for v in doc["metrics"].values())
        assert isinstance(doc["trained_at"], datetime) and doc["trained_at"].tzinfo
        window = doc["training_window"]
        assert window["start"] < window["end"] < window["validation_end"] < window["test_end"]
        path = Path(doc["artifact_path"])
        assert path == trained_set.root / city / model / doc["version"]
        assert (path / META_FILE).is_file() and (path / CHECKSUM_FILE).is_file()
        assert len(doc["checksum"]) == 64 and doc["checksum"] == (path / CHECKSUM_FILE
                                                                   ).read_text().strip()
        assert doc["flavour"] == ("keras" if model == "lstm" else "torch")
        assert doc["params"]["seed"] == 0 and doc["params"]["epochs"] > 0
        assert metadata(path)["metrics"] == doc["metrics"]
        for where, leaf in _walk(doc):
            assert not (isinstance(leaf, float) and not math.isfinite(leaf)), where
        assert registered(trained_set.db, city, model) == doc


def test_tft_registry_document_carries_variable_importances(trained_set) -> None:
    doc = next(d for d in trained_set.docs if d["model"] == "tft")
    assert set(doc["variable_importances"]) == {"static", "encoder", "decoder"}
