"""The Patient benefit and risk page: the form's values make the profile (empty is
unknown, never a guess), and the tables show the projection's own numbers."""

from __future__ import annotations

from functools import cache

import pytest
from starlette.testclient import TestClient

pytest.importorskip("shiny")

from msreboot.analysis import PatientProfile, PatientProjection, project_patient
from msreboot.app._benefit import (
    eligibility_table,
    options_table,
    profile_from_inputs,
    risks_table,
    sources_table,
    trm_text,
)
from msreboot.app._state import Cancelled, TrialRun
from tests.app.conftest import ANALYST
from tests.app.shiny_session import shiny_session

FORM = {
    "age_years": 38,
    "sex": "female",
    "phenotype": "RRMS",
    "edss": 4.5,
    "disease_duration_years": 6,
    "relapses_last_12_months": 1,
    "relapses_last_24_months": 2,
    "gd_lesions": None,
    "new_t2_lesions": "",
    "current_dmt": "dimethyl_fumarate",
    "failed_dmt_count": 1,
    "hct_ci": 0,
}


@cache
def _projection() -> PatientProjection:
    return project_patient(
        profile_from_inputs(FORM), ["ahsct_cy_atg", "stay"], draws=3, patients_per_draw=20
    )


def test_the_form_makes_the_profile_and_empty_is_unknown() -> None:
    profile = profile_from_inputs(FORM)
    assert profile == PatientProfile(
        age_years=38,
        sex="female",
        phenotype="RRMS",
        edss=4.5,
        disease_duration_years=6,
        relapses_last_12_months=1,
        relapses_last_24_months=2,
        current_dmt="dimethyl_fumarate",
        failed_dmt_count=1,
        hct_ci=0,
    )
    assert profile.gd_lesions is None
    assert profile.new_t2_lesions is None
    bare = profile_from_inputs({"age_years": 50, "edss": 6.0, "phenotype": "SPMS", "sex": ""})
    assert bare.sex is None
    assert bare.current_dmt is None
    assert bare.hct_ci is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gd_lesions": 1.5}, "gd_lesions must be a whole number"),
        ({"edss": 4.3}, "edss must be a multiple of 0.5"),
        ({"age_years": None}, "age_years must be given"),
        ({"relapses_last_12_months": 3}, "relapses_last_24_months must be >="),
        ({"current_dmt": "aspirin"}, "current_dmt must name a DMT"),
    ],
    ids=["fractional count", "off-grid EDSS", "no age", "relapse counts", "unknown DMT"],
)
def test_a_bad_form_value_is_refused_by_name(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        profile_from_inputs({**FORM, **change})


def test_the_options_table_shows_each_estimate_with_its_interval() -> None:
    p = _projection()
    table = options_table(p)
    assert list(table.columns) == ["option", "outcome", "2 years", "5 years", "10 years"]
    labels = {o.label for o in p.options}
    assert set(table["option"]) == labels
    assert len(table) == len(p.outcomes) // 3
    row = p.outcomes[
        (p.outcomes["option"] == "stay") & (p.outcomes["outcome"] == "no_relapse")
    ].set_index("years")
    label = next(o.label for o in p.options if o.name == "stay")
    shown = table[(table["option"] == label) & (table["outcome"] == "no relapse")].iloc[0]
    for years in (2.0, 5.0, 10.0):
        est, low, high = row.loc[years, ["estimate", "cri_low", "cri_high"]]
        want = f"{100 * est:.0f}% ({100 * low:.0f} to {100 * high:.0f}%)"
        assert shown[f"{years:g} years"] == want
    edss = table[table["outcome"] == "expected edss"].iloc[0]["5 years"]
    assert "%" not in edss


def test_eligibility_gives_every_criterion_with_its_reason() -> None:
    p = _projection()
    table = eligibility_table(p)
    checks = p.eligibility.to_frame()
    assert len(table) == len(checks)
    assert table["reason"].tolist() == checks["reason"].tolist()
    verdicts = p.eligibility.verdicts()
    for title, verdict in zip(verdicts["title"], verdicts["verdict"], strict=True):
        assert set(table.loc[table["criteria"] == title, "verdict"]) == {verdict}


def test_trm_risks_and_sources_are_the_projection_s() -> None:
    p = _projection()
    assert p.trm is not None
    text = trm_text(p)
    assert f"{100 * p.trm.probability:.1f}%" in text
    assert f"{100 * p.trm.ci_low:.1f}-{100 * p.trm.ci_high:.1f}%" in text
    risks = risks_table(p)
    trm = risks[(risks["risk"] == "trm")].iloc[0]
    assert trm["estimate"] == (
        f"{100 * p.trm.probability:.1f}% ({100 * p.trm.ci_low:.1f} to {100 * p.trm.ci_high:.1f}%)"
    )
    missing = risks[risks["risk"] == "infertility"]
    assert (missing["estimate"] == "not available").all()
    sources = sources_table(p)
    assert set(sources["kind"]) >= {"TRM evidence", "simulator"}


def test_without_simulation_the_options_table_is_empty_and_trm_says_why() -> None:
    p = project_patient(
        profile_from_inputs({"age_years": 40, "edss": 3.0, "phenotype": "RRMS"}),
        ["ahsct_cy_atg"],
        draws=2,
        patients_per_draw=10,
    )
    assert p.simulation_unknown is not None
    assert options_table(p).empty
    assert trm_text(p).startswith(("Predicted TRM", "Transplant-related mortality: unknown"))
    assert risks_table(p)["option"].tolist() == p.risks["option"].tolist()


def test_a_run_records_the_total_its_work_reports_and_stops_when_cancelled() -> None:
    run = TrialRun()
    run.progress(3, 18)
    assert (run.done, run.total) == (3, 18)
    run.progress(4)
    assert (run.done, run.total) == (4, 18)
    run.cancel.set()
    with pytest.raises(Cancelled):
        run.progress(5, 18)


INPUTS = {
    "pp_age": 38,
    "pp_sex": "female",
    "pp_phenotype": "RRMS",
    "pp_edss": 4.5,
    "pp_duration": 6,
    "pp_relapses_12": 1,
    "pp_relapses": 2,
    "pp_gd": None,
    "pp_new_t2": None,
    "pp_current_dmt": "dimethyl_fumarate",
    "pp_failed": 1,
    "pp_hct_ci": 0,
    "project": 0,
    "cancel_projection": 0,
}
OUTPUTS = [
    "projection_summary",
    "projection_table",
    "projection_eligibility",
    "projection_trm",
    "projection_progress",
    "projection_risks",
    "projection_sources",
    "projection_disclaimer",
]


@pytest.fixture
def small_projections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The page's projection with fewer draws and patients (the same code path), each
    simulation slowed a little so that a cancel lands mid-run; returns the calls made."""
    import time

    from msreboot.analysis import CohortExplorer

    original = CohortExplorer.patient_projection
    calls: list[int] = []

    def small(profile: PatientProfile, *, progress: object = None, **_: object) -> object:
        def slow(done: int, total: int) -> None:
            calls.append(done)
            time.sleep(0.2)
            progress(done, total)  # type: ignore[operator]

        return original(profile, draws=2, patients_per_draw=10, progress=slow)

    monkeypatch.setattr(CohortExplorer, "patient_projection", staticmethod(small))
    return calls


def test_the_page_projects_in_the_background_and_offers_the_sheet(
    app_client: TestClient, small_projections: list[int]
) -> None:
    with shiny_session(app_client, ANALYST, INPUTS, OUTPUTS) as page:
        page.until(lambda p: "Enter a profile" in p.text("projection_summary"))
        assert "neurologist" in page.text("projection_disclaimer")
        assert page.download("patient_sheet").text == ""  # nothing projected yet
        page.update(project=1)
        page.until(lambda p: "Done." in p.html("projection_progress"), 180)
        assert "<progress" in "".join(
            str(m) for m in page.messages
        )  # the bar was shown while it ran
        assert small_projections[-1] == 18  # 9 options x 2 draws, every one reported
        assert page.text("projection_summary").startswith("38 years, female, RRMS")
        assert "Predicted TRM" in page.text("projection_trm")
        options = page.rows("projection_table")
        assert {r["outcome"] for r in options} >= {"no confirmed worsening", "no relapse"}
        assert all("(" in r["10 years"] for r in options)
        assert page.rows("projection_eligibility")
        assert any(r["risk"] == "trm" for r in page.rows("projection_risks"))
        sheet = page.download("patient_sheet")
        assert sheet.status_code == 200
        assert sheet.text.startswith("<!DOCTYPE html>")
        assert "neurologist" in sheet.text


def test_a_projection_can_be_cancelled_and_a_bad_profile_is_refused(
    app_client: TestClient, small_projections: list[int]
) -> None:
    with shiny_session(app_client, ANALYST, INPUTS, OUTPUTS) as page:
        page.until(lambda p: "Enter a profile" in p.text("projection_summary"))
        page.update(project=1)
        page.until(lambda p: "Running" in p.html("projection_progress"))
        page.update(cancel_projection=1)
        page.until(lambda p: "Cancelled." in p.html("projection_progress"), 60)
        assert len(small_projections) < 18
        page.update(pp_edss=4.3, project=2)
        page.until(lambda p: any("edss must be" in str(m) for m in p.messages), 30)


def test_a_refused_profile_is_one_line_per_field() -> None:
    from msreboot.analysis import PatientProfile
    from msreboot.app._benefit import profile_error

    with pytest.raises(ValueError, match="edss must be a multiple") as info:
        PatientProfile(age_years=38, edss=7.3, phenotype="RMS")
    message = profile_error(info.value)
    assert message.startswith("edss: edss must be a multiple of 0.5")
    assert "; phenotype: phenotype must be one of RRMS" in message
    assert "pydantic" not in message
    assert "validation error" not in message
    assert profile_error(ValueError("plain")) == "plain"
