"""Canonical raw records (ingest/schema.py) -> one typed DataFrame per source kind.

Every later step (hourly rollup, latest values) works on these frames, so the records are
converted once: UTC timestamps, float columns with NaN for "no value", unknown zones dropped,
power apportioned to zones, 311 incidents de-duplicated by incident id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.catalog import City
from core.subregions import has_subregion, subregion
from core.vocabulary import C

BASE_COLUMNS = ("zone_id", "observed_at", "source")
WEATHER_FIELDS = ("temperature_c", "relative_humidity_pct", "wind_speed_kmh", "precipitation_mm")
AQI_FIELDS = ("us_aqi", "pm2_5")
TRAFFIC_FIELDS = ("speed_kmh", "congestion")
POWER_FIELDS = ("demand_mw", "demand_forecast_mw")
INCIDENT_COLUMNS = ("incident_id", "complaint_type", "status", "created_at")


@dataclass(frozen=True)
class RawFrames:
    """One frame per source kind, each sorted by observed_at."""

    weather: pd.DataFrame
    aqi: pd.DataFrame
    traffic: pd.DataFrame  # + link_id
    power: pd.DataFrame  # demand_mw / demand_forecast_mw: this zone's share; city_demand_mw
    incidents: pd.DataFrame  # INCIDENT_COLUMNS, one row per incident id

    def sources(self) -> dict[str, pd.DataFrame]:
        """Source kind (catalog vocabulary) -> frame."""
        return {"weather": self.weather, "aqi": self.aqi, "traffic": self.traffic,
                "power": self.power, "incidents": self.incidents}


def utc_series(values: Any) -> pd.Series:
    """Timestamps as a tz-aware UTC series at microsecond resolution (one unit everywhere)."""
    return pd.Series(pd.to_datetime(values, utc=True)).dt.as_unit("us")


def records_frame(records: Sequence[Mapping[str, Any]], fields: Sequence[str],
                  extra: Sequence[str] = ()) -> pd.DataFrame:
    """Records -> frame with BASE_COLUMNS, `extra` columns as they are and `fields` as float."""
    columns = [*BASE_COLUMNS, *extra, *fields]
    frame = pd.DataFrame(list(records), columns=columns)
    frame["observed_at"] = utc_series(frame["observed_at"])
    frame["zone_id"] = frame["zone_id"].astype(str)
    for name in fields:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


def city_share(city: City) -> float:
    """The city's typical share of its balancing authority's load: its EIA subregion's share
    of the parent (the city's demand is that subregion), else the catalog's ba_share."""
    if has_subregion(city):
        return subregion(city.eia_respondent, city.eia_subba).share  # type: ignore[union-attr]
    return city.ba_share


def zone_shares(city: City) -> dict[str, float]:
    """Each zone's typical share of its balancing authority's load: the city's share x the
    zone's weight (docs/architecture.md §4)."""
    share = city_share(city)
    return {z.zone_id: share * z.weight for z in city.zones}


def power_frame(records: Sequence[Mapping[str, Any]], city: City) -> pd.DataFrame:
    """Power records -> zone demand and zone day-ahead forecast in MW, and the city's demand.

    `demand_mw` is the record's own zone estimate (its city series x the zone's weight) when
    present, else the BA value times the zone's typical share. EIA forecasts only the BA, so
    the zone forecast is the BA forecast times the zone's typical share.
    """
    frame = records_frame(records, ("demand_mw", "ba_demand_mw", "ba_forecast_mw",
                                    "city_demand_mw"))
    share = frame["zone_id"].map(zone_shares(city)).astype("float64")
    frame["demand_mw"] = frame["demand_mw"].fillna(frame["ba_demand_mw"] * share)
    frame["demand_forecast_mw"] = frame["ba_forecast_mw"] * share
    return frame[[*BASE_COLUMNS, *POWER_FIELDS, "city_demand_mw"]]


def incident_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """311 records -> one row per incident id (its newest version)."""
    frame = records_frame(records, (), extra=INCIDENT_COLUMNS)
    frame["created_at"] = utc_series(frame["created_at"])
    frame["complaint_type"] = frame["complaint_type"].fillna("Unknown").astype(str)
    frame = frame.sort_values("observed_at", kind="stable")
    return frame.drop_duplicates("incident_id", keep="last")


def raw_frames(raw: Mapping[str, Sequence[Mapping[str, Any]]], city: City,
               since: Any = None, until: Any = None) -> RawFrames:
    """{raw collection: records} -> RawFrames for `city`'s zones observed in [since, until].

    Records of other cities or unknown zones are dropped (the consumer has already rejected
    them; this keeps a stray record from creating a phantom zone).
    """
    zone_ids = {z.zone_id for z in city.zones}
    first = pd.Timestamp(since) if since is not None else None
    cutoff = pd.Timestamp(until) if until is not None else None

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        mask = frame["zone_id"].isin(zone_ids).to_numpy()
        if first is not None:
            mask = mask & (frame["observed_at"] >= first).to_numpy()
        if cutoff is not None:
            mask = mask & (frame["observed_at"] <= cutoff).to_numpy()
        return frame[mask].sort_values("observed_at", kind="stable").reset_index(drop=True)

    mine = {name: [r for r in raw.get(name, ()) if r.get("city_id") == city.city_id]
            for name in (C.RAW_WEATHER, C.RAW_AQI, C.RAW_TRAFFIC, C.RAW_POWER, C.RAW_311)}
    return RawFrames(
        weather=keep(records_frame(mine[C.RAW_WEATHER], WEATHER_FIELDS)),
        aqi=keep(records_frame(mine[C.RAW_AQI], AQI_FIELDS)),
        traffic=keep(records_frame(mine[C.RAW_TRAFFIC], TRAFFIC_FIELDS, extra=("link_id",))),
        power=keep(power_frame(mine[C.RAW_POWER], city)),
        incidents=keep(incident_frame(mine[C.RAW_311])),
    )


def finite_or_none(value: Any) -> float | None:
    """A JSON/Mongo-safe number: NaN, ±Inf and None become None."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
