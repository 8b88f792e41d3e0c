"""Precompute (sidecar job): each registered model's forecasts of the city's demand series,
written to `model_outputs`, so the Models page only reads.

Inference only: artifacts are loaded once per process (cache keyed by city/model/version) and
never fitted; no optimizer exists on this path. Importing this module loads no ML framework
and needs no running service; the frameworks load with the first artifact.

Two issuances per model:
- next 24 h, every run: issued at the current UTC hour from the 7 days before it, for the 24
  hours from that hour. Written for the city (`<city>|<model>|city|<issued>`, zone_id "city":
  the EIA subregion's forecast) and, as estimates (city forecast x zone share, `estimate:
  true`), for every zone (`<city>|<model>|<zone>|<issued>`); each with a `...|latest` copy.
- day-ahead, once a day: issued at 10:00 local time from what was known then, for the next
  local day (`<city>|<model>|city|day-ahead|<issued>` and `...|day-ahead|latest`), the way
  EIA issues DF; the scorecard scores these (models/scorecard.py).
Reruns within the hour replace their own documents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from core.catalog import City, get_city
from core.clock import floor_hour
from core.ids import make_id
from core.settings import Settings
from core.storage import replace_docs
from core.vocabulary import MODEL_NAMES, C
from models.backtest import DAY_AHEAD_ISSUE_HOUR
from models.base import Forecaster, interval_kind
from models.exceptions import (
    ArtifactChecksumError,
    ArtifactMissingError,
    InsufficientHistoryError,
)
from models.features import (
    DEMAND,
    MAX_GAP,
    WEEK_HOURS,
    build_panel,
    feature_cube,
    make_windows,
    model_frame,
)
from models.registry import artifact_dir, latest_version_dir, load, registered
from models.remote import RemoteForecaster
from models.scorecard import note_issuance, score_city
from pipeline.forecasts import load_forecast_matrix
from pipeline.history import load_grid_frame, load_hourly_frame

log = logging.getLogger(__name__)

MIN_ZONE_HISTORY = 0.5  # share of the last 7 days the city's series needs to be forecast
LATEST = "latest"
CITY = "city"  # zone_id of the city's own series forecast
DAY_AHEAD = "day-ahead"
NEXT_24H = "next-24h"

_CACHE: dict[tuple[str, str, str], Forecaster] = {}

__all__ = ["clear_cache", "day_ahead_documents", "forecast_documents", "forecast_series",
           "load_forecaster", "precompute_city", "score_city"]


def clear_cache() -> None:
    """Forget loaded artifacts (tests; a retrained model gets a new version key anyway)."""
    _CACHE.clear()


def load_forecaster(artifacts_root: str | Path, city_id: str, model: str,
                    registry_doc: dict[str, Any] | None) -> tuple[Forecaster, str]:
    """The registered (else newest on disk) version of a model, loaded at most once."""
    if registry_doc is not None:
        version, checksum = str(registry_doc["version"]), registry_doc.get("checksum")
        directory = artifact_dir(artifacts_root, city_id, model, version)
    else:
        found = latest_version_dir(artifacts_root, city_id, model)
        if found is None:
            raise ArtifactMissingError(city_id, model, str(Path(artifacts_root) / city_id))
        directory, version, checksum = found, found.name, None
    key = (city_id, model, version)
    if key not in _CACHE:
        if not directory.is_dir():
            raise ArtifactMissingError(city_id, model, str(directory))
        _CACHE[key] = load(directory, checksum)
    return _CACHE[key], version


def forecast_series(forecaster: Forecaster | RemoteForecaster, frame: Any,
                    forecast: tuple[Any, np.ndarray] | None, issue: datetime, gap: int = 0
                    ) -> np.ndarray:
    """[H, 3] p10/p50/p90 MW of the city's series, issued at `issue` from the 7 days before
    it, for the 24 hours from `issue + gap`."""
    ctx = forecaster.context
    start = issue - timedelta(hours=WEEK_HOURS)
    panel = build_panel(frame, ctx.zone_ids, start, issue + timedelta(hours=1), ctx.timezone,
                        forecast)
    history = panel.values[DEMAND][:WEEK_HOURS]
    present = np.isfinite(history).mean(axis=0)
    if present[0] < MIN_ZONE_HISTORY:
        raise InsufficientHistoryError(ctx.city_id, int(np.isfinite(history[:, 0]).sum()),
                                       int(WEEK_HOURS * MIN_ZONE_HISTORY))
    cube = feature_cube(panel, ctx.scaler)
    windows = make_windows(cube, [WEEK_HOURS], ctx.encoder_hours, ctx.horizon, gaps=[gap])
    return forecaster.predict(windows)[0, 0]


def day_ahead_issue(now: datetime, timezone: str) -> tuple[datetime, int]:
    """The latest day-ahead issue time at or before `now` (10:00 local) and its gap (hours to
    the next local midnight, where its 24 target hours start)."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    day = local.date() if local.hour >= DAY_AHEAD_ISSUE_HOUR else local.date() - timedelta(days=1)
    issued = datetime.combine(day, clock_time(DAY_AHEAD_ISSUE_HOUR), tz)
    target = datetime.combine(day + timedelta(days=1), clock_time(0), tz)
    # in UTC: a difference of two datetimes with the same tzinfo is wall-clock time, which
    # misses a DST change between 10:00 and midnight (a 13 or 15 h gap)
    gap = int((target.astimezone(UTC) - issued.astimezone(UTC)).total_seconds() // 3600)
    return floor_hour(issued).to_pydatetime(), min(gap, MAX_GAP)


def _floats(values: np.ndarray) -> list[float | None]:
    return [round(float(v), 3) if np.isfinite(v) else None for v in values]


def output_body(city_id: str, model: str, version: str, issued_at: datetime, start: datetime,
                pred: np.ndarray, interval: str, **fields: Any) -> dict[str, Any]:
    """Pure: one forecast ([H, 3] MW) as a model_outputs body (no _id)."""
    horizon = pred.shape[0]
    return {"city_id": city_id, "model": model, "model_version": version,
            "issued_at": issued_at, "horizon_hours": horizon,
            "hours": [start + timedelta(hours=h) for h in range(horizon)],
            "p10": _floats(pred[:, 0]), "p50": _floats(pred[:, 1]), "p90": _floats(pred[:, 2]),
            "interval": interval, **fields}


def forecast_documents(city: City, model: str, version: str, issued_at: datetime,
                       series: str, pred: np.ndarray, interval: str) -> list[dict[str, Any]]:
    """Pure: the next-24-h forecast of the city's series -> the city's documents and every
    zone's estimate (series forecast x zone share), each with its `latest` copy."""
    docs = []
    city_body = output_body(city.city_id, model, version, issued_at, issued_at, pred, interval,
                            zone_id=CITY, series=series, kind=NEXT_24H, estimate=False)
    docs.append({"_id": make_id(city.city_id, model, CITY, issued_at), **city_body})
    docs.append({"_id": make_id(city.city_id, model, CITY, LATEST), **city_body})
    for zone in city.zones:
        body = output_body(city.city_id, model, version, issued_at, issued_at,
                           pred * zone.weight, interval, zone_id=zone.zone_id, series=series,
                           kind=NEXT_24H, estimate=True, share=zone.weight)
        docs.append({"_id": make_id(city.city_id, model, zone.zone_id, issued_at), **body})
        docs.append({"_id": make_id(city.city_id, model, zone.zone_id, LATEST), **body})
    return docs


def day_ahead_documents(city_id: str, model: str, version: str, issued_at: datetime, gap: int,
                        series: str, pred: np.ndarray, interval: str) -> list[dict[str, Any]]:
    """Pure: a day-ahead forecast of the city's series -> its document and `latest` copy."""
    body = output_body(city_id, model, version, issued_at, issued_at + timedelta(hours=gap),
                       pred, interval, zone_id=CITY, series=series, kind=DAY_AHEAD,
                       gap_hours=gap, estimate=False)
    return [{"_id": day_ahead_id(city_id, model, issued_at), **body},
            {"_id": make_id(city_id, model, CITY, DAY_AHEAD, LATEST), **body}]


def day_ahead_id(city_id: str, model: str, issued_at: datetime) -> str:
    return make_id(city_id, model, CITY, DAY_AHEAD, issued_at)


def remote_forecaster(http: httpx.Client, settings: Settings, city_id: str, model: str,
                      registry_doc: dict[str, Any] | None) -> tuple[RemoteForecaster, str]:
    """The registered (else newest on disk) version, served by INFERENCE_URL."""
    if registry_doc is not None:
        version, checksum = str(registry_doc["version"]), registry_doc.get("checksum") or ""
        directory = artifact_dir(settings.citylive_artifacts_dir, city_id, model, version)
    else:
        found = latest_version_dir(settings.citylive_artifacts_dir, city_id, model)
        if found is None:
            raise ArtifactMissingError(city_id, model,
                                       str(Path(settings.citylive_artifacts_dir) / city_id))
        directory, version, checksum = found, found.name, ""
    artifact = {"city_id": city_id, "model": model, "version": version, "checksum": checksum}
    return RemoteForecaster(http, str(settings.inference_url), directory, artifact,
                            attempts=settings.inference_attempts), version


def _interval_kind(forecaster: Forecaster | RemoteForecaster) -> str:
    if isinstance(forecaster, RemoteForecaster):  # the service said which
        return forecaster.interval
    return interval_kind(forecaster)


def load_inputs(db: Any, city_id: str, start: datetime, end: datetime
                ) -> tuple[Any, tuple[Any, np.ndarray]]:
    """IO: the model frame and issued forecasts of [start, end) (as training reads them)."""

    frame = model_frame(load_grid_frame(db, city_id, start, end),
                        load_hourly_frame(db, city_id, start, end))
    return frame, load_forecast_matrix(db, city_id, start, end)


def precompute_city(db: Any, settings: Settings, city: City | str, now: datetime,
                    load: Callable[..., tuple[Any, Any]] | None = None) -> dict[str, Any]:
    """Forecast the city's series with every registered model; a missing model is reported,
    not raised. `load` reads the inputs (load_inputs; tests inject theirs).

    Returns a summary: per model a status (`ok`, `missing`, `no_history`, `corrupt`, `error`)
    with its message, version, documents and seconds, plus the total documents written.
    """
    started = time.perf_counter()
    city_obj = get_city(city) if isinstance(city, str) else city
    city_id = city_obj.city_id
    origin = floor_hour(now).to_pydatetime()
    da_issue, da_gap = day_ahead_issue(now, city_obj.timezone)
    first = min(origin, da_issue) - timedelta(hours=WEEK_HOURS)
    frame, forecast = (load or load_inputs)(db, city_id, first, origin + timedelta(hours=1))
    summary: dict[str, Any] = {"city_id": city_id, "issued_at": origin, "models": {},
                               "documents": 0, "messages": [], "day_ahead_issued_at": da_issue}
    http = (httpx.Client(timeout=settings.inference_timeout_s) if settings.inference_url
            else None)
    summary["inference"] = settings.inference_url or "in-process"
    for model in MODEL_NAMES:
        t0 = time.perf_counter()
        try:
            if http is not None:  # the dedicated inference service (models/serving.py)
                forecaster, version = remote_forecaster(http, settings, city_id, model,
                                                        registered(db, city_id, model))
            else:
                forecaster, version = load_forecaster(settings.citylive_artifacts_dir, city_id,
                                                      model, registered(db, city_id, model))
            series = forecaster.context.zone_ids[0]
            interval = _interval_kind(forecaster)
            pred = forecast_series(forecaster, frame, forecast, origin)
            docs = forecast_documents(city_obj, model, version, origin, series, pred, interval)
            day_ahead = "exists"
            if db[C.MODEL_OUTPUTS].find_one({"_id": day_ahead_id(city_id, model, da_issue)}) \
                    is None:
                da_pred = forecast_series(forecaster, frame, forecast, da_issue, da_gap)
                docs += day_ahead_documents(city_id, model, version, da_issue, da_gap, series,
                                            da_pred, interval)
                note_issuance(db, city_id, model, version, da_issue,
                              da_issue + timedelta(hours=da_gap))
                day_ahead = "issued"
            replace_docs(db, C.MODEL_OUTPUTS, docs)
            result = {"status": "ok", "version": version, "series": series,
                      "zones": len(city_obj.zones), "documents": len(docs),
                      "day_ahead": day_ahead}
            summary["documents"] += len(docs)
        except ArtifactMissingError as exc:
            result = {"status": "missing", "message": str(exc)}
        except InsufficientHistoryError as exc:
            result = {"status": "no_history", "message": str(exc)}
        except ArtifactChecksumError as exc:
            result = {"status": "corrupt", "message": str(exc)}
        except Exception as exc:  # one broken model must not stop the others
            log.exception("precompute %s/%s failed", city_id, model)
            result = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
        result["seconds"] = round(time.perf_counter() - t0, 3)
        if result["status"] != "ok":
            summary["messages"].append(f"{model}: {result['message']}")
        summary["models"][model] = result
    if http is not None:
        http.close()
    summary["ok"] = all(r["status"] == "ok" for r in summary["models"].values())
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary
