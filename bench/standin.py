"""A local Open-Meteo stand-in: a stdlib ThreadingHTTPServer on 127.0.0.1.

It answers `/v1/forecast` and `/v1/air-quality` with Open-Meteo-shaped JSON (one item per
requested location, hourly columns for the requested dates in GMT), and `/v1/search`
(geocoding) from the offline gazetteer so that any name resolves, after a random, seeded
latency, and counts requests. Benchmarks point both City Live's batched client and the seed's
per-zone calls at the same instance. A `fault` mode makes it misbehave for fault tests: 429
with Retry-After, 500, a hang past the client timeout, truncated JSON, HTML, JSON of another
shape.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULTS = ("429", "500", "timeout", "truncated", "html", "shape")
MAX_DAYS = 100


@dataclass
class Hit:
    """One request as the stand-in saw it."""

    path: str
    at: float
    locations: int
    query: dict[str, list[str]] = field(default_factory=dict)
    worker: str | None = None  # the X-Citylive-Worker header (a configured CITYLIVE_WORKER_ID)


def hourly_item(lat: float, lon: float, variables: list[str], start: date, end: date
                ) -> dict[str, Any]:
    """One location's reply: deterministic smooth values for every hour of [start, end]."""
    days = min((end - start).days + 1, MAX_DAYS)
    hours = [datetime(start.year, start.month, start.day) + timedelta(hours=h)
             for h in range(24 * max(days, 1))]
    phase = (lat * 7 + lon * 3) % 24
    columns: dict[str, list[Any]] = {"time": [h.strftime("%Y-%m-%dT%H:%M") for h in hours]}
    for name in variables:
        wave = [math.sin((h.hour + phase) / 24 * 2 * math.pi) for h in hours]
        if name == "us_aqi":
            columns[name] = [int(40 + 20 * w) for w in wave]
        elif name == "relative_humidity_2m":
            columns[name] = [round(60 + 20 * w, 1) for w in wave]
        elif name == "precipitation":
            columns[name] = [0.0 for _ in wave]
        else:
            columns[name] = [round(12 + 8 * w, 2) for w in wave]
    return {"latitude": round(lat, 3), "longitude": round(lon, 3), "generationtime_ms": 0.1,
            "utc_offset_seconds": 0, "timezone": "GMT", "timezone_abbreviation": "GMT",
            "elevation": 10.0, "hourly_units": {"time": "iso8601"}, "hourly": columns}


def reply_for(query: dict[str, list[str]]) -> Any:
    """Open-Meteo's shape: a list for several locations, a plain object for one."""
    lats = [float(x) for x in query.get("latitude", ["0"])[0].split(",")]
    lons = [float(x) for x in query.get("longitude", ["0"])[0].split(",")]
    variables = [v for v in query.get("hourly", ["temperature_2m"])[0].split(",") if v]
    today = date.today()
    start = date.fromisoformat(query["start_date"][0]) if "start_date" in query else today
    end = date.fromisoformat(query["end_date"][0]) if "end_date" in query else today
    items = [hourly_item(lat, lon, variables, start, end)
             for lat, lon in zip(lats, lons, strict=False)]
    return items[0] if len(items) == 1 else items


def geocoding_reply(query: dict[str, list[str]]) -> dict[str, Any]:
    """Open-Meteo geocoding's shape, answered by the offline gazetteer."""
    from core.gazetteer import PlaceNameError, search

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
    """The server, its seeded latency and its request log. Use as a context manager."""

    def __init__(self, latency_s: tuple[float, float] = (0.0, 0.0), seed: int = 0,
                 hang_s: float = 5.0) -> None:
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.fault: str | None = None  # one of FAULTS, or None to answer properly
        self.fault_paths: tuple[str, ...] = ()  # only these paths misbehave (empty: all)
        self.hits: list[Hit] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.hits)

    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()

    def _delay(self) -> float:
        low, high = self.latency_s
        with self._lock:
            return self._rng.uniform(low, high) if high > 0 else 0.0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:  # quiet: tests and benches print
                return

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                lats = query.get("latitude", [""])[0]
                with standin._lock:
                    standin.hits.append(Hit(parts.path, time.monotonic(),
                                            lats.count(",") + 1 if lats else 0, query,
                                            self.headers.get("X-Citylive-Worker")))
                time.sleep(standin._delay())
                fault = standin.fault
                if fault and (not standin.fault_paths or parts.path in standin.fault_paths):
                    self._misbehave(fault, query)
                    return
                if parts.path == "/v1/search":
                    self._send(200, json.dumps(geocoding_reply(query)).encode())
                    return
                if parts.path not in ("/v1/forecast", "/v1/air-quality"):
                    self._send(404, b'{"error": true, "reason": "Not Found"}')
                    return
                try:
                    body = json.dumps(reply_for(query)).encode()
                except (KeyError, ValueError) as exc:
                    body = json.dumps({"error": True, "reason": str(exc)}).encode()
                    self._send(400, body)
                    return
                self._send(200, body)

            def _misbehave(self, fault: str, query: dict[str, list[str]]) -> None:
                if fault == "429":
                    self._send(429, b'{"error": true, "reason": "Too many requests"}',
                               {"Retry-After": "1"})
                elif fault == "500":
                    self._send(500, b'{"error": true, "reason": "Internal error"}')
                elif fault == "timeout":
                    time.sleep(standin.hang_s)
                    self._send(200, json.dumps(reply_for(query)).encode())
                elif fault == "truncated":
                    self._send(200, json.dumps(reply_for(query)).encode()[:200])
                elif fault == "html":
                    self._send(200, b"<html><body><h1>Service Unavailable</h1></body></html>",
                               {"Content-Type": "text/html"})
                elif fault == "shape":
                    self._send(200, b'{"results": [{"value": 1}], "status": "ok"}')
                else:
                    self._send(500, f"unknown fault {fault}".encode())

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None
                      ) -> None:
                try:
                    self.send_response(status)
                    headers = {"Content-Type": "application/json", **(headers or {})}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout fault); nothing to tell it

        return Handler

    def start(self) -> StandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="standin")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, so only if started
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
