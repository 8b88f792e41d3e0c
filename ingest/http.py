"""The one retry/backoff helper for provider HTTP calls.

Retries 429 and 5xx (honouring Retry-After), timeouts and connection errors; never other 4xx.
Secrets passed as query params are redacted from every error message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ingest.exceptions import ProviderError, ProviderShapeError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


@dataclass
class RequestCounter:
    """Counts provider requests so a cycle can report them in pipeline_runs."""

    requests: int = 0
    attempts: int = 0
    urls: list[str] = field(default_factory=list)


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def retry_after_seconds(header: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not header:
        return default
    try:
        return min(float(header), MAX_RETRY_AFTER_S)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
        return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER_S)
    except (TypeError, ValueError):
        return default


def get_json(
    client: httpx.Client,
    provider: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    max_attempts: int = 3,
    backoff_s: float = 0.5,
    secrets: Iterable[str | None] = (),
    counter: RequestCounter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GET url and decode JSON, retrying transient failures with exponential backoff."""
    secrets = list(secrets)
    last: ProviderError | None = None
    if counter is not None:
        counter.requests += 1
    for attempt in range(1, max_attempts + 1):
        if counter is not None:
            counter.attempts += 1
        delay = backoff_s * 2 ** (attempt - 1)
        try:
            response = client.get(url, params=params, headers=headers)
        except httpx.TimeoutException:
            last = ProviderError(provider, "timed out", attempts=attempt)
        except httpx.TransportError as exc:
            last = ProviderError(provider, redact(f"connection failed: {exc}", secrets),
                                 attempts=attempt)
        else:
            if response.status_code in RETRY_STATUSES:
                last = ProviderError(provider, _body_hint(response, secrets),
                                     status=response.status_code, attempts=attempt)
                delay = retry_after_seconds(response.headers.get("Retry-After"), delay)
            elif response.status_code >= 400:
                raise ProviderError(provider, _body_hint(response, secrets),
                                    status=response.status_code, attempts=attempt)
            else:
                return _decode(response, provider, attempt, secrets)
        if attempt < max_attempts:
            sleep(delay)
    assert last is not None
    raise last


def _decode(response: httpx.Response, provider: str, attempt: int,
            secrets: list[str | None]) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderShapeError(
            provider, f"response is not JSON ({_body_hint(response, secrets)})",
            status=response.status_code, attempts=attempt) from None


def _body_hint(response: httpx.Response, secrets: list[str | None]) -> str:
    kind = response.headers.get("content-type", "?").split(";")[0]
    snippet = " ".join(response.text[:160].split())
    return redact(f"{kind}: {snippet}", secrets)
