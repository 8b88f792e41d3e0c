"""Model registry: one small interface to save, load and describe trained models.

Artifacts are versioned folders `<artifacts_dir>/<city>/<model>/<version>/` holding the
network weights (written by the model's flavour: Keras, PyTorch or LightGBM) and `meta.json`
(params, scaler, zones, calibration, metrics). A sha256 over both is recorded in
`checksum.sha256` and in the `model_registry` document (`_id` `<city>|<model>`), and checked on
every load.
Framework-free at import: flavours import TF/torch/LightGBM only when they touch weights.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pymongo.database import Database

from core.ids import make_id
from core.storage import replace_one
from core.vocabulary import MODEL_NAMES, C
from models.base import Forecaster, ModelContext
from models.exceptions import ArtifactChecksumError, ArtifactMissingError

META_FILE = "meta.json"
CHECKSUM_FILE = "checksum.sha256"
MODEL_CLASSES = {"lstm": ("models.lstm", "LSTMForecaster"),
                 "tft": ("models.tft", "TFTForecaster"),
                 "gnn": ("models.gnn", "GNNForecaster"),
                 "gbm": ("models.gbm", "GBMForecaster")}
if tuple(MODEL_CLASSES) != MODEL_NAMES:  # one list of names: core.vocabulary
    raise ImportError("models.registry.MODEL_CLASSES does not match core.vocabulary.MODEL_NAMES")


class Flavour(ABC):
    """How one framework writes and reads a network's weights (architecture comes from params)."""

    name: ClassVar[str]
    weights_file: ClassVar[str]

    @abstractmethod
    def save_weights(self, network: Any, path: Path) -> None: ...

    @abstractmethod
    def load_weights(self, network: Any, path: Path) -> None: ...


class KerasFlavour(Flavour):
    name = "keras"
    weights_file = "model.weights.h5"

    def save_weights(self, network: Any, path: Path) -> None:
        network.save_weights(str(path))

    def load_weights(self, network: Any, path: Path) -> None:
        network.load_weights(str(path))


class TorchFlavour(Flavour):
    name = "torch"
    weights_file = "model.pt"

    def save_weights(self, network: Any, path: Path) -> None:
        from models.frameworks import torch

        torch.save(network.state_dict(), path)

    def load_weights(self, network: Any, path: Path) -> None:
        from models.frameworks import torch

        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        network.eval()


class LightGBMFlavour(Flavour):
    """The boosters of a quantile model (models/gbm.py), one LightGBM text model per quantile
    in one JSON file: {"p10": "<model string>", ...}."""

    name = "lightgbm"
    weights_file = "model.lgb.json"

    def save_weights(self, network: Any, path: Path) -> None:
        texts = {key: booster.model_to_string() for key, booster in network.boosters.items()}
        path.write_text(json.dumps(texts, sort_keys=True))

    def load_weights(self, network: Any, path: Path) -> None:
        import lightgbm

        texts = json.loads(path.read_text())
        network.boosters = {key: lightgbm.Booster(model_str=text) for key, text in texts.items()}


def forecaster_class(model: str) -> type[Forecaster]:
    """The class of a model name, imported on demand (it loads the ML frameworks)."""
    if model not in MODEL_CLASSES:
        raise KeyError(f"unknown model {model!r}; known: {', '.join(MODEL_NAMES)}")
    module, name = MODEL_CLASSES[model]
    return getattr(importlib.import_module(module), name)


def new_version(trained_at: datetime) -> str:
    """Sortable, path-safe version from the training time: 20261128T140502Z."""
    return trained_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def artifact_dir(root: str | Path, city_id: str, model: str, version: str) -> Path:
    return Path(root) / city_id / model / version


def directory_checksum(directory: Path) -> str:
    """sha256 over the names and bytes of the artifact's files (the checksum file excluded)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.iterdir() if p.is_file() and p.name != CHECKSUM_FILE):
        digest.update(path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def save(forecaster: Forecaster, directory: Path, metadata: dict[str, Any]) -> str:
    """Write weights + meta.json into a new version folder; returns the checksum."""
    directory.mkdir(parents=True, exist_ok=False)
    forecaster.flavour.save_weights(forecaster.network, directory / forecaster.flavour.weights_file)
    meta = {**metadata, "model": forecaster.name, "flavour": forecaster.flavour.name,
            "params": forecaster.params, "context": forecaster.context.to_dict(),
            "calibration": None if forecaster.calibration is None else forecaster.calibration,
            "extras": forecaster.extras}
    (directory / META_FILE).write_text(json.dumps(_jsonable(meta), indent=1, sort_keys=True))
    checksum = directory_checksum(directory)
    (directory / CHECKSUM_FILE).write_text(checksum + "\n")
    return checksum


def metadata(directory: Path) -> dict[str, Any]:
    """meta.json of an artifact (cheap: no framework, no weights)."""
    path = directory / META_FILE
    if not path.is_file():  # <root>/<city>/<model>/<version>: name the city and model
        city_id, model = (directory.parts[-3:-1] if len(directory.parts) >= 3 else ("?", "?"))
        raise ArtifactMissingError(city_id, model, str(directory))
    return json.loads(path.read_text())


def load(directory: Path, expected_checksum: str | None = None) -> Forecaster:
    """Rebuild the network from its params and load its weights; inference only, no optimizer."""
    meta = metadata(directory)
    expected = expected_checksum
    if expected is None and (directory / CHECKSUM_FILE).is_file():
        expected = (directory / CHECKSUM_FILE).read_text().strip()
    actual = directory_checksum(directory)
    if expected is not None and expected != actual:
        raise ArtifactChecksumError(str(directory), expected, actual)
    forecaster = forecaster_class(meta["model"])(ModelContext.from_dict(meta["context"]),
                                                 meta["params"])
    forecaster.flavour.load_weights(forecaster.network,
                                    directory / forecaster.flavour.weights_file)
    if meta.get("calibration") is not None:
        forecaster.calibration = np.asarray(meta["calibration"], dtype=float)
    forecaster.extras = meta.get("extras") or {}
    return forecaster


def latest_version_dir(root: str | Path, city_id: str, model: str) -> Path | None:
    """Newest complete version folder on disk (fallback when no registry document exists)."""
    base = Path(root) / city_id / model
    if not base.is_dir():
        return None
    versions = sorted(p for p in base.iterdir() if (p / META_FILE).is_file())
    return versions[-1] if versions else None


def registry_id(city_id: str, model: str) -> str:
    return make_id(city_id, model)


def registry_document(*, model: str, city_id: str, version: str, trained_at: datetime,
                      training_window: dict[str, datetime], params: dict[str, Any],
                      artifact_path: str, checksum: str, flavour: str,
                      metrics: dict[str, float | None], **extra: Any) -> dict[str, Any]:
    """The `model_registry` document of a model and city (replaced on each training run)."""
    doc = {"_id": registry_id(city_id, model), "model": model, "city_id": city_id,
           "version": version, "trained_at": trained_at, "training_window": training_window,
           "params": params, "artifact_path": artifact_path, "checksum": checksum,
           "flavour": flavour, "metrics": metrics}
    doc.update(extra)
    return doc


def register(db: Database, doc: dict[str, Any]) -> None:
    replace_one(db, C.MODEL_REGISTRY, doc)


def registered(db: Database, city_id: str, model: str) -> dict[str, Any] | None:
    return db[C.MODEL_REGISTRY].find_one({"_id": registry_id(city_id, model)})
