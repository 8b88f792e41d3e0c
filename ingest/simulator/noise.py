"""Counter-based randomness: every random number is a hash of (stream key, counters).

No generator state is carried from one draw to the next, so a value depends only on its key
and its counters (city, zone, knot index, ...), never on which window was asked for. Keys come
from blake2b (stable across processes and Python versions, unlike `hash()`); the per-element
mixing is splitmix64, vectorised over numpy uint64 arrays (wrapping arithmetic is intended).
"""

from __future__ import annotations

import hashlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_PI = 2.0 * np.pi


def stable_key(*parts: object) -> int:
    """A 64-bit key for a named random stream, e.g. stable_key(seed, "nyc", "z07", "temp")."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective scramble of 64-bit integers."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def hash_u64(key: int | np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
    """Hash a key with one or more integer counters (broadcast) into uint64 values."""
    with np.errstate(over="ignore"):
        h = np.asarray(key, dtype=np.uint64)
        for counter in counters:
            c = np.asarray(counter, dtype=np.int64).astype(np.uint64)
            h = _mix(h + (c + np.uint64(1)) * _GOLDEN)
        return h


def uniform(key: int | np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1), one per broadcast (key, counters) element."""
    return (hash_u64(key, *counters) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def normal(key: int | np.ndarray, *counters: int | np.ndarray) -> np.ndarray:
    """Standard normal floats (Box-Muller on the two 32-bit halves of one hash)."""
    h = hash_u64(key, *counters)
    u1 = ((h >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0**-32
    u2 = (h & np.uint64(0xFFFFFFFF)).astype(np.float64) * 2.0**-32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)


def smooth_noise(key: int | np.ndarray, t_hours: np.ndarray, spacing_h: float) -> np.ndarray:
    """A smooth random signal of time: N(0,1) knots every `spacing_h`, Catmull-Rom between.

    Neighbouring hours are strongly correlated (persistence over about `spacing_h`), the
    curve is continuous with a continuous slope, and any instant (10-min or hourly) gets the
    same value whatever window it was computed in. Std is 1 at knots, ~0.8 between them.
    """
    x = np.asarray(t_hours, dtype=np.float64) / spacing_h
    k = np.floor(x)
    f = x - k
    k = k.astype(np.int64)
    p0, p1, p2, p3 = (normal(key, k + d) for d in (-1, 0, 1, 2))
    f2 = f * f
    f3 = f2 * f
    return 0.5 * (
        2.0 * p1
        + (p2 - p0) * f
        + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * f2
        + (3.0 * p1 - p0 - 3.0 * p2 + p3) * f3
    )
