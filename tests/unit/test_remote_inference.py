"""The inference-service client: v2 tensors both ways, clear errors, retries with backoff."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from models.base import Forecaster, ModelContext
from models.features import FORECAST_LEADS, FUTURE_FEATURES, PAST_FEATURES, Scaler, Windows
from models.remote import (
    INPUTS,
    InferenceServiceError,
    RemoteForecaster,
    v2_forecast,
    v2_request,
    v2_windows,
)

ARTIFACT = {"city_id": "nyc", "model": "lstm", "version": "v1", "checksum": "abc"}


def windows(n: int = 2, k: int = 3, lookback: int = 4, horizon: int = 24,
            gaps: tuple[int, ...] = (0, 14)) -> Windows:
    rng = np.random.default_rng(0)
    gap = np.resize(np.asarray(gaps, dtype=np.int64), n)
    issues = np.arange(200, 200 + n, dtype=np.int64)
    return Windows(issues + gap, np.tile(np.arange(k), (n, 1)),
                   rng.uniform(100, 900, (n, k)),
                   rng.normal(size=(n, k, lookback, len(PAST_FEATURES))).astype(np.float32),
                   rng.normal(size=(n, k, horizon, len(FUTURE_FEATURES))).astype(np.float32),
                   np.full((n, k, horizon), np.nan, dtype=np.float32), gap)


def decode(inp: dict) -> np.ndarray:
    dtype = {"FP32": np.float32, "FP64": np.float64, "INT64": np.int64}[inp["datatype"]]
    return np.asarray(inp["data"], dtype=dtype).reshape(inp["shape"])


def round_trip(w: Windows) -> Windows:
    body = json.loads(json.dumps(v2_request(w, ARTIFACT)))
    return v2_windows({i["name"]: decode(i) for i in body["inputs"]})


def test_windows_survive_the_json_round_trip_bit_for_bit():
    w = windows()
    body = json.loads(json.dumps(v2_request(w, ARTIFACT)))
    assert body["parameters"] == ARTIFACT
    assert [i["name"] for i in body["inputs"]] == list(INPUTS)
    back = round_trip(w)
    for name in ("origins", "zone_index", "level", "past", "future", "gaps"):
        assert np.array_equal(getattr(back, name), getattr(w, name)), name
        assert getattr(back, name).dtype == getattr(w, name).dtype, name
    assert back.issues.tolist() == [200, 201]  # the issue hours, not just the first targets
    assert np.array_equal(back.leads(24), w.leads(24))
    assert not np.isnan(back.target).any()  # inference needs no target


def test_windows_without_gaps_go_as_next_24_h():
    w = windows(gaps=(0,))
    plain = Windows(w.origins, w.zone_index, w.level, w.past, w.future, w.target)
    back = round_trip(plain)
    assert back.gap_hours.tolist() == [0, 0]
    tensors = {i["name"]: decode(i) for i in v2_request(plain, ARTIFACT)["inputs"]}
    del tensors["gaps"]  # an older client
    assert v2_windows(tensors).gap_hours.tolist() == [0, 0]


class LeadCalibrated(Forecaster):
    """A point model whose band comes only from its per-lead calibration table."""

    name = "stub"
    flavour = None
    native_quantiles = False
    default_params: dict = {}

    def build(self) -> None:
        return None

    def fit(self, train, val, seed, progress=None) -> list[float]:
        return []

    def predict_scaled(self, windows: Windows) -> np.ndarray:
        n, k = windows.past.shape[:2]
        return np.zeros((n, k, self.context.horizon, 1))


def test_the_service_predicts_what_the_sidecar_would_at_every_lead():
    """The band depends on the lead time (issue + gap): a service that lost the gaps would
    widen a day-ahead forecast like a next-hour one."""
    context = ModelContext("nyc", ("A", "B", "C"), "America/New_York", Scaler(0.1, {}, {}),
                           np.zeros((3, 2), dtype=np.float32), encoder_hours=4)
    forecaster = LeadCalibrated(context)
    width = 0.01 * (1 + np.arange(FORECAST_LEADS))  # wider with the lead
    forecaster.calibration = np.column_stack([-width, width])
    w = windows()
    served = forecaster.predict(round_trip(w))
    assert np.array_equal(served, forecaster.predict(w))
    band = (served[..., 2] - served[..., 0]) / served[..., 1]
    assert np.allclose(band[0, 0], 2 * width[:24]) and np.allclose(band[1, 0], 2 * width[14:38])
    no_gaps = Windows(w.origins, w.zone_index, w.level, w.past, w.future, w.target)
    assert not np.allclose(forecaster.predict(no_gaps), served)


def test_a_nan_input_is_refused_before_it_is_sent():
    w = windows()
    w.past[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="past holds NaN"):
        v2_request(w, ARTIFACT)


def test_reply_decoding_and_its_errors():
    pred = np.arange(12, dtype=np.float64).reshape(1, 2, 2, 3)
    body = {"outputs": [{"name": "forecast", "shape": [1, 2, 2, 3], "datatype": "FP64",
                         "data": pred.ravel().tolist(), "parameters": {"interval": "quantile"}}]}
    got, interval = v2_forecast(body)
    assert np.array_equal(got, pred) and interval == "quantile"
    with pytest.raises(InferenceServiceError, match="no forecast output"):
        v2_forecast({"outputs": [{"name": "other"}]})
    with pytest.raises(InferenceServiceError, match="boom"):
        v2_forecast({"error": "boom"})


def remote(handler, tmp_path, attempts: int = 3) -> RemoteForecaster:
    (tmp_path / "meta.json").write_text(json.dumps({"context": CONTEXT}))
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return RemoteForecaster(http, "http://inference", tmp_path, ARTIFACT, attempts=attempts,
                            backoff_s=0.01)


CONTEXT = {"city_id": "nyc", "zone_ids": ["z01"], "timezone": "America/New_York",
           "encoder_hours": 4, "horizon": 2, "zone_static": [[0.0, 0.0]],
           "scaler": {"rel_std": 0.1, "cov_mean": {}, "cov_std": {}}}


def test_a_failing_service_is_retried_then_reported(tmp_path):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) < 3:
            return httpx.Response(503, text="overloaded")
        pred = np.zeros((1, 3, 2, 3))
        return httpx.Response(200, json={"outputs": [{
            "name": "forecast", "shape": list(pred.shape), "datatype": "FP64",
            "data": pred.ravel().tolist(), "parameters": {"interval": "quantile"}}]})

    forecaster = remote(handler, tmp_path)
    assert forecaster.context.zone_ids == ("z01",)  # read from meta.json, no framework
    assert forecaster.predict(windows()).shape == (1, 3, 2, 3)
    assert calls == ["/v2/models/citylive-forecast/infer"] * 3
    assert forecaster.interval == "quantile"

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(InferenceServiceError, match="failed 2 time.*ConnectError"):
        remote(down, tmp_path, attempts=2).predict(windows())

    def slow(request: httpx.Request) -> httpx.Response:  # past INFERENCE_TIMEOUT_S
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(InferenceServiceError, match="failed 3 time.*ReadTimeout"):
        remote(slow, tmp_path).predict(windows())

    def refuses(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "no artifact nyc/lstm/v1"})

    with pytest.raises(InferenceServiceError, match="refused the request.*no artifact"):
        remote(refuses, tmp_path).predict(windows())
