"""The real pages in headless Chromium: `streamlit run app.py` against the seeded test database,
every page opened by URL, no exception box, the key elements present, a city switch in the
sidebar, a screenshot per page under test-output/screenshots/.

Uses Debian's /usr/bin/chromium (never `playwright install`).
"""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.catalog import get_city
from core.vocabulary import C
from tests.ui.ui_env import REPO, TEST_DB, Seeded

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SHOTS = REPO / "test-output" / "screenshots"
START_TIMEOUT_S = 60
RUN_TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@contextmanager
def streamlit_server(log: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port against the test database; yields its URL."""
    port = _free_port()
    env = {**os.environ, "MONGO_DB": TEST_DB, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def server(seeded_db: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with streamlit_server(tmp_path_factory.mktemp("streamlit") / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium at /usr/bin/chromium "
                    "(`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def wait_for_run(page) -> None:
    """Streamlit has finished running: a title is drawn and the running indicator is gone."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', state="visible")
    page.wait_for_function(
        """() => {
            const w = document.querySelector('[data-testid="stStatusWidget"]');
            return !w || w.offsetParent === null || !/Running|Stop/.test(w.innerText);
        }""")
    page.wait_for_timeout(400)  # let the last deltas paint


def open_page(page, server: str, path: str, query: str = "city=nyc&zone=z05") -> None:
    page.goto(f"{server}/{path}?{query}")
    wait_for_run(page)


def assert_no_exception(page) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, boxes.first.inner_text()


def shoot(page, name: str) -> None:
    """Screenshot of the whole page: Streamlit scrolls inside stMain, so grow the viewport."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(1000, int(height) + 40), 8000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_city_live_page(page, server: str) -> None:
    open_page(page, server, "")
    assert_no_exception(page)
    page.wait_for_selector('[data-testid="stDataFrame"]')
    assert page.locator('[data-testid="stDataFrame"]').count() >= 3  # detail, zones, alerts
    page.wait_for_selector(".js-plotly-plot")  # the zone map draws without tiles
    assert page.get_by_text("SIMULATED DATA").count() >= 1
    assert page.get_by_text("Zones by risk").count() == 1
    shoot(page, "city_live")


def test_analytics_page_and_csv(page, server: str) -> None:
    open_page(page, server, "analytics")
    assert_no_exception(page)
    page.wait_for_selector(".js-plotly-plot")
    assert page.locator(".js-plotly-plot").count() >= 4
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV of this chart's data").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][:2] == ["time", "zone"]
    assert len(rows) > 24  # 7 days of the city aggregate, hourly
    shoot(page, "analytics")


def test_models_page(page, server: str) -> None:
    open_page(page, server, "models")
    assert_no_exception(page)
    page.wait_for_selector(".js-plotly-plot")
    assert page.get_by_role("tab", name="TFT").count() == 1
    assert page.get_by_role("tab", name="LightGBM").count() == 1
    assert page.get_by_text("Live scorecard · rolling 7 days").count() == 1
    assert page.get_by_text("Model comparison · day-ahead backtest").count() == 1
    shoot(page, "models")


def test_live_stream_page(page, server: str) -> None:
    open_page(page, server, "live_stream")
    assert_no_exception(page)
    page.wait_for_selector('[data-testid="stDataFrame"]')
    assert page.get_by_text("Dead-letter queue", exact=True).count() >= 1
    shoot(page, "live_stream")


def test_pipeline_health_page(page, server: str) -> None:
    open_page(page, server, "pipeline_health")
    assert_no_exception(page)
    page.wait_for_selector('[data-testid="stDataFrame"]')
    assert page.get_by_text("Freshness per collection").count() == 1
    shoot(page, "pipeline_health")


def test_unknown_city_in_link_warns(page, server: str) -> None:
    open_page(page, server, "", query="city=nowhere")
    assert_no_exception(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="Unknown city")
    assert alert.count() == 1
    assert page.locator("h1").first.inner_text().endswith("New York City")
    shoot(page, "unknown_city_warning")


def test_switch_city_in_sidebar(page, server: str, seeded_db: Seeded) -> None:
    open_page(page, server, "")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Chicago").click()
    page.wait_for_selector("text=Loading Chicago")
    assert_no_exception(page)
    page.wait_for_function("() => location.search.includes('city=chicago')")
    assert seeded_db.db[C.CITY_REQUESTS].find_one({"_id": "chicago"})["status"] == "requested"
    shoot(page, "city_live_chicago_loading")
    # the sidecar's first zone document lands: the polling fragment swaps in the page
    zone = get_city("chicago").zones[0]
    seeded_db.db[C.ZONE_LATEST].insert_one({
        "_id": f"chicago|{zone.zone_id}", "city_id": "chicago", "zone_id": zone.zone_id,
        "zone_name": zone.name, "lat": zone.lat, "lon": zone.lon,
        "updated_at": datetime.now(UTC), "source": "simulated", "metrics": {},
        "risk_score": 12, "risk_level": "low", "anomalies": [], "open_alerts": 0})
    try:
        page.wait_for_selector("text=Zones by risk", timeout=20_000)
        wait_for_run(page)
        assert_no_exception(page)
        shoot(page, "city_live_chicago_landed")
    finally:
        seeded_db.db[C.ZONE_LATEST].delete_many({"city_id": "chicago"})
    sidebar.get_by_role("link", name="Analytics").click()
    page.wait_for_selector("h1:has-text('Analytics · Chicago')")
    wait_for_run(page)
    assert_no_exception(page)
    assert "city=chicago" in page.url
    shoot(page, "analytics_chicago_empty")


def test_first_request_after_start_can_be_a_deep_link(browser, seeded_db: Seeded,
                                                      tmp_path: Path) -> None:
    """A fresh server whose first visitor opens /analytics still runs app.py (sidebar, city)."""
    with streamlit_server(tmp_path / "server.log") as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.set_default_timeout(RUN_TIMEOUT_MS)
            open_page(page, url, "analytics", query="city=nyc")
            assert_no_exception(page)
            assert page.locator("h1").first.inner_text() == "Analytics · New York City"
            sidebar = page.locator('[data-testid="stSidebar"]')
            assert sidebar.locator('[data-testid="stSelectbox"]').count() == 1  # the city
            assert sidebar.get_by_role("link", name="Pipeline Health").count() == 1
        finally:
            page.close()
