"""Per-city climate normals and per-balancing-authority load profiles (plain data).

Monthly values are 1991-2020 NOAA-style normals rounded to what matters for a believable
simulation (NYC Central Park, Chicago O'Hare, San Francisco downtown, Boston Logan). A city not
listed here gets a rough mid-latitude climate from its latitude; a respondent not listed gets a
generic 20 GW authority.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from core.catalog import City, own_load_mw
from ingest.simulator.clock import YEAR_DAYS

Monthly = tuple[float, float, float, float, float, float, float, float, float, float, float, float]
_MID_MONTH_DOY = np.array([15.5 + 30.44 * m for m in range(12)])


@dataclass(frozen=True)
class Climate:
    """What the weather of one city looks like on average, month by month."""

    temp_c: Monthly            # monthly mean temperature
    diurnal_range_c: Monthly   # mean daily max - min
    front_sd_c: Monthly        # day-to-day (synoptic) temperature variability
    rh_pct: Monthly            # mean relative humidity
    wind_kmh: Monthly          # mean wind speed
    wet_frac: Monthly          # fraction of hours with measurable precipitation
    rain_mm_h: float = 1.2     # typical intensity of a wet hour
    pm25_ug: float = 7.0       # regional PM2.5 background


@dataclass(frozen=True)
class BalancingArea:
    """Load of one EIA respondent: magnitude and response to (city-driven) temperature."""

    base_mw: float              # mild-weather daily mean load
    cool_per_c: float           # fractional load increase per degC above balance
    heat_per_c: float           # fractional load increase per degC below balance
    balance_c: float = 18.0
    summer_offset_c: float = 0.0  # BA-average minus city temperature in mid-summer
    winter_offset_c: float = 0.0  # ... and in mid-winter (a coastal city vs its hinterland)


CLIMATES: dict[str, Climate] = {
    "nyc": Climate(
        temp_c=(0.9, 2.2, 6.0, 12.1, 17.3, 22.2, 25.3, 24.5, 20.7, 14.4, 8.9, 3.5),
        diurnal_range_c=(6.5, 7.0, 7.5, 8.3, 8.5, 8.3, 8.2, 7.8, 7.7, 7.6, 7.0, 6.4),
        front_sd_c=(4.5, 4.5, 4.2, 3.6, 3.0, 2.6, 2.2, 2.2, 2.6, 3.2, 3.8, 4.4),
        rh_pct=(61, 60, 58, 56, 62, 64, 65, 67, 68, 66, 64, 63),
        wind_kmh=(17, 17, 18, 16, 14, 13, 12, 12, 13, 14, 15, 16),
        wet_frac=(0.09, 0.09, 0.10, 0.10, 0.09, 0.08, 0.07, 0.07, 0.07, 0.08, 0.09, 0.10),
        rain_mm_h=1.3, pm25_ug=7.5,
    ),
    "chicago": Climate(
        temp_c=(-3.8, -1.6, 3.9, 9.8, 15.9, 21.4, 24.1, 23.3, 19.0, 12.1, 5.4, -0.6),
        diurnal_range_c=(8.0, 8.5, 9.0, 10.5, 11.0, 11.0, 10.5, 10.0, 10.5, 10.5, 8.5, 7.5),
        front_sd_c=(6.0, 6.0, 5.5, 4.5, 3.8, 3.0, 2.6, 2.6, 3.2, 4.2, 5.0, 5.8),
        rh_pct=(73, 72, 70, 66, 65, 67, 69, 72, 72, 70, 74, 76),
        wind_kmh=(19, 18, 19, 19, 17, 15, 13, 13, 14, 16, 18, 18),
        wet_frac=(0.09, 0.09, 0.10, 0.11, 0.10, 0.08, 0.07, 0.07, 0.07, 0.08, 0.09, 0.09),
        rain_mm_h=1.5, pm25_ug=9.0,
    ),
    "sf": Climate(
        temp_c=(10.6, 11.9, 12.7, 13.5, 14.7, 15.8, 16.3, 16.9, 17.8, 16.9, 13.7, 10.8),
        diurnal_range_c=(6.5, 7.0, 7.5, 8.0, 8.0, 8.0, 7.5, 7.5, 8.5, 8.5, 7.5, 6.5),
        front_sd_c=(1.8, 1.8, 1.8, 2.0, 2.0, 2.0, 1.6, 1.6, 2.4, 2.4, 2.0, 1.8),
        rh_pct=(76, 75, 73, 71, 72, 74, 77, 78, 74, 71, 72, 76),
        wind_kmh=(11, 13, 16, 19, 21, 22, 21, 19, 16, 13, 11, 11),
        wet_frac=(0.12, 0.12, 0.09, 0.05, 0.02, 0.006, 0.002, 0.003, 0.01, 0.03, 0.07, 0.11),
        rain_mm_h=1.3, pm25_ug=7.0,
    ),
    "boston": Climate(
        temp_c=(-1.2, -0.1, 3.5, 9.2, 14.7, 20.0, 23.4, 22.6, 18.7, 12.7, 7.1, 2.1),
        diurnal_range_c=(7.5, 7.5, 7.5, 8.0, 8.5, 8.5, 8.5, 8.0, 8.0, 8.0, 7.5, 7.0),
        front_sd_c=(4.8, 4.8, 4.4, 3.8, 3.2, 2.8, 2.4, 2.4, 2.8, 3.4, 4.0, 4.6),
        rh_pct=(62, 61, 62, 62, 67, 68, 68, 70, 71, 68, 66, 64),
        wind_kmh=(21, 21, 21, 20, 18, 17, 16, 16, 17, 18, 19, 20),
        wet_frac=(0.10, 0.10, 0.11, 0.10, 0.10, 0.08, 0.07, 0.07, 0.07, 0.09, 0.10, 0.10),
        rain_mm_h=1.3, pm25_ug=6.5,
    ),
}

BALANCING_AREAS: dict[str, BalancingArea] = {
    "NYIS": BalancingArea(base_mw=16_000, cool_per_c=0.050, heat_per_c=0.010),
    "PJM": BalancingArea(base_mw=84_000, cool_per_c=0.042, heat_per_c=0.013),
    "CISO": BalancingArea(base_mw=24_000, cool_per_c=0.055, heat_per_c=0.006,
                          summer_offset_c=6.5, winter_offset_c=-1.5),
    "ISNE": BalancingArea(base_mw=12_500, cool_per_c=0.050, heat_per_c=0.011),
    "ERCO": BalancingArea(base_mw=45_000, cool_per_c=0.045, heat_per_c=0.018),
    "MISO": BalancingArea(base_mw=72_000, cool_per_c=0.040, heat_per_c=0.011),
}
DEFAULT_BA = BalancingArea(base_mw=20_000, cool_per_c=0.045, heat_per_c=0.011)


def seasonal(values: Monthly, doy: np.ndarray) -> np.ndarray:
    """Monthly normals -> a continuous value for each day of year (periodic interpolation)."""
    return np.interp(np.asarray(doy), _MID_MONTH_DOY, np.asarray(values, dtype=float),
                     period=YEAR_DAYS)


def summer_weight(doy: np.ndarray) -> np.ndarray:
    """0 in mid-January, 1 in mid-July (northern hemisphere), smooth in between."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * (np.asarray(doy) - 20.0) / YEAR_DAYS)


def _latitude_climate(lat: float) -> Climate:
    """A rough continental climate for a city we hold no normals for (south of the equator
    the seasons flip: coldest in July)."""
    north = 1.0 if lat >= 0 else -1.0
    lat = abs(lat)
    mean, amp = 33.0 - 0.5 * lat, max(2.0, 0.5 * (lat - 15.0))
    phase = [north * math.cos(2.0 * math.pi * (d - 20.0) / YEAR_DAYS) for d in _MID_MONTH_DOY]
    temps = tuple(round(mean - amp * p, 1) for p in phase)
    sd = tuple(round(3.0 + 1.2 * p, 1) for p in phase)
    return Climate(temp_c=temps, diurnal_range_c=(8.0,) * 12, front_sd_c=sd,  # type: ignore[arg-type]
                   rh_pct=(65.0,) * 12, wind_kmh=(15.0,) * 12, wet_frac=(0.08,) * 12)


def climate_for(city: City) -> Climate:
    if city.city_id in CLIMATES:
        return CLIMATES[city.city_id]
    centre = (city.bounds.min_lat + city.bounds.max_lat) / 2.0
    return _latitude_climate(centre)


def balancing_area(respondent: str) -> BalancingArea:
    return BALANCING_AREAS.get(respondent.upper(), DEFAULT_BA)


def city_balancing_area(city: City) -> BalancingArea:
    """The city's BA; a city outside any EIA BA is its own, sized by its population."""
    if city.eia_respondent:
        return balancing_area(city.eia_respondent)
    return replace(DEFAULT_BA, base_mw=own_load_mw(city))
