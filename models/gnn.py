"""Spatio-temporal graph network in PyTorch + torch_geometric: all zones of a city at once.

A GRU shared by every zone encodes its last hours into a node state; a zone embedding and the
zone's centroid join it; graph convolutions (GCN) over the k-nearest-zone graph (edge weight
a Gaussian of the distance) mix neighbouring zones; a decoder shared by all horizon steps maps
node state + the step's known-future inputs to a correction of the mean of the same hour
yesterday and last week (both known inputs). Point forecast; p10/p90 come from the
residual calibration in models/base.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from models.base import Forecaster, Progress
from models.features import FUTURE_FEATURES, PAST_FEATURES, Windows
from models.frameworks import pyg_nn, torch
from models.registry import TorchFlavour
from models.torch_loop import fit_torch, predict_torch, to_tensors

nn = torch.nn
PREDICT_BATCH = 64
LAG_SLICE = slice(FUTURE_FEATURES.index("demand_lag_day"),
                  FUTURE_FEATURES.index("demand_lag_week") + 1)


def edge_tensors(zone_ids: tuple[str, ...], edges: list[tuple[str, str, float]]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """edge_index [2, E] and Gaussian distance weights exp(-(km / median km)^2)."""
    position = {z: i for i, z in enumerate(zone_ids)}
    kept = [(position[s], position[d], km) for s, d, km in edges
            if s in position and d in position]
    if not kept:
        return torch.zeros((2, 0), dtype=torch.long), torch.zeros(0)
    index = torch.tensor([[s for s, _, _ in kept], [d for _, d, _ in kept]], dtype=torch.long)
    km = np.array([k for _, _, k in kept], dtype=float)
    scale = float(np.median(km)) or 1.0
    return index, torch.tensor(np.exp(-((km / scale) ** 2)), dtype=torch.float32)


class SpatioTemporalGNN(nn.Module):
    def __init__(self, n_zones: int, n_past: int, n_future: int, n_static: int, horizon: int,
                 hidden: int, zone_embedding: int, layers: int, dropout: float,
                 edge_index: torch.Tensor, edge_weight: torch.Tensor,
                 baseline_skip: bool = True) -> None:
        super().__init__()
        self.temporal = nn.GRU(n_past, hidden, batch_first=True)
        self.zone_embedding = nn.Embedding(n_zones, zone_embedding)
        self.node_in = nn.Linear(hidden + zone_embedding + n_static, hidden)
        self.convs = nn.ModuleList(pyg_nn.GCNConv(hidden, hidden) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.step_embedding = nn.Embedding(horizon, 8)
        self.decoder = nn.Sequential(nn.Linear(hidden + n_future + 8, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 1))
        self.baseline_skip = baseline_skip
        if baseline_skip:  # start from the lag blend: the network learns the correction
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)
        self.register_buffer("edge_index", edge_index, persistent=False)
        self.register_buffer("edge_weight", edge_weight, persistent=False)

    def forward(self, past: torch.Tensor, future: torch.Tensor, static: torch.Tensor
                ) -> torch.Tensor:
        """past [B, Z, L, Fp], future [B, Z, H, Fk], static [Z, S] -> [B, Z, H]."""
        b, z, length, n_past = past.shape
        horizon = future.shape[2]
        _, state = self.temporal(past.reshape(b * z, length, n_past))
        node = state[-1].view(b, z, -1)
        zones = torch.arange(z)
        node = torch.relu(self.node_in(torch.cat([
            node, self.zone_embedding(zones).expand(b, -1, -1), static.expand(b, -1, -1)],
            dim=-1)))
        for conv, norm in zip(self.convs, self.norms, strict=True):
            mixed = conv(node, self.edge_index, self.edge_weight)  # static graph, batched
            node = norm(node + self.dropout(torch.relu(mixed)))
        steps = self.step_embedding(torch.arange(horizon)).expand(b, z, -1, -1)
        decoder_in = torch.cat([node.unsqueeze(2).expand(-1, -1, horizon, -1), future, steps],
                               dim=-1)
        out = self.decoder(decoder_in).squeeze(-1)
        if self.baseline_skip:
            out = out + future[..., LAG_SLICE].mean(dim=-1)
        return out


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    mask = torch.isfinite(target)
    err = (pred - torch.nan_to_num(target)) ** 2
    return (err * mask).sum() / mask.sum().clamp(min=1)


class GNNForecaster(Forecaster):
    name = "gnn"
    flavour = TorchFlavour()
    native_quantiles = False
    default_params: ClassVar[dict[str, Any]] = {
        "encoder_hours": 48, "origin_stride": 2,
        "hidden": 32, "zone_embedding": 4, "layers": 2, "baseline_skip": True, "neighbours": 4,
        "dropout": 0.1, "epochs": 8, "batch_size": 16, "learning_rate": 3e-3, "seed": 0,
    }

    def build(self) -> SpatioTemporalGNN:
        p, ctx = self.params, self.context
        torch.manual_seed(int(p["seed"]))
        edge_index, edge_weight = edge_tensors(ctx.zone_ids, ctx.edges)
        return SpatioTemporalGNN(
            ctx.n_zones, len(PAST_FEATURES), len(FUTURE_FEATURES), ctx.zone_static.shape[1],
            ctx.horizon, int(p["hidden"]), int(p["zone_embedding"]), int(p["layers"]),
            float(p["dropout"]), edge_index, edge_weight, bool(p.get("baseline_skip", True)))

    def _static(self) -> torch.Tensor:
        return torch.from_numpy(self.context.zone_static.astype(np.float32))

    def _loss(self, network: SpatioTemporalGNN, past: torch.Tensor, future: torch.Tensor,
              target: torch.Tensor) -> torch.Tensor:
        return masked_mse(network(past, future, self._static()), target)

    def fit(self, train: Windows, val: Windows, seed: int,
            progress: Progress | None = None) -> list[float]:
        p = self.params
        return fit_torch(self.network, self._loss,
                         to_tensors(train.past, train.future, train.target),
                         to_tensors(val.past, val.future, val.target),
                         epochs=int(p["epochs"]), batch_size=int(p["batch_size"]),
                         learning_rate=float(p["learning_rate"]), seed=seed, progress=progress)

    def predict_scaled(self, windows: Windows) -> np.ndarray:
        static = self._static()
        out = predict_torch(self.network, to_tensors(windows.past, windows.future),
                            PREDICT_BATCH, lambda past, future: self.network(past, future, static))
        return out.reshape(len(windows.origins), windows.n_zones, self.context.horizon, 1)
