"""Simulated traffic_events: speed per road link, 2-3 links per zone (link_id "z07-L2").

speed = free_flow x (1 - congestion); congestion follows the clock (weekday rush hours),
zone density, rain and short random jams (CityWorld.link_congestion).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from core.vocabulary import CADENCE_MIN
from ingest.simulator.clock import observation_times, time_grid
from ingest.simulator.records import column, common_fields
from ingest.simulator.world import CityWorld


def generate(world: CityWorld, start: datetime, end: datetime,
             ingested_at: datetime) -> list[dict[str, Any]]:
    times = observation_times(start, end, CADENCE_MIN["traffic"])
    if not times:
        return []
    links = world.links
    congestion = np.round(world.link_congestion(time_grid(times, world.city.timezone)), 3)
    speed = links.free_flow_kmh[None, :] * (1.0 - congestion)
    n = len(links.link_ids)
    link_zone = [world.zone_ids[i] for i in links.zone_index]
    base = common_fields(world.city.city_id, ingested_at)
    return [
        {**base, "zone_id": z, "observed_at": o, "link_id": lid, "speed_kmh": s,
         "free_flow_kmh": ff, "congestion": c}
        for z, o, lid, ff, s, c in zip(
            link_zone * len(times), [t for t in times for _ in range(n)],
            links.link_ids * len(times), links.free_flow_kmh.tolist() * len(times),
            column(speed, 1), column(congestion, 3), strict=True)
    ]
