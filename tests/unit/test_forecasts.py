"""pipeline.forecasts: issued forecasts as a matrix F[issue hour, lead], read by day bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from core.storage import upsert_many
from core.vocabulary import FORECAST_HOURS, C
from ingest.weather_forecast import forecast_document, forecast_record
from pipeline.forecasts import (
    forecast_matrix,
    load_forecast_docs,
    load_forecast_matrix,
)
from tests.unit.processing.fake_db import FakeDb

START = datetime(2026, 11, 28, 22, tzinfo=UTC)
END = datetime(2026, 11, 29, 3, tzinfo=UTC)  # 5 issue hours, over two UTC days


def doc(issued: datetime, city_id: str = "nyc", missing_lead: int | None = None) -> dict:
    """An issuance whose city value at lead j is issue hour + j / 100 (issue hours 22..02
    give 22.00, 23.00, 0.00, ...), so a row says which issuance and lead it came from."""
    values = issued.hour + np.arange(FORECAST_HOURS)[None, :] / 100.0 + np.zeros((2, 1))
    if missing_lead is not None:
        values[:, missing_lead] = np.nan
    return forecast_document(forecast_record(
        city_id=city_id, source="simulated", issued_at=issued, ingested_at=issued,
        zone_ids=["z01", "z02"], zone_values=values, weights=[1.0, 1.0]))


def hour(h: int) -> datetime:
    return START + timedelta(hours=h)


def test_missing_issuances_are_nan_rows_and_leads_are_aligned():
    docs = [doc(hour(0)), doc(hour(2), missing_lead=5), doc(hour(4))]
    index, matrix = forecast_matrix(docs, START, END)
    assert list(index) == [pd.Timestamp(hour(h)) for h in range(5)]
    assert matrix.shape == (5, FORECAST_HOURS)
    assert np.isnan(matrix[1]).all() and np.isnan(matrix[3]).all()  # no issuance at 23, 01
    assert matrix[0, 0] == 22.0 and matrix[0, 47] == pytest.approx(22.47)
    assert matrix[2, 3] == pytest.approx(0.03) and np.isnan(matrix[2, 5])
    assert matrix[4, 10] == pytest.approx(2.10)


def test_documents_outside_the_range_are_ignored_and_the_order_does_not_matter():
    docs = [doc(hour(4)), doc(hour(-1)), doc(hour(5)), doc(hour(0))]
    index, matrix = forecast_matrix(docs, START, END)
    assert len(index) == 5 and (~np.isnan(matrix[:, 0])).sum() == 2


def test_an_empty_range_gives_an_empty_matrix():
    index, matrix = forecast_matrix([doc(hour(0))], START, START)
    assert len(index) == 0 and matrix.shape == (0, FORECAST_HOURS)


def test_the_loader_reads_one_equality_query_per_day_on_the_bucket():
    db = FakeDb()
    upsert_many(db, C.WEATHER_FORECASTS, [doc(hour(h)) for h in (0, 1, 3)]
                + [doc(hour(1), city_id="sf")])
    index, matrix = load_forecast_matrix(db, "nyc", START, END)
    assert (~np.isnan(matrix[:, 0])).tolist() == [True, True, False, True, False]
    finds = db[C.WEATHER_FORECASTS].finds
    assert finds == [{"bucket_day": "2026-11-28", "city_id": "nyc"},
                     {"bucket_day": "2026-11-29", "city_id": "nyc"}]
    assert all(not isinstance(v, dict) for q in finds for v in q.values())  # no ranges

    whole = load_forecast_docs(db, "nyc", START, END)
    assert [d["issued_at"] for d in whole] == [hour(0), hour(1), hour(3)]
