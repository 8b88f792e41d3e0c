"""Fixtures for the model tests: a synthetic grid history, a small city, an in-memory db, and
tiny trained artifacts (trained once per session, a few seconds on CPU).

The synthetic history is deterministic for a seed: per-series diurnal shape x weekend dip
plus a heating response to a slow weather wave plus AR(1) noise, with the parent BA's demand
and a DF, shaped like models.features.model_frame; `synthetic_forecasts` issues temperature
forecasts for every hour whose error grows with the lead time, like pipeline/forecasts.py.
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
from models.features import FORECAST_LEADS, SERIES_COLUMN

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
SERIES = ("PGAE", "SCE", "SDGE", "VEA")  # CISO's subregions: the test city sits in PGAE
TINY_PARAMS = {
    "lstm": {"units": 8, "epochs": 6, "batch_size": 64, "encoder_hours": 48, "origin_stride": 3},
    "tft": {"hidden": 8, "heads": 2, "epochs": 6, "batch_size": 64, "encoder_hours": 24,
            "origin_stride": 3},
    "gnn": {"hidden": 8, "epochs": 10, "batch_size": 8, "encoder_hours": 24, "origin_stride": 2,
            "neighbours": 2},
    "gbm": {"n_estimators": 120, "num_leaves": 15, "min_child_samples": 10, "origin_stride": 3},
}
TEST_HOURS, VAL_HOURS = 168, 72


def zone_ids(n: int) -> list[str]:
    return [f"z{i + 1:02d}" for i in range(n)]


def _temperature(hours: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    local_hour = ((hours.hour - 5) % 24).to_numpy()
    # a 9-day weather wave: slow from one day to the next, far apart from week to week
    wave = 8 * np.sin(2 * np.pi * np.arange(len(hours)) / (9 * 24) + rng.uniform(0, 6.3))
    return 4 + 6 * np.sin(2 * np.pi * (local_hour - 9) / 24) + wave + rng.normal(
        0, 0.5, len(hours))


def synthetic_frame(zones: int = 4, days: int = 24, seed: int = 0, noise: float = 0.01,
                    heating: float = 0.03, start: datetime = START,
                    series: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Hourly grid history of `zones` series over `days` days (see the module docstring)."""
    rng = np.random.default_rng(seed)
    codes = series or (SERIES + tuple(f"S{i}" for i in range(len(SERIES), zones)))[:zones]
    hours = pd.date_range(start, periods=days * 24, freq="h")
    local_hour = ((hours.hour - 5) % 24).to_numpy()  # about US Eastern
    weekend = (hours.dayofweek.to_numpy() >= 5).astype(float)
    temperature = _temperature(hours, rng)
    parts, total = [], np.zeros(len(hours))
    for z, code in enumerate(codes):
        peak = 14 + 3 * (z % 3)
        diurnal = (1 + 0.3 * np.exp(-0.5 * ((local_hour - peak) / 3.5) ** 2)
                   - 0.15 * np.exp(-0.5 * ((local_hour - 4) / 2.5) ** 2))
        weekly = 1 - (0.12 + 0.04 * z / max(len(codes) - 1, 1)) * weekend
        heat = heating * (1 + 0.3 * z) * np.clip(12 - temperature, 0, None)
        ar = np.zeros(len(hours))
        for t in range(1, len(hours)):
            ar[t] = 0.7 * ar[t - 1] + rng.normal(0, noise)
        demand = 50.0 * (1 + z) * (diurnal * weekly + heat + ar)
        total += demand
        parts.append(pd.DataFrame({SERIES_COLUMN: code, "ts": hours, "demand_mw": demand,
                                   "temperature_c": temperature}))
    frame = pd.concat(parts, ignore_index=True)
    ba = np.tile(total * 1.02, len(codes))
    frame["ba_demand_mw"] = ba
    frame["ba_forecast_mw"] = ba * (1 + np.tile(rng.normal(0, 0.03, len(hours)), len(codes)))
    return frame.sort_values([SERIES_COLUMN, "ts"]).reset_index(drop=True)


def synthetic_forecasts(frame: pd.DataFrame, seed: int = 1
                        ) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Issued forecasts of the frame's temperature for every hour: (issue times, [T, 48])."""
    temp = frame.groupby("ts")["temperature_c"].mean()
    times = pd.DatetimeIndex(temp.index)
    values = temp.to_numpy()
    rng = np.random.default_rng(seed)
    lead = np.arange(FORECAST_LEADS)
    idx = np.arange(len(values))[:, None] + lead[None, :]
    actual = np.where(idx < len(values), values[np.clip(idx, 0, len(values) - 1)], np.nan)
    error = rng.normal(0, 1, actual.shape) * (0.5 + 0.03 * lead)[None, :]
    return times, actual + error


def make_city(n: int, city_id: str = "testcity") -> City:
    zones = [Zone(zone_id=z, city_id=city_id, name=f"Zone {z}", lat=37.70 + 0.01 * (i % 5),
                  lon=-122.45 + 0.012 * (i // 5), weight=1 / n)
             for i, z in enumerate(zone_ids(n))]
    return City(city_id=city_id, name="Test City", timezone="America/New_York",
                bounds=Bounds(min_lat=37.6, min_lon=-122.55, max_lat=37.9, max_lon=-122.3),
                eia_respondent="CISO", eia_subba="PGAE", ba_share=0.3, zones=zones)


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

    def find(self, query: dict[str, Any], projection: dict[str, Any] | None = None):
        """Equality on `_id` only (the reads the models code makes); the projection is
        ignored: every field comes back."""
        doc = self.docs.get(query["_id"])
        return iter([] if doc is None else [dict(doc)])

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


@dataclass
class TrainedSet:
    city: City
    frame: pd.DataFrame
    forecast: tuple[pd.DatetimeIndex, np.ndarray]
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
def tiny_forecast(tiny_frame: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray]:
    return synthetic_forecasts(tiny_frame)


@pytest.fixture(scope="session")
def trained_set(tiny_city: City, tiny_frame: pd.DataFrame, tiny_forecast,
                tmp_path_factory: pytest.TempPathFactory) -> TrainedSet:
    """All four models trained tiny on the synthetic city, saved and registered once."""
    from models.train import save_and_register, train_models

    root = tmp_path_factory.mktemp("artifacts")
    trained = train_models(tiny_frame, tiny_city, list(TINY_PARAMS), forecast=tiny_forecast,
                           seed=0, test_hours=TEST_HOURS, val_hours=VAL_HOURS,
                           params=TINY_PARAMS, show_progress=False)
    db = FakeDB()
    trained_at = datetime(2026, 2, 1, 12, tzinfo=UTC)
    docs = [save_and_register(db, str(root), t, trained_at) for t in trained]
    end = tiny_frame["ts"].max().to_pydatetime() + timedelta(hours=1)
    return TrainedSet(tiny_city, tiny_frame, tiny_forecast, root, trained, docs, db, end)


@pytest.fixture(scope="session")
def retrain(tiny_city: City, tiny_frame: pd.DataFrame, tiny_forecast):
    """Train one model again with the tiny configuration (for determinism checks)."""
    from models.train import train_models

    def run(name: str, seed: int = 0) -> Any:
        return train_models(tiny_frame, tiny_city, [name], forecast=tiny_forecast, seed=seed,
                            test_hours=TEST_HOURS, val_hours=VAL_HOURS, params=TINY_PARAMS,
                            show_progress=False)[0]

    return run


def frame_loader(trained_set: TrainedSet):
    """precompute's `load` seam: the synthetic frame and forecasts cut to [start, end)."""
    def load(db: Any, city_id: str, start: datetime, end: datetime):
        frame = trained_set.frame
        part = frame[(frame["ts"] >= pd.Timestamp(start)) & (frame["ts"] < pd.Timestamp(end))]
        times, matrix = trained_set.forecast
        keep = (times >= pd.Timestamp(start)) & (times < pd.Timestamp(end))
        return part.reset_index(drop=True), (times[keep], matrix[keep])
    return load


@pytest.fixture
def service_db(trained_set: TrainedSet) -> FakeDB:
    """A fresh in-memory db holding the registry documents."""
    db = FakeDB()
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
