"""Provider stand-ins for benchmarks: a local HTTP server that answers Open-Meteo's forecast,
air-quality and geocoding endpoints for ANY request (any city, any number of locations), each
reply after a random 0.3-2 s, the latency of a real provider on a slow day.

Replies have the providers' documented shapes (tests/fixtures/open_meteo/SOURCES.md); values
are plausible and smooth, not real. Geocoding answers from the offline gazetteer, so any name
resolves. Used by bench/add_city.py for the live figure; never by the app.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.gazetteer import PlaceNameError, search

DELAY_S = (0.3, 2.0)


def _hours(start: str, end: str) -> list[str]:
    day, last = date.fromisoformat(start), date.fromisoformat(end)
    out = []
    while day <= last:
        out += [f"{day.isoformat()}T{h:02d}:00" for h in range(24)]
        day += timedelta(days=1)
    return out


def _series(hours: list[str], lat: float, lon: float, name: str) -> list[float]:
    base = {"temperature_2m": 15.0 - abs(lat) / 4, "relative_humidity_2m": 65.0,
            "wind_speed_10m": 12.0, "precipitation": 0.0, "us_aqi": 40.0, "pm2_5": 9.0,
            "pm10": 16.0, "ozone": 50.0, "nitrogen_dioxide": 20.0}[name]
    phase = (lon % 360) / 15.0
    return [round(base * (1 + 0.15 * math.sin((int(h[11:13]) + phase) / 24 * 2 * math.pi)), 1)
            for h in hours]


def hourly_reply(query: dict[str, list[str]]) -> list[dict[str, Any]]:
    lats = [float(x) for x in query["latitude"][0].split(",")]
    lons = [float(x) for x in query["longitude"][0].split(",")]
    fields = query["hourly"][0].split(",")
    hours = _hours(query["start_date"][0], query["end_date"][0])
    return [{"latitude": lat, "longitude": lon, "utc_offset_seconds": 0, "timezone": "GMT",
             "hourly": {"time": hours, **{f: _series(hours, lat, lon, f) for f in fields}}}
            for lat, lon in zip(lats, lons, strict=True)]


def geocoding_reply(query: dict[str, list[str]]) -> dict[str, Any]:
    try:
        places = search(query.get("name", [""])[0])
    except PlaceNameError:
        places = []
    return {"results": [{"id": p.geonameid, "name": p.name, "latitude": p.lat,
                         "longitude": p.lon, "country_code": p.country_code,
                         "country": p.country, "admin1": p.admin1, "timezone": p.timezone,
                         "population": p.population} for p in places],
            "generationtime_ms": 1.0}


class StandIn:
    """The server on 127.0.0.1:<free port>; `.base_url`, `.requests` (path -> count)."""

    def __init__(self, seed: int = 7) -> None:
        self.requests: dict[str, int] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                with standin._lock:
                    standin.requests[url.path] = standin.requests.get(url.path, 0) + 1
                    delay = standin._random.uniform(*DELAY_S)
                time.sleep(delay)
                if url.path in ("/v1/forecast", "/v1/air-quality"):
                    body: Any = hourly_reply(query)
                elif url.path == "/v1/search":
                    body = geocoding_reply(query)
                else:
                    self.send_error(404, f"no stand-in for {url.path}")
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
