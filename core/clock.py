"""Time helpers shared by every layer. City Live computes in UTC and shows local time only in
the UI; a naive datetime is a bug, so it is refused rather than guessed."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

HOUR = pd.Timedelta(hours=1)


def floor_hour(ts: datetime | pd.Timestamp) -> pd.Timestamp:
    """The UTC hour that contains `ts` (microsecond unit, so it aligns with stored frames)."""
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        raise ValueError("naive datetime; use timezone-aware UTC datetimes")
    return stamp.tz_convert("UTC").floor("h").as_unit("us")
