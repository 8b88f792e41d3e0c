"""Offline training -> registry -> precompute -> model_outputs, against the real FerretDB."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.catalog import get_city
from core.vocabulary import C

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
MODELS = ("lstm", "tft", "gnn")


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
        assert {"mape", "rmse", "coverage_p10_p90", "baseline_mape"} <= set(reg["metrics"])

    summary = precompute_city(db, test_env, city, datetime.now(UTC))
    assert summary["ok"], summary["messages"]
    for model in MODELS:
        for zone in city.zones:
            doc = db[C.MODEL_OUTPUTS].find_one({"_id": f"nyc|{model}|{zone.zone_id}|latest"})
            assert doc is not None, (model, zone.zone_id)
            assert doc["horizon_hours"] == 24 and len(doc["hours"]) == 24
            assert len(doc["p10"]) == len(doc["p50"]) == len(doc["p90"]) == 24
            assert all(lo <= mid <= hi for lo, mid, hi in zip(doc["p10"], doc["p50"], doc["p90"],
                                                               strict=True))
            assert doc["model_version"] == db[C.MODEL_REGISTRY].find_one(
                {"_id": f"nyc|{model}"})["version"]
