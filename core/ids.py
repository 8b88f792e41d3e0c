"""Deterministic string `_id`s built from natural keys, so a replay upserts, never duplicates."""

from __future__ import annotations

from datetime import UTC, datetime

SEP = "|"
# Percent-encoding of the characters that would make a part ambiguous: `%` first, so an
# encoded part never decodes to another one. Parts without them are left byte-identical.
_ESCAPES = (("%", "%25"), (SEP, "%7C"))


def iso_minute(ts: datetime) -> str:
    """UTC timestamp as `2026-11-28T14:00Z` (minute precision, the natural-key form)."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime in a natural key; use UTC-aware datetimes")
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def iso_day(ts: datetime) -> str:
    if ts.tzinfo is None:
        raise ValueError("naive datetime in a natural key; use UTC-aware datetimes")
    return ts.astimezone(UTC).strftime("%Y-%m-%d")


def make_id(*parts: object) -> str:
    """Join key parts with `|`; datetimes become ISO minutes.

    Provider ids may contain anything, so `%` and `|` in a part are percent-encoded (`%25`,
    `%7C`): ids stay unique, deterministic and reversible (`split_id`), and ids of parts
    without those characters are unchanged. An empty part is refused.
    """
    out = []
    for part in parts:
        text = iso_minute(part) if isinstance(part, datetime) else str(part)
        if not text:
            raise ValueError(f"bad natural-key part {text!r}")
        for char, escaped in _ESCAPES:
            text = text.replace(char, escaped)
        out.append(text)
    return SEP.join(out)


def split_id(doc_id: str) -> list[str]:
    """The parts of an id built by make_id, decoded (datetimes stay ISO-minute text)."""
    parts = []
    for text in doc_id.split(SEP):
        for char, escaped in reversed(_ESCAPES):
            text = text.replace(escaped, char)
        parts.append(text)
    return parts


def zone_key(city_id: str, zone_id: str) -> str:
    """Kafka message key for a zone (docs/architecture.md §3)."""
    return f"{city_id}:{zone_id}"


def raw_id(topic_collection: str, record: dict) -> str:
    """Natural key of a canonical record in its raw_* collection.

    The provider is part of the key: a live and a simulated observation of the same zone and
    time are two observations, and neither may silently replace the other.
    """
    city, zone, observed = record["city_id"], record["zone_id"], record["observed_at"]
    source = record["source"]
    if topic_collection == "raw_traffic":
        return make_id(city, zone, record["link_id"], observed, source)
    if topic_collection == "raw_311":
        return make_id(city, record["incident_id"], source)
    return make_id(city, zone, observed, source)


def city_hour(city_id: str, ts: datetime) -> str:
    """Read key of a raw record: its city and UTC hour (`nyc|2026-11-28T14`). Processing reads
    a window of raw data as one equality query per hour, which FerretDB pushes down to SQL."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime in a natural key; use UTC-aware datetimes")
    return make_id(city_id, ts.astimezone(UTC).strftime("%Y-%m-%dT%H"))
