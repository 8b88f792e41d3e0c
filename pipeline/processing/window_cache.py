"""What a processing pass remembers between passes in one process, so a steady pass reads and
writes what changed rather than its whole 48 h window (docs/architecture.md §8).

- `RawHourCache`: raw records per city hour. Hours older than FRESH are served from memory
  for TTL_S, then read again (which also picks up rows a provider published late); the last
  FRESH hours are read every pass.
- `SettledWrites`: the newest settled hour whose processed_zone_data / meter_readings documents
  this process has written per city, so later passes insert only newer hours (plus revisions)
  instead of re-sending every settled hour of the window as duplicates.
Both are guarded by a lock: the scheduler runs passes of different cities on several threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from pymongo.database import Database

from core.clock import floor_hour
from core.ids import city_hour
from core.vocabulary import RAW_COLLECTIONS

FRESH = timedelta(hours=3)
TTL_S = 3600.0


class RawHourCache:
    def __init__(self, fresh: timedelta = FRESH, ttl_s: float = TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh, self.ttl_s, self.clock = fresh, ttl_s, clock
        self._hours: dict[tuple[str, str], tuple[float, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def read(self, db: Database, city_id: str, since: datetime, until: datetime
             ) -> dict[str, list[dict[str, Any]]]:
        """The city's raw records observed in [since, until], one equality query per hour on
        `city_hour` for the hours not served from memory."""
        now = self.clock()
        hours = pd.date_range(floor_hour(since), floor_hour(until), freq="h")
        settled_before = floor_hour(until) - pd.Timedelta(self.fresh)
        keys = [(city_hour(city_id, h.to_pydatetime()), h < settled_before) for h in hours]
        out: dict[str, list[dict[str, Any]]] = {}
        for name in RAW_COLLECTIONS:
            docs: list[dict[str, Any]] = []
            for key, settled in keys:
                docs += self._hour(db, name, key, settled, now)
            out[name] = [d for d in docs if since <= d["observed_at"] <= until]
        self._forget_before(city_id, city_hour(city_id, hours[0].to_pydatetime()), now)
        return out

    def _hour(self, db: Database, name: str, key: str, settled: bool, now: float
              ) -> list[dict[str, Any]]:
        with self._lock:
            cached = self._hours.get((name, key))
        if settled and cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        docs = list(db[name].find({"city_hour": key}))
        if settled:
            with self._lock:
                self._hours[(name, key)] = (now, docs)
        return docs

    def _forget_before(self, city_id: str, first_key: str, now: float) -> None:
        prefix = city_id + "|"
        with self._lock:
            for name, key in [k for k, (at, _) in self._hours.items()
                              if (k[1].startswith(prefix) and k[1] < first_key)
                              or now - at >= self.ttl_s]:
                del self._hours[(name, key)]

    def clear(self, city_id: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._hours
                        if city_id is None or k[1].startswith(city_id + "|")]:
                del self._hours[key]


class SettledWrites:
    def __init__(self) -> None:
        self._through: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def only_new(self, city_id: str, docs: list[dict[str, Any]], time_field: str,
                 revised: set[str]) -> list[dict[str, Any]]:
        """The documents newer than what this process already wrote, and revised ones."""
        with self._lock:
            through = self._through.get(city_id)
        if through is None:
            return docs
        return [d for d in docs if d[time_field] > through or d["_id"] in revised]

    def mark(self, city_id: str, docs: list[dict[str, Any]], time_field: str) -> None:
        if not docs:
            return
        newest = max(d[time_field] for d in docs)
        with self._lock:
            if city_id not in self._through or newest > self._through[city_id]:
                self._through[city_id] = newest

    def clear(self, city_id: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._through if city_id is None or k == city_id]:
                del self._through[key]
