"""Pure rules for which city and zone a page shows (URL, session, defaults, map clicks)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Selection:
    city_id: str
    zone_id: str | None
    warnings: tuple[str, ...] = ()


def default_city(city_ids: Sequence[str], active: Sequence[str], configured: Sequence[str]
                 ) -> str:
    """First configured city that exists, else the first active one, else the first one."""
    for city_id in configured:
        if city_id in city_ids:
            return city_id
    for city_id in city_ids:
        if city_id in active:
            return city_id
    return city_ids[0]


def resolve_selection(*, requested_city: str | None, requested_zone: str | None,
                      current_city: str | None, current_zone: str | None,
                      city_ids: Sequence[str], zones_of: Callable[[str], Mapping[str, str]],
                      default: str, city_name: Callable[[str], str] = str) -> Selection:
    """Pick the city and zone to show.

    `requested_*` are values that arrived from outside (a deep link); they win when valid and
    give a warning naming the fallback when not. `current_*` is the session's choice.
    `zones_of(city)` maps the city's zone ids to their names, in display order.
    """
    warnings = []
    fallback_city = current_city if current_city in city_ids else default
    city = fallback_city
    if requested_city is not None:
        if requested_city in city_ids:
            city = requested_city
        else:
            warnings.append(f"Unknown city {requested_city!r} in the link; showing "
                            f"{city_name(fallback_city)} instead.")
    zone_names = zones_of(city)
    zones = list(zone_names)
    fallback_zone = current_zone if current_zone in zones else (zones[0] if zones else None)
    zone = fallback_zone
    if requested_zone is not None and requested_zone != "":
        if requested_zone in zones:
            zone = requested_zone
        else:
            shown = zone_names[fallback_zone] if fallback_zone else "no zone"
            warnings.append(f"Unknown zone {requested_zone!r} for {city_name(city)}; showing "
                            f"{shown} instead.")
    return Selection(city, zone, tuple(warnings))


def zone_from_selection(event: Mapping[str, Any] | None, zone_ids: Collection[str]
                        ) -> str | None:
    """The zone clicked on the map: `location` of the first selected point naming a known zone.

    `event` is what st.plotly_chart(..., on_select="rerun") returns: a dict-like
    {"selection": {"points": [{"location": <zone_id>, ...}], ...}}; None, an empty selection,
    a point without a location (the outline trace) or an unknown zone id give None.
    """
    if not event:
        return None
    selection = event.get("selection") or {}
    for point in selection.get("points") or []:
        location = point.get("location") if isinstance(point, Mapping) else None
        if isinstance(location, str) and location in zone_ids:
            return location
    return None
