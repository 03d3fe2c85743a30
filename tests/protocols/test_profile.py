"""The projection's patient profile: validation at the border, and reading one from a
person's own follow-up."""

from __future__ import annotations

import pytest

from msreboot.analysis import PatientProfile
from msreboot.datasets import load_example

BASE = {"age_years": 38, "edss": 4.5, "phenotype": "RRMS"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"edss": 7.3}, "edss", "multiple of 0.5 from 0 to 10; got 7.3"),
        ({"edss": 10.5}, "edss", "got 10.5"),
        ({"edss": float("nan")}, "edss", "edss must be"),
        ({"age_years": -1}, "age_years", "got -1"),
        ({"age_years": 12}, "age_years", "from 18 to 80"),
        ({"phenotype": "RMS"}, "phenotype", "got 'RMS'"),
        ({"sex": "x"}, "sex", "got 'x'"),
        ({"relapses_last_12_months": 3, "relapses_last_24_months": 1}, "relapses_last_24", ""),
        ({"relapses_last_12_months": 1.5}, "relapses_last_12_months", "whole number"),
        ({"gd_lesions": -2}, "gd_lesions", "got -2"),
        ({"disease_duration_years": 50}, "disease_duration_years", "<= age_years"),
        ({"current_dmt": "aspirin"}, "current_dmt", "must name a DMT"),
        ({"prior_dmts": "natalizumab"}, "prior_dmts", "sequence of DMT names"),
        ({"hct_ci": True}, "hct_ci", "whole number"),
    ],
    ids=lambda v: str(v) if not isinstance(v, dict) else ",".join(v),
)
def test_bad_profiles_name_the_field(change: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValueError, match=field) as info:
        PatientProfile(**{**BASE, **change})  # type: ignore[arg-type]
    assert words in str(info.value)
    assert str(info.value).startswith(field)


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


@pytest.mark.parametrize(
    ("gd", "t2", "active"),
    [(None, None, None), (0, None, None), (0, 0, False), (2, None, True), (None, 1, True)],
)
def test_mri_activity_is_unknown_unless_read(
    gd: int | None, t2: int | None, active: bool | None
) -> None:
    profile = PatientProfile(**BASE, gd_lesions=gd, new_t2_lesions=t2)  # type: ignore[arg-type]
    assert profile.mri_active is active
    eligibility = profile.to_eligibility_profile()
    assert eligibility.mri_active_last_12_months is (True if active else None)
    assert eligibility.gd_lesions_last_12_months == gd


def test_cis_is_unknown_to_the_eligibility_engine() -> None:
    assert PatientProfile(**{**BASE, "phenotype": "CIS"}).to_eligibility_profile().phenotype is None


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
    assert profile.current_dmt == "interferon_beta"
    assert profile.prior_dmts == ()
    assert profile.sex == "female"
    assert profile.hct_ci == 1
    assert profile.patient_id == "P001"


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
