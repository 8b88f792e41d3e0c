"""The epoch kept after training: lowest finite validation loss; a NaN epoch is never best."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from models.base import BestEpoch, ModelContext
from models.features import FUTURE_FEATURES, HORIZON, PAST_FEATURES, Scaler, Windows
from models.frameworks import torch
from models.torch_loop import fit_torch, to_tensors

NAN = math.nan
SCRIPT = [0.5, NAN, 0.4, 0.6]  # validation loss per epoch; epoch 2 is best


def kept(losses: list[float], has_validation: bool = True) -> Any:
    best = BestEpoch("initial", has_validation)
    for epoch, loss in enumerate(losses):
        best.offer(loss, lambda e=epoch: f"epoch {e}")
    return best.state


def test_a_nan_epoch_is_never_best_and_never_blocks_a_later_one():
    assert kept(SCRIPT) == "epoch 2"
    assert kept([NAN, 0.9, 0.8]) == "epoch 2"
    assert kept([0.3, math.inf, NAN]) == "epoch 0"
    assert kept([NAN, NAN]) == "initial"  # diverged from the start: keep the untrained weights


def test_without_validation_data_the_last_epoch_is_kept():
    assert kept([NAN, NAN, NAN], has_validation=False) == "epoch 2"


def test_fit_torch_keeps_the_best_finite_epoch_when_one_validation_loss_is_nan():
    torch.manual_seed(0)
    network = torch.nn.Linear(2, 1)
    evaluations = iter(SCRIPT)

    def loss_fn(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if net.training:
            return torch.mean((net(x).squeeze(-1) - y) ** 2)
        return torch.tensor(next(evaluations))  # one validation batch per epoch

    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    y = x.sum(axis=1).astype(np.float32)
    snapshots: list[dict[str, torch.Tensor]] = []

    def progress(_epoch: int, _loss: float) -> None:
        snapshots.append({k: v.clone() for k, v in network.state_dict().items()})

    losses = fit_torch(network, loss_fn, to_tensors(x, y), to_tensors(x[:4], y[:4]),
                       epochs=4, batch_size=8, learning_rate=0.1, seed=0, progress=progress)
    assert np.isnan(losses[1]) and losses[2] == pytest.approx(SCRIPT[2])
    final = network.state_dict()
    assert all(torch.equal(final[k], snapshots[2][k]) for k in final)
    assert not all(torch.equal(final[k], snapshots[3][k]) for k in final)


class ScriptedNetwork:
    """A Keras-shaped stand-in: each fit changes the weights, evaluate reads the script."""

    def __init__(self, losses: list[float]) -> None:
        self.losses = iter(losses)
        self.weights = [np.zeros(1)]

    def compile(self, **_: Any) -> None:
        return None

    def fit(self, *_: Any, **__: Any) -> None:
        self.weights = [self.weights[0] + 1]

    def evaluate(self, *_: Any, **__: Any) -> float:
        return next(self.losses)

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.weights = weights


def test_lstm_fit_keeps_the_best_finite_epoch_when_one_validation_loss_is_nan():
    from models.lstm import LSTMForecaster

    context = ModelContext("t", ("z01", "z02"), "UTC", Scaler(0.1, {}, {}),
                           np.zeros((2, 2), dtype=np.float32), encoder_hours=4)
    forecaster = LSTMForecaster(context, {"units": 2, "epochs": len(SCRIPT)})
    forecaster.network = ScriptedNetwork(SCRIPT)
    n, k = 3, 2
    windows = Windows(origins=np.arange(n), zone_index=np.tile(np.arange(k), (n, 1)),
                      level=np.ones((n, k)),
                      past=np.zeros((n, k, 4, len(PAST_FEATURES)), dtype=np.float32),
                      future=np.zeros((n, k, HORIZON, len(FUTURE_FEATURES)), dtype=np.float32),
                      target=np.zeros((n, k, HORIZON), dtype=np.float32))
    losses = forecaster.fit(windows, windows, seed=0)
    assert np.isnan(losses[1])
    assert forecaster.network.weights[0][0] == 3  # after the third fit: epoch 2
