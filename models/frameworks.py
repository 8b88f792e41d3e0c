"""The one place that imports the ML frameworks, in the only order that works in one process.

Importing tensorflow before torch_geometric (triton) aborts the process with "LLVM ERROR:
inconsistency in registered CommandLine options"; torch -> torch_geometric -> tensorflow works.
Every module (and test) that needs a framework imports it from here. Nothing outside models/
imports this module: the UI must stay free of ML frameworks.
"""

from __future__ import annotations

import contextlib
import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before tensorflow is imported
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # bit-for-bit repeatable CPU kernels
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# The order is the point: torch, torch_geometric, then tensorflow/keras.
# isort: off
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch_geometric  # noqa: E402, F401
import torch_geometric.nn as pyg_nn  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
# isort: on

CPU = torch.device("cpu")
# One intra-op thread: these networks are small, and on a shared 2-core box (sidecar, Kafka,
# FerretDB, UI) OpenMP threads that spin-wait for a busy core made training up to 5x slower.
torch.set_num_threads(1)
with contextlib.suppress(RuntimeError):  # TF already initialised by someone else: keep it
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(2)

__all__ = ["CPU", "keras", "np", "pyg_nn", "seed_everything", "tf", "torch"]


def seed_everything(seed: int) -> None:
    """Seed python, numpy, torch and keras/TF so the same seed gives the same model."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    keras.utils.set_random_seed(seed)
    with contextlib.suppress(AttributeError, RuntimeError):  # older TF, or already set
        tf.config.experimental.enable_op_determinism()
