from datetime import UTC, datetime

import numpy as np
import pandas as pd

from pipeline.history import (
    GRID_COLUMNS,
    HOURLY_METRICS,
    city_days_to_frame,
    decode_city_day,
    empty_grid,
    encode_city_day,
    frame_to_city_days,
    grid_extras,
    grid_frame_from_days,
    merge_grid,
)


def frame(days: int = 2, zones: tuple[str, ...] = ("z01", "z02")) -> pd.DataFrame:
    ts = pd.date_range(datetime(2026, 11, 26, tzinfo=UTC), periods=24 * days, freq="h")
    rng = np.random.default_rng(1)
    parts = []
    for z in zones:
        part = pd.DataFrame({"city_id": "nyc", "zone_id": z, "ts": ts})
        for m in HOURLY_METRICS:
            part[m] = rng.normal(100, 10, len(ts)).round(3)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.loc[5, "us_aqi"] = np.nan
    return out


def test_frame_round_trips_through_city_day_docs():
    f = frame()
    docs = frame_to_city_days(f)
    assert [d["_id"] for d in docs] == ["nyc|2026-11-26", "nyc|2026-11-27"]
    assert docs[0]["zones"]["z01"]["us_aqi"][5] is None
    back = city_days_to_frame(docs)
    pd.testing.assert_frame_equal(back[list(f.columns)], f.sort_values(["zone_id", "ts"])
                                  .reset_index(drop=True), check_dtype=False)


def test_packed_storage_round_trips_exactly_and_keeps_missing_values():
    doc = frame_to_city_days(frame(days=1))[0]
    stored = encode_city_day(doc)
    assert "zones" not in stored and stored["zone_ids"] == ["z01", "z02"]
    assert len(stored["values"]) == 2 * len(HOURLY_METRICS) * 24 * 8
    assert decode_city_day(stored) == doc
    assert decode_city_day(doc) is doc  # logical docs pass through


def test_cut_to_window():
    docs = frame_to_city_days(frame())
    start = datetime(2026, 11, 26, 12, tzinfo=UTC)
    end = datetime(2026, 11, 27, 6, tzinfo=UTC)
    cut = city_days_to_frame(docs, start, end)
    assert cut["ts"].min() == pd.Timestamp(start) and cut["ts"].max() < pd.Timestamp(end)
    assert len(cut) == 2 * 18


def grid_frame_of(days: int = 2, series: tuple[str, ...] = ("ZONJ", "ZONK")) -> pd.DataFrame:
    """Hourly grid rows (GRID_COLUMNS) with a few missing values."""
    ts = pd.date_range(datetime(2026, 11, 26, tzinfo=UTC), periods=24 * days, freq="h")
    rng = np.random.default_rng(2)
    ba = rng.normal(18_000, 500, len(ts)).round(1)
    parts = [pd.DataFrame({"series": code, "ts": ts,
                           "demand_mw": rng.normal(5_000 / (i + 1), 100, len(ts)).round(1),
                           "ba_demand_mw": ba, "ba_forecast_mw": ba + 150.0})
             for i, code in enumerate(series)]
    out = pd.concat(parts, ignore_index=True)
    out.loc[3, "demand_mw"] = np.nan
    return out


def test_grid_extras_round_trip_through_city_day_docs_and_packed_storage():
    grid = grid_frame_of()
    extras = grid_extras(grid, "nyc")
    assert list(extras) == ["nyc|2026-11-26", "nyc|2026-11-27"]
    docs = frame_to_city_days(frame(), extras)
    day = docs[0]["grid"]
    assert day["series"] == ["ZONJ", "ZONK"]  # the city's own first, as the rows came
    assert day["demand_mw"]["ZONJ"][3] is None and len(day["ba_forecast_mw"]) == 24
    stored = [encode_city_day(d) for d in docs]
    assert set(stored[0]["grid"]) == {"series", "values"}  # packed like the zones
    back = [decode_city_day(s) for s in stored]
    assert back == docs
    out = grid_frame_from_days(back)
    assert list(out.columns) == list(GRID_COLUMNS) and str(out["ts"].dt.tz) == "UTC"
    key = ["series", "ts"]
    pd.testing.assert_frame_equal(out.sort_values(key).reset_index(drop=True),
                                  grid.sort_values(key).reset_index(drop=True),
                                  check_dtype=False)


def test_grid_frame_is_cut_to_the_window_and_days_without_a_grid_have_none():
    docs = frame_to_city_days(frame(), grid_extras(grid_frame_of(days=1), "nyc"))
    assert docs[1]["grid"] == empty_grid()
    start = datetime(2026, 11, 26, 20, tzinfo=UTC)
    out = grid_frame_from_days(docs, start, datetime(2026, 11, 28, tzinfo=UTC))
    assert len(out) == 2 * 4 and out["ts"].min() == pd.Timestamp(start)
    old = {k: v for k, v in encode_city_day(docs[0]).items() if k != "grid"}  # before grids
    assert decode_city_day(old)["grid"] == empty_grid()
    assert grid_frame_from_days([decode_city_day(old)]).empty


def test_merging_a_grid_keeps_the_hours_the_new_one_did_not_touch():
    stored = grid_extras(grid_frame_of(days=1), "nyc")["nyc|2026-11-26"]["grid"]
    fresh = empty_grid()
    fresh["series"] = ["ZONJ", "ZONL"]
    fresh["demand_mw"] = {"ZONJ": [None] * 20 + [1.0] * 4, "ZONL": [2.0] * 24}
    fresh["ba_demand_mw"] = [None] * 20 + [3.0] * 4
    merged = merge_grid(stored, fresh, touched=list(range(18, 24)))
    assert merged["series"] == ["ZONJ", "ZONL", "ZONK"]
    assert merged["demand_mw"]["ZONJ"] == stored["demand_mw"]["ZONJ"][:20] + [1.0] * 4
    assert merged["demand_mw"]["ZONL"] == [None] * 18 + [2.0] * 6
    assert merged["demand_mw"]["ZONK"] == stored["demand_mw"]["ZONK"]
    assert merged["ba_demand_mw"] == stored["ba_demand_mw"][:20] + [3.0] * 4
    assert merged["ba_forecast_mw"] == stored["ba_forecast_mw"]
    assert merge_grid(None, fresh, []) is fresh
