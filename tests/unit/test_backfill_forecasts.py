"""The backfill's simulated weather forecasts (pipeline.cycle.backfill_forecasts): one stored
document per hour of history, readable as the forecast matrix the models train on."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from core.catalog import get_city
from core.settings import Settings
from core.vocabulary import C
from ingest.simulator.clock import time_grid
from ingest.simulator.forecast import city_forecast
from ingest.simulator.world import CityWorld
from pipeline.cycle import Services, backfill_forecasts
from pipeline.forecasts import decode_zone_temperatures, load_forecast_matrix
from tests.unit.processing.fake_db import FakeDb

NOW = datetime(2026, 11, 28, 15, 7, tzinfo=UTC)
NYC = get_city("nyc")


def test_every_hour_of_history_gets_its_issued_forecast():
    db = FakeDb()
    svc = Services(settings=Settings(_env_file=None), db=db, producer=None, http=None,
                   catalog={"nyc": NYC})
    start = datetime(2026, 11, 25, 15, tzinfo=UTC)
    began = time.perf_counter()
    written = backfill_forecasts(svc, NYC, start, NOW)
    seconds = time.perf_counter() - began
    assert written == 3 * 24  # issue hours [start, 15:00); the cycle itself issues 15:00
    docs = db[C.WEATHER_FORECASTS].docs
    assert min(docs) == "nyc|2026-11-25T15" and max(docs) == "nyc|2026-11-28T14"
    assert {d["bucket_day"] for d in docs.values()} == {"2026-11-25", "2026-11-26",
                                                        "2026-11-27", "2026-11-28"}
    [run] = db[C.PIPELINE_RUNS].docs.values()
    assert run["ok"] and run["records"] == 72 and run["source"] == "weather_forecast"

    index, matrix = load_forecast_matrix(db, "nyc", start, datetime(2026, 11, 28, 16,
                                                                    tzinfo=UTC))
    assert len(index) == 73 and np.isnan(matrix[-1]).all()  # 15:00: not the backfill's
    assert not np.isnan(matrix[:-1]).any()
    # row i, lead j forecasts the hour index[i] + j: its error against the simulator's actual
    # city temperature grows with the lead
    world = CityWorld(NYC)
    hours = list(pd.date_range(start, periods=72 + 48, freq="h").to_pydatetime())
    actual = city_forecast(world, world.weather(time_grid(hours, NYC.timezone)).temperature_c)
    error = np.abs(matrix[:-1] - actual[np.arange(72)[:, None] + np.arange(48)[None, :]])
    assert error[:, 0].mean() < 1.5 < error[:, 40:].mean()
    zones = decode_zone_temperatures(docs["nyc|2026-11-27T00"])
    assert zones.shape == (len(NYC.zones), 48) and np.isfinite(zones).all()
    print(f"\nbackfill forecasts: {written} documents in {seconds:.2f} s")


def test_a_second_backfill_leaves_the_stored_forecasts_alone():
    db = FakeDb()
    svc = Services(settings=Settings(_env_file=None), db=db, producer=None, http=None,
                   catalog={"nyc": NYC})
    start = NOW - timedelta(hours=5)
    backfill_forecasts(svc, NYC, start, NOW)
    first = {k: dict(v) for k, v in db[C.WEATHER_FORECASTS].docs.items()}
    backfill_forecasts(svc, NYC, start, NOW + timedelta(minutes=20))  # ingested later
    assert db[C.WEATHER_FORECASTS].docs == first
