"""LSTM encoder-decoder in Keras: one model per city, 24 h ahead from the last 7 days.

The encoder reads the 168 past hours of a zone (demand, weather, AQI, congestion, incidents,
calendar); its final state starts a decoder that reads the known-future inputs of each of the
24 target hours plus a zone embedding. The output is a learned correction added to the mean
of the same hour yesterday and last week (both known inputs), so training starts from that
blend instead of from nothing. Point forecast; p10/p90 come from the residual
calibration in models/base.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from models.base import BestEpoch, Forecaster, Progress
from models.features import FUTURE_FEATURES, PAST_FEATURES, Windows
from models.frameworks import keras, seed_everything
from models.registry import KerasFlavour

PREDICT_BATCH = 4096
LAG_SLICE = slice(FUTURE_FEATURES.index("demand_lag_day"),
                  FUTURE_FEATURES.index("demand_lag_week") + 1)


class LSTMForecaster(Forecaster):
    name = "lstm"
    flavour = KerasFlavour()
    native_quantiles = False
    default_params: ClassVar[dict[str, Any]] = {
        "encoder_hours": 168, "origin_stride": 1, "zones_per_origin": 10,
        "units": 32, "zone_embedding": 4, "baseline_skip": True, "epochs": 6, "batch_size": 256,
        "learning_rate": 1e-3, "seed": 0,
    }

    def build(self) -> keras.Model:
        p, ctx = self.params, self.context
        keras.utils.set_random_seed(int(p["seed"]))  # same initial weights for the same seed
        past = keras.Input((ctx.encoder_hours, len(PAST_FEATURES)), name="past")
        future = keras.Input((ctx.horizon, len(FUTURE_FEATURES)), name="future")
        zone = keras.Input((), dtype="int32", name="zone")
        embedded = keras.layers.Embedding(ctx.n_zones, int(p["zone_embedding"]))(zone)
        _, state_h, state_c = keras.layers.LSTM(int(p["units"]), return_state=True,
                                                name="encoder")(past)
        decoder_in = keras.layers.Concatenate()(
            [future, keras.layers.RepeatVector(ctx.horizon)(embedded)])
        decoded = keras.layers.LSTM(int(p["units"]), return_sequences=True, name="decoder")(
            decoder_in, initial_state=[state_h, state_c])
        hidden = keras.layers.Dense(int(p["units"]), activation="relu")(
            keras.layers.Concatenate()([decoded, future]))
        out = keras.layers.Reshape((ctx.horizon,))(
            keras.layers.Dense(1, kernel_initializer="zeros")(hidden))
        if p.get("baseline_skip", True):  # learn a correction to the lag blend, not all of it
            out = keras.layers.Add()([out, keras.ops.mean(future[:, :, LAG_SLICE], axis=-1)])
        return keras.Model({"past": past, "future": future, "zone": zone}, out, name="lstm")

    @staticmethod
    def _inputs(windows: Windows) -> tuple[dict[str, np.ndarray], np.ndarray]:
        past, future, zone, target = windows.flat()
        return {"past": past, "future": future, "zone": zone.astype(np.int32)}, target

    def fit(self, train: Windows, val: Windows, seed: int,
            progress: Progress | None = None) -> list[float]:
        if train.past.shape[2] != self.context.encoder_hours:
            raise ValueError("training windows do not match the model's encoder length")
        seed_everything(seed)
        x, y = self._inputs(train)
        keep = np.isfinite(y).all(axis=1)
        x = {k: v[keep] for k, v in x.items()}
        y = y[keep]
        xv, yv = self._inputs(val)
        keep_v = np.isfinite(yv).all(axis=1)
        xv = {k: v[keep_v] for k, v in xv.items()}
        yv = yv[keep_v]
        self.network.compile(optimizer=keras.optimizers.Adam(float(self.params["learning_rate"])),
                             loss="mse")
        losses: list[float] = []
        best = BestEpoch(self.network.get_weights(), has_validation=len(yv) > 0)
        for epoch in range(int(self.params["epochs"])):
            self.network.fit(x, y, batch_size=int(self.params["batch_size"]), epochs=1,
                             shuffle=True, verbose=0)
            loss = float(self.network.evaluate(xv, yv, batch_size=PREDICT_BATCH, verbose=0)) \
                if len(yv) else float("nan")
            losses.append(loss)
            best.offer(loss, self.network.get_weights)
            if progress is not None:
                progress(epoch, loss)
        self.network.set_weights(best.state)
        return losses

    def predict_scaled(self, windows: Windows) -> np.ndarray:
        x, _ = self._inputs(windows)
        n = len(x["zone"])
        parts = [self.network({k: v[i:i + PREDICT_BATCH] for k, v in x.items()},
                              training=False).numpy() for i in range(0, n, PREDICT_BATCH)]
        flat = np.concatenate(parts) if parts else np.zeros((0, self.context.horizon))
        return flat.reshape(len(windows.origins), windows.n_zones, self.context.horizon, 1)
