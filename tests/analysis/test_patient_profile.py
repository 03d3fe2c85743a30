"""The projection reads the one patient profile class (``msreboot.protocols.PatientProfile``,
re-exported by ``msreboot.analysis``) and adds its own requirements: age 18 to 80, EDSS and
phenotype known."""

from __future__ import annotations

import pytest

import msreboot.analysis
import msreboot.protocols
from msreboot.analysis import PatientProfile, predict_trm, project_patient
from msreboot.analysis._patient_profile import projection_basics

BASE = {"age_years": 38, "edss": 4.5, "phenotype": "RRMS"}


def test_one_class_for_eligibility_and_projection() -> None:
    assert msreboot.analysis.PatientProfile is msreboot.protocols.PatientProfile
    profile = PatientProfile(**BASE, sex="F", gd_lesions=1, failed_high_efficacy_dmt=True)  # type: ignore[arg-type]
    assert isinstance(profile, msreboot.protocols.PatientProfile)
    assert projection_basics(profile) == (38.0, 4.5, "RRMS")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"age_years": 12}, "age_years must be from 18 to 80 for a projection; got 12"),
        ({"age_years": 81}, "age_years must be from 18 to 80 for a projection; got 81"),
        ({"age_years": None}, "age_years must be given for a projection; got None"),
        ({"edss": None}, "edss must be given for a projection; got None"),
        ({"phenotype": None}, "phenotype must be given for a projection; got None"),
    ],
    ids=["young", "old", "no-age", "no-edss", "no-phenotype"],
)
def test_a_projection_names_what_it_needs(change: dict[str, object], words: str) -> None:
    profile = PatientProfile(**{**BASE, **change})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=words):
        project_patient(profile, ["stay"], draws=2, patients_per_draw=10)
    with pytest.raises(ValueError, match=words):
        predict_trm(profile)


def test_a_projection_refuses_what_is_not_a_profile() -> None:
    with pytest.raises(TypeError, match="profile must be a PatientProfile; got dict"):
        projection_basics(BASE)  # type: ignore[arg-type]
