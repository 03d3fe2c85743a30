"""The dashboard's Evidence, Trial designer, Endpoints and Data pages, driven over their
websocket: each output is the lower layer's result, rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("shiny")

from starlette.testclient import TestClient

from msreboot.analysis import CohortExplorer
from msreboot.app import AppConfig
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


def test_editing_the_relapse_buffers_and_the_baseline_changes_the_definition() -> None:
    from msreboot.app._server import _edited, methods_text
    from msreboot.endpoints import EndpointDefinition

    def rules(definition: object) -> object:
        return next(c.definition for c in definition.components if c.kind == "disability")  # type: ignore[attr-defined]

    preset = rules(EndpointDefinition.preset("halt_ms_efs"))
    same = _edited("halt_ms_efs", "preset", "preset", 0, 0, 0.9)
    assert rules(same) == preset
    edited = rules(
        _edited(
            "halt_ms_efs",
            "preset",
            "preset",
            0,
            0,
            0.9,
            baseline="roving",
            after_relapse="yes",
            buffers=(60.0, None, 14.0),
        )
    )
    assert edited.baseline.kind == "roving"  # type: ignore[attr-defined]
    assert edited.baseline.after_relapse  # type: ignore[attr-defined]
    assert edited.relapse_buffer.baseline == (60.0, 0.0)  # type: ignore[attr-defined]
    assert edited.relapse_buffer.confirmation == preset.relapse_buffer.confirmation  # type: ignore[attr-defined]
    assert edited.relapse_buffer.event == (14.0, 0.0)  # type: ignore[attr-defined]
    text = methods_text(
        _edited("halt_ms_efs", "preset", "preset", 0, 0, 0.9, buffers=(60.0, None, 14.0))
    )
    assert "at least 60 days after a relapse onset" in text
    assert "event visits at least 14 days" in text
    with pytest.raises(ValueError, match="must be >= 0 days"):
        _edited("halt_ms_efs", "preset", "preset", 0, 0, 0.9, buffers=(-5.0, None, None))


ENDPOINTS = {
    "source": "example",
    "open": 0,
    "preset": "halt_ms_efs",
    "death": "preset",
    "censor": "preset",
    "confirmation_days": 0,
    "min_gd": 0,
    "conf_level": 0.9,
    "group": "none",
    "landmarks": "2, 5",
    "baseline_kind": "preset",
    "after_relapse": "preset",
    "buffer_baseline": None,
    "buffer_confirmation": None,
    "buffer_event": None,
}


def test_the_methods_text_follows_the_buffers_and_baseline_live(app_client: TestClient) -> None:
    with shiny_session(app_client, ANALYST, ENDPOINTS, ["methods", "landmark_table"]) as page:
        page.until(lambda p: "Disability rules:" in p.text("methods"), 300)
        before = page.text("methods")
        assert "at least 30 days after a relapse onset" in before
        page.update(buffer_baseline=90)
        page.until(lambda p: "at least 90 days after a relapse onset" in p.text("methods"))
        page.update(baseline_kind="roving")
        page.until(lambda p: "roving baseline moved" in p.text("methods"))
        page.update(buffer_baseline=-1)
        page.until(lambda p: "methods" in p.errors)
        assert "must be >= 0 days" in str(page.errors["methods"])


def test_an_uploaded_folder_is_imported_into_the_session_s_own_store(
    app_client: TestClient, app_config: AppConfig
) -> None:
    import time

    from msreboot.datasets import example_path

    files = sorted(Path(example_path()).glob("*.csv"))
    assert files
    outputs = ["description", "validation_summary", "import_status"]
    inputs = {"source": "example", "open": 0, "import_store": 0, "upload": None}
    with shiny_session(app_client, ANALYST, inputs, outputs) as page:
        page.until(lambda p: "Not imported" in p.text("import_status"), 300)
        page.update(import_store=1)  # nothing uploaded yet: refused, nothing written
        page.until(lambda p: any("validate without errors" in str(m) for m in p.messages))
        page.upload("upload", files)
        page.until(lambda p: "validated" in p.text("validation_summary"), 120)
        page.update(import_store=2)
        page.until(lambda p: "Choose the imported upload" in p.text("import_status"), 120)
        assert "patients 300" in page.text("import_status")
        assert "/" not in page.text("import_status")  # no server paths shown
        selects = [m for m in page.messages if m.get("inputMessages")]
        chosen = [
            i["message"]
            for m in selects
            for i in m["inputMessages"]
            if i["id"] == "source" and "value" in i["message"]
        ]
        value = chosen[-1]["value"]
        key = value[0] if isinstance(value, list) else value
        assert key.startswith("imported-")
        uploads = app_config.data_dir / "uploads"
        stores = list(uploads.glob("*-store/cohort.duckdb"))
        assert len(stores) == 1  # in the app's data folder, beside the session's uploads
        page.update(source=key, open=1)
        page.until(lambda p: p.text("description").startswith("Imported upload"), 120)
        assert "300 patients" in page.text("description")
    deadline = time.monotonic() + 10
    while stores[0].exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not stores[0].parent.exists()  # removed when the session ends


def test_a_session_s_import_opens_for_that_session_only(tmp_path: Path) -> None:
    from msreboot.app._state import Cohorts
    from msreboot.data import import_cohort

    store = tmp_path / "cohort.duckdb"
    import_cohort(load_example(), store)
    cohorts = Cohorts()
    mine = {"imported-abc": store}
    assert len(cohorts.explorer("imported-abc", mine).cohort.patients) == 300
    with pytest.raises(ValueError, match="another session's import"):
        cohorts.explorer("imported-abc", {})
    cohorts.forget("imported-abc")
    with pytest.raises(ValueError, match="source must be one of"):
        cohorts.explorer("imported-abc", {})
