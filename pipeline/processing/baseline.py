"""Per-zone yardsticks from recent history: the zone's high-day peak and 311 volume.

Rules judge a zone against itself (a residential zone at 60 MW can be as stressed as a
business district at 400 MW), so they need what is normal for that zone.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

PROFILE_DAYS = 28
PEAK_MIN_HOURS = 18  # observed hours a day needs before its maximum counts as its peak
PEAK_MIN_DAYS = 3
PEAK_QUANTILE = 0.9  # a high day's peak, not the average day's: peaks are reached daily
INCIDENT_MIN_HOURS = 72
MIN_DAILY_INCIDENTS = 1.0  # keeps a very quiet zone's ratio from exploding on one complaint
PROFILE_COLUMNS = ["high_day_peak_mw", "typical_daily_incidents"]


def zone_profiles(history: pd.DataFrame, as_of: datetime | pd.Timestamp,
                  days: int = PROFILE_DAYS) -> pd.DataFrame:
    """Hourly zone history -> per zone_id high_day_peak_mw and typical_daily_incidents.

    Uses the `days` before `as_of`. high_day_peak_mw is the PEAK_QUANTILE quantile of the daily
    maxima of observed demand (days with at least PEAK_MIN_HOURS hours observed): what a high
    day's peak looks like, robust to a single freak hour. typical_daily_incidents is the mean
    hourly 311 count x 24. NaN where there is not enough history to say.
    """
    end = pd.Timestamp(as_of)
    recent = history[(history["ts"] >= end - pd.Timedelta(days=days)) & (history["ts"] < end)]
    if recent.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS, index=pd.Index([], name="zone_id"))
    observed = recent["demand_mw"]
    if "demand_estimated" in recent.columns:
        observed = observed.where(~recent["demand_estimated"].astype(bool))
    daily = (recent.assign(observed=observed, day=recent["ts"].dt.floor("D"))
             .groupby(["zone_id", "day"])["observed"].agg(["max", "count"]))
    full_days = daily[daily["count"] >= PEAK_MIN_HOURS]
    by_zone = full_days.groupby(level="zone_id")["max"]
    typical_peak = by_zone.quantile(PEAK_QUANTILE).where(by_zone.count() >= PEAK_MIN_DAYS)
    counts = recent.groupby("zone_id")["incident_count"].agg(["mean", "count"])
    typical_incidents = np.maximum(counts["mean"] * 24, MIN_DAILY_INCIDENTS).where(
        counts["count"] >= INCIDENT_MIN_HOURS)
    zones = pd.Index(recent["zone_id"].unique(), name="zone_id")
    return pd.DataFrame({
        "high_day_peak_mw": typical_peak.reindex(zones),
        "typical_daily_incidents": typical_incidents.reindex(zones),
    }, index=zones).astype("float64")
