"""The dashboard's Evidence, Trial designer, Endpoints and Data pages, driven over their
websocket: each output is the lower layer's result, rendered."""

from __future__ import annotations

import pytest

pytest.importorskip("shiny")

from starlette.testclient import TestClient

from msreboot.analysis import CohortExplorer
from msreboot.app._server import egger_text
from msreboot.datasets import load_example
from tests.app.conftest import ANALYST
from tests.app.shiny_session import shiny_session


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
    app_client: TestClient,
) -> None:
    outputs = ["forest", "funnel", "egger"]
    inputs = {"source": "example", "open": 0, "study_filter": ""}
    with shiny_session(app_client, ANALYST, inputs, outputs) as page:
        page.until(lambda p: all(p.values.get(o) for o in outputs), 300)
        assert "data:image/png;base64," in page.html("funnel")
        assert "Funnel plot" in page.html("funnel")
        assert "data:image/png;base64," in page.html("forest")
        assert "Regression test for funnel plot asymmetry" in page.text("egger")
        assert not page.errors


TRIAL = {
    "trial": "mist_2019",
    "replicates": 2,
    "seed": 0,
    "follow_up": 0,
    "target_power": 0.8,
    "n_low": 10,
    "n_high": 40,
    "power_replicates": 2,
    "run_power": 0,
    "cancel_power": 0,
    "run_trial": 0,
    "cancel_trial": 0,
}
POWER = ["power_progress", "power_curve", "power_summary", "power_table"]


def test_the_power_curve_runs_in_the_background_with_its_intervals(app_client: TestClient) -> None:
    with shiny_session(app_client, ANALYST, TRIAL, POWER) as page:
        page.until(lambda p: "Not run yet." in p.html("power_progress"))
        page.update(run_power=1)
        page.until(lambda p: "Done." in p.html("power_progress"), 300)
        rows = page.rows("power_table")
        assert rows
        assert [r["n_per_arm"] for r in rows] == sorted(r["n_per_arm"] for r in rows)
        assert 40 in {r["n_per_arm"] for r in rows}
        for r in rows:
            assert r["power_low"] <= r["power"] <= r["power_high"]
            assert r["replicates"] == 2
        curve = page.values["power_curve"]
        assert str(curve["src"]).startswith("data:image/png;base64,")
        summary = page.text("power_summary")
        assert "Patients per arm for 80% power" in summary
        assert "2 replicates per size" in summary
        assert "The power intervals include Monte Carlo error." in summary


def test_a_power_search_can_be_cancelled_and_a_one_arm_trial_says_why(
    app_client: TestClient,
) -> None:
    inputs = {**TRIAL, "n_high": 400, "power_replicates": 100}
    with shiny_session(app_client, ANALYST, inputs, POWER) as page:
        page.update(run_power=1)
        page.until(lambda p: "Running" in p.html("power_progress"), 60)
        page.update(cancel_power=1)
        page.until(lambda p: "Cancelled." in p.html("power_progress"), 120)
        page.update(trial="halt_ms", run_power=2)
        page.until(lambda p: "at least two arms" in p.html("power_progress"), 60)
        assert page.text("power_summary") == ""


def test_power_text_says_when_the_target_is_not_reached() -> None:
    import pandas as pd

    from msreboot.app._power import power_text

    table = pd.DataFrame({"n_per_arm": [10, 20]})
    nan = float("nan")
    table.attrs.update(
        {
            "n_per_arm": nan,
            "n_per_arm_fitted": nan,
            "n_per_arm_low": nan,
            "n_per_arm_high": nan,
            "n_per_arm_schoenfeld": 41.2,
            "method": "log_rank",
            "sides": 2,
            "target_power": 0.9,
            "alpha": 0.05,
            "conf_level": 0.95,
            "replicates": 5,
            "ranges_include": "Monte Carlo error",
        }
    )
    text = power_text(table)
    assert "for 90% power (log_rank, 2-sided, alpha 0.05, 5 replicates per size)" in text
    assert "smallest size tried with power >= target: not reached" in text
    assert "fitted curve: not reached\n" in text
    assert "Schoenfeld's formula: 41" in text
