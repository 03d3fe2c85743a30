"""Transplant-related mortality for one person, against R metafor, with its range flags
and its monotonicity in age and EDSS."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.analysis import PatientProfile, predict_trm, trm_studies

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "analysis" / "trm_meta_regression.json").read_text()
)
TOL = REFERENCE["tolerance"]


def _close(actual: object, expected: object) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=TOL["rel"],
        atol=TOL["abs"],
    )


def test_the_studies_are_those_r_selected() -> None:
    studies = trm_studies()
    data = REFERENCE["data"]
    assert list(studies["outcome_id"]) == data["outcome_id"]
    _close(studies["events"], data["events"])
    _close(studies["n"], data["n"])
    _close(studies["edss"], data["edss"])


@pytest.mark.parametrize("index", range(len(REFERENCE["predict"]["edss"])))
def test_prediction_matches_metafor(index: int) -> None:
    ref = REFERENCE["predict"]
    edss = ref["edss"][index]
    prediction = predict_trm(PatientProfile(age_years=40, edss=edss, phenotype="RRMS"))
    fit = prediction.regression
    _close(fit.coef, REFERENCE["fit"]["coef"])
    _close(fit.se, REFERENCE["fit"]["se"])
    _close(fit.tau2, REFERENCE["fit"]["tau2"])
    _close(fit.qe, REFERENCE["fit"]["qe"])
    assert fit.k == REFERENCE["fit"]["k"]
    _close(prediction.probability, ref["probability"][index])
    _close(prediction.ci_low, ref["ci_low"][index])
    _close(prediction.ci_high, ref["ci_high"][index])
    _close(prediction.pi_low, ref["pi_low"][index])
    _close(prediction.pi_high, ref["pi_high"][index])


def test_outside_the_studies_is_flagged() -> None:
    high = max(REFERENCE["data"]["edss"])
    inside = predict_trm(PatientProfile(age_years=35, edss=4.5, phenotype="RRMS"))
    outside = predict_trm(PatientProfile(age_years=35, edss=8.0, phenotype="RRMS"))
    assert not inside.outside_studies
    assert any(f"EDSS was above {high:g}" in flag for flag in outside.flags)
    older = predict_trm(PatientProfile(age_years=62, edss=4.5, phenotype="PPMS", hct_ci=2))
    text = " ".join(older.flags)
    assert "age is not in the model" in text
    assert "PPMS" in text
    assert "HCT-CI of 2" in text
    assert older.summary().count("!") == len(older.flags)


def test_studies_say_how_far_they_are_from_the_person() -> None:
    prediction = predict_trm(PatientProfile(age_years=40, edss=6.0, phenotype="RRMS"))
    studies = prediction.studies
    np.testing.assert_allclose(studies["edss_minus_person"], studies["edss"] - 6.0)
    np.testing.assert_allclose(studies["age_minus_person"], studies["age"] - 40.0)
    assert studies["age_minus_person"].isna().sum() == studies["age"].isna().sum()


def test_the_fit_states_its_edge_cases() -> None:
    prediction = predict_trm(PatientProfile(age_years=35, edss=4.5, phenotype="RRMS"))
    # tau^2 is 0 on these studies (metafor agrees), so the two intervals coincide
    assert prediction.regression.tau2 == 0.0
    assert prediction.pi_low == prediction.ci_low
    assert any("truncated at 0" in note for note in prediction.notes)
    assert any("define TRM differently" in note for note in prediction.notes)
    row = prediction.to_frame().iloc[0]
    assert row["ci_low"] <= row["probability"] <= row["ci_high"]


def test_bad_moderators_and_levels_are_refused() -> None:
    profile = PatientProfile(age_years=35, edss=4.5, phenotype="RRMS")
    with pytest.raises(ValueError, match="moderators must be among"):
        predict_trm(profile, ("intensity",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recorded by more than"):
        predict_trm(profile, ("edss", "age"))
    with pytest.raises(ValueError, match="conf_level must be in"):
        predict_trm(profile, conf_level=95)


@settings(max_examples=60, deadline=None)
@given(
    age=st.floats(18, 79),
    older_by=st.floats(0, 10),
    edss=st.integers(0, 19),
    edss_steps=st.integers(0, 3),
)
def test_older_or_more_disabled_never_lowers_predicted_trm(
    age: float, older_by: float, edss: int, edss_steps: int
) -> None:
    younger = PatientProfile(age_years=age, edss=edss / 2, phenotype="RRMS")
    older = PatientProfile(
        age_years=min(age + older_by, 80), edss=min(edss + edss_steps, 20) / 2, phenotype="RRMS"
    )
    assert predict_trm(older).probability >= predict_trm(younger).probability


def test_a_moderator_is_flagged_against_the_studies_the_model_used() -> None:
    """The range of a moderator is that of the studies fitted (those recording it); EDSS
    and age outside the model are set against every TRM study."""
    from msreboot.analysis._patient_trm import _flags

    profile = PatientProfile(age_years=36, edss=6.0, phenotype="RRMS")
    everything = trm_studies()
    person = {"edss": 6.0, "age": 36.0, "era": 2026.0}
    narrower = everything[everything["edss"] < 6.0]  # as if only EDSS 3.4-5.0 were fitted
    flags = _flags(profile, ("edss",), narrower, person)
    assert any("EDSS was above 5" in f for f in flags)
    assert not any("EDSS was above" in f for f in _flags(profile, ("edss",), everything, person))
    with_era = _flags(profile, ("edss", "era"), everything.dropna(subset=["era"]), person)
    assert any("treatment year was above 2010.5" in f for f in with_era)
