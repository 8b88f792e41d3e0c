"""Precompute: documented model_outputs for every zone, loaded once, never training, and the
scorecard. Pure unit tests on an in-memory db; the FerretDB integration test is separate."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import models.precompute as precompute
from core.settings import Settings
from core.vocabulary import C
from models.frameworks import keras, torch

ROOT = Path(__file__).resolve().parents[3]
MODELS = ("lstm", "tft", "gnn")
FIELDS = {"_id", "city_id", "zone_id", "model", "model_version", "issued_at", "horizon_hours",
          "hours", "p10", "p50", "p90", "interval", "bucket_day"}  # + retention bucket


def _settings(root: Path) -> Settings:
    return Settings(_env_file=None, citylive_artifacts_dir=str(root))


def _issue_time(trained_set) -> datetime:
    return trained_set.end - timedelta(hours=48) + timedelta(minutes=17)


def test_precompute_writes_the_documented_shape_for_every_zone(trained_set, service_db,
                                                               fresh_cache) -> None:
    now = _issue_time(trained_set)
    summary = precompute.precompute_city(service_db, _settings(trained_set.root),
                                         trained_set.city, now)
    assert summary["ok"], summary["messages"]
    issued = now.replace(minute=0)
    outputs = service_db[C.MODEL_OUTPUTS].docs
    assert len(outputs) == len(MODELS) * 4 * 2 == summary["documents"]
    frame = trained_set.frame.set_index(["zone_id", "ts"])["demand_mw"]
    versions = {d["model"]: d["version"] for d in trained_set.docs}
    for model in MODELS:
        assert summary["models"][model]["status"] == "ok"
        for zone in trained_set.city.zones:
            key = f"testcity|{model}|{zone.zone_id}|{issued:%Y-%m-%dT%H:%M}Z"
            doc, latest = outputs[key], outputs[f"testcity|{model}|{zone.zone_id}|latest"]
            assert set(doc) == FIELDS
            assert {k: v for k, v in doc.items() if k != "_id"} == {
                k: v for k, v in latest.items() if k != "_id"}
            assert doc["model_version"] == versions[model] and doc["horizon_hours"] == 24
            assert doc["issued_at"] == issued and doc["issued_at"].tzinfo is not None
            assert doc["hours"] == [issued + timedelta(hours=h) for h in range(24)]
            p10, p50, p90 = (np.array(doc[q]) for q in ("p10", "p50", "p90"))
            assert len(p50) == 24 and all(isinstance(v, float) and math.isfinite(v)
                                          for v in doc["p10"] + doc["p50"] + doc["p90"])
            assert (p10 <= p50).all() and (p50 <= p90).all()
            actual = np.array([frame[(zone.zone_id, h)] for h in doc["hours"]])
            assert np.mean(np.abs(p50 - actual) / actual) < 0.15  # forecasts in MW, per zone


def test_each_artifact_is_loaded_once_per_process(trained_set, service_db, fresh_cache,
                                                  monkeypatch) -> None:
    calls = []
    real_load = precompute.load
    monkeypatch.setattr(precompute, "load", lambda *a, **k: calls.append(a) or real_load(*a, **k))
    settings = _settings(trained_set.root)
    now = _issue_time(trained_set)
    precompute.precompute_city(service_db, settings, trained_set.city, now)
    second = precompute.precompute_city(service_db, settings, trained_set.city,
                                        now + timedelta(hours=1))
    assert second["ok"] and len(calls) == len(MODELS)


def test_precompute_never_trains(trained_set, service_db, fresh_cache, monkeypatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("precompute called a training routine")

    monkeypatch.setattr(keras.Model, "fit", forbidden)
    monkeypatch.setattr(keras.Model, "train_on_batch", forbidden)
    monkeypatch.setattr(keras.Model, "compile", forbidden)
    monkeypatch.setattr(torch.optim.Optimizer, "__init__", forbidden)
    monkeypatch.setattr(torch.optim.Optimizer, "step", forbidden)
    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    import models.torch_loop

    monkeypatch.setattr(models.torch_loop, "fit_torch", forbidden)
    for name in MODELS:
        from models.registry import forecaster_class

        monkeypatch.setattr(forecaster_class(name), "fit", forbidden)
    with pytest.raises(AssertionError):  # the trap works
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    summary = precompute.precompute_city(service_db, _settings(trained_set.root),
                                         trained_set.city, _issue_time(trained_set))
    assert {m: r["status"] for m, r in summary["models"].items()} == dict.fromkeys(MODELS, "ok")


def test_a_missing_artifact_is_a_message_not_a_crash(trained_set, service_db, fresh_cache,
                                                     tmp_path) -> None:
    partial = tmp_path / "artifacts"
    tft_doc = next(d for d in trained_set.docs if d["model"] == "tft")
    shutil.copytree(tft_doc["artifact_path"],
                    partial / "testcity" / "tft" / tft_doc["version"])
    summary = precompute.precompute_city(service_db, _settings(partial), trained_set.city,
                                         _issue_time(trained_set))
    assert not summary["ok"]
    assert summary["models"]["tft"]["status"] == "ok"
    for model in ("lstm", "gnn"):
        result = summary["models"][model]
        assert result["status"] == "missing"
        assert f"python -m models.train --city testcity --models {model}" in result["message"]
    assert all(d["model"] == "tft" for d in service_db[C.MODEL_OUTPUTS].docs.values())


def test_no_history_is_reported(trained_set, registry_only_db, fresh_cache) -> None:
    db = registry_only_db
    summary = precompute.precompute_city(db, _settings(trained_set.root), trained_set.city,
                                         _issue_time(trained_set))
    assert {r["status"] for r in summary["models"].values()} == {"no_history"}
    assert not db[C.MODEL_OUTPUTS].docs


def test_importing_precompute_needs_no_service_and_no_framework() -> None:
    code = ("import sys, models.precompute; "
            "loaded = [m for m in ('tensorflow', 'torch', 'keras') if m in sys.modules]; "
            "assert not loaded, loaded")
    env = {**os.environ, "MONGO_URI": "mongodb://127.0.0.1:1/", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_score_city_scores_issuances_once_their_hours_have_actuals(trained_set, service_db,
                                                                   fresh_cache) -> None:
    issued_now = _issue_time(trained_set)
    precompute.precompute_city(service_db, _settings(trained_set.root), trained_set.city,
                               issued_now)
    early = precompute.score_city(service_db, trained_set.city, issued_now + timedelta(hours=5))
    assert early["models"]["lstm"] == {"scored": 0, "pending": 1, "mape": None,
                                       "baseline_mape": None}
    summary = precompute.score_city(service_db, trained_set.city, trained_set.end)
    again = precompute.score_city(service_db, trained_set.city, trained_set.end)
    assert again["models"]["tft"]["scored"] == 0  # nothing is scored twice
    issued = issued_now.replace(minute=0)
    frame = trained_set.frame.set_index(["zone_id", "ts"])
    hours = [issued + timedelta(hours=h) for h in range(24)]
    ape_naive, ape_df = [], []
    for zone in trained_set.city.zones:
        for h in hours:
            actual = frame.loc[(zone.zone_id, h), "demand_mw"]
            week_before = frame.loc[(zone.zone_id, h - timedelta(days=7)), "demand_mw"]
            ape_naive.append(abs(actual - week_before) / actual)
            ape_df.append(abs(actual - frame.loc[(zone.zone_id, h), "demand_forecast_mw"])
                          / actual)
    for model in MODELS:
        assert summary["models"][model]["scored"] == 1
        card = service_db[C.MODEL_SCORECARD].docs[f"testcity|{model}"]
        assert card["issuances"] == 1 and card["points"] == 4 * 24 and card["pending"] == []
        assert card["baseline_mape"] == pytest.approx(np.mean(ape_naive) * 100, abs=1e-3)
        assert card["eia_df_mape"] == pytest.approx(np.mean(ape_df) * 100, abs=1e-3)
        ape, inside = [], []
        for zone in trained_set.city.zones:
            doc = service_db[C.MODEL_OUTPUTS].docs[
                f"testcity|{model}|{zone.zone_id}|{issued:%Y-%m-%dT%H:%M}Z"]
            for h, p10, p50, p90 in zip(doc["hours"], doc["p10"], doc["p50"], doc["p90"],
                                        strict=True):
                actual = frame.loc[(zone.zone_id, h), "demand_mw"]
                ape.append(abs(p50 - actual) / actual)
                inside.append(p10 <= actual <= p90)
        assert card["mape"] == pytest.approx(np.mean(ape) * 100, abs=1e-2)
        assert card["coverage_p10_p90"] == pytest.approx(np.mean(inside) * 100, abs=1e-2)
        assert card["rmse"] > 0
        assert card["scored"][0]["issued_at"] == issued
        assert card["updated_at"] == trained_set.end.astimezone(UTC)
