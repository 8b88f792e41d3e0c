"""The dedicated inference service: MLServer (Open Inference Protocol, KServe v2 REST) with a
City Live runtime. One model endpoint, `citylive-forecast`, serves every registered artifact:
the request parameters name the city, model, version and checksum, and each artifact is
loaded once and kept (docs/architecture.md §14).

    python -m models.serving                 # http://127.0.0.1:8090 (INFERENCE_PORT)
    make inference

Precompute uses it when INFERENCE_URL is set (models/remote.py) and runs in-process
otherwise; both give the same forecasts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlserver import MLModel, MLServer
from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.settings import ModelParameters, ModelSettings
from mlserver.settings import Settings as ServerSettings
from mlserver.types import InferenceRequest, InferenceResponse, Parameters

from models.base import Forecaster, interval_kind
from models.registry import artifact_dir, load
from models.remote import INPUTS, SERVICE_MODEL, v2_windows

log = logging.getLogger("citylive.inference")
ARTIFACT_KEYS = ("city_id", "model", "version")


class BadRequestError(MLServerError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=400)


class ForecastRuntime(MLModel):
    """Every registered artifact behind one endpoint; each loaded at most once."""

    async def load(self) -> bool:
        extra = (self.settings.parameters.extra if self.settings.parameters else None) or {}
        self.artifacts_root = Path(extra.get("artifacts_dir") or "artifacts")
        self.forecasters: dict[tuple[str, str, str], Forecaster] = {}
        self.loads = 0
        return True

    def forecaster(self, artifact: dict[str, Any]) -> Forecaster:
        missing = [k for k in ARTIFACT_KEYS if not artifact.get(k)]
        if missing:
            raise BadRequestError(f"request parameters lack {', '.join(missing)}")
        key = tuple(str(artifact[k]) for k in ARTIFACT_KEYS)
        if any(part in ("", ".", "..") or "/" in part or "\\" in part for part in key):
            raise BadRequestError(f"not an artifact name: {'/'.join(key)}")
        if key not in self.forecasters:
            directory = artifact_dir(self.artifacts_root, *key)
            if not directory.is_dir():
                raise BadRequestError(f"no artifact {'/'.join(key)} under {self.artifacts_root}")
            self.forecasters[key] = load(directory, artifact.get("checksum") or None)
            self.loads += 1
            log.info("loaded %s (%d artifacts in memory)", "/".join(key), len(self.forecasters))
        return self.forecasters[key]

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        artifact = (payload.parameters.model_extra or {}) if payload.parameters else {}
        forecaster = self.forecaster(artifact)
        tensors = {i.name: NumpyCodec.decode_input(i) for i in payload.inputs}
        missing = [n for n in INPUTS if n not in tensors]
        if missing:
            raise BadRequestError(f"missing input tensor(s): {', '.join(missing)}")
        windows = v2_windows(tensors)
        # the network runs off the event loop: the server keeps answering health checks
        pred = await asyncio.to_thread(forecaster.predict, windows)
        output = NumpyCodec.encode_output("forecast", pred)
        output.parameters = Parameters(interval=interval_kind(forecaster))
        return InferenceResponse(model_name=self.name, outputs=[output],
                                 parameters=Parameters(interval=interval_kind(forecaster),
                                                       artifacts_loaded=self.loads))


def server_settings(host: str, port: int, grpc_port: int, workdir: Path) -> ServerSettings:
    return ServerSettings(host=host, http_port=port, grpc_port=grpc_port, parallel_workers=0,
                          debug=False, metrics_endpoint=None, metrics_dir=str(workdir),
                          environments_dir=str(workdir / "envs"))


def model_settings(artifacts_dir: str) -> ModelSettings:
    return ModelSettings(name=SERVICE_MODEL, implementation=ForecastRuntime,
                         parameters=ModelParameters(extra={"artifacts_dir": artifacts_dir}))


def main(argv: list[str] | None = None) -> int:
    from core.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m models.serving", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.inference_port)
    parser.add_argument("--grpc-port", type=int, default=settings.inference_port + 1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="citylive-inference-") as tmp:
        server = MLServer(server_settings(args.host, args.port, args.grpc_port, Path(tmp)))
        log.info("serving %s on http://%s:%d (artifacts %s)", SERVICE_MODEL, args.host,
                 args.port, settings.citylive_artifacts_dir)
        asyncio.run(server.start([model_settings(settings.citylive_artifacts_dir)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
