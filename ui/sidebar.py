"""The sidebar city/zone selectors: kept in st.session_state and mirrored in ?city=&zone=.

Canonical choices live in the non-widget keys `city` / `zone`, so they survive pages that do
not draw a selector; the widgets copy into them through on_change callbacks. A value in the
URL that this session did not write itself (a deep link, an edited URL) is applied once,
with a warning and a fallback when it names an unknown city or zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from core.settings import get_settings
from ui import loaders
from ui.add_city import draw_add_city
from ui.city_request import ensure_city_request
from ui.db import get_db
from ui.formatting import city_tz, md_escape
from ui.selection import Selection, default_city, resolve_selection

CITY_KEY, ZONE_KEY = "city", "zone"
_CITY_WIDGET, _ZONE_WIDGET = "_city_widget", "_zone_widget"
_URL_SEEN = "_url_seen"


@dataclass
class PageContext:
    """What a page needs to know about the current choice."""

    city_id: str
    city_name: str
    timezone: ZoneInfo
    active: bool
    zone_id: str | None
    zones: pd.DataFrame  # zone_id, name, lat, lon, h3

    @property
    def zone_names(self) -> dict[str, str]:
        return dict(zip(self.zones["zone_id"], self.zones["name"], strict=True))

    def zone_name(self, zone_id: str | None) -> str:
        return self.zone_names.get(zone_id or "", zone_id or "city-wide")

    @property
    def city_label(self) -> str:
        """The city name made safe for Markdown elements (titles, captions)."""
        return md_escape(self.city_name)

    def zone_label(self, zone_id: str | None) -> str:
        return md_escape(self.zone_name(zone_id))


def _zones_of(city_id: str) -> dict[str, str]:
    zones = loaders.load_zones(city_id)
    return dict(zip(zones["zone_id"], zones["name"], strict=True))


def _copy_widget(widget_key: str, state_key: str) -> None:
    st.session_state[state_key] = st.session_state[widget_key]


def _url_value(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value else None


def resolve_from_session() -> Selection:
    """Combine URL, session and defaults into this run's choice (no widgets drawn)."""
    cities = loaders.load_cities()
    ids = [c["city_id"] for c in cities]
    names = {c["city_id"]: c["name"] for c in cities}
    state = st.session_state
    seen_city, seen_zone = state.get(_URL_SEEN, (None, None))
    url_city, url_zone = _url_value("city"), _url_value("zone")
    requested_city = url_city if url_city is not None and url_city != seen_city else None
    zone_changed = url_zone is not None and url_zone != seen_zone
    requested_zone = url_zone if zone_changed or requested_city is not None else None
    default = default_city(ids, [c["city_id"] for c in cities if c["active"]],
                           get_settings().citylive_cities)
    return resolve_selection(requested_city=requested_city, requested_zone=requested_zone,
                             current_city=state.get(CITY_KEY), current_zone=state.get(ZONE_KEY),
                             city_ids=ids, zones_of=_zones_of, default=default,
                             city_name=lambda c: names.get(c, c))


def draw_selectors(show_zone: bool) -> Selection:
    """Resolve the choice, draw the sidebar selectors, mirror the choice into the URL."""
    selection = resolve_from_session()
    state = st.session_state
    state[CITY_KEY], state[ZONE_KEY] = selection.city_id, selection.zone_id
    cities = loaders.load_cities()
    names = {c["city_id"]: c["name"] for c in cities}
    state[_CITY_WIDGET] = selection.city_id
    st.sidebar.selectbox("City", list(names), key=_CITY_WIDGET, format_func=names.get,
                         on_change=_copy_widget, args=(_CITY_WIDGET, CITY_KEY))
    _sources_caption(next((c for c in cities if c["city_id"] == selection.city_id), {}))
    draw_add_city()
    zones = _zones_of(selection.city_id)
    if show_zone and zones:
        state[_ZONE_WIDGET] = selection.zone_id
        st.sidebar.selectbox("Zone", list(zones), key=_ZONE_WIDGET,
                             format_func=lambda z: f"{zones.get(z, z)} ({z})",
                             on_change=_copy_widget, args=(_ZONE_WIDGET, ZONE_KEY))
    _mirror_url(selection)
    return selection


def sources_text(sources: dict[str, str]) -> str:
    """"Live: weather (open-meteo), aqi (open-meteo) · simulated: traffic, power, incidents"."""
    live = [f"{k} ({p})" for k, p in sources.items() if p != "simulated"]
    simulated = [k for k, p in sources.items() if p == "simulated"]
    parts = []
    if live:
        parts.append("Live: " + ", ".join(live))
    if simulated:
        parts.append("simulated: " + ", ".join(simulated))
    return " · ".join(parts)


def _sources_caption(city: dict[str, Any]) -> None:
    sources = city.get("sources") or {}
    if sources:
        st.sidebar.caption(md_escape(sources_text(sources)))


def _mirror_url(selection: Selection) -> None:
    wanted: dict[str, Any] = {"city": selection.city_id}
    if selection.zone_id:
        wanted["zone"] = selection.zone_id
    for name, value in wanted.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    if not selection.zone_id and "zone" in st.query_params:
        del st.query_params["zone"]
    st.session_state[_URL_SEEN] = (selection.city_id, selection.zone_id)


def select_zone(zone_id: str) -> None:
    """Choose a zone from outside the sidebar (a map click), as its selector would: the
    canonical `zone` key, the ?zone= mirror and what this session last wrote to the URL."""
    state = st.session_state
    state[ZONE_KEY] = zone_id
    st.query_params["zone"] = zone_id
    state[_URL_SEEN] = (state.get(CITY_KEY), zone_id)


def current_context() -> PageContext:
    """The choice made by the sidebar this run, with the city's catalog facts."""
    cities = {c["city_id"]: c for c in loaders.load_cities()}
    city_id = st.session_state.get(CITY_KEY) or next(iter(cities))
    city = cities.get(city_id, {"city_id": city_id, "name": city_id, "timezone": "UTC",
                                "active": False})
    return PageContext(city_id=city_id, city_name=city["name"],
                       timezone=city_tz(city["timezone"]), active=city["active"],
                       zone_id=st.session_state.get(ZONE_KEY), zones=loaders.load_zones(city_id))


def request_city_if_idle(ctx: PageContext) -> dict[str, Any] | None:
    """A city nobody ingests yet gets one city_requests document; returns the request."""
    request = loaders.load_city_request(ctx.city_id)
    if request is None and not ctx.active and not loaders.has_zone_data(ctx.city_id):
        ensure_city_request(get_db(), ctx.city_id, datetime.now(UTC))
        loaders.load_city_request.clear(ctx.city_id)
        request = loaders.load_city_request(ctx.city_id)
    return request
