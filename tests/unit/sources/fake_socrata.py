"""A fake Socrata 311 dataset behind httpx.MockTransport (unit tier).

Unlike the replay server, which answers whatever was asked, it applies the request's `$where`
lower bound, `$order`, `$limit` and `$offset` to the rows it holds, as the SODA API does: a
test then sees which rows a request really reaches (a late-published row, the newest row
behind a page cap).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx

from ingest.sources.socrata_311 import to_floating

NYC_TZ = "America/New_York"
MIDTOWN = (40.758, -73.9855)
WHERE = re.compile(r"^(\w+) >= '([^']+)'$")


def nyc_row(unique_key: str, created: datetime, point: tuple[float, float] = MIDTOWN
            ) -> dict[str, Any]:
    """One erm2-nwe9 row as Socrata sends it: strings only, floating (New York) time."""
    return {"unique_key": unique_key, "created_date": to_floating(created, NYC_TZ),
            "agency": "NYPD", "complaint_type": "Noise - Residential",
            "descriptor": "Banging/Pounding", "status": "Open",
            "latitude": f"{point[0]:.5f}", "longitude": f"{point[1]:.5f}"}


class FakeSocrata:
    """Rows of one dataset; every request received is kept in `requests`."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.requests: list[httpx.Request] = []

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.answer))

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        match = WHERE.match(params["$where"])
        assert match, params["$where"]
        column, lower = match.groups()
        # floating timestamps of one format and zone compare as text
        hits = [row for row in self.rows if row[column] >= lower]
        for term in reversed(params["$order"].split(",")):  # stable sorts, last key first
            name, *direction = term.split()
            hits.sort(key=lambda row, n=name: row[n], reverse=direction == ["DESC"])
        offset, limit = int(params["$offset"]), int(params["$limit"])
        return httpx.Response(200, json=hits[offset:offset + limit])

    def lower_bounds(self) -> list[str]:
        """The created-date literal of each request's `$where`."""
        return [WHERE.match(r.url.params["$where"]).group(2)  # type: ignore[union-attr]
                for r in self.requests]
