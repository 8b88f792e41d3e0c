"""Offline training -> registry -> precompute -> model_outputs, against the real FerretDB."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.catalog import get_city
from core.vocabulary import MODEL_NAMES, C

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MODELS = MODEL_NAMES
CONTRACT = {"mape", "rmse", "coverage_p10_p90", "baseline_mape", "eia_df_mape",
            "mape_same_points"}


def run(module: str, *args: str, settings) -> subprocess.CompletedProcess:
    env = dict(os.environ, MONGO_DB=settings.mongo_db,
               KAFKA_CONSUMER_GROUP=settings.kafka_consumer_group,
               CITYLIVE_ARTIFACTS_DIR=settings.citylive_artifacts_dir)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_train_register_precompute_every_zone(test_env, db):
    city = get_city("nyc")
    once = run("pipeline.scheduler", "--once", "--city", "nyc", "--backfill-days", "24",
               "--no-precompute", settings=test_env)
    assert once.returncode == 0, once.stderr[-3000:]

    # before training: precompute says what is missing, and does not crash
    from models.precompute import precompute_city

    summary = precompute_city(db, test_env, city, datetime.now(UTC))
    assert not summary["ok"]
    assert {r["status"] for r in summary["models"].values()} == {"missing"}
    assert db[C.MODEL_OUTPUTS].count_documents({}) == 0

    train = run("models.train", "--city", "nyc", "--days", "24", "--epochs", "1",
                settings=test_env)
    assert train.returncode == 0, train.stderr[-3000:]
    for model in MODELS:
        reg = db[C.MODEL_REGISTRY].find_one({"_id": f"nyc|{model}"})
        assert reg is not None, model
        assert reg["model"] == model and reg["city_id"] == "nyc" and reg["checksum"]
        assert Path(reg["artifact_path"]).exists()
        assert set(reg["metrics"]) >= CONTRACT, reg["metrics"]
        assert all(reg["metrics"][k] is not None for k in CONTRACT), (model, reg["metrics"])
        assert reg["series"][0] == "ZONJ" and len(reg["series"]) == 11  # NYIS's subregions
        assert reg["backtest"]["predictions"]["p50"], model
    assert db[C.MODEL_REGISTRY].find_one({"_id": "nyc|gnn"})["graph"]["edges"]
    assert db[C.MODEL_REGISTRY].find_one({"_id": "nyc|tft"})["variable_importances"]["decoder"]

    summary = precompute_city(db, test_env, city, datetime.now(UTC))
    assert summary["ok"], summary["messages"]
    for model in MODELS:
        version = db[C.MODEL_REGISTRY].find_one({"_id": f"nyc|{model}"})["version"]
        city_doc = db[C.MODEL_OUTPUTS].find_one({"_id": f"nyc|{model}|city|latest"})
        day_ahead = db[C.MODEL_OUTPUTS].find_one({"_id": f"nyc|{model}|city|day-ahead|latest"})
        assert city_doc["series"] == "ZONJ" and day_ahead["kind"] == "day-ahead"
        assert len(day_ahead["p50"]) == 24 and day_ahead["gap_hours"] in (13, 14, 15)
        for zone in city.zones:
            doc = db[C.MODEL_OUTPUTS].find_one({"_id": f"nyc|{model}|{zone.zone_id}|latest"})
            assert doc is not None, (model, zone.zone_id)
            assert doc["horizon_hours"] == 24 and len(doc["hours"]) == 24
            assert doc["estimate"] is True and doc["share"] == zone.weight
            assert len(doc["p10"]) == len(doc["p50"]) == len(doc["p90"]) == 24
            assert all(lo <= mid <= hi for lo, mid, hi in zip(doc["p10"], doc["p50"], doc["p90"],
                                                               strict=True))
            assert doc["model_version"] == version

    # the same forecasts through the dedicated inference service (KServe v2 on MLServer)
    service_forecasts_match_in_process(test_env, db, city)


def service_forecasts_match_in_process(settings, db, city) -> None:
    import time
    from datetime import timedelta

    import httpx
    import numpy as np

    from bench.inference_service import InferenceService
    from core.clock import floor_hour
    from models.base import interval_kind
    from models.precompute import (
        forecast_series,
        load_forecaster,
        load_inputs,
        precompute_city,
        remote_forecaster,
    )
    from models.registry import registered
    from pipeline.cycle import Services, precompute_city_job

    now = datetime.now(UTC)
    origin = floor_hour(now).to_pydatetime()
    frame, forecast = load_inputs(db, city.city_id, origin - timedelta(hours=168),
                                  origin + timedelta(hours=1))
    log_path = Path(settings.citylive_artifacts_dir) / "inference.log"
    with InferenceService(settings.citylive_artifacts_dir, log_path) as service, \
            httpx.Client(timeout=60) as http:
        remote = settings.model_copy(update={"inference_url": service.url})
        for model in MODELS:
            reg = registered(db, city.city_id, model)
            local_f, _ = load_forecaster(settings.citylive_artifacts_dir, city.city_id, model, reg)
            remote_f, version = remote_forecaster(http, remote, city.city_id, model, reg)
            pred_l = forecast_series(local_f, frame, forecast, origin)
            pred_r = forecast_series(remote_f, frame, forecast, origin)
            assert version == reg["version"]
            assert pred_l.shape == pred_r.shape == (24, 3)
            assert np.abs(pred_l - pred_r).max() <= 1e-5, model
            assert remote_f.interval == interval_kind(local_f)
        # a second batch reuses the loaded artifacts: each loaded once
        reply = remote_f.http.post(f"{service.url}/v2/models/citylive-forecast/infer",
                                   json={"inputs": [], "parameters": {"city_id": city.city_id,
                                                                      "model": "lstm"}})
        assert reply.status_code == 400 and "version" in reply.text  # a clear refusal
        summary = precompute_city(db, remote, city, now)
        assert summary["ok"] and summary["inference"] == service.url, summary["messages"]
    # the service gone: precompute says so in pipeline_runs after its retries, within seconds
    remote = settings.model_copy(update={"inference_url": service.url})
    svc = Services(settings=remote, db=db, producer=None, http=None, catalog={})
    t0 = time.perf_counter()
    assert not precompute_city_job(svc, city, now)
    assert time.perf_counter() - t0 < 30
    runs = [r for r in db[C.PIPELINE_RUNS].find({"job": "precompute"}) if not r["ok"]]
    assert runs and "inference service" in runs[-1]["error"] and "3 time(s)" in runs[-1]["error"]
