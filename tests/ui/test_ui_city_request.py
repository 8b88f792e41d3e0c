"""How a failed city request reads: its error and when the sidecar tries again (no services)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from streamlit.testing.v1 import AppTest

from ui.city_request import failure_text

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")


def test_a_retried_failure_shows_its_error_and_the_next_try_in_local_time():
    request = {"_id": "nyc", "status": "failed", "attempts": 3,
               "error": "ProviderError: eia (HTTP 503): [busy] *now*",
               "next_attempt_at": NOW + timedelta(minutes=2)}
    text = failure_text(request, "New York", NOW, NY)
    assert text == ("Loading New York failed (attempt 3): ProviderError\\: eia \\(HTTP 503\\)\\: "
                    "\\[busy\\] \\*now\\*. The sidecar tries again at 2026-11-28 09\\:02 EST "
                    "(in 2 min).")


def test_a_failure_that_is_due_or_final_says_so():
    due = {"status": "failed", "attempts": 1, "error": "x", "next_attempt_at": NOW}
    assert failure_text(due, "NYC", NOW, NY).endswith("The sidecar tries again now.")
    final = {"status": "failed", "error": "unknown city 'atlantis'", "next_attempt_at": None}
    assert failure_text(final, "atlantis", NOW, NY) == (
        "Loading atlantis failed: unknown city 'atlantis'. It is not retried.")


def _banner() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from ui.components import city_request_banner

    city_request_banner({"_id": "nyc", "status": "failed", "attempts": 2, "error": "boom",
                         "next_attempt_at": datetime.now(UTC) + timedelta(minutes=10)},
                        ZoneInfo("America/New_York"))


def test_the_banner_shows_the_error_and_the_retry_time():
    at = AppTest.from_function(_banner).run()
    assert not at.exception
    (error,) = at.error
    assert "Loading this city failed (attempt 2): boom." in error.value
    assert "The sidecar tries again at " in error.value and "(in 10 min)" in error.value
