"""Offline training: `python -m models.train --city nyc [--models lstm,tft,gnn,gbm] [--days 365]`.

Reads the grid history (the city's EIA subregion and its siblings, pipeline/history.py), the
city's temperature and the weather forecasts as issued (pipeline/forecasts.py); fits the
scaler on the training hours, trains each model on CPU with a fixed seed (early stopping on
the validation week), calibrates its intervals on the calibration week, backtests day-ahead
on the held-out weeks (models/backtest.py), saves a versioned artifact and replaces the
model's `model_registry` document. The only place that trains; the sidecar's precompute only
loads what this wrote.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from core.catalog import City, get_city
from core.city_store import load_added_cities
from core.clock import floor_hour
from core.geo import point_adjacency
from core.settings import Settings, get_settings
from core.storage import get_db
from core.subregions import series_ids, series_names, series_points
from core.vocabulary import MODEL_NAMES
from models.backtest import (
    Split,
    backtest,
    calibration_windows,
    day_ahead_schedule,
    sampled_windows,
    split_hours,
)
from models.base import Forecaster, ModelContext, Progress
from models.exceptions import InsufficientHistoryError
from models.features import (
    DEMAND,
    FEATURE_VERSION,
    HORIZON,
    SERIES_COLUMN,
    WEEK_HOURS,
    Panel,
    Scaler,
    build_panel,
    feature_cube,
    make_windows,
    model_frame,
    zone_statics,
)
from models.registry import (
    artifact_dir,
    forecaster_class,
    latest_version_dir,
    new_version,
    register,
    registered,
    registry_document,
    save,
)
from pipeline.forecasts import load_forecast_matrix
from pipeline.history import load_grid_frame, load_hourly_frame

log = logging.getLogger(__name__)

TRAIN_DAYS = 365  # a year: every season's weather response (a 90-day window sees one or two)
TEST_HOURS = 4 * WEEK_HOURS  # 27 day-ahead issuances: 13 cannot pin coverage to +-5 points
VAL_HOURS = WEEK_HOURS  # early stopping
CALIB_HOURS = 2 * WEEK_HOURS  # interval calibration: hours early stopping never saw
EVAL_STRIDE = 3  # a validation window every 3 h
DAY = 24
MIN_ZONE_COVERAGE = 0.5  # series with less demand history than this are left out
Forecasts = tuple[pd.DatetimeIndex, np.ndarray]


@dataclass
class TrainedModel:
    forecaster: Forecaster
    metrics: dict[str, float | None]
    backtest: dict[str, Any]
    train_seconds: float
    window: dict[str, datetime]
    graph: dict[str, Any] | None = None  # the series graph of a graph model (registry `graph`)


def usable_zones(frame: pd.DataFrame, city: City) -> list[str]:
    """The city's series (own first) with enough demand history to learn from; the city's
    own series must be one of them."""
    if frame.empty:
        return []
    counts = frame.dropna(subset=[DEMAND]).groupby(SERIES_COLUMN).size()
    hours = frame["ts"].nunique()
    usable = [s for s in series_ids(city)
              if hours and counts.get(s, 0) / hours >= MIN_ZONE_COVERAGE]
    return usable if usable and usable[0] == series_ids(city)[0] else []


def zone_sample(n_origins: int, n_zones: int, per_origin: int | None, seed: int
                ) -> np.ndarray | None:
    """A different random subset of zones per origin (None: all zones).

    Zones of a city share most of their shape, so many origins with a few zones each teach a
    per-sample model more than few origins with every zone, for the same training cost.
    """
    if not per_origin or per_origin >= n_zones:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(np.argsort(rng.random((n_origins, n_zones)), axis=1)[:, :per_origin], axis=1)


def choose_split(n_hours: int, test_hours: int, val_hours: int, city_id: str,
                 calib_hours: int = CALIB_HOURS) -> Split:
    """Hold out `test_hours` (after `val_hours` for early stopping and `calib_hours` for the
    intervals); with too little history, fall back to one week each, then to three days each
    (a city added days ago, the tests)."""
    tried = [(test_hours, val_hours, calib_hours), (WEEK_HOURS,) * 3, (3 * DAY,) * 3]
    for test, val, calib in tried:
        if (test, val, calib) != tried[0] and (test > test_hours or calib > calib_hours):
            continue
        try:
            split = split_hours(n_hours, test, val, city_id, calib)
        except InsufficientHistoryError:
            continue
        if (test, val, calib) != tried[0]:
            log.warning("%s: %d h of history; holding out %d h for validation, %d h for "
                        "calibration and %d h for the backtest", city_id, n_hours, val, calib,
                        test)
        return split
    return split_hours(n_hours, *tried[-1][:2], city_id, tried[-1][2])  # raises, with numbers


def model_context(city: City, series: list[str], scaler: Scaler, encoder_hours: int,
                  neighbours: int | None) -> ModelContext:
    points = {code: (lat, lon) for code, lat, lon in series_points(city)}
    lats, lons = [points[s][0] for s in series], [points[s][1] for s in series]
    edges = point_adjacency(series, lats, lons, neighbours) if neighbours else []
    return ModelContext(city.city_id, tuple(series), city.timezone, scaler,
                        zone_statics(lats, lons), encoder_hours, HORIZON, edges)


def series_graph(city: City, context: ModelContext) -> dict[str, Any]:
    """The GNN's graph as the Models page draws it: subregions and their links."""
    names = series_names(city)
    points = {code: (lat, lon) for code, lat, lon in series_points(city)}
    nodes = [{"id": code, "name": names.get(code, code), "lat": points[code][0],
              "lon": points[code][1], "own": i == 0}
             for i, code in enumerate(context.zone_ids)]
    # edges as {source, target, km}: FerretDB stores no nested arrays (architecture.md §8)
    return {"nodes": nodes, "edges": [{"source": s, "target": d, "km": round(km, 1)}
                                      for s, d, km in context.edges]}


def _progress_bar(label: str, epochs: int, show: bool) -> tuple[Progress, Callable[[], None]]:
    bar = tqdm(total=epochs, desc=label, unit="epoch", disable=not show, leave=True)

    def update(epoch: int, val_loss: float) -> None:
        bar.set_postfix(val_loss=f"{val_loss:.4f}")
        bar.update(1)

    return update, bar.close


def train_models(frame: pd.DataFrame, city: City, model_names: Sequence[str], *,
                 forecast: Forecasts | None = None, seed: int = 0,
                 test_hours: int = TEST_HOURS, val_hours: int = VAL_HOURS,
                 calib_hours: int | None = None,
                 params: dict[str, dict[str, Any]] | None = None,
                 show_progress: bool = True) -> list[TrainedModel]:
    """Pure of IO apart from the progress bar: model frame (features.model_frame) and the
    issued weather forecasts -> trained, calibrated, backtested models."""
    series = usable_zones(frame, city)
    if not series:
        raise InsufficientHistoryError(city.city_id, 0, WEEK_HOURS * 3)
    start = floor_hour(frame["ts"].min())
    end = floor_hour(frame["ts"].max()) + pd.Timedelta(hours=1)
    panel = build_panel(frame, series, start, end, city.timezone, forecast)
    split = choose_split(panel.n_hours, test_hours, val_hours, city.city_id,
                         CALIB_HOURS if calib_hours is None else calib_hours)
    scaler = Scaler.fit(panel, split.train_end)
    cube = feature_cube(panel, scaler)
    times = panel.times()
    window = {"start": times[0].to_pydatetime(), "end": times[split.train_end].to_pydatetime(),
              "validation_end": times[split.val_end].to_pydatetime(),
              "calibration_end": times[split.calib_end].to_pydatetime(),
              "test_end": end.to_pydatetime()}
    trained = []
    for name in model_names:
        trained.append(_train_one(name, panel, cube, split, city, series, scaler, seed,
                                  (params or {}).get(name, {}), window, show_progress))
    return trained


def _train_one(name: str, panel: Panel, cube: Any, split: Split, city: City,
               series: list[str], scaler: Scaler, seed: int, overrides: dict[str, Any],
               window: dict[str, datetime], show_progress: bool) -> TrainedModel:
    cls = forecaster_class(name)
    params = {**cls.default_params, **overrides, "seed": seed}
    encoder = int(params.get("encoder_hours", WEEK_HOURS))
    context = model_context(city, series, scaler, encoder, params.get("neighbours"))
    forecaster = cls(context, params)
    issues, gaps = sampled_windows(0, split.train_end, int(params.get("origin_stride", 1)), seed)
    zones = zone_sample(len(issues), len(series), params.get("zones_per_origin"), seed)
    train = make_windows(cube, issues, encoder, zone_index=zones, gaps=gaps)
    v_issues, v_gaps = sampled_windows(split.train_end, split.val_end, EVAL_STRIDE, seed + 1)
    val = make_windows(cube, v_issues, encoder, gaps=v_gaps)
    c_issues, c_gaps = calibration_windows(split.val_end, split.calib_end)
    calibration = make_windows(cube, c_issues, encoder, gaps=c_gaps)
    progress, close = _progress_bar(f"{city.city_id} {name}", int(params["epochs"]),
                                    show_progress)
    started = time.perf_counter()
    try:
        losses = forecaster.fit(train, val, seed, progress)
    finally:
        close()
    forecaster.calibrate(calibration)
    seconds = time.perf_counter() - started
    t_issues, t_gaps = day_ahead_schedule(panel.times(), city.timezone, split.calib_end,
                                          split.n_hours)
    metrics, details = backtest(forecaster, panel, cube, t_issues, t_gaps)
    details["val_losses"] = [round(v, 5) for v in losses]
    details["test_hours"] = split.n_hours - split.calib_end
    details["train_windows"] = int(len(train.origins) * train.n_zones)
    details["calibration_windows"] = int(len(calibration.origins) * calibration.n_zones)
    graph = series_graph(city, context) if context.edges else None
    return TrainedModel(forecaster, metrics, details, seconds, window, graph)


def save_and_register(db: Any, artifacts_root: str, trained: TrainedModel,
                      trained_at: datetime) -> dict[str, Any]:
    """Write the artifact (new version folder) and replace its model_registry document."""
    f = trained.forecaster
    version = new_version(trained_at)
    directory = artifact_dir(artifacts_root, f.context.city_id, f.name, version)
    checksum = save(f, directory, {"version": version, "trained_at": trained_at,
                                   "training_window": trained.window,
                                   "metrics": trained.metrics})
    extra: dict[str, Any] = {"train_seconds": round(trained.train_seconds, 2),
                             "backtest": trained.backtest, "series": list(f.context.zone_ids),
                             "series_count": f.context.n_zones}
    for key in ("variable_importances", "attention"):
        if key in f.extras:
            extra[key] = f.extras[key]
    if trained.graph:
        extra["graph"] = trained.graph
    extra["feature_version"] = FEATURE_VERSION
    doc = registry_document(model=f.name, city_id=f.context.city_id, version=version,
                            trained_at=trained_at, training_window=trained.window,
                            params=dict(f.params), artifact_path=str(directory),
                            checksum=checksum, flavour=f.flavour.name, metrics=trained.metrics,
                            **extra)
    if db is not None:
        register(db, doc)
    return doc


def load_training_data(db: Any, city: City, start: datetime, end: datetime
                       ) -> tuple[pd.DataFrame, Forecasts]:
    """IO: the model frame and the issued weather forecasts of a city over [start, end)."""

    frame = model_frame(load_grid_frame(db, city.city_id, start, end),
                        load_hourly_frame(db, city.city_id, start, end))
    return frame, load_forecast_matrix(db, city.city_id, start, end)


def train_city(db: Any, settings: Settings, city_id: str, model_names: Sequence[str],
               days: int = TRAIN_DAYS, now: datetime | None = None, seed: int = 0,
               show_progress: bool = True,
               params: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """IO wrapper: read `days` of history, train, save and register; returns registry docs."""
    load_added_cities(db)  # a city added by name exists only in MongoDB
    city = get_city(city_id)
    end = floor_hour(now or datetime.now(UTC)).to_pydatetime()
    frame, forecast = load_training_data(db, city, end - timedelta(days=days), end)
    if frame.empty:
        raise InsufficientHistoryError(city_id, 0, (days or 1) * 24)
    trained_at = datetime.now(UTC)
    docs = []
    for trained in train_models(frame, city, model_names, forecast=forecast, seed=seed,
                                show_progress=show_progress, params=params):
        docs.append(save_and_register(db, settings.citylive_artifacts_dir, trained, trained_at))
    return docs


def untrained_models(db: Any, settings: Settings, city_id: str,
                     model_names: Sequence[str] = MODEL_NAMES) -> list[str]:
    """Models of a city that precompute could not use: no registered artifact on disk, or one
    trained on another input layout (FEATURE_VERSION).

    For start-up (`make run`): train only what is missing, never on every start.
    """
    root = settings.citylive_artifacts_dir
    missing = []
    for name in model_names:
        doc = registered(db, city_id, name)
        if doc is not None:
            present = (artifact_dir(root, city_id, name, str(doc["version"])).is_dir()
                       and doc.get("feature_version") == FEATURE_VERSION)
        else:
            present = latest_version_dir(root, city_id, name) is not None
        if not present:
            missing.append(name)
    return missing


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__)
    parser.add_argument("--city", required=True)
    parser.add_argument("--models", default=",".join(MODEL_NAMES),
                        help="comma-separated subset of " + ",".join(MODEL_NAMES))
    parser.add_argument("--days", type=int, default=TRAIN_DAYS,
                        help="days of history to train on (what exists, at most)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parse(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(names) - set(MODEL_NAMES))
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODEL_NAMES)}",
              file=sys.stderr)
        return 2
    settings = get_settings()
    overrides = {n: {"epochs": args.epochs} for n in names} if args.epochs else None
    try:
        docs = train_city(get_db(settings), settings, args.city, names, args.days,
                          seed=args.seed, params=overrides)
    except (InsufficientHistoryError, KeyError) as exc:
        print(f"cannot train {args.city}: {exc}", file=sys.stderr)
        return 1
    for doc in docs:
        m = doc["metrics"]
        print(f"{doc['city_id']} {doc['model']} v{doc['version']}: day-ahead MAPE {m['mape']}% "
              f"(seasonal naive {m['baseline_mape']}%, 24 h naive {m['naive24_mape']}%; "
              f"on EIA DF hours {m['mape_same_points']}% vs EIA DF {m['eia_df_mape']}%), "
              f"RMSE {m['rmse']} MW, p10-p90 coverage {m['coverage_p10_p90']}%, "
              f"trained in {doc['train_seconds']} s -> {doc['artifact_path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
