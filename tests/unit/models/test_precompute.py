"""Precompute: the city's series forecast (next 24 h), the zones' estimates and the daily
day-ahead issuance in model_outputs; artifacts loaded once, never trained. Pure unit tests
on an in-memory db with the synthetic history behind the `load` seam; the FerretDB
integration test is separate."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

import models.precompute as precompute
from core.settings import Settings
from core.vocabulary import C
from models.backtest import day_ahead_schedule
from models.frameworks import keras, torch
from models.scorecard import DATA_LAG
from tests.unit.models.conftest import frame_loader

ROOT = Path(__file__).resolve().parents[3]
MODELS = ("lstm", "tft", "gnn", "gbm")
NY = ZoneInfo("America/New_York")
BODY = {"city_id", "model", "model_version", "issued_at", "horizon_hours", "hours", "p10",
        "p50", "p90", "interval", "zone_id", "series", "kind", "estimate", "bucket_day"}
ZONE_BODY = BODY | {"share"}
DAY_AHEAD_BODY = BODY | {"gap_hours"}
# 2026-02-14 00:17 UTC = 2026-02-13 19:17 in New York: the day-ahead of the 13th (10:00 EST,
# 15:00 UTC) is out, for the 14th local from 05:00 UTC; the frame runs to 2026-02-16 00:00 UTC.
NOW = datetime(2026, 2, 14, 0, 17, tzinfo=UTC)
DA_ISSUED = datetime(2026, 2, 13, 15, tzinfo=UTC)
DA_START = datetime(2026, 2, 14, 5, tzinfo=UTC)


def _settings(root: Path) -> Settings:
    return Settings(_env_file=None, citylive_artifacts_dir=str(root))


def _run(trained_set, db, now: datetime = NOW, root: Path | None = None):
    return precompute.precompute_city(db, _settings(root or trained_set.root), trained_set.city,
                                      now, load=frame_loader(trained_set))


def _key(*parts: str) -> str:
    return "|".join(parts)


def _iso(ts: datetime) -> str:
    return f"{ts:%Y-%m-%dT%H:%M}Z"


def _actual(trained_set, hours: list[datetime]) -> np.ndarray:
    frame = trained_set.frame
    own = frame[frame["series"] == "PGAE"].set_index("ts")["demand_mw"]
    return own.reindex(pd.DatetimeIndex(hours)).to_numpy()


def _quantiles(doc) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(doc[q], dtype=float) for q in ("p10", "p50", "p90"))


def test_precompute_writes_city_zone_and_day_ahead_documents(trained_set, service_db,
                                                             fresh_cache) -> None:
    summary = _run(trained_set, service_db)
    assert summary["ok"], summary["messages"]
    issued = NOW.replace(minute=0)
    outputs = service_db[C.MODEL_OUTPUTS].docs
    zones = trained_set.city.zones
    per_model = 2 + 2 * len(zones) + 2  # city, zones, day-ahead; each with its `latest`
    assert len(outputs) == len(MODELS) * per_model == summary["documents"]
    assert summary["day_ahead_issued_at"] == DA_ISSUED
    versions = {d["model"]: d["version"] for d in trained_set.docs}
    for model in MODELS:
        result = summary["models"][model]
        assert result["status"] == "ok" and result["series"] == "PGAE"
        assert result["day_ahead"] == "issued"
        city = outputs[_key("testcity", model, "city", _iso(issued))]
        assert set(city) - {"_id"} == BODY
        assert {k: v for k, v in city.items() if k != "_id"} == {
            k: v for k, v in outputs[_key("testcity", model, "city", "latest")].items()
            if k != "_id"}
        assert city["zone_id"] == "city" and city["series"] == "PGAE"
        assert city["kind"] == "next-24h" and city["estimate"] is False
        assert city["model_version"] == versions[model] and city["horizon_hours"] == 24
        assert city["issued_at"] == issued and city["issued_at"].tzinfo is not None
        assert city["hours"] == [issued + timedelta(hours=h) for h in range(24)]
        assert all(isinstance(v, float) and math.isfinite(v)
                   for v in city["p10"] + city["p50"] + city["p90"])
        p10, p50, p90 = _quantiles(city)
        assert (p10 <= p50).all() and (p50 <= p90).all() and (p90 > p10).any()
        actual = _actual(trained_set, city["hours"])
        assert np.mean(np.abs(p50 - actual) / actual) < 0.15  # the series, in MW

        total = np.zeros((3, 24))
        for zone in zones:
            doc = outputs[_key("testcity", model, zone.zone_id, _iso(issued))]
            assert set(doc) - {"_id"} == ZONE_BODY
            assert doc == {**outputs[_key("testcity", model, zone.zone_id, "latest")],
                           "_id": doc["_id"]}
            assert doc["estimate"] is True and doc["share"] == zone.weight
            assert doc["series"] == "PGAE" and doc["kind"] == "next-24h"
            assert doc["hours"] == city["hours"]
            assert np.allclose(_quantiles(doc), np.array(_quantiles(city)) * zone.weight,
                               atol=2e-3)
            total += np.array(_quantiles(doc))
        assert np.allclose(total, np.array(_quantiles(city)), atol=1e-2)  # zones sum to city

        day_ahead = outputs[_key("testcity", model, "city", "day-ahead", _iso(DA_ISSUED))]
        assert set(day_ahead) - {"_id"} == DAY_AHEAD_BODY
        assert day_ahead == {**outputs[_key("testcity", model, "city", "day-ahead", "latest")],
                             "_id": day_ahead["_id"]}
        assert day_ahead["kind"] == "day-ahead" and day_ahead["gap_hours"] == 14
        assert day_ahead["issued_at"] == DA_ISSUED
        assert day_ahead["hours"] == [DA_START + timedelta(hours=h) for h in range(24)]
        local = [h.astimezone(NY) for h in day_ahead["hours"]]
        assert local[0].hour == 0 and {t.date() for t in local} == {local[0].date()}
        p10, p50, p90 = _quantiles(day_ahead)
        assert (p10 <= p50).all() and (p50 <= p90).all()
        actual = _actual(trained_set, day_ahead["hours"])
        assert np.mean(np.abs(p50 - actual) / actual) < 0.15


def test_the_day_ahead_forecast_uses_only_what_was_known_at_10(trained_set, fresh_cache
                                                                 ) -> None:
    """Issued at 10:00 from the data before it: computed right then or nine hours later (with
    more history loaded), the day-ahead forecast is the same."""
    from tests.unit.models.conftest import FakeDB

    def day_ahead_docs(now: datetime) -> dict[str, dict]:
        db = FakeDB()
        for doc in trained_set.docs:
            db[C.MODEL_REGISTRY].docs[doc["_id"]] = dict(doc)
        assert _run(trained_set, db, now)["ok"]
        return {k: v for k, v in db[C.MODEL_OUTPUTS].docs.items() if "|day-ahead|2026" in k}

    at_ten = day_ahead_docs(DA_ISSUED + timedelta(minutes=5))
    later = day_ahead_docs(NOW)
    assert set(at_ten) == set(later) and len(at_ten) == len(MODELS)
    for key, doc in at_ten.items():
        for q in ("p10", "p50", "p90", "hours", "issued_at"):
            assert later[key][q] == doc[q], (key, q)


def test_day_ahead_is_issued_once_per_day(trained_set, service_db, fresh_cache) -> None:
    def day_ahead_ids() -> set[str]:
        return {k for k in service_db[C.MODEL_OUTPUTS].docs
                if "|day-ahead|" in k and not k.endswith("latest")}

    _run(trained_set, service_db)
    first = day_ahead_ids()
    assert len(first) == len(MODELS)
    again = _run(trained_set, service_db, NOW + timedelta(hours=1))
    assert {r["day_ahead"] for r in again["models"].values()} == {"exists"}
    assert day_ahead_ids() == first
    assert again["documents"] == len(MODELS) * (2 + 2 * len(trained_set.city.zones))
    next_day = _run(trained_set, service_db, DA_ISSUED + timedelta(days=1, hours=1))
    assert {r["day_ahead"] for r in next_day["models"].values()} == {"issued"}
    assert len(day_ahead_ids()) == 2 * len(MODELS)
    card = service_db[C.MODEL_SCORECARD].docs["testcity|gbm"]
    assert [p["issued_at"] for p in card["pending"]] == [DA_ISSUED,
                                                        DA_ISSUED + timedelta(days=1)]
    latest = service_db[C.MODEL_OUTPUTS].docs["testcity|gbm|city|day-ahead|latest"]
    assert latest["issued_at"] == DA_ISSUED + timedelta(days=1)


def test_a_day_ahead_issuance_is_noted_for_scoring(trained_set, service_db, fresh_cache
                                                   ) -> None:
    _run(trained_set, service_db)
    versions = {d["model"]: d["version"] for d in trained_set.docs}
    for model in MODELS:
        card = service_db[C.MODEL_SCORECARD].docs[f"testcity|{model}"]
        assert card["pending"] == [{"issued_at": DA_ISSUED, "target_start": DA_START,
                                    "model_version": versions[model]}]
        assert card["next_score_at"] == DA_START + timedelta(hours=24) + DATA_LAG
        assert card["scored"] == [] and card["issuances"] == 0
        assert card["mape"] is None and card["eia_df_mape"] is None  # None until scored


def test_day_ahead_issue_is_the_latest_10_local(trained_set) -> None:
    tz = "America/New_York"
    before_ten = datetime(2026, 2, 13, 14, 59, tzinfo=UTC)  # 09:59 EST
    assert precompute.day_ahead_issue(before_ten, tz) == (DA_ISSUED - timedelta(days=1), 14)
    assert precompute.day_ahead_issue(datetime(2026, 2, 13, 15, tzinfo=UTC), tz) == (
        DA_ISSUED, 14)
    summer = datetime(2026, 7, 1, 20, tzinfo=UTC)  # 16:00 EDT: 10:00 EDT is 14:00 UTC
    assert precompute.day_ahead_issue(summer, tz) == (datetime(2026, 7, 1, 14, tzinfo=UTC), 14)


@pytest.mark.parametrize(("timezone", "first_day"), [
    ("America/New_York", "2026-02-25"), ("America/New_York", "2026-10-20"),
    ("America/Nuuk", "2026-03-15"), ("America/Nuuk", "2026-10-10")])
def test_live_day_ahead_issue_matches_the_backtest_schedule(timezone, first_day) -> None:
    """What precompute issues live is what the backtest scored, DST change days included
    (Nuuk's switch falls between 10:00 and midnight: a 13 or 15 h gap)."""
    times = pd.date_range(first_day, periods=24 * 21, freq="h", tz="UTC")
    issues, gaps = day_ahead_schedule(times, timezone, 0, len(times))
    assert len(set(gaps.tolist())) > 1 or timezone == "America/New_York"  # the change is in
    for issue, gap in zip(issues, gaps, strict=True):
        now = (times[issue] + pd.Timedelta(hours=3, minutes=30)).to_pydatetime()
        assert precompute.day_ahead_issue(now, timezone) == (
            times[issue].to_pydatetime(), int(gap)), now


def test_each_artifact_is_loaded_once_per_process(trained_set, service_db, fresh_cache,
                                                  monkeypatch) -> None:
    calls = []
    real_load = precompute.load
    monkeypatch.setattr(precompute, "load", lambda *a, **k: calls.append(a) or real_load(*a, **k))
    _run(trained_set, service_db)
    second = _run(trained_set, service_db, NOW + timedelta(hours=1))
    assert second["ok"] and len(calls) == len(MODELS)


def test_precompute_never_trains(trained_set, service_db, fresh_cache, monkeypatch) -> None:
    import lightgbm

    import models.torch_loop
    from models.registry import forecaster_class

    def forbidden(*args, **kwargs):
        raise AssertionError("precompute called a training routine")

    monkeypatch.setattr(keras.Model, "fit", forbidden)
    monkeypatch.setattr(keras.Model, "train_on_batch", forbidden)
    monkeypatch.setattr(keras.Model, "compile", forbidden)
    monkeypatch.setattr(torch.optim.Optimizer, "__init__", forbidden)
    monkeypatch.setattr(torch.optim.Optimizer, "step", forbidden)
    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    monkeypatch.setattr(lightgbm, "train", forbidden)
    monkeypatch.setattr(models.torch_loop, "fit_torch", forbidden)
    for name in MODELS:
        monkeypatch.setattr(forecaster_class(name), "fit", forbidden)
    with pytest.raises(AssertionError):  # the trap works
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    summary = _run(trained_set, service_db)
    assert {m: r["status"] for m, r in summary["models"].items()} == dict.fromkeys(MODELS, "ok")


def test_a_missing_artifact_is_a_message_not_a_crash(trained_set, service_db, fresh_cache,
                                                     tmp_path) -> None:
    partial = tmp_path / "artifacts"
    tft_doc = next(d for d in trained_set.docs if d["model"] == "tft")
    shutil.copytree(tft_doc["artifact_path"],
                    partial / "testcity" / "tft" / tft_doc["version"])
    summary = _run(trained_set, service_db, root=partial)
    assert not summary["ok"]
    assert summary["models"]["tft"]["status"] == "ok"
    for model in ("lstm", "gnn", "gbm"):
        result = summary["models"][model]
        assert result["status"] == "missing"
        assert f"python -m models.train --city testcity --models {model}" in result["message"]
    assert all(d["model"] == "tft" for d in service_db[C.MODEL_OUTPUTS].docs.values())


def test_no_history_is_reported(trained_set, service_db, fresh_cache) -> None:
    def empty(db, city_id, start, end):
        return pd.DataFrame(), (pd.DatetimeIndex([], tz="UTC"), np.zeros((0, 48)))

    summary = precompute.precompute_city(service_db, _settings(trained_set.root),
                                         trained_set.city, NOW, load=empty)
    assert {r["status"] for r in summary["models"].values()} == {"no_history"}
    assert not service_db[C.MODEL_OUTPUTS].docs
    assert not service_db[C.MODEL_SCORECARD].docs  # nothing issued, nothing to score


def test_importing_precompute_needs_no_service_and_no_framework() -> None:
    code = ("import sys, models.precompute; "
            "loaded = [m for m in ('tensorflow', 'torch', 'keras', 'lightgbm') "
            "if m in sys.modules]; assert not loaded, loaded")
    env = {**os.environ, "MONGO_URI": "mongodb://127.0.0.1:1/", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
