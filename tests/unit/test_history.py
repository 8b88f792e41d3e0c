from datetime import UTC, datetime

import numpy as np
import pandas as pd

from pipeline.history import (
    HOURLY_METRICS,
    city_days_to_frame,
    decode_city_day,
    encode_city_day,
    frame_to_city_days,
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
