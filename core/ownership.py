"""Which sidecar owns which city: cities are keyed onto the partitions of the control topic,
and Kafka's group coordination assigns those partitions to the running sidecars
(docs/architecture.md §13). This module is the pure part: key -> partition."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

CONTROL_PARTITIONS = 12  # default (CITYLIVE_CONTROL_PARTITIONS): the most sidecars with a share
SEARCHES_KEY = "city-searches"  # the owner of this key's partition answers city_searches


def partition_for(key: str, partitions: int = CONTROL_PARTITIONS) -> int:
    """A stable partition for a key (CRC-32: the same in every process, unlike hash())."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    return zlib.crc32(key.encode("utf-8")) % partitions


def owned_keys(keys: Iterable[str], partitions_owned: Iterable[int],
               partitions: int = CONTROL_PARTITIONS) -> set[str]:
    """The keys whose partition is among `partitions_owned`."""
    mine = set(partitions_owned)
    return {k for k in keys if partition_for(k, partitions) in mine}
