"""The city's grid in city_day: from raw power records, through the backfill and the scheduled
pass, into stored history and back out with load_grid_frame."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from core.catalog import City
from core.subregions import series_ids
from core.vocabulary import C
from ingest.simulator import simulate
from pipeline.history import GRID_COLUMNS, load_grid_frame, read_city_day
from pipeline.processing.grid import grid_frame
from pipeline.processing.job import clear_history_cache, process_city, process_history
from tests.unit.processing.factories import T0, power, simulated_raw, toy_city
from tests.unit.processing.fake_db import FakeDb

H = timedelta(hours=1)


def nyc_like() -> City:
    """The toy city placed in NYC's subregion: its demand is the ZONJ series."""
    return toy_city().model_copy(update={"eia_subba": "ZONJ"})


def _power(city: City, start, end) -> list[dict]:
    return simulate("power", city, start, end, end)


@pytest.fixture(autouse=True)
def _fresh_history_cache() -> None:
    clear_history_cache()


def test_one_row_per_series_and_hour_with_the_records_values() -> None:
    city = nyc_like()
    records = _power(city, T0, T0 + 6 * H)
    frame = grid_frame(records, city)
    assert list(frame.columns) == list(GRID_COLUMNS)
    assert list(dict.fromkeys(frame["series"])) == series_ids(city)  # ZONJ first
    assert len(frame) == 6 * len(series_ids(city))
    first = records[0]
    row = frame[(frame["series"] == "ZONK") & (frame["ts"] == pd.Timestamp(T0))].iloc[0]
    assert row["demand_mw"] == pytest.approx(first["series_mw"]["ZONK"])
    assert row["ba_demand_mw"] == pytest.approx(first["ba_demand_mw"])
    assert row["ba_forecast_mw"] == pytest.approx(first["ba_forecast_mw"])


def test_sub_hourly_records_are_averaged_within_the_hour() -> None:
    city = nyc_like()
    live = _power(city, T0 + 2 * H, T0 + 3 * H)  # a live window: every 15 minutes
    assert len({r["observed_at"] for r in live}) == 4
    frame = grid_frame(live, city)
    own = frame[frame["series"] == "ZONJ"]
    assert len(own) == 1
    mean = np.mean([r["city_demand_mw"] for r in live])
    assert own["demand_mw"].iloc[0] == pytest.approx(mean)


def test_records_before_subregions_give_the_ba_values() -> None:
    city = toy_city()  # no subregion: one series, CITY
    records = [{**power(z.zone_id, T0, ba_demand_mw=1000.0, ba_forecast_mw=1100.0),
                "city_id": "toy"} for z in city.zones]
    records.append({**power("z01", T0, ba_demand_mw=5.0), "city_id": "elsewhere"})
    frame = grid_frame(records, city)
    assert frame["series"].tolist() == ["CITY"] and np.isnan(frame["demand_mw"].iloc[0])
    assert frame["ba_demand_mw"].iloc[0] == 1000.0 and frame["ba_forecast_mw"].iloc[0] == 1100.0
    assert grid_frame([], city).empty


def _raw(city: City, start, end) -> dict[str, list[dict]]:
    raw = simulated_raw(city, start, int((end - start) / H), seed=4, with_power=False)
    raw[C.RAW_POWER] = _power(city, start, end)
    return raw


def test_backfill_then_scheduled_pass_keep_every_grid_hour() -> None:
    city = nyc_like()
    db = FakeDb()
    backfill_end = T0 + timedelta(days=2, hours=12)
    process_history(db, city, _raw(city, T0, backfill_end), T0, backfill_end)
    stored = read_city_day(db, "toy|" + (T0 + timedelta(days=2)).strftime("%Y-%m-%d"))
    assert stored is not None and stored["grid"]["series"] == series_ids(city)

    # a scheduled pass later that day sees only hours 14..20 of it (the feed had a gap)
    now = T0 + timedelta(days=2, hours=20, minutes=5)
    live_start = T0 + timedelta(days=2, hours=14)
    raw = _raw(city, live_start, now)
    raw[C.RAW_POWER] = [r for r in raw[C.RAW_POWER] if r["observed_at"].minute == 0]
    process_city(db, city, now, raw=raw)

    frame = load_grid_frame(db, city.city_id, T0, T0 + timedelta(days=3))
    own = frame[frame["series"] == "ZONJ"].set_index("ts")["demand_mw"]
    hours = pd.date_range(T0, periods=72, freq="h", tz="UTC")
    have = own.reindex(hours).notna().to_numpy()
    expected = np.zeros(72, dtype=bool)
    expected[:60] = True  # the backfill
    expected[62:69] = True  # the scheduled pass
    np.testing.assert_array_equal(have, expected)
    reference = grid_frame(_power(city, T0, now), city).set_index(["series", "ts"])
    got = frame.dropna(subset=["demand_mw"]).set_index(["series", "ts"])
    pd.testing.assert_frame_equal(got, reference.loc[got.index], check_dtype=False)


def test_the_latest_documents_say_the_zone_demand_is_an_estimate() -> None:
    city = nyc_like()
    db = FakeDb()
    now = T0 + timedelta(hours=30, minutes=2)
    process_city(db, city, now, raw=_raw(city, T0, now))
    latest = db[C.CITY_LATEST].docs["toy"]
    newest = max(_power(city, now - H, now), key=lambda r: r["observed_at"])
    assert latest["subba"] == "ZONJ" and latest["demand_method"] == "estimate"
    assert latest["city_demand_mw"] == newest["city_demand_mw"]
    zones = list(db[C.ZONE_LATEST].docs.values())
    assert zones and all(z["demand_method"] == "estimate" for z in zones)
    assert sum(z["metrics"]["demand_mw"]["value"] for z in zones) == pytest.approx(
        latest["city_demand_mw"], abs=0.01)
