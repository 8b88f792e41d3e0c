"""Simulated incident_text: 311 service requests as a Poisson process per zone-hour.

The rate scales with zone population (NYC ~100 requests/hour city-wide, modest on purpose),
follows the clock (noise at night, parking by day) and the weather (HEAT/HOT WATER when cold,
sewer and street complaints with rain, street noise in warm weather). An incident is a pure
function of (seed, city, zone, hour, k): its id, time, type and place never depend on the
window asked for. Its status is as of `ingested_at` (what a provider would say at fetch time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from core.geo import nearest_zone_ids
from ingest.simulator.clock import EPOCH, daily_bump, daily_window, hour_starts, time_grid
from ingest.simulator.noise import normal, uniform
from ingest.simulator.records import common_fields
from ingest.simulator.world import CityWorld

RATE_PER_100K_PER_HOUR = 2.8  # NYC catalog (3.6M people in its zones) -> ~100 per hour
JITTER_DEG = 0.0045           # ~500 m scatter around the zone centroid
MAX_PER_ZONE_HOUR = 60


@dataclass(frozen=True)
class Complaint:
    """One 311 complaint type: its share of calls and what makes it more or less common."""

    name: str
    role: str                       # which agency handles it (see AGENCIES)
    descriptors: tuple[str, ...]
    share: float
    profile: str                    # time-of-day profile, see _PROFILES
    resolve_h: float                # median hours to close
    base: float = 1.0               # weather-independent part of the rate
    cold: float = 0.0               # extra per degC below 12
    heat: float = 0.0               # extra per degC above 22
    rain: float = 0.0               # extra per mm/h of rain
    snow: float = 0.0               # extra per mm/h of precipitation below 1 degC
    weekend: float = 0.0            # relative change on Saturday/Sunday


COMPLAINTS: tuple[Complaint, ...] = (
    Complaint("Noise - Residential", "police",
              ("Loud Music/Party", "Banging/Pounding", "Loud Talking"), 0.20, "night", 3.0,
              heat=0.03, weekend=0.5),
    Complaint("HEAT/HOT WATER", "housing", ("ENTIRE BUILDING", "APARTMENT ONLY"), 0.12,
              "morning", 60.0, base=0.02, cold=0.14),
    Complaint("Illegal Parking", "police",
              ("Blocked Hydrant", "Double Parked Blocking Traffic",
               "Posted Parking Sign Violation", "Blocked Sidewalk"), 0.13, "day", 4.0,
              weekend=-0.2),
    Complaint("Blocked Driveway", "police", ("No Access", "Partial Access"), 0.08, "day", 3.0),
    Complaint("Street Condition", "transport",
              ("Pothole", "Cave-in", "Defective Hardware", "Rough, Pitted or Cracked Roads"),
              0.06, "office", 120.0, cold=0.03, rain=0.15, weekend=-0.4),
    Complaint("Noise - Street/Sidewalk", "police", ("Loud Music/Party", "Loud Talking"), 0.06,
              "night", 2.0, base=0.6, heat=0.08, weekend=0.6),
    Complaint("Water System", "water",
              ("Hydrant Running Full (WA4)", "No Water (WNW)", "Leak (Use Comments) (WA2)"),
              0.04, "day", 24.0, heat=0.05, cold=0.03, rain=0.1),
    Complaint("Sanitation Condition", "sanitation",
              ("Street Cond/Dump-Out/Drop-Off", "Garbage or Litter"), 0.04, "day", 72.0,
              heat=0.04),
    Complaint("Noise - Vehicle", "police", ("Car/Truck Music", "Engine Idling", "Car/Truck Horn"),
              0.04, "night", 2.0, heat=0.03, weekend=0.3),
    Complaint("Street Light Condition", "transport",
              ("Street Light Out", "Street Light Cycling", "Lamppost Damaged"), 0.04, "day",
              240.0),
    Complaint("Sewer", "water",
              ("Catch Basin Clogged/Flooding (Use Comments) (SC)",
               "Sewer Backup (Use Comments) (SA)", "Street Flooding (SJ)"), 0.025, "day", 48.0,
              base=0.5, rain=1.2),
    Complaint("Traffic Signal Condition", "transport", ("Controller", "Ped Multiple Lamps"),
              0.02, "day", 12.0, rain=0.3),
    Complaint("UNSANITARY CONDITION", "housing", ("PESTS", "MOLD", "GARBAGE"), 0.04, "office",
              200.0, heat=0.02, weekend=-0.3),
    Complaint("Noise - Commercial", "police", ("Loud Music/Party", "Loud Talking"), 0.03,
              "night", 2.0, weekend=0.8),
    Complaint("Noise", "environment",
              ("Noise: Construction Before/After Hours (NM1)", "Noise: Alarms (NR3)"), 0.03,
              "office", 48.0, weekend=-0.5),
    Complaint("Snow or Ice", "sanitation", ("Snow or Ice Covered Sidewalk", "Street Unplowed"),
              0.03, "day", 36.0, base=0.0, snow=2.0),
    Complaint("Air Quality", "environment",
              ("Air: Smoke, Vehicular (AA4)", "Air: Odor/Fumes, Vehicle Idling (AD3)"), 0.01,
              "day", 72.0),
)

AGENCIES: dict[str, dict[str, str]] = {
    "nyc": {"police": "NYPD", "housing": "HPD", "transport": "DOT", "water": "DEP",
            "sanitation": "DSNY", "environment": "DEP"},
    "chicago": {"police": "CPD", "housing": "DOB", "transport": "CDOT", "water": "DWM",
                "sanitation": "DSS", "environment": "CDPH"},
    "sf": {"police": "SFPD", "housing": "DBI", "transport": "SFMTA", "water": "SFPUC",
           "sanitation": "DPW", "environment": "DPH"},
    "boston": {"police": "BPD", "housing": "ISD", "transport": "BTD", "water": "BWSC",
               "sanitation": "PWD", "environment": "BPHC"},
}


def _profile(local_hour: np.ndarray, name: str) -> np.ndarray:
    if name == "night":
        return (0.35 + 1.6 * daily_bump(local_hour, 23.5, 2.2)
                + 0.4 * daily_window(local_hour, 12.0, 20.0, 1.5))
    if name == "morning":
        return 0.3 + 1.0 * daily_bump(local_hour, 8.0, 3.0) + 0.4 * daily_window(
            local_hour, 7.0, 22.0, 1.0)
    if name == "office":
        return 0.15 + daily_window(local_hour, 7.5, 17.5, 0.8)
    return 0.3 + daily_window(local_hour, 7.0, 21.0, 1.0) + 0.3 * daily_bump(local_hour, 10.0, 2.0)


_DAY = np.linspace(0.0, 24.0, 24 * 12, endpoint=False)
_PROFILE_MEAN = {p: float(_profile(_DAY, p).mean()) for p in ("night", "morning", "office", "day")}


def expected_counts(world: CityWorld, grid: Any) -> np.ndarray:
    """Expected requests per (hour, zone, complaint type): the Poisson rates."""
    w = world.weather(grid)
    temp, rain = w.temperature_c, w.precipitation_mm
    per_zone = RATE_PER_100K_PER_HOUR * world.population[None, :] / 1e5
    out = np.empty((grid.size, len(world.zone_ids), len(COMPLAINTS)))
    for k, c in enumerate(COMPLAINTS):
        weather = (c.base + c.cold * np.maximum(12.0 - temp, 0.0)
                   + c.heat * np.maximum(temp - 22.0, 0.0) + c.rain * rain
                   + c.snow * rain * (temp < 1.0))
        clock = _profile(grid.local_hour, c.profile) / _PROFILE_MEAN[c.profile]
        out[:, :, k] = (per_zone * c.share * np.maximum(weather, 0.0) * clock
                        * (1.0 + c.weekend * grid.weekend))
    return out


def _poisson(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF Poisson draws, vectorised; one uniform per draw keeps it counter-based."""
    count = np.zeros(lam.shape, dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    for k in range(1, MAX_PER_ZONE_HOUR + 1):
        more = u > cdf
        if not more.any():
            break
        count += more
        p = p * lam / k
        cdf = cdf + p
    return count


def _place(world: CityWorld, zone_ix: np.ndarray, n_lat: np.ndarray,
           n_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scatter points near their zone centroid, pulled back until that zone is the nearest
    one inside the city's bounds (how the consumer maps a point to a zone)."""
    zones = world.city.zones
    c_lat = np.array([z.lat for z in zones])[zone_ix]
    c_lon = np.array([z.lon for z in zones])[zone_ix]
    d_lat = JITTER_DEG * n_lat
    d_lon = JITTER_DEG * n_lon / np.cos(np.radians(c_lat))
    want = np.array(world.zone_ids, dtype=object)[zone_ix]
    lat, lon = np.round(c_lat + d_lat, 6), np.round(c_lon + d_lon, 6)
    todo = np.flatnonzero(nearest_zone_ids(world.city, lat, lon) != want)
    for _ in range(4):  # pull the stray points 60% closer each round (re-checking only those)
        if todo.size == 0:
            return lat, lon
        d_lat[todo] *= 0.4
        d_lon[todo] *= 0.4
        lat[todo] = np.round(c_lat[todo] + d_lat[todo], 6)
        lon[todo] = np.round(c_lon[todo] + d_lon[todo], 6)
        todo = todo[nearest_zone_ids(world.city, lat[todo], lon[todo]) != want[todo]]
    lat[todo], lon[todo] = c_lat[todo], c_lon[todo]
    return lat, lon


def generate(world: CityWorld, start: datetime, end: datetime,
             ingested_at: datetime) -> list[dict[str, Any]]:
    hours = hour_starts(start, end)
    if not hours:
        return []
    grid = time_grid(hours, world.city.timezone)
    rates = expected_counts(world, grid)
    hour_ix = np.rint(grid.epoch_h).astype(np.int64)                         # (T, 1)
    keys = world.zone_keys("311")                                            # (1, Z)
    counts = _poisson(rates.sum(axis=2), uniform(keys, hour_ix, -1))
    cell = np.repeat(np.arange(counts.size), counts.ravel())
    if cell.size == 0:
        return []
    t_ix, z_ix = np.divmod(cell, len(world.zone_ids))
    k = np.arange(cell.size) - np.repeat(np.cumsum(counts.ravel()) - counts.ravel(),
                                         counts.ravel())
    inc_key, inc_hour = keys[0, z_ix], hour_ix[t_ix, 0]
    u_time, u_type, u_desc = (uniform(inc_key, inc_hour, k, f) for f in range(3))
    offset_s = np.floor(u_time * 3600.0).astype(np.int64)
    created_s = inc_hour * 3600 + offset_s
    lo = (start - EPOCH).total_seconds()
    hi = (end - EPOCH).total_seconds()
    inside = (created_s >= lo) & (created_s < hi)
    if not inside.any():
        return []
    t_ix, z_ix, k, inc_key, inc_hour, u_type, u_desc, offset_s = (
        a[inside] for a in (t_ix, z_ix, k, inc_key, inc_hour, u_type, u_desc, offset_s))

    cum = np.cumsum(rates[t_ix, z_ix, :], axis=1)
    type_ix = np.minimum((cum <= (u_type * cum[:, -1])[:, None]).sum(axis=1),
                         len(COMPLAINTS) - 1)
    n_desc = np.array([len(c.descriptors) for c in COMPLAINTS])[type_ix]
    desc_ix = np.floor(u_desc * n_desc).astype(np.int64)
    lat, lon = _place(world, z_ix, normal(inc_key, inc_hour, k, 4), normal(inc_key, inc_hour, k, 5))

    resolve_h = (np.array([c.resolve_h for c in COMPLAINTS])[type_ix]
                 * np.exp(0.9 * normal(inc_key, inc_hour, k, 3)))
    age_h = ((ingested_at - EPOCH).total_seconds() - (inc_hour * 3600 + offset_s)) / 3600.0
    status = np.where(age_h >= resolve_h, "Closed",
                      np.where(age_h >= 0.15 * resolve_h, "In Progress", "Open"))

    agencies = AGENCIES.get(world.city.city_id, AGENCIES["nyc"])
    hour_dt = {h: EPOCH + timedelta(hours=int(h)) for h in np.unique(inc_hour).tolist()}
    hour_tag = {h: dt.strftime("%Y%m%d%H") for h, dt in hour_dt.items()}
    city_id = world.city.city_id
    base = common_fields(city_id, ingested_at)
    out = []
    for z, h, kk, ty, d, off, st, la, lo_ in zip(
            z_ix.tolist(), inc_hour.tolist(), k.tolist(), type_ix.tolist(), desc_ix.tolist(),
            offset_s.tolist(), status.tolist(), lat.tolist(), lon.tolist(), strict=True):
        complaint = COMPLAINTS[ty]
        zone_id = world.zone_ids[z]
        created = hour_dt[h] + timedelta(seconds=off)
        out.append({
            **base, "zone_id": zone_id, "observed_at": created,
            "incident_id": f"SIM-{city_id}-{zone_id}-{hour_tag[h]}-{kk}",
            "complaint_type": complaint.name, "descriptor": complaint.descriptors[d],
            "status": st, "agency": agencies[complaint.role], "created_at": created,
            "lat": la, "lon": lo_,
        })
    out.sort(key=lambda r: (r["created_at"], r["incident_id"]))
    return out
