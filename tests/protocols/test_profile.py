"""The patient profile (one class for eligibility and projection): validation at the border
with messages naming the field, what criteria read, and a profile read from a person's own
follow-up."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from msreboot.datasets import load_example
from msreboot.exceptions import DataValidationError
from msreboot.protocols import PatientProfile, check_eligibility
from msreboot.protocols._profile import PROFILE_FIELDS, profiles_from_frame

BASE = {"age_years": 38, "edss": 4.5, "phenotype": "RRMS"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"edss": 7.3}, "edss", "multiple of 0.5 from 0 to 10; got 7.3. Round to the EDSS grid"),
        ({"edss": 10.5}, "edss", "got 10.5"),
        ({"edss": float("nan")}, "edss", "edss must be"),
        ({"edss": "4,5"}, "edss", "edss must be a number from 0 to 10; got '4,5'"),
        ({"age_years": -1}, "age_years", "age_years must be from 0 to 120; got -1"),
        ({"phenotype": "RMS"}, "phenotype", "got 'RMS'. Relapsing MS ('RMS') is RRMS"),
        ({"sex": "x"}, "sex", "got 'x'"),
        ({"relapses_last_12_months": 1.5}, "relapses_last_12_months", "whole number"),
        ({"gd_lesions": -2}, "gd_lesions", "gd_lesions must be from 0 to 1000; got -2"),
        ({"new_t2_lesions": "many"}, "new_t2_lesions", "whole number"),
        ({"current_dmt": "aspirin"}, "current_dmt", "must name a DMT"),
        ({"prior_dmts": "natalizumab"}, "prior_dmts", "sequence of DMT names"),
        ({"prior_dmts": ("natalizumab", "aspirin")}, "prior_dmts", "got 'aspirin'"),
        ({"hct_ci": True}, "hct_ci", "whole number"),
        ({"hct_ci": 31}, "hct_ci", "hct_ci must be from 0 to 30; got 31"),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else ",".join(v),
)
def test_bad_fields_are_named(change: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        PatientProfile(**{**BASE, **change})  # type: ignore[arg-type]
    (error,) = info.value.errors()
    assert error["loc"] == (field,)
    assert str(error["msg"]).startswith(f"Value error, {field} must")
    assert words in str(error["msg"])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {"relapses_last_12_months": 3, "relapses_last_24_months": 1},
            "relapses_last_24_months must be >= relapses_last_12_months",
        ),
        ({"disease_duration_years": 50}, "disease_duration_years must be <= age_years"),
    ],
    ids=["relapse-windows", "duration"],
)
def test_inconsistent_fields_are_named(change: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        PatientProfile(**{**BASE, **change})  # type: ignore[arg-type]


def test_every_field_is_optional_and_listed() -> None:
    empty = PatientProfile()
    assert set(empty.missing) == set(PROFILE_FIELDS)
    assert set(PatientProfile.model_fields) == {"patient_id", *PROFILE_FIELDS}
    assert "age unknown" in empty.summary()


def test_inputs_are_normalised_and_missing_fields_listed() -> None:
    profile = PatientProfile(
        age_years=38,
        edss=4,
        phenotype=" spms ",
        sex="M",
        current_dmt="Ocrelizumab",
        prior_dmts=["interferon_beta"],  # type: ignore[arg-type]
    )
    assert (profile.phenotype, profile.sex, profile.edss) == ("SPMS", "male", 4.0)
    assert profile.current_dmt == "ocrelizumab"
    assert profile.prior_dmts == ("interferon_beta",)
    assert "hct_ci" in profile.missing
    assert "age_years" not in profile.missing
    frame = profile.to_frame().set_index("field")["value"]
    assert frame["hct_ci"] == "unknown"
    assert frame["prior_dmts"] == "interferon_beta"
    assert PatientProfile(current_dmt="none", prior_dmts=()).to_frame().set_index("field")["value"][
        "prior_dmts"
    ] == ("none")
    assert hash(profile) == hash(profile.model_copy())


def test_numeric_text_reads_as_numbers() -> None:
    # a CSV of profiles is read as text: "38", "4.5" and "2.0" are numbers
    profile = PatientProfile.model_validate({"age_years": "38", "edss": "4.5", "hct_ci": "2.0"})
    assert (profile.age_years, profile.edss, profile.hct_ci) == (38.0, 4.5, 2)


@pytest.mark.parametrize(
    ("gd", "t2", "active"),
    [(None, None, None), (0, None, None), (0, 0, False), (2, None, True), (None, 1, True)],
)
def test_mri_activity_is_unknown_unless_read(
    gd: int | None, t2: int | None, active: bool | None
) -> None:
    profile = PatientProfile(**BASE, gd_lesions=gd, new_t2_lesions=t2)  # type: ignore[arg-type]
    assert profile.mri_active is active
    # criteria read activity on the last MRI as activity of the last 12 months; a last
    # MRI without activity leaves the 12 months unknown (earlier scans are not recorded)
    assert profile.get("mri_active_last_12_months") is (True if active else None)
    assert profile.get("gd_lesions_last_12_months") is None


def test_the_last_mri_meets_an_activity_criterion() -> None:
    # RAM-MS: >= 1 relapse and MRI activity in the last 12 months
    quiet = PatientProfile(**BASE, relapses_last_12_months=1, gd_lesions=0, new_t2_lesions=0)
    active = quiet.model_copy(update={"gd_lesions": 2})
    rows = {
        name: check_eligibility(p, "ram_ms").to_frame().set_index("criterion_id").loc["activity"]
        for name, p in (("quiet", quiet), ("active", active))
    }
    assert rows["quiet"]["status"] == "unknown"
    assert rows["active"]["status"] == "met"
    assert "(from the last MRI: 2 Gd+ lesions)" in rows["active"]["reason"]
    told = PatientProfile(**BASE, gd_lesions=2, mri_active_last_12_months=False)
    assert told.get("mri_active_last_12_months") is False  # what is given wins


def test_cis_is_read_by_the_criteria_as_given() -> None:
    profile = PatientProfile(**{**BASE, "phenotype": "CIS"})  # type: ignore[arg-type]
    result = check_eligibility(profile, "halt_ms").to_frame().set_index("criterion_id")
    assert result.loc["phenotype", "status"] == "not met"
    assert result.loc["phenotype", "reason"] == "phenotype CIS is not RRMS"


def test_a_table_of_profiles_reads_the_new_fields() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "B"],
            "sex": ["F", "M"],
            "prior_dmts": ["interferon_beta; natalizumab", "none"],
            "current_dmt": ["ocrelizumab", ""],
        }
    )
    a, b = profiles_from_frame(frame)
    assert a.prior_dmts == ("interferon_beta", "natalizumab")
    assert (a.sex, a.current_dmt) == ("female", "ocrelizumab")
    assert b.prior_dmts == ()
    assert b.current_dmt is None
    with pytest.raises(DataValidationError) as caught:
        profiles_from_frame(frame.assign(current_dmt=["aspirin", "x"]))
    problems = caught.value.to_frame()
    assert list(problems["row"]) == [1, 2]
    assert set(problems["column"]) == {"current_dmt"}


def test_profile_from_a_persons_follow_up() -> None:
    cohort = load_example()
    profile = PatientProfile.from_cohort(cohort, "P001", at="2016-10-01")
    # P001: born 1974-01-15, onset 2006-08-03; EDSS 2.0 on 2015-11-08; relapses on
    # 2015-09-16, 2016-02-19 and 2016-06-08; last scan 2016-08-07 with 3 Gd+ lesions;
    # interferon beta from 2012-03-03 to 2016-10-16 (current on 2016-10-01).
    assert profile.age_years == pytest.approx(42.71, abs=0.01)
    assert profile.disease_duration_years == pytest.approx(10.16, abs=0.01)
    assert profile.edss == 2.0
    assert profile.relapses_last_12_months == 2
    assert profile.relapses_last_24_months == 3
    assert profile.gd_lesions == 3
    assert profile.new_t2_lesions is None
    assert profile.mri_active_last_12_months is True
    assert profile.current_dmt == "interferon_beta"
    assert profile.prior_dmts == ()
    assert profile.sex == "female"
    assert profile.hct_ci == 1
    assert profile.patient_id == "P001"
    assert profile.failed_dmt_count is None


def test_profile_from_cohort_refuses_an_unknown_patient() -> None:
    with pytest.raises(ValueError, match="patient_id must be a patient of the cohort"):
        PatientProfile.from_cohort(load_example(), "NOPE")


def test_sex_x_in_a_cohort_is_read_as_unknown() -> None:
    from msreboot.data import Cohort

    tables = load_example().tables
    patients = tables["patients"].copy()
    patients.loc[patients["patient_id"] == "P001", "sex"] = "X"
    cohort = Cohort.from_canonical({**tables, "patients": patients}, "date")
    assert PatientProfile.from_cohort(cohort, "P001").sex is None
