"""Models-page documents written by the REAL code, not by hand: simulated history backfilled
for nyc (pipeline.cycle.backfill_city), every model trained tiny (1 epoch) by
models.train.train_city, forecasts issued by models.precompute.precompute_city (two earlier
days, so there are day-ahead issuances to score, and now) and scored by score_city.

Everything lands in its own database on the session's private FerretDB and in a temporary
artifacts folder; both are removed afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from pymongo.database import Database

from core.catalog import load_catalog
from core.clock import floor_hour
from core.settings import Settings
from core.storage import ensure_indexes, load_catalog_into
from core.vocabulary import MODEL_NAMES, C

TRAINED_DB = "citylive_test_ui_models"
CITY_ID = "nyc"
# train | validation | calibration | one held-out week need ~31 days (models.backtest.split_hours)
HISTORY_DAYS = 33
SCORED_DAYS_AGO = (3, 2)  # earlier precompute runs whose day-ahead issuances are scored now
TINY = {"epochs": 1}


@dataclass
class TrainedCity:
    """The database the real code wrote, what it reported, and how long each step took."""

    db: Database
    name: str
    now: datetime
    registry: list[dict[str, Any]] = field(default_factory=list)
    precompute: list[dict[str, Any]] = field(default_factory=list)
    scorecard: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def build_trained_city(client: MongoClient, uri: str, artifacts: Path) -> TrainedCity:
    """Backfill, train, precompute and score nyc into TRAINED_DB (dropped first)."""
    from models.precompute import precompute_city
    from models.scorecard import score_city
    from models.train import train_city
    from pipeline.cycle import Services, backfill_city

    settings = Settings(_env_file=None, mongo_uri=uri, mongo_db=TRAINED_DB,
                        citylive_source="simulated", citylive_artifacts_dir=str(artifacts))
    client.drop_database(TRAINED_DB)
    db = client[TRAINED_DB]
    ensure_indexes(db)
    catalog = load_catalog()
    load_catalog_into(db, catalog.values())
    db[C.CITIES].update_one({"_id": CITY_ID}, {"$set": {"active": True}})
    now = floor_hour(datetime.now(UTC)).to_pydatetime() + timedelta(minutes=5)
    out = TrainedCity(db, TRAINED_DB, now)

    t0 = time.perf_counter()
    with httpx.Client(timeout=10) as http:
        svc = Services(settings=settings, db=db, producer=None, http=http, catalog=catalog)
        backfill_city(svc, catalog[CITY_ID], now, HISTORY_DAYS)
    out.seconds["backfill"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    out.registry = train_city(db, settings, CITY_ID, MODEL_NAMES, days=HISTORY_DAYS, now=now,
                              show_progress=False, params={m: dict(TINY) for m in MODEL_NAMES})
    out.seconds["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for days in (*SCORED_DAYS_AGO, 0):
        out.precompute.append(precompute_city(db, settings, CITY_ID, now - timedelta(days=days)))
    out.seconds["precompute"] = time.perf_counter() - t0
    out.scorecard = score_city(db, CITY_ID, now)
    return out


def connect(uri: str) -> MongoClient:
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=3000)


def new_artifacts_dir() -> Path:
    root = Path(__file__).resolve().parents[2] / "data" / "test-artifacts"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="ui-models-", dir=root))


def remove(client: MongoClient, artifacts: Path) -> None:
    client.drop_database(TRAINED_DB)
    client.close()
    shutil.rmtree(artifacts, ignore_errors=True)
