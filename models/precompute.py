"""Precompute (sidecar job): each registered model's next-24-h forecast for every zone of a city,
written to `model_outputs`, so the Models page only reads.

Inference only: artifacts are loaded once per process (cache keyed by city/model/version) and
never fitted; no optimizer exists on this path. Importing this module loads no ML framework
and needs no running service; the frameworks load with the first artifact.

An issuance at `now` forecasts the 24 hours starting at the current UTC hour (the origin) from
the 7 days before it; `issued_at` is that origin hour, so reruns within the hour replace their
own documents. Per model and zone two documents are written: `<city>|<model>|<zone>|<issued
ISO minute>` (kept for scoring) and a copy `<city>|<model>|<zone>|latest` (what the page reads).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from core.catalog import City, get_city
from core.clock import floor_hour
from core.ids import make_id
from core.settings import Settings
from core.storage import replace_docs
from core.vocabulary import MODEL_NAMES, C
from models.base import Forecaster, interval_kind
from models.exceptions import (
    ArtifactChecksumError,
    ArtifactMissingError,
    InsufficientHistoryError,
)
from models.features import (
    DEMAND,
    WEEK_HOURS,
    build_panel,
    feature_cube,
    make_windows,
)
from models.registry import artifact_dir, latest_version_dir, load, registered
from models.remote import RemoteForecaster
from models.scorecard import note_issuance, score_city
from pipeline.history import load_hourly_frame

log = logging.getLogger(__name__)

MIN_ZONE_HISTORY = 0.5  # share of the last 7 days a zone needs to be forecast
LATEST = "latest"

_CACHE: dict[tuple[str, str, str], Forecaster] = {}

__all__ = ["clear_cache", "forecast_documents", "forecast_zones", "load_forecaster",
           "precompute_city", "score_city"]


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


def forecast_zones(forecaster: Forecaster, frame: Any, origin: datetime
                   ) -> tuple[list[str], np.ndarray, list[str]]:
    """(zone ids, [Z, H, 3] p10/p50/p90 MW, skipped zone ids) from the 7 days before origin."""
    ctx = forecaster.context
    start = origin - timedelta(hours=WEEK_HOURS)
    panel = build_panel(frame, ctx.zone_ids, start, origin, ctx.timezone)
    present = np.isfinite(panel.values[DEMAND]).mean(axis=0)
    keep = present >= MIN_ZONE_HISTORY
    if not keep.any():
        raise InsufficientHistoryError(ctx.city_id, int(np.isfinite(panel.values[DEMAND])
                                                        .any(axis=1).sum()),
                                       int(WEEK_HOURS * MIN_ZONE_HISTORY))
    cube = feature_cube(panel, ctx.scaler)
    windows = make_windows(cube, [panel.n_hours], ctx.encoder_hours, ctx.horizon)
    pred = forecaster.predict(windows)[0]
    zones = [z for z, k in zip(ctx.zone_ids, keep, strict=True) if k]
    skipped = [z for z, k in zip(ctx.zone_ids, keep, strict=True) if not k]
    return zones, pred[keep], skipped


def _floats(values: np.ndarray) -> list[float | None]:
    return [round(float(v), 3) if np.isfinite(v) else None for v in values]


def forecast_documents(city_id: str, model: str, version: str, issued_at: datetime,
                       zone_ids: list[str], pred: np.ndarray, interval: str
                       ) -> list[dict[str, Any]]:
    """Pure: [Z, H, 3] forecasts -> per-issuance and `latest` model_outputs documents."""
    horizon = pred.shape[1]
    hours = [issued_at + timedelta(hours=h) for h in range(horizon)]
    docs = []
    for zone_id, zone_pred in zip(zone_ids, pred, strict=True):
        body = {"city_id": city_id, "zone_id": zone_id, "model": model,
                "model_version": version, "issued_at": issued_at, "horizon_hours": horizon,
                "hours": hours, "p10": _floats(zone_pred[:, 0]), "p50": _floats(zone_pred[:, 1]),
                "p90": _floats(zone_pred[:, 2]), "interval": interval}
        docs.append({"_id": make_id(city_id, model, zone_id, issued_at), **body})
        docs.append({"_id": make_id(city_id, model, zone_id, LATEST), **body})
    return docs


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


def precompute_city(db: Any, settings: Settings, city: City | str, now: datetime
                    ) -> dict[str, Any]:
    """Forecast every zone with every registered model; a missing model is reported, not raised.

    Returns a summary: per model a status (`ok`, `missing`, `no_history`, `corrupt`, `error`)
    with its message, version, zone counts and seconds, plus the total documents written.
    """
    started = time.perf_counter()
    city_id = city if isinstance(city, str) else city.city_id
    if isinstance(city, str):
        get_city(city_id)  # unknown city: raise, that is a caller bug, not a model state
    origin = floor_hour(now).to_pydatetime()
    frame = load_hourly_frame(db, city_id, origin - timedelta(hours=WEEK_HOURS), origin)
    summary: dict[str, Any] = {"city_id": city_id, "issued_at": origin, "models": {},
                               "documents": 0, "messages": []}
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
            zones, pred, skipped = forecast_zones(forecaster, frame, origin)
            docs = forecast_documents(city_id, model, version, origin, zones, pred,
                                      _interval_kind(forecaster))
            replace_docs(db, C.MODEL_OUTPUTS, docs)
            note_issuance(db, city_id, model, version, origin)
            result = {"status": "ok", "version": version, "zones": len(zones),
                      "skipped_zones": skipped, "documents": len(docs)}
            summary["documents"] += len(docs)
            if skipped:
                summary["messages"].append(
                    f"{model}: {len(skipped)} zone(s) without enough history: "
                    f"{', '.join(skipped[:10])}")
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
