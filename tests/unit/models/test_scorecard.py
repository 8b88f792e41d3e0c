"""The live scorecard: day-ahead issuances noted by precompute, scored once their next local
day has actuals, with running sums that make the rolling 7-day figures exact
(models/scorecard.py). The grid history is read from city_day documents in the in-memory db."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import models.precompute as precompute
from core.settings import Settings
from core.vocabulary import C
from models.backtest import score_day_ahead
from models.scorecard import (
    DATA_LAG,
    WINDOW,
    issuance_sums,
    note_issuance,
    rolling_metrics,
    score_after,
    score_city,
)
from pipeline.history import day_id, encode_grid, grid_extras
from tests.unit.models.conftest import FakeDB, frame_loader

MODELS = ("lstm", "tft", "gnn", "gbm")
HEADLINE = ("mape", "rmse", "coverage_p10_p90", "bias_mw", "pinball_mw", "baseline_mape",
            "naive24_mape", "eia_df_mape", "mape_same_points", "skill_vs_baseline")
NOW = datetime(2026, 2, 14, 0, 17, tzinfo=UTC)  # as in test_precompute
DA_ISSUED = datetime(2026, 2, 13, 15, tzinfo=UTC)  # 10:00 in New York
DA_START = datetime(2026, 2, 14, 5, tzinfo=UTC)  # the next local midnight
SCORABLE = DA_START + timedelta(hours=24) + DATA_LAG


# -- pure parts -----------------------------------------------------------------------------

def test_an_issuance_is_scorable_after_its_last_hour_and_eias_lag() -> None:
    item = {"issued_at": DA_ISSUED, "target_start": DA_START}
    assert score_after(item) == datetime(2026, 2, 15, 7, tzinfo=UTC)
    naive = {"issued_at": DA_ISSUED, "target_start": DA_START.replace(tzinfo=None)}
    assert score_after(naive) == score_after(item)  # as FerretDB gives it back: naive UTC


def test_note_issuance_keeps_one_pending_entry_per_issuance() -> None:
    db = FakeDB()
    later = DA_ISSUED + timedelta(days=1)
    note_issuance(db, "testcity", "gbm", "v2", later, DA_START + timedelta(days=1))
    note_issuance(db, "testcity", "gbm", "v1", DA_ISSUED, DA_START)
    note_issuance(db, "testcity", "gbm", "v1", DA_ISSUED, DA_START)  # a rerun of the hour
    card = db[C.MODEL_SCORECARD].docs["testcity|gbm"]
    assert [p["issued_at"] for p in card["pending"]] == [DA_ISSUED, later]  # oldest first
    assert card["next_score_at"] == SCORABLE  # the oldest pending issuance decides
    assert card["window_days"] == 7 and card["scored"] == []
    assert all(card[k] is None for k in HEADLINE) and card["issuances"] == 0
    card["scored"] = [{"issued_at": DA_ISSUED}]
    card["pending"] = card["pending"][1:]
    db[C.MODEL_SCORECARD].docs["testcity|gbm"] = card
    note_issuance(db, "testcity", "gbm", "v1", DA_ISSUED, DA_START)  # already scored
    assert [p["issued_at"] for p in db[C.MODEL_SCORECARD].docs["testcity|gbm"]["pending"]] == [
        later]


def _arrays(seed: int, hours: int = 24) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    actual = 1000 + 100 * rng.normal(size=hours)
    p50 = actual * (1 + 0.05 * rng.normal(size=hours))
    naive168 = actual * (1 + 0.10 * rng.normal(size=hours))
    naive24 = actual * (1 + 0.08 * rng.normal(size=hours))
    eia_df = actual * (1 + 0.03 * rng.normal(size=hours))
    eia_df[:6] = np.nan  # EIA's DF is missing for a few hours
    return actual, p50 - 40, p50, p50 + 40, naive168, naive24, eia_df


def test_issuance_sums_agree_with_the_backtest_measures() -> None:
    arrays = _arrays(0)
    actual, p10, p50, p90, naive168, naive24, eia_df = arrays
    entry = issuance_sums(*arrays)
    expected = score_day_ahead(*(a[None] for a in arrays))
    for key in ("mape", "baseline_mape", "naive24_mape", "eia_df_mape", "mape_same_points",
                "coverage_p10_p90"):
        assert entry[key] == expected[key], key
    assert entry["points"] == 24 and entry["eia_points"] == 18
    assert entry["ape_sum"] == pytest.approx(np.sum(np.abs(p50 - actual) / actual))
    assert entry["se_sum"] == pytest.approx(np.sum((p50 - actual) ** 2))
    assert entry["bias_sum"] == pytest.approx(np.sum(p50 - actual))
    assert entry["covered"] == int(np.sum((actual >= p10) & (actual <= p90)))
    on_df = np.isfinite(eia_df)
    assert entry["eia_ape_sum"] == pytest.approx(
        np.sum(np.abs(eia_df[on_df] - actual[on_df]) / actual[on_df]))
    assert entry["same_ape_sum"] == pytest.approx(
        np.sum(np.abs(p50[on_df] - actual[on_df]) / actual[on_df]))


def test_rolling_metrics_pool_the_points_of_every_issuance() -> None:
    empty = rolling_metrics([])
    assert empty["issuances"] == 0 and empty["points"] == 0
    assert all(empty[k] is None for k in HEADLINE)  # None until scored, never NaN or 0
    first, second = _arrays(1), _arrays(2, hours=24)
    pooled = score_day_ahead(*(np.concatenate([a, b])[None] for a, b in zip(first, second,
                                                                            strict=True)))
    card = rolling_metrics([issuance_sums(*first), issuance_sums(*second)])
    assert card["issuances"] == 2 and card["points"] == 48
    for key in ("mape", "rmse", "coverage_p10_p90", "baseline_mape", "naive24_mape",
                "eia_df_mape", "mape_same_points", "skill_vs_baseline"):
        assert card[key] == pytest.approx(pooled[key], abs=1e-3), key
    assert card["bias_mw"] == pytest.approx(pooled["bias_mw"], abs=1e-2)
    assert card["pinball_mw"] == pytest.approx(pooled["pinball_mw"], abs=1e-2)


# -- scoring the issuances precompute made ------------------------------------------------------

def _grid_days(trained_set, drop: datetime | None = None) -> dict[str, dict]:
    """city_day documents holding the synthetic grid (stored form), as the history writes."""
    frame = trained_set.frame[["series", "ts", "demand_mw", "ba_demand_mw", "ba_forecast_mw"]]
    if drop is not None:
        frame = frame[~((frame["series"] == "PGAE") & (frame["ts"] == pd.Timestamp(drop)))]
    docs = {}
    for _id, extra in grid_extras(frame, "testcity").items():
        day = datetime.fromisoformat(_id.split("|")[1]).replace(tzinfo=UTC)
        docs[_id] = {"_id": _id, "city_id": "testcity", "day_start": day,
                     "hours": [day + timedelta(hours=h) for h in range(24)],
                     "grid": encode_grid(extra["grid"])}
    assert day_id("testcity", DA_START) in docs
    return docs


@pytest.fixture
def issued_db(trained_set, service_db, fresh_cache) -> FakeDB:
    """The registry, the grid history and one day-ahead issuance per model (precompute)."""
    settings = Settings(_env_file=None, citylive_artifacts_dir=str(trained_set.root))
    summary = precompute.precompute_city(service_db, settings, trained_set.city, NOW,
                                         load=frame_loader(trained_set))
    assert summary["ok"], summary["messages"]
    service_db[C.CITY_DAY].docs.update(_grid_days(trained_set))
    return service_db


def _expected(trained_set) -> dict[str, np.ndarray]:
    frame = trained_set.frame
    own = frame[frame["series"] == "PGAE"].set_index("ts")
    ba = frame.groupby("ts")[["ba_demand_mw", "ba_forecast_mw"]].first()
    hours = pd.date_range(DA_START, periods=24, freq="h")
    leads = 14 + np.arange(24)
    week = pd.date_range(DA_ISSUED - timedelta(hours=168), DA_ISSUED, freq="h",
                         inclusive="left")
    share = own.loc[week, "demand_mw"].sum() / ba.loc[week, "ba_demand_mw"].sum()
    return {"actual": own.loc[hours, "demand_mw"].to_numpy(),
            "naive168": own.loc[hours - pd.Timedelta(hours=168), "demand_mw"].to_numpy(),
            "naive24": own.reindex(hours - pd.to_timedelta(np.where(leads < 24, 24, 48),
                                                           unit="h"))["demand_mw"].to_numpy(),
            "eia_df": ba.loc[hours, "ba_forecast_mw"].to_numpy() * share}


def test_the_card_says_none_until_the_day_is_scored(trained_set, issued_db) -> None:
    early = score_city(issued_db, trained_set.city, SCORABLE - timedelta(minutes=1))
    for model in MODELS:
        assert early["models"][model] == {"scored": 0, "pending": 1, "mape": None,
                                          "eia_df_mape": None}
        card = issued_db[C.MODEL_SCORECARD].docs[f"testcity|{model}"]
        assert all(card[k] is None for k in HEADLINE) and card["issuances"] == 0
        assert card["next_score_at"] == SCORABLE


def test_a_day_ahead_issuance_is_scored_against_the_baselines(trained_set, issued_db) -> None:
    summary = score_city(issued_db, trained_set.city, SCORABLE)
    expected = _expected(trained_set)
    actual = expected["actual"]

    def pct(forecast: np.ndarray) -> float:
        return float(np.mean(np.abs(forecast - actual) / actual) * 100)

    for model in MODELS:
        assert summary["models"][model]["scored"] == 1
        card = issued_db[C.MODEL_SCORECARD].docs[f"testcity|{model}"]
        assert card["pending"] == [] and card["next_score_at"] is None
        assert card["issuances"] == 1 and card["points"] == 24
        doc = issued_db[C.MODEL_OUTPUTS].docs[
            f"testcity|{model}|city|day-ahead|{DA_ISSUED:%Y-%m-%dT%H:%M}Z"]
        p10, p50, p90 = (np.asarray(doc[q]) for q in ("p10", "p50", "p90"))
        assert card["mape"] == pytest.approx(pct(p50), abs=1e-3)
        assert card["baseline_mape"] == pytest.approx(pct(expected["naive168"]), abs=1e-3)
        assert card["naive24_mape"] == pytest.approx(pct(expected["naive24"]), abs=1e-3)
        assert card["eia_df_mape"] == pytest.approx(pct(expected["eia_df"]), abs=1e-3)
        assert card["mape_same_points"] == card["mape"]  # DF exists for every hour here
        assert card["coverage_p10_p90"] == pytest.approx(
            np.mean((actual >= p10) & (actual <= p90)) * 100, abs=1e-3)
        assert card["rmse"] == pytest.approx(np.sqrt(np.mean((p50 - actual) ** 2)), abs=1e-3)
        assert card["skill_vs_baseline"] == pytest.approx(1 - card["mape"] / card[
            "baseline_mape"], abs=1e-3)
        [entry] = card["scored"]
        assert entry["issued_at"] == DA_ISSUED and entry["target_start"] == DA_START
        assert entry["model_version"] == doc["model_version"] == card["model_version"]
    again = score_city(issued_db, trained_set.city, SCORABLE + timedelta(hours=1))
    assert all(r["scored"] == 0 for r in again["models"].values())  # nothing scored twice
    gone = score_city(issued_db, trained_set.city, DA_ISSUED + WINDOW + timedelta(hours=1))
    card = issued_db[C.MODEL_SCORECARD].docs["testcity|gbm"]
    assert gone["models"]["gbm"]["mape"] is None and card["issuances"] == 0  # out of the window


def test_an_issuance_waits_while_an_actual_is_missing(trained_set, issued_db) -> None:
    issued_db[C.CITY_DAY].docs.update(
        _grid_days(trained_set, drop=DA_START + timedelta(hours=20)))
    summary = score_city(issued_db, trained_set.city, SCORABLE)
    assert summary["models"]["tft"] == {"scored": 0, "pending": 1, "mape": None,
                                        "eia_df_mape": None}
    assert issued_db[C.MODEL_SCORECARD].docs["testcity|tft"]["next_score_at"] == SCORABLE
