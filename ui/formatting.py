"""Pure display helpers: ages, local times, Markdown escaping (labels and units: core.units).

Pages show numbers with units and times in the city's local time; every such string is
built here so the pages stay descriptions of the screen.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def format_age(seconds: float | None) -> str:
    """Human age: `45 s`, `12 min`, `3.5 h`, `2 d`; `unknown` when missing."""
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        hours = seconds / 3600
        return f"{hours:.1f} h" if hours < 10 else f"{hours:.0f} h"
    return f"{seconds / 86400:.0f} d"


def age_seconds(ts: datetime | None, now: datetime) -> float | None:
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (now - ts).total_seconds()


def city_tz(name: str | None) -> ZoneInfo:
    """The city's zone; UTC when the catalog names none or an unknown one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(ts: datetime | None, tz: ZoneInfo, with_date: bool = True) -> str:
    """`2026-11-28 09:15 EST` in the city's local time; `never` when missing."""
    if ts is None:
        return "never"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    fmt = "%Y-%m-%d %H:%M %Z" if with_date else "%H:%M %Z"
    return ts.astimezone(tz).strftime(fmt)


def md_escape(text: str) -> str:
    """Escape the characters that make inline Markdown (emphasis, links, images, directives,
    code, math, HTML-looking tags) in text from Mongo or the URL before st.markdown & co."""
    out = []
    for ch in str(text):
        if ch in "\\`*_{}[]()#!|<>:~$":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
