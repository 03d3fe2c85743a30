"""The dashboard's Evidence, Trial designer, Endpoints and Data pages, driven over their
websocket: each output is the lower layer's result, rendered."""

from __future__ import annotations

import pytest

pytest.importorskip("shiny")

from msreboot.analysis import CohortExplorer
from msreboot.app import AppConfig, add_user
from msreboot.app._server import egger_text
from msreboot.datasets import load_example
from tests.app.shiny_session import shiny_session

PASSWORD = "analyst password 1"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    return add_user(tmp_path_factory.mktemp("cfg") / "app.toml", "ana", PASSWORD, "analyst")


def test_egger_text_says_what_limits_the_test() -> None:
    explorer = CohortExplorer(load_example())
    pooled = explorer.trm_pool()
    test = explorer.trm_egger()
    assert test is not None
    text = egger_text(pooled, test)
    assert test.summary() in text
    assert f"{pooled.k} published AHSCT arms" in text
    assert all(label in text for label in pooled.labels)
    assert "little power" in text  # fewer than 10 arms
    assert "Egger's test needs at least 3 arms." in egger_text(pooled, None)


def test_the_evidence_page_shows_the_funnel_plot_and_egger_beside_the_forest(
    config: AppConfig,
) -> None:
    outputs = ["forest", "funnel", "egger"]
    inputs = {"source": "example", "open": 0, "study_filter": ""}
    with shiny_session(config, "ana", PASSWORD, inputs, outputs) as page:
        page.until(lambda p: all(p.values.get(o) for o in outputs), 300)
        assert "data:image/png;base64," in page.html("funnel")
        assert "Funnel plot" in page.html("funnel")
        assert "data:image/png;base64," in page.html("forest")
        assert "Regression test for funnel plot asymmetry" in page.text("egger")
        assert not page.errors
