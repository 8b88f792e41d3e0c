"""Temporal Fusion Transformer (Lim et al., 2021), compact and faithful, in PyTorch.

Parts as in the paper: per-variable embeddings; variable selection networks (static, encoder,
decoder) built from gated residual networks; four static context vectors (selection,
enrichment, LSTM cell and hidden state); an LSTM encoder-decoder with a gated skip; static
enrichment; interpretable multi-head attention (shared values, heads averaged, causal over the
decoder); a position-wise GRN; p10/p50/p90 outputs trained with the quantile loss. The mean
selection weights are kept as the model's variable importances.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from models.base import QUANTILES, Forecaster, Progress
from models.features import FUTURE_FEATURES, PAST_FEATURES, STATIC_FEATURES, Windows
from models.frameworks import torch
from models.registry import TorchFlavour
from models.torch_loop import fit_torch, predict_torch, to_tensors

nn = torch.nn
F = torch.nn.functional
PREDICT_BATCH = 2048


class GatedLinearUnit(nn.Module):
    def __init__(self, d_in: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(d_in, 2 * d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(self.linear(self.dropout(x)), dim=-1)


class GateAddNorm(nn.Module):
    """LayerNorm(skip + GLU(x)): the gated skip connection used throughout the TFT."""

    def __init__(self, d_in: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.glu = GatedLinearUnit(d_in, d_out, dropout)
        self.norm = nn.LayerNorm(d_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.norm(skip + self.glu(x))


class GatedResidualNetwork(nn.Module):
    """GRN(a, c) = LayerNorm(a + GLU(W1 ELU(W2 a + W3 c + b2) + b1))."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, dropout: float,
                 d_context: int | None = None) -> None:
        super().__init__()
        self.skip = nn.Linear(d_in, d_out) if d_in != d_out else None
        self.fc2 = nn.Linear(d_in, d_hidden)
        self.context = nn.Linear(d_context, d_hidden, bias=False) if d_context else None
        self.fc1 = nn.Linear(d_hidden, d_hidden)
        self.gate = GateAddNorm(d_hidden, d_out, dropout)

    def forward(self, a: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        hidden = self.fc2(a)
        if c is not None and self.context is not None:
            hidden = hidden + self.context(c)
        hidden = self.fc1(F.elu(hidden))
        return self.gate(hidden, a if self.skip is None else self.skip(a))


class GroupedLinear(nn.Module):
    """V independent linear layers applied at once: [..., V, d_in] -> [..., V, d_out]."""

    def __init__(self, n_vars: int, d_in: int, d_out: int) -> None:
        super().__init__()
        bound = 1 / d_in ** 0.5
        self.weight = nn.Parameter(torch.empty(n_vars, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_vars, d_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("...vi,vio->...vo", x, self.weight) + self.bias


class GroupedGatedResidualNetwork(nn.Module):
    """One GRN per variable (own weights each), computed together for speed.

    No dropout here: on CPU, sampling masks for the [batch, time, variable, d] tensor costs
    more than the rest of the layer; dropout stays in the other GRNs.
    """

    def __init__(self, n_vars: int, d: int) -> None:
        super().__init__()
        self.fc2 = GroupedLinear(n_vars, d, d)
        self.fc1 = GroupedLinear(n_vars, d, d)
        self.glu = GroupedLinear(n_vars, d, 2 * d)
        self.norm_weight = nn.Parameter(torch.ones(n_vars, d))
        self.norm_bias = nn.Parameter(torch.zeros(n_vars, d))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        hidden = self.fc1(F.elu(self.fc2(a)))
        gated = F.glu(self.glu(hidden), dim=-1)
        normed = F.layer_norm(a + gated, a.shape[-1:])
        return normed * self.norm_weight + self.norm_bias


class VariableSelection(nn.Module):
    """Softmax weights over variables (from a GRN of all of them) x per-variable GRNs."""

    def __init__(self, n_vars: int, d: int, dropout: float, d_context: int | None) -> None:
        super().__init__()
        self.weights = GatedResidualNetwork(n_vars * d, d, n_vars, dropout, d_context)
        self.variables = GroupedGatedResidualNetwork(n_vars, d)

    def forward(self, emb: torch.Tensor, context: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """emb [..., V, d] -> (selected [..., d], weights [..., V])."""
        if context is not None:
            while context.dim() < emb.dim() - 1:
                context = context.unsqueeze(-2)
            context = context.expand(*emb.shape[:-2], context.shape[-1])
        weights = torch.softmax(self.weights(emb.flatten(-2), context), dim=-1)
        return (weights.unsqueeze(-1) * self.variables(emb)).sum(-2), weights


class RealEmbedding(nn.Module):
    """One linear embedding per real-valued variable: [..., V] -> [..., V, d]."""

    def __init__(self, n_vars: int, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_vars, d) * 0.1)
        self.bias = nn.Parameter(torch.zeros(n_vars, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(-1) * self.weight + self.bias


class InterpretableMultiHeadAttention(nn.Module):
    """Heads with their own queries/keys but one shared value projection, averaged."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads, self.d_head = n_heads, d // n_heads
        self.queries = nn.Linear(d, n_heads * self.d_head)
        self.keys = nn.Linear(d, n_heads * self.d_head)
        self.values = nn.Linear(d, self.d_head)
        self.out = nn.Linear(self.d_head, d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        b, tq, tk = q.shape[0], q.shape[1], k.shape[1]
        queries = self.queries(q).view(b, tq, self.n_heads, self.d_head).transpose(1, 2)
        keys = self.keys(k).view(b, tk, self.n_heads, self.d_head).transpose(1, 2)
        scores = queries @ keys.transpose(-1, -2) / self.d_head ** 0.5  # [B, heads, Tq, Tk]
        attn = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        attn = self.dropout(attn)
        values = self.values(v).unsqueeze(1)  # [B, 1, Tk, d_head], shared by the heads
        heads = attn @ values  # [B, heads, Tq, d_head]
        return self.out(heads.mean(dim=1)), attn.mean(dim=1)


class TemporalFusionTransformer(nn.Module):
    def __init__(self, n_zones: int, n_past: int, n_future: int, n_static_real: int,
                 encoder_hours: int, horizon: int, d: int, n_heads: int, dropout: float,
                 n_quantiles: int) -> None:
        super().__init__()
        self.encoder_hours, self.horizon = encoder_hours, horizon
        self.zone_embedding = nn.Embedding(n_zones, d)
        self.static_real = RealEmbedding(n_static_real, d)
        self.past_embedding = RealEmbedding(n_past, d)
        self.future_embedding = RealEmbedding(n_future, d)
        self.static_selection = VariableSelection(1 + n_static_real, d, dropout, None)
        self.past_selection = VariableSelection(n_past, d, dropout, d)
        self.future_selection = VariableSelection(n_future, d, dropout, d)
        self.static_contexts = nn.ModuleList(
            GatedResidualNetwork(d, d, d, dropout) for _ in range(4))  # s, e, h, c
        self.encoder = nn.LSTM(d, d, batch_first=True)
        self.decoder = nn.LSTM(d, d, batch_first=True)
        self.lstm_gate = GateAddNorm(d, d, dropout)
        self.enrichment = GatedResidualNetwork(d, d, d, dropout, d)
        self.attention = InterpretableMultiHeadAttention(d, n_heads, dropout)
        self.attention_gate = GateAddNorm(d, d, dropout)
        self.positionwise = GatedResidualNetwork(d, d, d, dropout)
        self.output_gate = GateAddNorm(d, d, dropout)
        self.head = nn.Linear(d, n_quantiles)
        total = encoder_hours + horizon
        causal = torch.ones(horizon, total, dtype=torch.bool).triu(encoder_hours + 1)
        self.register_buffer("mask", causal, persistent=False)  # True = may not attend

    def forward(self, past: torch.Tensor, future: torch.Tensor, zone: torch.Tensor,
                static_real: torch.Tensor) -> dict[str, torch.Tensor]:
        static_emb = torch.cat([self.zone_embedding(zone).unsqueeze(1),
                                self.static_real(static_real)], dim=1)  # [B, S, d]
        static, static_w = self.static_selection(static_emb)
        c_select, c_enrich, c_hidden, c_cell = (grn(static) for grn in self.static_contexts)
        past_sel, past_w = self.past_selection(self.past_embedding(past), c_select)
        fut_sel, fut_w = self.future_selection(self.future_embedding(future), c_select)
        state = (c_hidden.unsqueeze(0).contiguous(), c_cell.unsqueeze(0).contiguous())
        enc_out, state = self.encoder(past_sel, state)
        dec_out, _ = self.decoder(fut_sel, state)
        selected = torch.cat([past_sel, fut_sel], dim=1)
        temporal = self.lstm_gate(torch.cat([enc_out, dec_out], dim=1), selected)
        enriched = self.enrichment(temporal, c_enrich.unsqueeze(1))
        queries = enriched[:, self.encoder_hours:]
        attended, attn = self.attention(queries, enriched, enriched, self.mask)
        gated = self.attention_gate(attended, queries)
        decoded = self.output_gate(self.positionwise(gated), temporal[:, self.encoder_hours:])
        return {"quantiles": self.head(decoded), "static_weights": static_w,
                "past_weights": past_w, "future_weights": fut_w, "attention": attn}


def quantile_loss(pred: torch.Tensor, target: torch.Tensor,
                  quantiles: tuple[float, ...] = QUANTILES) -> torch.Tensor:
    """Pinball loss averaged over quantiles and the finite targets."""
    q = torch.tensor(quantiles, dtype=pred.dtype)
    mask = torch.isfinite(target)
    diff = torch.nan_to_num(target).unsqueeze(-1) - pred
    loss = torch.maximum(q * diff, (q - 1) * diff).mean(-1)
    return (loss * mask).sum() / mask.sum().clamp(min=1)


class TFTForecaster(Forecaster):
    name = "tft"
    flavour = TorchFlavour()
    native_quantiles = True
    default_params: ClassVar[dict[str, Any]] = {
        "encoder_hours": 72, "origin_stride": 1, "zones_per_origin": 8,
        "hidden": 16, "heads": 4, "dropout": 0.1, "epochs": 5, "batch_size": 128,
        "learning_rate": 3e-3, "seed": 0, "conformal": True,
    }

    def build(self) -> TemporalFusionTransformer:
        p, ctx = self.params, self.context
        torch.manual_seed(int(p["seed"]))
        return TemporalFusionTransformer(
            ctx.n_zones, len(PAST_FEATURES), len(FUTURE_FEATURES), ctx.zone_static.shape[1],
            ctx.encoder_hours, ctx.horizon, int(p["hidden"]), int(p["heads"]),
            float(p["dropout"]), len(QUANTILES))

    def _tensors(self, windows: Windows) -> tuple[torch.Tensor, ...]:
        past, future, zone, target = windows.flat()
        static = self.context.zone_static[zone]
        return to_tensors(past, future, zone, static.astype(np.float32), target)

    @staticmethod
    def _loss(network: TemporalFusionTransformer, past: torch.Tensor, future: torch.Tensor,
              zone: torch.Tensor, static: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return quantile_loss(network(past, future, zone, static)["quantiles"], target)

    def fit(self, train: Windows, val: Windows, seed: int,
            progress: Progress | None = None) -> list[float]:
        p = self.params
        losses = fit_torch(self.network, self._loss, self._tensors(train), self._tensors(val),
                           epochs=int(p["epochs"]), batch_size=int(p["batch_size"]),
                           learning_rate=float(p["learning_rate"]), seed=seed,
                           progress=progress)
        self.extras["variable_importances"] = self.variable_importances(val)
        self.extras["attention"] = self.mean_attention(val)
        return losses

    def calibrate(self, val: Windows) -> None:
        """Native quantiles; conformal widening on validation windows only when enabled."""
        if self.params.get("conformal", True):
            super().calibrate(val)

    def predict_scaled(self, windows: Windows) -> np.ndarray:
        inputs = self._tensors(windows)[:4]
        flat = predict_torch(self.network, inputs, PREDICT_BATCH,
                             lambda *b: self.network(*b)["quantiles"])
        return flat.reshape(len(windows.origins), windows.n_zones, self.context.horizon, -1)

    def variable_importances(self, windows: Windows) -> dict[str, dict[str, float]]:
        """Mean variable-selection weights (static, encoder, decoder), each summing to 1."""
        inputs = self._tensors(windows)[:4]
        if len(inputs[0]) == 0:
            return {}
        sums = {"static": 0.0, "encoder": 0.0, "decoder": 0.0}
        self.network.eval()
        with torch.no_grad():
            for i in range(0, len(inputs[0]), PREDICT_BATCH):
                out = self.network(*(t[i:i + PREDICT_BATCH] for t in inputs))
                sums["static"] = sums["static"] + out["static_weights"].sum(0)
                sums["encoder"] = sums["encoder"] + out["past_weights"].sum((0, 1))
                sums["decoder"] = sums["decoder"] + out["future_weights"].sum((0, 1))
        names = {"static": STATIC_FEATURES, "encoder": PAST_FEATURES, "decoder": FUTURE_FEATURES}
        result = {}
        for group, total in sums.items():
            weights = (total / total.sum()).numpy()
            result[group] = {n: round(float(w), 4) for n, w in zip(names[group], weights,
                                                                    strict=True)}
        return result

    def mean_attention(self, windows: Windows) -> dict[str, list[float]]:
        """Mean attention of the forecast hours over the time axis: `hours` relative to the
        issue (-L..H-1, past and future positions) and the weight each one gets (sums to 1)."""
        inputs = self._tensors(windows)[:4]
        ctx = self.context
        positions = list(range(-ctx.encoder_hours, ctx.horizon))
        if len(inputs[0]) == 0:
            return {}
        total, count = torch.zeros(ctx.encoder_hours + ctx.horizon), 0
        self.network.eval()
        with torch.no_grad():
            for i in range(0, len(inputs[0]), PREDICT_BATCH):
                attn = self.network(*(t[i:i + PREDICT_BATCH] for t in inputs))["attention"]
                total += attn.sum(dim=(0, 1))
                count += attn.shape[0] * attn.shape[1]
        weights = (total / max(count, 1)).numpy()
        return {"hours": positions, "weights": [round(float(w), 5) for w in weights]}

