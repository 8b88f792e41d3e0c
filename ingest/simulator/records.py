"""Turning (times x zones) arrays into canonical record dicts, fast (one comprehension each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

SOURCE = "simulated"


def common_fields(city_id: str, ingested_at: datetime) -> dict[str, Any]:
    """Fields every simulated record carries (docs/architecture.md §4)."""
    return {"schema_version": 1, "source": SOURCE, "city_id": city_id,
            "ingested_at": ingested_at}


def zone_time_keys(times: list[datetime], zone_ids: list[str]) -> tuple[list[datetime], list[str]]:
    """observed_at and zone_id for every cell of a (times, zones) array, in row-major order."""
    n = len(zone_ids)
    return [t for t in times for _ in range(n)], zone_ids * len(times)


def column(values: np.ndarray, decimals: int) -> list[float]:
    """A rounded array as a flat list of Python floats (NaN/Inf never leave the simulator)."""
    flat = np.round(np.asarray(values, dtype=float), decimals).ravel()
    if not np.isfinite(flat).all():
        raise ValueError("simulator produced a non-finite value")
    return flat.tolist()
