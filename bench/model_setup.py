"""A city with history and trained model artifacts, for the model page and precompute benches.

History: the real backfill (simulated sources -> raw + city_day via processing) into a private
database. Artifacts: the ones `make train` left under artifacts/<city>/ when all three models
are there; otherwise the three models are trained here on that history with one epoch
(same architectures and sizes, so inference costs what it costs in production; only the
accuracy is poor). Models are found the way the precompute job finds them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pymongo.database import Database

from bench.common import bench_settings, private_db
from core.catalog import City, get_city
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HISTORY_DAYS = 16
TINY_SPLIT_HOURS = 48


@dataclass
class ModelCity:
    settings: Settings
    db: Database
    city: City
    now: datetime
    artifacts: str  # where the artifacts came from, in words


def existing_artifacts(city_id: str) -> Path | None:
    from core.vocabulary import MODEL_NAMES
    from models.registry import latest_version_dir

    root = ROOT / "artifacts"
    found = [latest_version_dir(root, city_id, m) for m in MODEL_NAMES]
    return root if all(found) else None


def backfill(settings: Settings, db: Database, city: City, now: datetime, days: int) -> None:
    from ingest.kafka_io import make_producer
    from pipeline.cycle import Services, backfill_city

    with httpx.Client() as http:
        svc = Services(settings=settings, db=db, producer=make_producer(settings), http=http,
                       catalog={city.city_id: city})
        summary = backfill_city(svc, city, now, days)
    if summary["failed"]:
        raise RuntimeError(f"backfill failed: {summary['failed']}")


def train_tiny(db: Database, root: str, city: City, now: datetime, days: int) -> None:
    from core.vocabulary import MODEL_NAMES
    from models.train import save_and_register, train_models
    from pipeline.history import load_hourly_frame

    frame = load_hourly_frame(db, city.city_id, now - timedelta(days=days), now)
    params = {m: {"epochs": 1, "origin_stride": 12} for m in MODEL_NAMES}
    trained_at = datetime.now(UTC)
    for trained in train_models(frame, city, MODEL_NAMES, test_hours=TINY_SPLIT_HOURS,
                                val_hours=TINY_SPLIT_HOURS, params=params,
                                show_progress=False):
        save_and_register(db, root, trained, trained_at)


@contextmanager
def model_city(env: dict[str, str], city_id: str = "nyc",
               days: int = HISTORY_DAYS) -> Iterator[ModelCity]:
    city = get_city(city_id)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    existing = existing_artifacts(city_id)
    scratch = None if existing else tempfile.mkdtemp(prefix="citylive-bench-models-")
    root = str(existing or scratch)
    settings = bench_settings(env, "models", citylive_artifacts_dir=root)
    try:
        with private_db(settings) as db:
            backfill(settings, db, city, now, days)
            if existing:
                words = f"artifacts from `make train` ({existing})"
            else:
                train_tiny(db, root, city, now, days)
                words = "three models trained here with 1 epoch (no `make train` artifacts)"
            yield ModelCity(settings, db, city, now, words)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
