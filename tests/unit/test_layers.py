"""The import contract (docs/architecture.md §2): every import runs downward.

    sidecar (pipeline.scheduler, pipeline.cycle)      app + pages
        |            |            |                        |
      ingest     processing     models                     ui
        |            |      \\    |   \\                  /  |
        |            |       history (pipeline.history)    |
        +------------+----------------+--------------------+
                              core

The graph is read from the source with `ast` (imports inside functions count too), so a
lazy import cannot slip an upward dependency past the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "ingest", "pipeline", "models", "ui", "pages")

# component -> the components it may import (besides itself)
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "ingest": frozenset({"core"}),
    "history": frozenset({"core"}),
    "processing": frozenset({"core", "history"}),
    "models": frozenset({"core", "history"}),
    "ui": frozenset({"core", "history"}),
    "pages": frozenset({"core", "ui"}),
    "sidecar": frozenset({"core", "ingest", "history", "processing", "models"}),
}

# module prefix -> component; the longest matching prefix wins
COMPONENTS: dict[str, str] = {
    "core": "core",
    "ingest": "ingest",
    "pipeline.history": "history",
    "pipeline.forecasts": "history",  # the weather_forecasts read side, beside history
    "pipeline.processing": "processing",
    "pipeline.cycle": "sidecar",
    "pipeline.scheduler": "sidecar",
    "pipeline": "sidecar",  # the package itself (an empty __init__)
    "models": "models",
    "ui": "ui",
    "pages": "pages",
    "app": "pages",
}


def component_of(module: str) -> str | None:
    """The component of a City Live module; None for a third-party or stdlib module."""
    best = None
    for prefix, component in COMPONENTS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > len(best[0])):
            best = (prefix, component)
    return best[1] if best else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str) -> set[str]:
    """Every module named by an import statement anywhere in `source` (relative ones resolved)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0] if "." in module else ""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: max(0, len(package.split(".")) - node.level + 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(module: str, imports: set[str]) -> list[str]:
    source = component_of(module)
    if source is None:
        return [f"{module}: not assigned to a layer (add it to COMPONENTS)"]
    out = []
    for name in sorted(imports):
        target = component_of(name)
        if target is None or target == source or target in ALLOWED[source]:
            continue
        out.append(f"{module} ({source}) imports {name} ({target})")
    return out


def project_modules() -> dict[str, Path]:
    files = [ROOT / "app.py"]
    for package in PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return {module_name(f): f for f in files}


def test_every_import_runs_downward() -> None:
    found = []
    for module, path in project_modules().items():
        found += violations(module, imported_modules(path.read_text(), module))
    assert not found, "upward or sideways imports:\n" + "\n".join(found)


def test_every_component_is_a_layer_of_the_contract() -> None:
    assert set(COMPONENTS.values()) == set(ALLOWED)
    for module in project_modules():
        assert component_of(module) is not None, module


@pytest.mark.parametrize(("module", "source"), [
    ("ingest.consumer", "from pipeline.processing.job import process_city"),
    ("pipeline.processing.job", "import models.precompute"),
    ("core.storage", "from ingest.schema import validate_record"),
    ("ui.loaders", "def f():\n    from models.registry import load\n"),
    ("pages.city_live", "from pipeline.history import load_city_days"),
    ("models.train", "from ..ui import loaders"),
    ("pipeline.history", "from pipeline.processing import compute"),
])
def test_an_upward_or_sideways_import_is_reported(module: str, source: str) -> None:
    assert violations(module, imported_modules(source, module))


@pytest.mark.parametrize(("module", "source"), [
    ("pipeline.cycle", "from models.precompute import precompute_city"),
    ("ui.loaders", "from pipeline.history import load_city_days\nimport pandas"),
    ("ingest.consumer", "from core.storage import insert_new\nfrom . import schema"),
])
def test_a_downward_import_is_allowed(module: str, source: str) -> None:
    assert violations(module, imported_modules(source, module)) == []
