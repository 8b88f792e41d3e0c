"""Zone demand: apportioned EIA demand when we have it, else a flagged temperature estimate.

The estimate is the seed's "zone average demand x temperature adjustment": the zone's average
demand at this hour of day (from observed history) scaled by how far the temperature is from
the temperatures that average was observed at. Heating and cooling load grow roughly linearly
with degrees below / above a comfort point, so the adjustment is a degree-day factor. Without
any history the zone's share of its balancing authority's typical load stands in for the
average. Every estimated value carries demand_estimated=True; it never passes as metered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.catalog import City, own_load_mw
from pipeline.processing.raw_frames import zone_shares

COMFORT_C = 18.0  # degree-day base temperature (the common 65 °F)
COOLING_PER_C = 0.03  # +3 % load per °C above the comfort point (air conditioning)
HEATING_PER_C = 0.012  # +1.2 % per °C below it (mostly non-electric heating in these cities)
PROFILE_MIN_SAMPLES = 3  # observed hours needed before a zone-hour average is trusted
# Typical (annual average) load of each balancing authority in MW, from EIA-930 annual energy:
# used only when a zone has no observed demand history at all.
NOMINAL_BA_LOAD_MW = {"NYIS": 17_000.0, "PJM": 88_000.0, "CISO": 25_000.0, "ISNE": 13_500.0,
                      "ERCO": 49_000.0, "MISO": 75_000.0}


def temperature_factor(temperature_c: np.ndarray | pd.Series | float) -> np.ndarray:
    """Relative load at a temperature: 1 at the comfort point, rising either side of it."""
    t = np.asarray(temperature_c, dtype="float64")
    return (1.0 + COOLING_PER_C * np.clip(t - COMFORT_C, 0, None)
            + HEATING_PER_C * np.clip(COMFORT_C - t, 0, None))


def demand_profile(history: pd.DataFrame) -> pd.DataFrame:
    """Observed hourly history -> (zone_id, hour of day) average demand and its temperature.

    Only observed demand counts (pass a frame whose demand_mw holds no estimates). Rows:
    avg_demand_mw, ref_temperature_c (NaN when no temperature was seen), samples.
    """
    columns = ["avg_demand_mw", "ref_temperature_c", "samples"]
    if history.empty:
        return pd.DataFrame(columns=columns,
                            index=pd.MultiIndex.from_arrays([[], []], names=["zone_id", "hour"]))
    seen = history[history["demand_mw"].notna()]
    grouped = seen.assign(hour=seen["ts"].dt.hour).groupby(["zone_id", "hour"])
    profile = pd.DataFrame({
        "avg_demand_mw": grouped["demand_mw"].mean(),
        "ref_temperature_c": grouped["temperature_c"].mean(),
        "samples": grouped["demand_mw"].size(),
    })
    return profile[profile["samples"] >= PROFILE_MIN_SAMPLES]


def nominal_zone_demand_mw(city: City) -> dict[str, float]:
    """Each zone's share of its BA's typical load; empty for an unknown BA."""
    load = (NOMINAL_BA_LOAD_MW.get(city.eia_respondent) if city.eia_respondent
            else own_load_mw(city))
    if load is None:
        return {}
    return {zone_id: load * share for zone_id, share in zone_shares(city).items()}


def estimate_demand(frame: pd.DataFrame, profile: pd.DataFrame, city: City) -> pd.DataFrame:
    """Fill missing demand_mw from temperature; add the boolean column demand_estimated.

    `frame` needs zone_id, ts, demand_mw, temperature_c. A row with observed demand keeps it;
    a row without demand and without temperature stays missing.
    """
    out = frame.copy()
    key = pd.MultiIndex.from_arrays([out["zone_id"], out["ts"].dt.hour])
    base = profile["avg_demand_mw"].reindex(key).to_numpy(dtype="float64")
    ref = profile["ref_temperature_c"].reindex(key).to_numpy(dtype="float64")
    nominal = out["zone_id"].map(nominal_zone_demand_mw(city)).to_numpy(dtype="float64")
    no_profile = np.isnan(base)
    base = np.where(no_profile, nominal, base)
    ref = np.where(np.isnan(ref), COMFORT_C, ref)
    temperature = out["temperature_c"].to_numpy(dtype="float64")
    estimate = base * temperature_factor(temperature) / temperature_factor(ref)
    missing = out["demand_mw"].isna().to_numpy()
    use = missing & np.isfinite(estimate)
    out["demand_mw"] = np.where(use, estimate, out["demand_mw"].to_numpy(dtype="float64"))
    out["demand_estimated"] = use
    return out
