"""The PyTorch training and inference loops the TFT and the GNN share (offline job only).

Seeded shuffling, Adam with gradient clipping, and the epoch with the best finite validation
loss kept (models.base.BestEpoch), so the same seed and data give the same weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np

from models.base import BestEpoch, Progress
from models.frameworks import CPU, seed_everything, torch

LossFn = Callable[..., "torch.Tensor"]  # (network, *batch tensors) -> scalar loss


def to_tensors(*arrays: np.ndarray) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(CPU) for a in arrays)


def _mean_loss(network: torch.nn.Module, loss_fn: LossFn, tensors: Sequence[torch.Tensor],
               batch_size: int) -> float:
    n = len(tensors[0])
    if n == 0:
        return float("nan")
    network.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, n, batch_size):
            batch = [t[i:i + batch_size] for t in tensors]
            total += float(loss_fn(network, *batch)) * len(batch[0])
    return total / n


def fit_torch(network: torch.nn.Module, loss_fn: LossFn, train: Sequence[torch.Tensor],
              val: Sequence[torch.Tensor], *, epochs: int, batch_size: int, learning_rate: float,
              seed: int, clip: float = 1.0, progress: Progress | None = None) -> list[float]:
    """Train in place; returns the validation loss of every epoch."""
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
    n = len(train[0])
    losses: list[float] = []
    best = BestEpoch(copy.deepcopy(network.state_dict()), has_validation=len(val[0]) > 0)
    for epoch in range(epochs):
        network.train()
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(network, *(t[idx] for t in train))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), clip)
            optimizer.step()
        val_loss = _mean_loss(network, loss_fn, val, batch_size * 4)
        losses.append(val_loss)
        best.offer(val_loss, lambda: copy.deepcopy(network.state_dict()))
        if progress is not None:
            progress(epoch, val_loss)
    network.load_state_dict(best.state)
    network.eval()
    return losses


def predict_torch(network: torch.nn.Module, inputs: Sequence[torch.Tensor], batch_size: int,
                  forward: Callable[..., torch.Tensor] | None = None) -> np.ndarray:
    """Inference in eval mode without gradients, batched; returns numpy."""
    network.eval()
    forward = forward or network
    parts = []
    with torch.no_grad():
        for i in range(0, len(inputs[0]), batch_size):
            parts.append(forward(*(t[i:i + batch_size] for t in inputs)).cpu().numpy())
    return np.concatenate(parts) if parts else np.zeros((0,))
