"""The page registry in app.py: the URLs the README promises, and no page file named after a
page URL (Streamlit would run such a file on its own, without app.py, for the first request
after a start: see the app.py docstring).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.ui.ui_env import REPO

DESIGN_URLS = {"", "analytics", "models", "live_stream", "pipeline_health"}


def registered_pages() -> dict[str, str]:
    """url_path -> page file, read from the st.Page(...) calls in app.py."""
    pages = {}
    for node in ast.walk(ast.parse((REPO / "app.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page":
            keywords = {k.arg: k.value.value for k in node.keywords
                        if isinstance(k.value, ast.Constant)}
            pages[keywords["url_path"]] = node.args[0].value
    return pages


def test_urls_are_the_designed_ones_and_files_exist() -> None:
    pages = registered_pages()
    assert set(pages) == DESIGN_URLS
    assert all((REPO / path).is_file() for path in pages.values())


def test_no_page_file_is_named_after_a_page_url() -> None:
    pages = registered_pages()
    stems = {Path(path).stem for path in pages.values()}
    assert stems.isdisjoint(DESIGN_URLS), stems & DESIGN_URLS
    assert not (REPO / "pages" / "models.py").exists()  # would shadow the models package too
