"""Add a city through the sidebar, in headless Chromium, against the real sidecar: the name is
looked up by the sidecar, the analyst picks the candidate, and City Live shows the new city's
hexagons and first data. Screenshot: test-output/screenshots/add_city.png."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.vocabulary import MODEL_NAMES, C
from tests.ui.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SHOTS,
    _free_port,
    _wait_healthy,
    assert_no_exception,
    wait_for_run,
)
from tests.ui.ui_env import REPO

pytestmark = [pytest.mark.browser, pytest.mark.integration]
NEW_CITY = "reykjavik-is"


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def wait_until(check, timeout_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout_s} s; sidecar log:\n{log.read_text()[-3000:]}")


def test_add_a_city_from_the_sidebar(test_env, db, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's chromium (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    # no offline training in this test: placeholder registry documents
    db[C.MODEL_REGISTRY].insert_many([{"_id": f"{c}|{m}", "city_id": c, "model": m}
                                      for c in ("nyc", NEW_CITY) for m in MODEL_NAMES])
    env = {**os.environ, "PYTHONPATH": str(REPO), "CITYLIVE_CITIES": "nyc",
           "CITYLIVE_BACKFILL_DAYS": "1", "CITYLIVE_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
           "CITYLIVE_MAP_TILES": "false", "PYTHONUNBUFFERED": "1"}
    sidecar_log, ui_log = tmp_path / "sidecar.log", tmp_path / "streamlit.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with process([sys.executable, "-m", "pipeline.scheduler"], env, sidecar_log), \
            process([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless",
                     "true", "--server.port", str(port), "--server.address", "127.0.0.1",
                     "--browser.gatherUsageStats", "false"], env, ui_log) as ui:
        wait_until(lambda: (db[C.CITY_REQUESTS].find_one({"_id": "nyc"}) or {}).get("status")
                   == "active", 240, "the sidecar did not activate nyc", sidecar_log)
        _wait_healthy(url, ui, ui_log)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{url}/?city=nyc")
            wait_for_run(page)
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Add a city…").click()
            sidebar.get_by_label("City name").fill("<b>Reykjavik</b>")
            sidebar.get_by_role("button", name="Find").click()
            sidebar.get_by_text("cannot contain").wait_for()  # bad input: a message, no write
            assert db[C.CITY_SEARCHES].count_documents({}) == 0
            sidebar.get_by_label("City name").fill("Reykjavik")
            sidebar.get_by_role("button", name="Find").click()
            sidebar.get_by_text("Reykjavík, Iceland").first.wait_for()
            started = time.monotonic()
            sidebar.get_by_role("button", name="Add").click()
            wait_until(lambda: db[C.ZONES].count_documents({"city_id": NEW_CITY}) > 0, 30,
                       "the sidecar did not store the new city", sidecar_log)
            n_zones = db[C.ZONES].count_documents({"city_id": NEW_CITY})
            assert 20 <= n_zones <= 60
            page.get_by_role("heading", name="City Live · Reykjavík").wait_for()
            # the caption only a drawn page of the new city has (NYC has 40 zones)
            page.get_by_text(f"of {n_zones} zones reporting").wait_for(timeout=90_000)
            first_data_s = time.monotonic() - started
            page.wait_for_selector(".js-plotly-plot")
            wait_for_run(page)
            assert_no_exception(page)
            # every zone is a filled hexagon on the map
            drawn = page.wait_for_function("""() => {
                const plot = document.querySelector('.js-plotly-plot');
                if (!plot || !plot.data) return false;
                return plot.data.filter(t => t.type === 'choroplethmap')
                                .reduce((n, t) => n + t.locations.length, 0);
            }""").json_value()
            assert drawn >= n_zones
            assert page.get_by_text("SIMULATED DATA").count() >= 1
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "add_city.png"), full_page=True)
            browser.close()
    print(f"add -> first data on City Live: {first_data_s:.1f} s ({n_zones} zones)")
