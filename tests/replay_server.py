"""A tiny local HTTP server that replays recorded provider responses (tests/fixtures/).

Rules match a request by path and a subset of its query; the first rule with uses left answers.
A rule can replay a fixture file, inject a status code, a Retry-After header, a delay, a
truncated body or an HTML page. Every request received is recorded, so a test can assert what
a client asked for (and how often). Unmatched requests get a 404 naming the path.

Use from pytest by importing `replay_server_fixture` into a test module (or a conftest) and
asking for the `replay_server` fixture, or as a context manager:
`with ReplayServer() as server: server.base_url`.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from core.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def load_fixture(name: str) -> Any:
    """A recorded JSON reply, decoded (for tests that need no HTTP at all)."""
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


@dataclass
class Rule:
    """How to answer requests for `path` whose query contains `query` (name -> value)."""

    path: str
    query: dict[str, str] = field(default_factory=dict)
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    times: int | None = None  # None: answer forever
    used: int = 0

    def matches(self, path: str, query: dict[str, list[str]]) -> bool:
        if path != self.path or (self.times is not None and self.used >= self.times):
            return False
        return all(value in query.get(name, []) for name, value in self.query.items())


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class ReplayServer:
    """Serves rules on 127.0.0.1:<free port> from a background thread."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, path: str, *, fixture: str | None = None, json_body: Any = None,
            body: bytes | str | None = None, status: int = 200, query: dict[str, str] | None = None,
            content_type: str | None = None, retry_after: str | None = None,
            headers: dict[str, str] | None = None, delay_s: float = 0.0,
            truncate: int | None = None, times: int | None = None) -> Rule:
        """Answer `path` (+ query subset) with a fixture file, a JSON value or raw bytes."""
        if fixture is not None:
            data = fixture_path(fixture).read_bytes()
            kind = "text/html" if fixture.endswith(".html") else "application/json"
        elif json_body is not None:
            data, kind = json.dumps(json_body).encode(), "application/json"
        else:
            data = body.encode() if isinstance(body, str) else (body or b"")
            kind = "application/json"
        if truncate is not None:
            data = data[:truncate]
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        rule = Rule(path, dict(query or {}), status, data, content_type or kind, extra, delay_s,
                    times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def add_html(self, path: str, *, status: int = 200, times: int | None = None) -> Rule:
        """A captive-portal / gateway page where JSON was expected."""
        page = "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>" \
               "<body><h1>Temporarily unavailable</h1></body></html>"
        return self.add(path, body=page, status=status, content_type="text/html", times=times)

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _answer(self, path: str, query: dict[str, list[str]]) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(path, query):
                    rule.used += 1
                    return rule
        return None


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query, keep_blank_values=True)
            server.requests.append(ReceivedRequest("GET", split.path, query,
                                                   {k.lower(): v for k, v in self.headers.items()}))
            rule = server._answer(split.path, query)
            if rule is None:
                rule = Rule(split.path, status=404, body=json.dumps(
                    {"error": f"no replay rule for {split.path}"}).encode())
            if rule.delay_s:
                time.sleep(rule.delay_s)
            self.send_response(rule.status)
            self.send_header("Content-Type", rule.content_type)
            self.send_header("Content-Length", str(len(rule.body)))
            for name, value in rule.headers.items():
                self.send_header(name, value)
            self.end_headers()
            # the client may have given up already (its timeout fired during a delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(rule.body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test output is the report."""

    return Handler


URL_SETTINGS = ("open_meteo_url", "open_meteo_aq_url", "open_meteo_geocoding_url", "eia_url",
                "socrata_nyc_url", "socrata_chicago_url", "socrata_sf_url", "tomtom_url")


def settings_for(base_url: str, **overrides: Any) -> Settings:
    """Settings with every provider base URL pointed at `base_url` (keys unset unless given)."""
    values: dict[str, Any] = {name: base_url for name in URL_SETTINGS}
    values.update(eia_api_key=None, tomtom_api_key=None, socrata_app_token=None)
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(name="replay_server")
def replay_server_fixture() -> Iterator[ReplayServer]:
    """A started ReplayServer; `.base_url` for Settings, `.requests` for assertions."""
    with ReplayServer() as server:
        yield server
