"""The shared latent state of one simulated city: weather and road congestion per zone-hour.

Every kind of observation is read off this one world, so they agree with each other (rain
slows traffic, traffic raises NO2, heat raises load). Each field is a smooth, pure function of
(seed, city, zone, time): arrays are computed for a TimeGrid, shaped (times, zones), and a
given instant gets the same value whichever grid it sits in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from statistics import NormalDist
from typing import Any, TypeVar

import numpy as np

from core.catalog import City
from ingest.simulator.climate import (
    BalancingArea,
    Climate,
    city_balancing_area,
    climate_for,
    seasonal,
)
from ingest.simulator.clock import TimeGrid, daily_bump, daily_window
from ingest.simulator.events import EVENT_KINDS, SimEvent, list_events
from ingest.simulator.noise import smooth_noise, stable_key, uniform

T = TypeVar("T")

LINK_TYPES = (  # name, free-flow range km/h, rush sensitivity, probability
    ("highway", (70.0, 90.0), 1.15, 0.30),
    ("arterial", (40.0, 60.0), 1.00, 0.45),
    ("local", (30.0, 40.0), 0.70, 0.25),
)


@dataclass(frozen=True)
class Weather:
    """Per zone-time weather, each array shaped (times, zones)."""

    temperature_c: np.ndarray
    relative_humidity_pct: np.ndarray
    wind_speed_kmh: np.ndarray
    precipitation_mm: np.ndarray  # over the preceding hour (mm/h)


@dataclass(frozen=True)
class Links:
    """The simulated road links: 2-3 per zone, in zone order."""

    link_ids: list[str]
    zone_index: np.ndarray  # (links,) index into city.zones
    free_flow_kmh: np.ndarray
    sensitivity: np.ndarray


def diurnal_temperature_shape(local_hour: np.ndarray) -> np.ndarray:
    """-1 at 06:00, +1 at 15:00, smooth: a quick morning rise and a long evening cooling."""
    h = np.mod(local_hour - 6.0, 24.0)
    rising = -np.cos(np.pi * h / 9.0)
    falling = np.cos(np.pi * (h - 9.0) / 15.0)
    return np.where(h < 9.0, rising, falling)


def rush_profile(local_hour: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    """Typical congestion (0..1) by clock: weekday peaks 07-09 and 16-19, quiet nights."""
    weekday = (0.05 + 0.17 * daily_window(local_hour, 6.5, 20.5, 0.8)
               + 0.40 * daily_bump(local_hour, 8.0, 0.9) + 0.45 * daily_bump(local_hour, 17.5, 1.2))
    weekend_day = (0.05 + 0.15 * daily_window(local_hour, 9.5, 21.0, 1.1)
                   + 0.05 * daily_bump(local_hour, 14.0, 3.0))
    return np.where(weekend > 0.5, weekend_day, weekday)


def _magnus(t: np.ndarray) -> np.ndarray:
    return 17.625 * t / (243.04 + t)


class CityWorld:
    """Latent state for one city and seed; cheap to build, computes fields on demand."""

    def __init__(self, city: City, seed: int = 0, with_events: bool = True) -> None:
        self.city = city
        self.seed = seed
        self.with_events = with_events
        self.climate: Climate = climate_for(city)
        self.ba: BalancingArea = city_balancing_area(city)
        self.zone_ids = [z.zone_id for z in city.zones]
        pops = np.array([z.population or 0 for z in city.zones], dtype=float)
        if not pops.any():
            pops = np.array([z.weight for z in city.zones]) * 1_000_000.0
        pops = np.where(pops > 0, pops, np.median(pops))
        self.population = pops
        # denser (more populous) zones: more traffic, warmer nights, more complaints
        self.density = np.clip((pops / np.median(pops)) ** 0.25, 0.75, 1.3)[None, :]
        self._memo_grid: TimeGrid | None = None
        self._memo: dict[str, Any] = {}

    # -- random streams ---------------------------------------------------------------
    def city_key(self, stream: str) -> int:
        return stable_key(self.seed, self.city.city_id, stream)

    def zone_keys(self, stream: str) -> np.ndarray:
        """One key per zone, shaped (1, zones); depends on the zone's id, not its position."""
        keys = [stable_key(self.seed, self.city.city_id, z, stream) for z in self.zone_ids]
        return np.array(keys, dtype=np.uint64)[None, :]

    def zone_static(self, stream: str) -> np.ndarray:
        """A fixed uniform [0, 1) per zone (a zone's character), shaped (1, zones)."""
        return uniform(self.zone_keys(stream), 0)

    def _cached(self, grid: TimeGrid, name: str, build: Callable[[TimeGrid], T]) -> T:
        """Compute a field once per grid (AQI reads weather and traffic of the same grid).

        Only the latest grid is kept, so a long-lived world does not hoard old arrays.
        """
        if self._memo_grid is not grid:
            self._memo_grid, self._memo = grid, {}
        if name not in self._memo:
            self._memo[name] = build(grid)
        return self._memo[name]

    # -- events -----------------------------------------------------------------------
    def events(self, grid: TimeGrid) -> list[SimEvent]:
        if not self.with_events or grid.size == 0:
            return []
        return self._cached(grid, "events", lambda g: list_events(
            self.city, g.times[0], g.times[-1] + timedelta(seconds=1), self.seed, EVENT_KINDS))

    def event_field(self, grid: TimeGrid, kind: str, offset: float = 0.0) -> np.ndarray:
        """Sum of (magnitude - offset) x envelope over events of `kind`, (times, zones).

        offset=1 turns a multiplicative event (x3 PM2.5) into the extra factor to add to 1.
        """
        out = np.zeros((grid.size, len(self.zone_ids)))
        for event in self.events(grid):
            if event.kind != kind:
                continue
            mask = np.array([z in event.zone_ids for z in self.zone_ids], dtype=float)
            out += (event.magnitude - offset) * event.envelope(grid.epoch_h) * mask[None, :]
        return out

    # -- weather ----------------------------------------------------------------------
    def storm(self, grid: TimeGrid) -> tuple[np.ndarray, np.ndarray]:
        """City-wide (excess over the wet threshold, cloudiness 0..1), each (times, 1).

        A slow 'wet spell' signal plus a faster 'shower' signal, thresholded so that the
        month's normal fraction of hours is wet.
        """
        def build(g: TimeGrid) -> tuple[np.ndarray, np.ndarray]:
            t = g.epoch_h
            s = (0.85 * smooth_noise(self.city_key("showers"), t, 9.0)
                 + 0.5 * smooth_noise(self.city_key("wet-spell"), t, 72.0)) / _STORM_SD
            threshold = seasonal(_wet_thresholds(self.climate), g.doy)
            excess = s - threshold
            cloud = np.clip((excess + 1.0) / 1.3, 0.0, 1.0)
            return excess, cloud
        return self._cached(grid, "storm", build)

    def weather(self, grid: TimeGrid) -> Weather:
        return self._cached(grid, "weather", self._weather)

    def _weather(self, grid: TimeGrid) -> Weather:
        c, t, doy = self.climate, grid.epoch_h, grid.doy
        excess, cloud = self.storm(grid)
        front_sd = seasonal(c.front_sd_c, doy)
        front = front_sd * (0.9 * smooth_noise(self.city_key("front"), t, 60.0)
                            + 0.4 * smooth_noise(self.city_key("synoptic"), t, 18.0))
        diurnal = diurnal_temperature_shape(grid.local_hour)
        day_range = seasonal(c.diurnal_range_c, doy) * (1.0 - 0.55 * cloud)
        heat = self.event_field(grid, "heat_wave") - self.event_field(grid, "cold_snap")
        zone_offset = 0.6 * (self.density - 1.0) / 0.3 + 0.8 * (self.zone_static("temp") - 0.5)
        temp = (seasonal(c.temp_c, doy) + 0.5 * day_range * diurnal + front - 1.2 * cloud
                + 0.5 * smooth_noise(self.city_key("temp-hourly"), t, 5.0)
                + zone_offset + 0.25 * smooth_noise(self.zone_keys("temp"), t, 8.0) + heat)

        # dew point: the month's mean, moist air masses with warm fronts, near-saturation in rain
        mean_t = seasonal(c.temp_c, doy)
        rh0 = seasonal(c.rh_pct, doy) / 100.0
        gamma = np.log(rh0) + _magnus(mean_t)
        dew = 243.04 * gamma / (17.625 - gamma)
        dew = dew + 0.5 * front + 2.0 * smooth_noise(self.city_key("dew"), t, 30.0)
        dew = dew + (0.8 * cloud ** 2) * (temp - 0.7 - dew)
        dew = np.minimum(dew, temp)
        rh = np.clip(100.0 * np.exp(_magnus(dew) - _magnus(temp)), 8.0, 100.0)

        gusts = np.exp(0.35 * smooth_noise(self.city_key("wind"), t, 14.0) - 0.06)
        afternoon = 0.5 * (1.0 + diurnal)
        stagnation = 1.0 - 0.03 * self.event_field(grid, "heat_wave")
        wind = (seasonal(c.wind_kmh, doy) * gusts * (1.0 + 0.2 * afternoon + 0.25 * cloud)
                * (0.85 + 0.3 * self.zone_static("wind")) * stagnation
                * (1.0 + 0.08 * smooth_noise(self.zone_keys("wind"), t, 1.5)))
        wind = np.maximum(wind, 0.0)

        local_rain = np.maximum(1.0 + 0.35 * smooth_noise(self.zone_keys("rain"), t, 3.0), 0.0)
        precip = c.rain_mm_h * 3.0 * np.maximum(excess, 0.0) ** 1.3 * local_rain
        return Weather(temperature_c=temp, relative_humidity_pct=rh, wind_speed_kmh=wind,
                       precipitation_mm=precip)

    def city_temperature(self, grid: TimeGrid) -> np.ndarray:
        """Population-weighted city temperature, (times, 1): what drives load."""
        temp = self.weather(grid).temperature_c
        w = self.population / self.population.sum()
        return (temp * w[None, :]).sum(axis=1, keepdims=True)

    # -- roads ------------------------------------------------------------------------
    @cached_property
    def links(self) -> Links:
        """2-3 links per zone; type and free-flow speed are fixed per link id."""
        keys = self.zone_keys("links")[0]
        counts = 2 + (uniform(keys, 0) < 0.5).astype(int)
        zone_index = np.repeat(np.arange(len(self.zone_ids)), counts)
        k = np.concatenate([np.arange(n) for n in counts]) if len(counts) else np.zeros(0, int)
        u_type = uniform(keys[zone_index], k + 1, 1)
        u_speed = uniform(keys[zone_index], k + 1, 2)
        cum = np.cumsum([p for *_, p in LINK_TYPES])
        type_ix = np.minimum(np.searchsorted(cum, u_type, side="right"), len(LINK_TYPES) - 1)
        lo = np.array([LINK_TYPES[i][1][0] for i in type_ix])
        hi = np.array([LINK_TYPES[i][1][1] for i in type_ix])
        free_flow = np.round(lo + u_speed * (hi - lo), 1)
        sens = np.array([LINK_TYPES[i][2] for i in type_ix])
        ids = [f"{self.zone_ids[z]}-L{j + 1}" for z, j in zip(zone_index, k, strict=True)]
        return Links(link_ids=ids, zone_index=zone_index, free_flow_kmh=free_flow,
                     sensitivity=sens)

    def link_congestion(self, grid: TimeGrid) -> np.ndarray:
        """Congestion 0..0.95 per (time, link): clock, zone density, rain, random jams."""
        links = self.links

        def build(g: TimeGrid) -> np.ndarray:
            base = rush_profile(g.local_hour, g.weekend)            # (T, 1)
            zi = links.zone_index
            rain = self.weather(g).precipitation_mm[:, zi]
            density = self.density[:, zi]
            link_keys = np.array([stable_key(self.seed, self.city.city_id, lid, "jam")
                                  for lid in links.link_ids], dtype=np.uint64)[None, :]
            jam = 0.06 * smooth_noise(link_keys, g.epoch_h, 1.5)
            citywide = 0.04 * smooth_noise(self.city_key("traffic"), g.epoch_h, 6.0)
            cong = (base * links.sensitivity[None, :] * density + 0.10 * np.tanh(rain / 2.0)
                    + jam + citywide)
            return np.clip(cong, 0.0, 0.95)
        return self._cached(grid, "link_congestion", build)

    def zone_congestion(self, grid: TimeGrid) -> np.ndarray:
        """Mean congestion of each zone's links, (times, zones): what drives NO2 and PM."""
        links = self.links
        cong = self.link_congestion(grid)
        out = np.zeros((grid.size, len(self.zone_ids)))
        np.add.at(out.T, links.zone_index, cong.T)
        return out / np.bincount(links.zone_index, minlength=len(self.zone_ids))[None, :]


def _catmull_rom_sd() -> float:
    """Average std of a Catmull-Rom curve through N(0,1) knots (used to normalise)."""
    f = np.linspace(0.0, 1.0, 2001)
    w = np.stack([(-f + 2 * f**2 - f**3) / 2, (2 - 5 * f**2 + 3 * f**3) / 2,
                  (f + 4 * f**2 - 3 * f**3) / 2, (-f**2 + f**3) / 2])
    return float(np.sqrt((w**2).sum(axis=0).mean()))


_STORM_SD = float(np.hypot(0.85, 0.5)) * _catmull_rom_sd()


def _wet_thresholds(climate: Climate) -> tuple[float, ...]:
    """Per month, the standard-normal quantile that leaves `wet_frac` of hours above it."""
    return tuple(NormalDist().inv_cdf(1.0 - min(max(p, 1e-4), 0.5)) for p in climate.wet_frac)
