"""Errors raised by the ingest package. Messages are built here, never by callers."""

from __future__ import annotations


class IngestError(Exception):
    """Base class for ingest failures."""


class ProviderError(IngestError):
    """A provider answered with something we cannot use (after retries, where they apply)."""

    def __init__(self, provider: str, reason: str, *, status: int | None = None,
                 attempts: int = 1) -> None:
        self.provider = provider
        self.reason = reason
        self.status = status
        self.attempts = attempts
        where = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{provider}{where}: {reason} after {attempts} attempt(s)")


class ProviderShapeError(ProviderError):
    """The provider answered 200 but with JSON of another shape (or not JSON at all)."""


class RecordRejected(IngestError):
    """One record failed validation; it goes to the DLQ with this reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
