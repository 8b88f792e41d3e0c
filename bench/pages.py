"""Page timings (warm/cold) and UI memory, from the UI's own benchmark (bench/ui_pages.py).

That script seeds its own database on the shared FerretDB, runs every page with AppTest and
measures a real `streamlit run` with a browser; this module runs it as a subprocess and turns
bench/results/ui_pages.json into figures with the budgets of docs/architecture.md §9.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from bench.common import Figure, at_most, not_available

NAME = "pages"
ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "bench" / "results" / "ui_pages.json"
WARM_S, COLD_S, MODELS_COLD_S, RSS_MB = 0.15, 1.0, 0.3, 400.0


def run(env: dict[str, str], quick: bool = False) -> list[Figure]:
    if not (ROOT / "bench" / "ui_pages.py").exists():
        return [not_available("page script times", "bench/ui_pages.py (UI) does not exist yet")]
    started = datetime.now().astimezone()
    args = ["--runs", "1", "--no-server"] if quick else ["--runs", "3"]
    proc = subprocess.run([sys.executable, "-m", "bench.ui_pages", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    if not RESULT.exists():
        return [not_available("page script times", f"bench.ui_pages exited {proc.returncode}: "
                              f"{(proc.stdout + proc.stderr)[-300:]}")]
    data = json.loads(RESULT.read_text())
    if datetime.fromisoformat(data["at"]) < started:
        return [not_available("page script times", f"bench.ui_pages exited {proc.returncode} "
                              f"without new results: {(proc.stdout + proc.stderr)[-300:]}")]
    figures = []
    for page, times in data["pages"].items():
        cold_budget = MODELS_COLD_S if page.startswith("Models") else COLD_S
        figures.append(Figure(f"page {page}: cold cache", times["cold_s"], "s",
                              budget=f"<= {cold_budget} s",
                              verdict=at_most(times["cold_s"], cold_budget)))
        figures.append(Figure(f"page {page}: warm cache", times["warm_s"], "s",
                              budget=f"<= {WARM_S} s", verdict=at_most(times["warm_s"], WARM_S)))
    figures.append(Figure("UI process RSS (AppTest, all pages)", data.get("rss_mb"), "MB",
                          budget="<= 400 MB", verdict=at_most(data.get("rss_mb"), RSS_MB)))
    server = data.get("server_rss_mb")
    figures.append(Figure("UI process RSS (`streamlit run`, browser opened every page)", server,
                          "MB", budget="<= 400 MB", verdict=at_most(server, RSS_MB),
                          note="" if server is not None else "not measured (--no-server or no "
                          "chromium)"))
    return figures
