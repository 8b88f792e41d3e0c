"""The Models page on documents the REAL training, precompute and scoring code wrote
(tests/ui/model_fixture.py), not hand-built ones: every section of every model renders, with
no None or NaN anywhere, TFT importances and the GNN's subregion graph present.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.catalog import get_city
from core.vocabulary import MODEL_NAMES, C
from tests.ui.model_checks import assert_models_page_complete, page_text
from tests.ui.model_fixture import TrainedCity
from tests.ui.ui_env import APP, clear_streamlit_caches
from ui.model_tables import MODEL_TITLES

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]
NYC = get_city("nyc")


def models_page(scope: str = "city") -> AppTest:
    clear_streamlit_caches()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"city": "nyc", "zone": NYC.zones[0].zone_id})
    at.run()
    at.switch_page("pages/model_forecasts.py").run()
    if scope != "city":
        at.radio(key="mf_scope").set_value(scope).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_real_code_wrote_every_model(trained_ui: TrainedCity) -> None:
    db = trained_ui.db
    assert [d["model"] for d in trained_ui.registry] == list(MODEL_NAMES)
    for summary in trained_ui.precompute:
        assert summary["ok"], summary["messages"]
    for model in MODEL_NAMES:
        assert db[C.MODEL_OUTPUTS].find_one({"_id": f"nyc|{model}|city|latest"}), model
        assert db[C.MODEL_OUTPUTS].find_one({"_id": f"nyc|{model}|city|day-ahead|latest"}), model
        card = db[C.MODEL_SCORECARD].find_one({"_id": f"nyc|{model}"})
        assert card and card["issuances"] >= 1, (model, card and card.get("issuances"))


@pytest.mark.parametrize("scope", ["city", "zone"])
def test_models_page_on_trained_models_shows_every_section(trained_ui: TrainedCity,
                                                           scope: str) -> None:
    at = models_page(scope)
    assert_models_page_complete(at, MODEL_NAMES)
    text = page_text(at)
    assert "Day-ahead forecast for" in text or scope == "zone"
    assert "**Subregion graph** · 11 subregions of NYIS" in text
    tables = [t.value for t in at.dataframe]
    comparison = next(t for t in tables if "Training (s)" in t.columns)
    assert comparison["Model"].tolist() == [MODEL_TITLES[m] for m in MODEL_NAMES]
    assert "not trained" not in set(comparison.drop(columns="Model").to_numpy().ravel())
    scorecard = next(t for t in tables if "Pending issuances" in t.columns)
    assert scorecard["Model"].tolist() == [MODEL_TITLES[m] for m in MODEL_NAMES]


def test_tft_importances_and_gnn_graph_come_from_training(trained_ui: TrainedCity) -> None:
    at = models_page()
    charts = {e.key: e for e in at.get("plotly_chart")}
    importances = charts["tft_importances"].proto.spec
    assert '"static"' in importances and '"encoder"' in importances and '"decoder"' in importances
    graph = charts["gnn_graph"].proto.spec
    assert "ZONJ" in graph and "the city's series" in graph
