"""Counter-based randomness: stable, well distributed, smooth in time."""

from __future__ import annotations

import numpy as np

from ingest.simulator.noise import normal, smooth_noise, stable_key, uniform


def test_stable_key_is_stable_and_distinct() -> None:
    assert stable_key(0, "nyc", "z01", "temp") == stable_key(0, "nyc", "z01", "temp")
    keys = {stable_key(s, c, z) for s in (0, 1) for c in ("nyc", "sf") for z in ("z01", "z02")}
    assert len(keys) == 8
    # concatenation ambiguity must not collide ("a","bc" vs "ab","c")
    assert stable_key("a", "bc") != stable_key("ab", "c")


def test_uniform_and_normal_are_well_distributed() -> None:
    key = stable_key("test")
    u = uniform(key, np.arange(200_000))
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005
    z = normal(key, np.arange(200_000))
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    # neighbouring counters are uncorrelated
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01


def test_draws_depend_only_on_key_and_counter() -> None:
    key = stable_key("x")
    whole = uniform(key, np.arange(100))
    assert np.array_equal(whole[40:60], uniform(key, np.arange(40, 60)))
    assert not np.array_equal(whole, uniform(stable_key("y"), np.arange(100)))


def test_smooth_noise_is_continuous_and_persistent() -> None:
    key = stable_key("front")
    t = np.arange(0.0, 24 * 200, 1.0 / 6.0)  # 10-minute steps for 200 days
    x = smooth_noise(key, t, 60.0)
    assert np.abs(np.diff(x)).max() < 0.05  # no jumps between 10-minute points
    hourly = x[::6]
    lag24 = np.corrcoef(hourly[:-24], hourly[24:])[0, 1]
    lag240 = np.corrcoef(hourly[:-240], hourly[240:])[0, 1]
    assert lag24 > 0.7 and abs(lag240) < 0.2  # persists over a day, forgets over 10 days
    assert np.array_equal(smooth_noise(key, t[600:700], 60.0), x[600:700])
