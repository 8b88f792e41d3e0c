"""What a complete Models page shows, checked through AppTest (seeded or trained documents)."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from ui.model_tables import MODEL_TITLES

# per-model charts every trained model has; the model's own extras beside them
MODEL_CHARTS = ("forecast", "by_horizon", "by_hour", "calibration", "residuals", "weekly")
EXTRA_CHARTS = {"tft": ("tft_importances", "tft_attention"), "gnn": ("gnn_graph",)}
MISSING_TEXT = ("none", "nan", "nat", "<na>")


def page_text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "success",
                                  "warning", "error") for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def missing_cells(at: AppTest) -> list[str]:
    """Every dataframe cell that reads None / NaN (or is one)."""
    bad = []
    for table in at.dataframe:
        frame = table.value
        for column in frame.columns:
            for value in frame[column].tolist():
                if value is None or str(value).strip().lower() in MISSING_TEXT or (
                        isinstance(value, float) and value != value):
                    bad.append(f"{column}: {value!r}")
    return bad


def missing_words(text: str) -> list[str]:
    """Lines that show None / nan as a word (not inside words such as 'nothing pending')."""
    pattern = re.compile(r"(?<![\w-])(none|nan|nat)(?![\w-])", re.IGNORECASE)
    return [line for line in text.splitlines() if pattern.search(line)]


def assert_models_page_complete(at: AppTest, models: tuple[str, ...]) -> None:
    """Every section for every model, no exception, no None/NaN text in tables or text."""
    assert not at.exception, [e.value for e in at.exception]
    charts = {e.key for e in at.get("plotly_chart")}
    expected = {f"{chart}_{m}" for m in models for chart in MODEL_CHARTS}
    expected |= {key for m in models for key in EXTRA_CHARTS.get(m, ())}
    assert expected <= charts, f"missing charts: {sorted(expected - charts)}"
    bad_cells = missing_cells(at)
    assert bad_cells == [], bad_cells
    bad_lines = missing_words(page_text(at))
    assert bad_lines == [], bad_lines
    infos = [i.value for i in at.info]
    titles = [MODEL_TITLES[m] for m in models]
    assert not any(f"{t} is not trained" in i for t in titles for i in infos), infos
    assert not any("No variable importances" in i or "No subregion graph" in i
                   for i in infos), infos
