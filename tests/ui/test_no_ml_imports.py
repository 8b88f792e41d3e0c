"""The UI process never imports an ML framework or models/ (architecture §1, §9: <= 400 MB).

A fresh interpreter imports app.py (which runs its default page), every ui.* module and runs
every page script, with MongoDB pointed at a closed port so nothing is read or written; then
it reports which forbidden modules got imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.ui.ui_env import REPO

FORBIDDEN = ("tensorflow", "torch", "torch_geometric", "keras", "models")

PROBE = r"""
import importlib, json, pkgutil, runpy, sys
from pathlib import Path
from pymongo.errors import PyMongoError

import app  # noqa: F401  (runs the entry script in bare mode)
import ui
for info in pkgutil.iter_modules(ui.__path__):
    importlib.import_module(f"ui.{info.name}")
pages = sorted(str(p) for p in Path("pages").glob("*.py"))
for page in pages:
    try:
        runpy.run_path(page, run_name="__page__")
    except PyMongoError:
        pass  # no database on purpose; the imports have happened by then
print(json.dumps({"pages": pages, "modules": sorted(sys.modules)}))
"""


def test_ui_imports_no_ml_framework_and_not_models() -> None:
    env = {**os.environ, "MONGO_URI": "mongodb://127.0.0.1:9/", "MONGO_TIMEOUT_MS": "200",
           "MONGO_DB": "citylive_test_ui_imports", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report["pages"]) == 5
    assert "ui.loaders" in report["modules"] and "plotly.graph_objects" in report["modules"]
    leaked = [m for m in report["modules"]
              if any(m == name or m.startswith(name + ".") for name in FORBIDDEN)]
    assert leaked == []
