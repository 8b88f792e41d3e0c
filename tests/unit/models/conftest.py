"""Fixtures for the model tests: synthetic hourly history, a small city, an in-memory db, and
tiny trained artifacts (trained once per session, a few seconds on CPU).

The synthetic series is deterministic for a seed: per-zone diurnal shape x weekend dip plus a
heating response to a slow weather wave plus AR(1) noise, shaped like pipeline/history.py
FRAME_COLUMNS so every path (panel, windows, precompute) sees what load_hourly_frame returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import models.frameworks  # noqa: F401  (torch -> torch_geometric -> tensorflow, in that order)
from core.catalog import Bounds, City, Zone
from core.vocabulary import C
from pipeline.history import FRAME_COLUMNS, frame_to_city_days

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
TINY_PARAMS = {
    "lstm": {"units": 8, "epochs": 6, "batch_size": 64, "encoder_hours": 48, "origin_stride": 3},
    "tft": {"hidden": 8, "heads": 2, "epochs": 6, "batch_size": 64, "encoder_hours": 24,
            "origin_stride": 3},
    "gnn": {"hidden": 8, "epochs": 10, "batch_size": 8, "encoder_hours": 24, "origin_stride": 2,
            "neighbours": 2},
}
TEST_HOURS, VAL_HOURS = 96, 72


def zone_ids(n: int) -> list[str]:
    return [f"z{i + 1:02d}" for i in range(n)]


def synthetic_frame(zones: int = 4, days: int = 24, seed: int = 0, noise: float = 0.01,
                    heating: float = 0.03,
                    start: datetime = START, city_id: str = "testcity") -> pd.DataFrame:
    """Hourly history of `zones` zones over `days` days (see the module docstring)."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, periods=days * 24, freq="h")
    local_hour = ((hours.hour - 5) % 24).to_numpy()  # about US Eastern
    weekend = (hours.dayofweek.to_numpy() >= 5).astype(float)
    # a 9-day weather wave: slow from one day to the next, far apart from week to week
    wave = 8 * np.sin(2 * np.pi * np.arange(len(hours)) / (9 * 24) + rng.uniform(0, 6.3))
    temperature = 4 + 6 * np.sin(2 * np.pi * (local_hour - 9) / 24) + wave + rng.normal(
        0, 0.5, len(hours))
    parts = []
    for z, zone in enumerate(zone_ids(zones)):
        peak = 14 + 3 * (z % 3)
        diurnal = (1 + 0.3 * np.exp(-0.5 * ((local_hour - peak) / 3.5) ** 2)
                   - 0.15 * np.exp(-0.5 * ((local_hour - 4) / 2.5) ** 2))
        weekly = 1 - (0.12 + 0.04 * z / max(zones - 1, 1)) * weekend
        heat = heating * np.clip(12 - temperature, 0, None)
        ar = np.zeros(len(hours))
        for t in range(1, len(hours)):
            ar[t] = 0.7 * ar[t - 1] + rng.normal(0, noise)
        demand = 50.0 * (1 + z) * (diurnal * weekly + heat + ar)
        parts.append(pd.DataFrame({
            "city_id": city_id, "zone_id": zone, "ts": hours, "demand_mw": demand,
            "demand_forecast_mw": demand * (1 + rng.normal(0, 0.05, len(hours))),
            "temperature_c": temperature + rng.normal(0, 0.3, len(hours)),
            "relative_humidity_pct": 60.0, "wind_speed_kmh": 10.0, "precipitation_mm": 0.0,
            "us_aqi": 40 + 10 * np.sin(2 * np.pi * local_hour / 24) + rng.normal(0, 3, len(hours)),
            "pm2_5": 8.0, "congestion": np.clip(0.3 + 0.3 * (diurnal - 1), 0, 1),
            "speed_kmh": 30.0, "incident_count": rng.poisson(2, len(hours)).astype(float),
            "risk_score": 0.1,
        }))
    frame = pd.concat(parts, ignore_index=True)[list(FRAME_COLUMNS)]
    return frame.sort_values(["zone_id", "ts"]).reset_index(drop=True)


def make_city(n: int, city_id: str = "testcity") -> City:
    zones = [Zone(zone_id=z, city_id=city_id, name=f"Zone {z}", lat=40.70 + 0.01 * (i % 5),
                  lon=-74.00 + 0.012 * (i // 5), weight=1 / n)
             for i, z in enumerate(zone_ids(n))]
    return City(city_id=city_id, name="Test City", timezone="America/New_York",
                bounds=Bounds(min_lat=40.6, min_lon=-74.1, max_lat=40.9, max_lon=-73.8),
                eia_respondent="NYIS", ba_share=0.3, zones=zones)


class _Result:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class FakeCollection:
    """The handful of pymongo calls the models code makes, on a dict (pure unit tests only)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
        doc = self.docs.get(query["_id"])
        return None if doc is None else dict(doc)

    def replace_one(self, query: dict[str, Any], doc: dict[str, Any], upsert: bool = False):
        if upsert or query["_id"] in self.docs:
            self.docs[query["_id"]] = dict(doc)
        return _Result(matched_count=1)

    def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True):
        for doc in docs:
            if doc["_id"] in self.docs:
                raise AssertionError(f"duplicate _id {doc['_id']}")
            self.docs[doc["_id"]] = dict(doc)
        return _Result(inserted_ids=[d["_id"] for d in docs])

    def delete_many(self, query: dict[str, Any]):
        ids = query["_id"]["$in"]
        removed = [self.docs.pop(i) for i in ids if i in self.docs]
        return _Result(deleted_count=len(removed))


class FakeDB:
    def __init__(self) -> None:
        self.collections: dict[str, FakeCollection] = {}

    def __getitem__(self, name: str) -> FakeCollection:
        return self.collections.setdefault(name, FakeCollection())


def fake_db_with_history(frame: pd.DataFrame) -> FakeDB:
    db = FakeDB()
    for doc in frame_to_city_days(frame):
        db[C.CITY_DAY].docs[doc["_id"]] = doc
    return db


@dataclass
class TrainedSet:
    city: City
    frame: pd.DataFrame
    root: Path
    trained: list[Any]  # models.train.TrainedModel
    docs: list[dict[str, Any]]
    db: FakeDB
    end: datetime
    test_hours: int = TEST_HOURS


@pytest.fixture(scope="session")
def tiny_city() -> City:
    return make_city(4)


@pytest.fixture(scope="session")
def tiny_frame() -> pd.DataFrame:
    return synthetic_frame(zones=4, days=42)


@pytest.fixture(scope="session")
def trained_set(tiny_city: City, tiny_frame: pd.DataFrame,
                tmp_path_factory: pytest.TempPathFactory) -> TrainedSet:
    """All three models trained tiny on the synthetic city, saved and registered once."""
    from models.train import save_and_register, train_models

    root = tmp_path_factory.mktemp("artifacts")
    trained = train_models(tiny_frame, tiny_city, ["lstm", "tft", "gnn"], seed=0,
                           test_hours=TEST_HOURS, val_hours=VAL_HOURS, params=TINY_PARAMS,
                           show_progress=False)
    db = fake_db_with_history(tiny_frame)
    trained_at = datetime(2026, 2, 1, 12, tzinfo=UTC)
    docs = [save_and_register(db, str(root), t, trained_at) for t in trained]
    end = tiny_frame["ts"].max().to_pydatetime() + timedelta(hours=1)
    return TrainedSet(tiny_city, tiny_frame, root, trained, docs, db, end)


@pytest.fixture(scope="session")
def retrain(tiny_city: City, tiny_frame: pd.DataFrame):
    """Train one model again with the tiny configuration (for determinism checks)."""
    from models.train import train_models

    def run(name: str, seed: int = 0) -> Any:
        return train_models(tiny_frame, tiny_city, [name], seed=seed, test_hours=TEST_HOURS,
                            val_hours=VAL_HOURS, params=TINY_PARAMS, show_progress=False)[0]

    return run


@pytest.fixture
def service_db(trained_set: TrainedSet) -> FakeDB:
    """A fresh in-memory db holding the history and the registry documents."""
    db = fake_db_with_history(trained_set.frame)
    for doc in trained_set.docs:
        db[C.MODEL_REGISTRY].docs[doc["_id"]] = dict(doc)
    return db


@pytest.fixture
def fresh_cache():
    """Each test starts with no loaded artifact (the cache is per process)."""
    from models.precompute import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def registry_only_db(trained_set: TrainedSet) -> FakeDB:
    """Registered models but no history at all."""
    db = FakeDB()
    for doc in trained_set.docs:
        db[C.MODEL_REGISTRY].docs[doc["_id"]] = dict(doc)
    return db
