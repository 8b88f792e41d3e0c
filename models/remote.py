"""Inference through the dedicated inference service (Open Inference Protocol, KServe v2 REST):
the client side of models/serving.py. Used by models.precompute when INFERENCE_URL is set.

The sidecar keeps building the windows (it needs only the artifact's meta.json, no ML
framework); the service runs the network. A failing or slow service raises
InferenceServiceError after `attempts` tries with exponential backoff; precompute records it
and the next hourly run tries again (docs/architecture.md §14).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from models.base import ModelContext
from models.features import Windows
from models.registry import metadata

SERVICE_MODEL = "citylive-forecast"  # the one multi-model endpoint of the service
INPUTS = ("origins", "zone_index", "level", "past", "future", "gaps")
DATATYPES = {np.dtype(np.float32): "FP32", np.dtype(np.float64): "FP64",
             np.dtype(np.int64): "INT64"}


class InferenceServiceError(RuntimeError):
    """The inference service did not answer with a forecast (down, slow, or an error)."""


def v2_request(windows: Windows, artifact: dict[str, str]) -> dict[str, Any]:
    """Pure: the windows as v2 tensors; `artifact` (city_id, model, version, checksum) goes in
    the request parameters and picks the registered artifact on the service."""
    inputs = []
    for name in INPUTS:
        array = np.ascontiguousarray(windows.gap_hours if name == "gaps"
                                     else getattr(windows, name))
        if not np.isfinite(array).all():
            raise ValueError(f"input {name} holds NaN or infinity: the windows are gap-filled, "
                             "so this is a bug upstream")
        inputs.append({"name": name, "shape": list(array.shape),
                       "datatype": DATATYPES[array.dtype], "data": array.ravel().tolist()})
    return {"inputs": inputs, "parameters": dict(artifact)}


def v2_windows(tensors: dict[str, np.ndarray]) -> Windows:
    """Pure, the service side: decoded tensors -> Windows (no target: inference only)."""
    past = tensors["past"].astype(np.float32)
    n, k, _, _ = past.shape
    horizon = tensors["future"].shape[2]
    return Windows(tensors["origins"].astype(np.int64), tensors["zone_index"].astype(np.int64),
                   tensors["level"].astype(np.float64), past,
                   tensors["future"].astype(np.float32),
                   np.zeros((n, k, horizon), dtype=np.float32),
                   tensors["gaps"].astype(np.int64) if "gaps" in tensors else None)


def v2_forecast(body: dict[str, Any]) -> tuple[np.ndarray, str]:
    """Pure: the service's reply -> ([N, Z, H, 3] MW, interval kind)."""
    if "error" in body:
        raise InferenceServiceError(f"inference service: {body['error']}")
    outputs = {o.get("name"): o for o in body.get("outputs") or []}
    out = outputs.get("forecast")
    if out is None:
        raise InferenceServiceError(f"inference service reply has no forecast output: "
                                    f"{sorted(k for k in outputs if k)}")
    pred = np.asarray(out["data"], dtype=np.float64).reshape(out["shape"])
    interval = str((out.get("parameters") or {}).get("interval")
                   or (body.get("parameters") or {}).get("interval") or "unknown")
    return pred, interval


class RemoteForecaster:
    """What precompute needs of a forecaster, with the network behind the service: the context
    from meta.json, `predict` over HTTP."""

    native_quantiles = True  # unused: the service says the interval kind in its reply

    def __init__(self, http: httpx.Client, url: str, directory: Path, artifact: dict[str, str],
                 attempts: int = 3, backoff_s: float = 0.5) -> None:
        self.http, self.url, self.artifact = http, url.rstrip("/"), artifact
        self.attempts, self.backoff_s = max(attempts, 1), backoff_s
        self.context = ModelContext.from_dict(metadata(directory)["context"])
        self.interval = "unknown"

    def predict(self, windows: Windows) -> np.ndarray:
        body = v2_request(windows, self.artifact)
        endpoint = f"{self.url}/v2/models/{SERVICE_MODEL}/infer"
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.http.post(endpoint, json=body)
            except httpx.HTTPError as exc:  # down, refused, timed out
                last = exc
                continue
            if response.status_code >= 500:
                last = InferenceServiceError(f"HTTP {response.status_code}: "
                                             f"{response.text[:300]}")
                continue
            try:
                reply = response.json()
            except ValueError as exc:
                raise InferenceServiceError(f"inference service sent no JSON "
                                            f"(HTTP {response.status_code})") from exc
            if response.status_code >= 400:
                raise InferenceServiceError(f"inference service refused the request "
                                            f"(HTTP {response.status_code}): "
                                            f"{reply.get('error', reply)}")
            pred, self.interval = v2_forecast(reply)
            return pred
        raise InferenceServiceError(f"inference service at {self.url} failed "
                                    f"{self.attempts} time(s): {type(last).__name__}: {last}")
