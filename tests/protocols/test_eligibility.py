"""Eligibility: hand-worked cases at every boundary, unknown fields, three-valued rules,
tables of profiles and validation errors that name the field."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.exceptions import DataValidationError
from msreboot.protocols import (
    DISCLAIMER,
    AnyOfRule,
    CriteriaSet,
    Criterion,
    EqualsRule,
    InSetRule,
    PatientProfile,
    RangeRule,
    RelapsesInWindowRule,
    check_eligibility,
    criteria_set,
    load_protocols,
)

# Profiles that meet every required criterion of a set; each test changes one field.
HALT_OK: dict[str, Any] = {
    "age_years": 38,
    "edss": 4.5,
    "phenotype": "RRMS",
    "failed_dmt_count": 1,
    "relapses_last_12_months": 2,
    "disease_duration_years": 4.9,
}
ATKINS_OK: dict[str, Any] = {
    "age_years": 34,
    "edss": 5.0,
    "phenotype": "SPMS",
    "failed_dmt_count": 2,
    "relapses_last_12_months": 1,
}
MIST_OK: dict[str, Any] = {
    "age_years": 36,
    "edss": 3.5,
    "phenotype": "RRMS",
    "failed_dmt_count": 1,
    "relapses_last_12_months": 2,
}
BEAT_OK: dict[str, Any] = {
    "age_years": 40,
    "edss": 4.0,
    "phenotype": "RRMS",
    "failed_dmt_count": 1,
    "relapses_last_24_months": 2,
}
EBMT_OK: dict[str, Any] = {
    "phenotype": "RRMS",
    "failed_dmt_count": 1,
    "relapses_last_12_months": 2,
}


def verdict(profile: dict[str, Any], criteria: str) -> str:
    return check_eligibility(profile, criteria).verdict


def status(profile: dict[str, Any], criteria: str, criterion: str) -> str:
    checks = check_eligibility(profile, criteria)[criteria].checks
    return next(c.status for c in checks if c.criterion_id == criterion)


@pytest.mark.parametrize(
    ("criteria", "base"),
    [
        ("halt_ms", HALT_OK),
        ("atkins_2016", ATKINS_OK),
        ("mist", MIST_OK),
        ("beat_ms", BEAT_OK),
        ("ebmt_2019", EBMT_OK),
    ],
    ids=["halt_ms", "atkins_2016", "mist", "beat_ms", "ebmt_2019"],
)
def test_base_profiles_are_eligible(criteria: str, base: dict[str, Any]) -> None:
    assert verdict(base, criteria) == "eligible"


# -- boundaries, worked by hand ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "base", "field", "value", "expected"),
    [
        # HALT-MS: EDSS 3.0-5.5 inclusive; age 18-60 in completed years.
        ("halt_ms", HALT_OK, "edss", 2.5, "not eligible"),
        ("halt_ms", HALT_OK, "edss", 3.0, "eligible"),
        ("halt_ms", HALT_OK, "edss", 5.5, "eligible"),
        ("halt_ms", HALT_OK, "edss", 6.0, "not eligible"),
        ("halt_ms", HALT_OK, "age_years", 17.9, "not eligible"),
        ("halt_ms", HALT_OK, "age_years", 18, "eligible"),
        ("halt_ms", HALT_OK, "age_years", 60.9, "eligible"),
        ("halt_ms", HALT_OK, "age_years", 61, "not eligible"),
        ("halt_ms", HALT_OK, "failed_dmt_count", 0, "not eligible"),
        ("halt_ms", HALT_OK, "phenotype", "PPMS", "not eligible"),
        # Atkins 2016: age 18-50, EDSS 3.0-6.0, RRMS or SPMS.
        ("atkins_2016", ATKINS_OK, "age_years", 50, "eligible"),
        ("atkins_2016", ATKINS_OK, "age_years", 50.9, "eligible"),
        ("atkins_2016", ATKINS_OK, "age_years", 51, "not eligible"),
        ("atkins_2016", ATKINS_OK, "edss", 3.0, "eligible"),
        ("atkins_2016", ATKINS_OK, "edss", 2.5, "not eligible"),
        ("atkins_2016", ATKINS_OK, "edss", 6.0, "eligible"),
        ("atkins_2016", ATKINS_OK, "edss", 6.5, "not eligible"),
        ("atkins_2016", ATKINS_OK, "phenotype", "PPMS", "not eligible"),
        # MIST: EDSS 2.0-6.0, >= 2 relapses in 12 months, RRMS.
        ("mist", MIST_OK, "edss", 1.5, "not eligible"),
        ("mist", MIST_OK, "edss", 2.0, "eligible"),
        ("mist", MIST_OK, "edss", 6.0, "eligible"),
        ("mist", MIST_OK, "edss", 6.5, "not eligible"),
        ("mist", MIST_OK, "relapses_last_12_months", 1, "not eligible"),
        ("mist", MIST_OK, "phenotype", "SPMS", "not eligible"),
        ("mist", MIST_OK, "age_years", 55.9, "eligible"),
        ("mist", MIST_OK, "age_years", 56, "not eligible"),
        # BEAT-MS: age 18-55 inclusive, EDSS <= 6.0.
        ("beat_ms", BEAT_OK, "age_years", 55, "eligible"),
        ("beat_ms", BEAT_OK, "age_years", 56, "not eligible"),
        ("beat_ms", BEAT_OK, "edss", 6.0, "eligible"),
        ("beat_ms", BEAT_OK, "edss", 6.5, "not eligible"),
        ("beat_ms", BEAT_OK, "phenotype", "SPMS", "eligible"),
        ("beat_ms", BEAT_OK, "phenotype", "PPMS", "not eligible"),
    ],
)
def test_boundaries(
    criteria: str, base: dict[str, Any], field: str, value: object, expected: str
) -> None:
    assert verdict({**base, field: value}, criteria) == expected


def test_halt_ms_admits_relapsing_remitting_ms_under_15_years() -> None:
    """halt-ms.org eligibility: RRMS or progressive-relapsing MS for less than 15 years;
    SPMS is not admitted even with relapses (issue 16, error 6)."""
    spms = {**HALT_OK, "phenotype": "SPMS"}
    assert status(spms, "halt_ms", "phenotype") == "not met"
    assert status(HALT_OK, "halt_ms", "phenotype") == "met"
    assert status({**HALT_OK, "disease_duration_years": 14.9}, "halt_ms", "duration") == "met"
    assert status({**HALT_OK, "disease_duration_years": 15}, "halt_ms", "duration") == "not met"
    unknown = {k: v for k, v in HALT_OK.items() if k != "disease_duration_years"}
    assert status(unknown, "halt_ms", "duration") == "unknown"
    relapses = criteria_set("halt_ms").criteria
    (rule,) = [c for c in relapses if c.id == "relapses"]
    assert (rule.basis, rule.source) == ("reported", "haltms_org_eligibility")


@pytest.mark.parametrize(
    ("relapses", "mri_active", "expected"),
    [
        pytest.param(1, True, "met", id="1-relapse-with-mri"),
        pytest.param(2, False, "not met", id="2-relapses-without-mri"),
        pytest.param(0, True, "not met", id="mri-without-relapse"),
        pytest.param(3, True, "met", id="3-relapses-with-mri"),
    ],
)
def test_ram_ms_needs_a_relapse_and_mri_activity(
    relapses: int, mri_active: bool, expected: str
) -> None:
    """NCT03477500: >= 1 relapse AND (>= 1 Gd+ lesion OR >= 3 new/enlarging T2 lesions)
    in the past year on DMT; not '2 relapses, or 1 relapse + MRI' (issue 16, error 6)."""
    profile = {"relapses_last_12_months": relapses, "mri_active_last_12_months": mri_active}
    assert status(profile, "ram_ms", "activity") == expected


def test_ebmt_2019_lists_progressive_ms_with_activity_as_an_option() -> None:
    """EBMT 2019: RRMS standard; progressive MS with inflammatory activity an option."""
    assert status({"phenotype": "RRMS"}, "ebmt_2019", "phenotype") == "met"
    active = {"phenotype": "SPMS", "relapses_last_12_months": 0, "mri_active_last_12_months": True}
    assert status(active, "ebmt_2019", "phenotype") == "met"
    quiet = {**active, "mri_active_last_12_months": False}
    assert status(quiet, "ebmt_2019", "phenotype") == "not met"
    (rule,) = [c for c in criteria_set("ebmt_2019").criteria if c.id == "phenotype"]
    assert rule.basis == "unchecked"


@pytest.mark.parametrize(
    ("r12", "r24", "expected"),
    [
        (2, None, "met"),  # 2 in 12 months are 2 in 18 months
        (2, 5, "met"),
        (1, 1, "not met"),  # 1 in 24 months: fewer than 2 in 18 months
        (None, 1, "not met"),
        (0, 0, "not met"),
        (1, 2, "unknown"),  # the second relapse may be 13-18 or 19-24 months ago
        (1, None, "unknown"),
        (None, 3, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_relapse_window_is_bounded_by_the_12_and_24_month_counts(
    r12: int | None, r24: int | None, expected: str
) -> None:
    profile = {**HALT_OK, "relapses_last_12_months": r12, "relapses_last_24_months": r24}
    assert status(profile, "halt_ms", "relapses") == expected


@pytest.mark.parametrize(
    ("months", "r12", "r24", "expected"),
    [
        (12, 2, None, True),
        (12, 1, 5, False),
        (6, 1, None, False),  # the 12-month count bounds the 6-month one from above
        (6, 3, None, None),
        (24, 1, 2, True),
        (24, 2, 1, None),  # inconsistent counts are rejected by the profile, see below
        (36, 1, 2, True),
        (36, 1, 1, None),  # relapses 25-36 months ago are not counted
    ],
)
def test_relapses_in_window_rule(
    months: float, r12: int | None, r24: int | None, expected: bool | None
) -> None:
    rule = RelapsesInWindowRule(at_least=2, months=months)
    if r24 is not None and r12 is not None and r24 < r12:
        with pytest.raises(ValueError, match="relapses_last_24_months must be >="):
            PatientProfile(relapses_last_12_months=r12, relapses_last_24_months=r24)
        return
    profile = PatientProfile(relapses_last_12_months=r12, relapses_last_24_months=r24)
    assert rule.evaluate(profile).met is expected


def test_beat_ms_activity_is_unknown_without_two_recent_relapses() -> None:
    profile = {**BEAT_OK, "relapses_last_24_months": 1}
    assert status(profile, "beat_ms", "activity") == "unknown"
    assert verdict(profile, "beat_ms") == "undetermined"


@pytest.mark.parametrize(
    ("relapses", "mri", "gd", "expected"),
    [
        (2, None, None, "met"),
        (1, True, None, "met"),
        (1, False, None, "not met"),
        (1, None, None, "unknown"),
        (1, None, 3, "met"),  # Gd+ lesions are MRI activity
        (1, None, 0, "unknown"),  # no Gd+ lesions, but new T2 lesions are not known
        (0, True, None, "not met"),
        (None, True, None, "unknown"),
    ],
)
def test_ebmt_2019_highly_active_disease(
    relapses: int | None, mri: bool | None, gd: int | None, expected: str
) -> None:
    profile = {
        **EBMT_OK,
        "relapses_last_12_months": relapses,
        "mri_active_last_12_months": mri,
        "gd_lesions_last_12_months": gd,
    }
    assert status(profile, "ebmt_2019", "activity") == expected


def test_derived_mri_activity_says_where_it_comes_from() -> None:
    profile = {**EBMT_OK, "relapses_last_12_months": 1, "gd_lesions_last_12_months": 3}
    check = check_eligibility(profile, "ebmt_2019")["ebmt_2019"].checks[2]
    assert check.met is True
    assert "from 3 Gd+ lesions" in check.reason


def test_favourable_factors_never_decide_the_verdict() -> None:
    older = {**EBMT_OK, "age_years": 52, "disease_duration_years": 20, "edss": 6.5}
    result = check_eligibility(older, "ebmt_2019")
    assert result.verdict == "eligible"
    favourable = [c for c in result["ebmt_2019"].checks if c.level == "favourable"]
    assert [c.status for c in favourable] == ["not met", "not met", "not met"]
    assert result.verdicts().loc[0, "favourable_met"] == "0 of 3"
    assert "favourable, not decisive" in result.summary()


@pytest.mark.parametrize(("edss", "expected"), [(5.5, "met"), (6.0, "not met")], ids=["5.5", "6.0"])
def test_ectrims_ideal_edss_is_under_6(edss: float, expected: str) -> None:
    profile = {"failed_high_efficacy_dmt": True, "phenotype": "RRMS", "edss": edss}
    assert status(profile, "ectrims_ebmt_2022", "edss") == expected
    assert verdict(profile, "ectrims_ebmt_2022") == "eligible"


@pytest.mark.parametrize(("age", "expected"), [(44.9, "met"), (45, "not met")], ids=["44.9", "45"])
def test_ebmt_ideal_age_is_under_45(age: float, expected: str) -> None:
    assert status({**EBMT_OK, "age_years": age}, "ebmt_2019", "age") == expected


# -- unknown is never silently met --------------------------------------------------------------


@pytest.mark.parametrize("field", list(HALT_OK), ids=list(HALT_OK))
def test_a_missing_field_makes_the_verdict_undetermined(field: str) -> None:
    profile = {k: v for k, v in HALT_OK.items() if k != field}
    result = check_eligibility(profile, "halt_ms")
    assert result.verdict == "undetermined"
    unknown = result["halt_ms"].unknown
    assert unknown
    assert all(c.met is None and c.status == "unknown" for c in unknown)
    assert any(field in c.values and c.values[field] is None for c in unknown)
    assert "unknown" in unknown[0].reason
    assert unknown[0].value.count("missing") >= 1


def test_an_empty_profile_is_undetermined_everywhere() -> None:
    table = check_eligibility(PatientProfile()).verdicts()
    assert set(table["verdict"]) == {"undetermined"}
    assert (table["n_met"] == 0).all()
    assert len(table) == len(load_protocols().criteria)


def test_a_failed_criterion_outweighs_unknown_ones() -> None:
    assert verdict({"edss": 7.0}, "halt_ms") == "not eligible"


# -- results ----------------------------------------------------------------------------------


def test_one_line_per_criterion_with_value_rule_and_reason() -> None:
    result = check_eligibility({**HALT_OK, "edss": 6.0, "patient_id": "P1"}, "halt_ms")
    frame = result.to_frame()
    assert list(frame.columns) == [
        "row",
        "patient_id",
        "criteria",
        "criterion_id",
        "label",
        "level",
        "basis",
        "rule",
        "value",
        "status",
        "reason",
        "source_text",
    ]
    edss = frame.set_index("criterion_id").loc["edss"]
    assert (edss["value"], edss["status"]) == ("6.0", "not met")
    assert edss["rule"] == "EDSS from 3.0 to 5.5"
    assert edss["reason"] == "EDSS 6.0 is above the maximum 5.5"
    age = frame.set_index("criterion_id").loc["age"]
    assert age["rule"] == "age at least 18 and under 61 years"
    assert (frame["patient_id"] == "P1").all()


def test_summary_always_carries_the_disclaimer() -> None:
    one = check_eligibility(HALT_OK, "halt_ms")
    many = check_eligibility([HALT_OK, {**HALT_OK, "edss": 7.0}], ["halt_ms", "mist"])
    for result in (one, many):
        assert DISCLAIMER in result.summary()
        assert "neurologist" in result.summary()
        assert "not a medical decision" in result._repr_html_()
    assert "1 eligible, 1 not eligible, 0 undetermined" in many.summary()
    assert "not a medical decision" in one["halt_ms"]._repr_html_()


def test_verdict_needs_one_profile_and_one_set() -> None:
    result = check_eligibility(HALT_OK, ["halt_ms", "mist"])
    with pytest.raises(ValueError, match=r"1 profile\(s\) x 2 set\(s\)"):
        _ = result.verdict
    assert result["mist"].verdict == "eligible"
    with pytest.raises(ValueError, match="criteria must be one of halt_ms, mist; got 'beat_ms'"):
        result["beat_ms"]
    many = check_eligibility([HALT_OK, HALT_OK], "halt_ms")
    with pytest.raises(ValueError, match="needs a result for one profile; got 2"):
        many["halt_ms"]


def test_a_table_of_profiles_gives_one_row_per_patient_and_set() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C"],
            "age_years": [38, 52, None],
            "edss": [4.5, 4.5, 4.5],
            "phenotype": ["RRMS", "rrms", "RRMS"],
            "failed_dmt_count": [1, 1, 1],
            "relapses_last_12_months": [2, 2, 2],
            "disease_duration_years": [4.9, 4.9, 4.9],
        },
        index=[10, 5, 7],  # the index is ignored
    )
    result = check_eligibility(frame, ["halt_ms", "atkins_2016"])
    table = result.verdicts()
    assert len(table) == 6
    got = table.set_index(["patient_id", "criteria"])["verdict"].to_dict()
    assert got == {
        ("A", "halt_ms"): "eligible",
        ("A", "atkins_2016"): "eligible",
        ("B", "halt_ms"): "eligible",
        ("B", "atkins_2016"): "not eligible",
        ("C", "halt_ms"): "undetermined",
        ("C", "atkins_2016"): "undetermined",
    }
    assert list(table["row"]) == [1, 1, 2, 2, 3, 3]
    assert table.loc[3, "not_met"] == "age"
    assert len(result.to_frame()) == 3 * (6 + 5)  # HALT-MS: 6 criteria with duration
    assert "<table" in result._repr_html_()


def test_a_table_accepts_text_as_read_from_csv() -> None:
    frame = pd.DataFrame(
        {
            "id": ["P1"],
            "age_years": ["38"],
            "edss": ["4.5"],
            "phenotype": ["RRMS"],
            "mri_active_last_12_months": ["yes"],
            "failed_high_efficacy_dmt": ["1"],
            "failed_dmt_count": ["2"],
            "relapses_last_12_months": [""],
        }
    )
    result = check_eligibility(frame, "ectrims_ebmt_2022", patient_id_col="id")
    assert result.verdict == "eligible"
    assert result.assessments[0].patient_id == "P1"


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(4)))
def test_row_order_does_not_change_a_patients_verdicts(order: list[int]) -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "age_years": [38, 52, None, 20],
            "edss": [4.5, 6.5, 3.0, 2.0],
            "phenotype": ["RRMS", "SPMS", "RRMS", "PPMS"],
            "relapses_last_12_months": [2, 0, 1, None],
        }
    )
    base = check_eligibility(frame).verdicts().set_index(["patient_id", "criteria"])["verdict"]
    shuffled = check_eligibility(frame.iloc[order]).verdicts()
    assert (
        shuffled.set_index(["patient_id", "criteria"])["verdict"]
        .sort_index()
        .equals(base.sort_index())
    )


# -- bad input: clear errors naming the field ------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"edss": 4.3}, r"edss\n.*edss must be a multiple of 0.5 from 0 to 10; got 4.3"),
        ({"edss": 11}, r"edss must be a multiple of 0.5 from 0 to 10; got 11"),
        ({"age_years": -1}, r"age_years\n.*age_years must be from 0 to 120; got -1"),
        ({"phenotype": "RRM"}, r"phenotype\n.*phenotype must be one of RRMS, SPMS, PPMS, CIS"),
        ({"relapses_last_12_months": 1.5}, r"relapses_last_12_months\n.*must be a whole number"),
        ({"sex": "x"}, r"sex\n.*sex must be 'female' or 'male' \(or F / M\); got 'x'"),
        ({"current_dmt": "aspirin"}, r"current_dmt\n.*current_dmt must name a DMT"),
        ({"prior_dmts": "natalizumab"}, r"prior_dmts must be a sequence of DMT names"),
        ({"gd_lesions": -2}, r"gd_lesions must be from 0 to 1000; got -2"),
        ({"failed_dmt_count": -2}, r"failed_dmt_count must be from 0 to 30; got -2"),
        ({"edss_score": 4.5}, r"edss_score\n.*Extra inputs are not permitted"),
        (
            {"relapses_last_12_months": 3, "relapses_last_24_months": 2},
            r"relapses_last_24_months must be >= relapses_last_12_months",
        ),
        (
            {"age_years": 30, "disease_duration_years": 31},
            r"disease_duration_years must be <= age_years; got 31 > 30",
        ),
        (
            {"gd_lesions_last_12_months": 2, "mri_active_last_12_months": False},
            r"mri_active_last_12_months cannot be false with 2 Gd\+ lesions",
        ),
        (
            {"failed_high_efficacy_dmt": True, "failed_dmt_count": 0},
            r"failed_dmt_count must be >= 1 when failed_high_efficacy_dmt is true",
        ),
    ],
    ids=[
        "edss-grid",
        "edss-range",
        "age",
        "phenotype",
        "integer",
        "sex",
        "current-dmt",
        "prior-dmts-text",
        "last-mri",
        "count",
        "unknown-field",
        "relapse-windows",
        "duration",
        "gd-vs-mri",
        "high-efficacy",
    ],
)
def test_bad_profiles_are_rejected_naming_the_field(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PatientProfile(**values)
    with pytest.raises(ValueError, match=message):
        check_eligibility(values, "halt_ms")


def test_a_bad_table_reports_every_problem_by_row_patient_and_column() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C"],
            "edss": [4.5, 4.3, 12.0],
            "phenotype": ["RRMS", "XX", "SPMS"],
        }
    )
    with pytest.raises(DataValidationError) as caught:
        check_eligibility(frame, "halt_ms")
    problems = caught.value.to_frame()
    assert problems[["row", "patient_id", "column"]].values.tolist() == [
        [2, "B", "edss"],
        [2, "B", "phenotype"],
        [3, "C", "edss"],
    ]
    assert "profiles row 2 (patient B) column edss" in str(caught.value)


def test_a_table_with_unknown_columns_is_rejected() -> None:
    frame = pd.DataFrame({"patient_id": ["A"], "EDSS": [4.5], "age": [30]})
    with pytest.raises(DataValidationError, match=r"column must be a profile field; got 'EDSS'"):
        check_eligibility(frame, "halt_ms")


def test_unknown_criteria_and_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"criteria must be one of halt_ms, .*; got 'halt'"):
        check_eligibility(HALT_OK, "halt")
    with pytest.raises(ValueError, match="at least one criteria set"):
        check_eligibility(HALT_OK, [])
    with pytest.raises(TypeError, match="profiles must be PatientProfile objects"):
        check_eligibility([42], "halt_ms")  # type: ignore[list-item]


# -- rules and criteria written in Python ------------------------------------------------------


def test_a_criteria_set_written_in_python() -> None:
    mine = CriteriaSet(
        name="local",
        title="Local AHSCT criteria",
        kind="guideline",
        criteria=(
            Criterion(
                id="age",
                label="Under 50",
                rule=RangeRule(field="age_years", max=50, max_inclusive=False),
                basis="assumed",
                source_text="Local policy.",
                note="Our centre.",
            ),
            Criterion(
                id="activity",
                label="Active relapsing MS",
                rule=AnyOfRule(
                    rules=(
                        InSetRule(values=("RRMS",)),
                        EqualsRule(field="mri_active_last_12_months", value=True),
                    )
                ),
                basis="assumed",
                source_text="Local policy.",
                note="Our centre.",
            ),
        ),
    )
    result = check_eligibility([{"age_years": 49.9, "phenotype": "SPMS"}], mine)
    assert result.verdict == "undetermined"
    assert mine.criteria[1].rule.describe() == (
        "phenotype RRMS or MRI activity in the last 12 months: yes"
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RangeRule(field="phenotype", min=1), "a range rule needs a numeric field"),
        (lambda: RangeRule(field="edss"), "needs min, max or both"),
        (lambda: RangeRule(field="edss", min=6, max=3), "min must be <= max"),
        (lambda: EqualsRule(field="edss", value=True), "an equals rule needs a yes / no field"),
        (lambda: InSetRule(values=()), "at least 1 item"),
        (lambda: RelapsesInWindowRule(at_least=0, months=12), "greater than or equal to 1"),
        (lambda: AnyOfRule(rules=(InSetRule(values=("RRMS",)),)), "at least 2 items"),
    ],
    ids=["range-field", "range-bounds", "range-order", "equals-field", "in-set", "window", "any"],
)
def test_invalid_rules(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_criteria_set_checks_ids_and_sources() -> None:
    rule = RangeRule(field="edss", max=6)
    criterion = Criterion(
        id="edss", label="x", rule=rule, basis="reported", source="a", source_text="x"
    )
    with pytest.raises(ValueError, match="criterion ids must be unique; got edss twice"):
        CriteriaSet(name="x", title="x", kind="trial", criteria=(criterion, criterion))
    with pytest.raises(ValueError, match="source must be one of the set's citations"):
        CriteriaSet(name="x", title="x", kind="trial", criteria=(criterion,))
    with pytest.raises(ValueError, match="a reported criterion must name its source"):
        Criterion(id="edss", label="x", rule=rule, basis="reported", source_text="x")
