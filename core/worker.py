"""The name of this process in pipeline_runs and consumer_status: CITYLIVE_WORKER_ID when set,
else host:pid (docs/architecture.md §13)."""

from __future__ import annotations

import os
import socket

_configured: str | None = None


def set_worker_id(worker_id: str | None) -> None:
    """Called once at start-up with the configured id (None: host:pid)."""
    global _configured
    _configured = worker_id or None


def worker_id() -> str:
    return _configured or f"{socket.gethostname()}:{os.getpid()}"
