"""analyse_cohort: every section computed once, with the reason beside what is missing."""

from __future__ import annotations

import pytest

from msreboot.analysis import CohortAnalysis, analyse_cohort
from msreboot.data import Cohort
from msreboot.datasets import load_example
from msreboot.endpoints import compare_endpoint, estimate_endpoint, transplant_mortality


@pytest.fixture(scope="module")
def analysis() -> CohortAnalysis:
    return analyse_cohort(load_example(), definitions=["halt_ms_efs", "relapse_free"])


def test_sections_are_the_endpoint_functions_results(analysis: CohortAnalysis) -> None:
    cohort = analysis.cohort
    assert analysis.endpoints is not None
    direct = estimate_endpoint(cohort, "halt_ms_efs", times_years=(2, 3, 4, 5))
    assert analysis.endpoints["halt_ms_efs"].landmarks.equals(direct.landmarks)
    assert analysis.trm is not None
    assert analysis.trm.deaths_within_window == transplant_mortality(cohort).deaths_within_window
    assert analysis.description.group_counts() == {"AHSCT": 180, "DMT only": 120}
    assert sum(analysis.description.group_sizes[g] for g in ("AHSCT", "DMT only")) == 300
    assert analysis.course.relapses is not None
    assert analysis.course.mri is not None
    assert analysis.evidence.trm is not None
    assert analysis.evidence.landmarks
    assert analysis.citations[-1].startswith("Evidence dataset version")
    assert analysis.comparisons == {}


def test_results_render_anywhere(analysis: CohortAnalysis) -> None:
    text = analysis.summary()
    assert "HALT-MS event-free survival" in text
    assert "300 patients" in text
    assert "<pre>" in analysis._repr_html_()
    frame = analysis.to_frame()
    assert set(frame["endpoint"]) == {"halt_ms_efs", "relapse_free"}


def test_comparison_by_a_patients_column_matches_compare_endpoint() -> None:
    analysis = analyse_cohort(load_example(), definitions=["relapse_free"], by="sex")
    direct = compare_endpoint(load_example(), "relapse_free", "sex", times_years=(2, 3, 4, 5))
    mine = analysis.comparisons["relapse_free"]
    assert mine.hazard_ratios.equals(direct.hazard_ratios)
    assert mine.log_rank_p == direct.log_rank_p
    assert "relapse_free by sex" in analysis.summary()


def test_by_must_name_a_patients_column() -> None:
    with pytest.raises(ValueError, match="by must be a column of the patients table"):
        analyse_cohort(load_example(), definitions=["relapse_free"], by="no_such_column")


def test_a_cohort_without_transplants_says_why_parts_are_missing() -> None:
    tables = dict(load_example().tables)
    tables["treatments"] = tables["treatments"][tables["treatments"]["kind"] != "ahsct"]
    analysis = analyse_cohort(Cohort.from_frames(tables), definitions=["relapse_free"])
    assert analysis.endpoints is None
    assert any("no ahsct courses" in s for s in analysis.skipped)
    assert analysis.transplant is None
    assert analysis.trm is None
    assert "AHSCT" in analysis.transplant_note
    assert analysis.course.n_treated == 0
    assert analysis.evidence.trm is None
    assert analysis.evidence.notes
    assert analysis.x_max_years == 5.0
