"""The enrolled population's published mix matched after eligibility (match_enrolled):
a relapse criterion favours RRMS, so drawing the published shares gives too few SPMS
patients; matching corrects the drawing distributions until the enrolled mix is right."""

from __future__ import annotations

import numpy as np
import pytest

from msreboot.trials import ArmSpec, TrialSpec, simulate_replicate
from msreboot.trials._enrolled import (
    DURATION_TOLERANCE,
    EDSS_TOLERANCE,
    SHARE_TOLERANCE,
    grouped_median,
)

POPULATION = {
    "age_median": 40,
    "edss_median": 4.0,
    "edss_range": [2.0, 6.5],
    "duration_median_years": 8.0,
    "phenotype_shares": {"RRMS": 0.6, "SPMS": 0.4},
    "prior_relapse_window_years": 1.0,
    "min_prior_relapses": 1,
}


def _spec(match: bool, n: int = 10) -> TrialSpec:
    return TrialSpec(
        name="registry",
        seed=5,
        follow_up_years=1.0,
        population={**POPULATION, "match_enrolled": match},
        arms=(ArmSpec(name="cohort", n=n, protocol="burt_2015"),),
    )


def test_grouped_median_by_hand() -> None:
    # cells 1 (2/6), 2 (3/6), 3 (1/6): 2 - 0.5 + (0.5 - 1/3) / (1/2) = 1.8333
    assert grouped_median(np.array([1, 1, 2, 2, 2, 3.0]), width=1.0) == pytest.approx(11 / 6)
    assert grouped_median(np.array([4.0]), width=0.5) == pytest.approx(4.0)


def test_the_enrolled_mix_is_the_published_one() -> None:
    spec = _spec(True)
    frame = spec.population_match()
    assert frame is not None
    rows = frame.set_index("characteristic")
    # Without matching, the relapse criterion leaves too few SPMS patients enrolled.
    assert rows.loc["SPMS", "enrolled_before"] < 0.4 - 5 * SHARE_TOLERANCE
    assert rows.loc["SPMS", "enrolled_after"] == pytest.approx(0.4, abs=SHARE_TOLERANCE)
    assert rows.loc["RRMS", "enrolled_after"] == pytest.approx(0.6, abs=SHARE_TOLERANCE)
    assert rows.loc["edss_median", "enrolled_after"] == pytest.approx(4.0, abs=EDSS_TOLERANCE)
    assert rows.loc["duration_median_years", "enrolled_after"] == pytest.approx(
        8.0, rel=DURATION_TOLERANCE
    )
    assert _spec(False).population_match() is None
    # A replicate of the trial enrols that mix (800 patients: SE of a share ~0.017).
    cohort, _ = simulate_replicate(_spec(True, n=800), 0)
    share = (cohort.patients["phenotype"] == "SPMS").mean()
    assert share == pytest.approx(0.4, abs=3 * np.sqrt(0.24 / 800) + SHARE_TOLERANCE)


def test_match_enrolled_must_be_a_boolean() -> None:
    with pytest.raises(ValueError, match="match_enrolled must be true or false; got 'yes'"):
        TrialSpec(
            name="x",
            seed=1,
            follow_up_years=1,
            population={**POPULATION, "match_enrolled": "yes"},
            arms=(ArmSpec(name="a", n=2),),
        )


def test_baseline_gd_share_and_prior_relapses_are_matched() -> None:
    population = {
        "age_median": 36,
        "edss_median": 3.0,
        "edss_range": [2.0, 6.0],
        "duration_median_years": 6.0,
        "prior_relapse_window_years": 1.0,
        "min_prior_relapses": 1,
        "match_enrolled": True,
        "gd_positive_share": 0.45,
        "prior_relapses_mean": 1.8,
    }
    spec = TrialSpec(
        name="active",
        seed=1,
        follow_up_years=1.0,
        population=population,
        arms=(ArmSpec(name="a", n=5),),
    )
    frame = spec.population_match()
    assert frame is not None
    rows = frame.set_index("characteristic")
    assert rows.loc["gd_positive_share", "enrolled_before"] < 0.3  # unmatched: too few
    assert rows.loc["gd_positive_share", "enrolled_after"] == pytest.approx(0.45, abs=0.02)
    assert rows.loc["prior_relapses_mean", "enrolled_after"] == pytest.approx(1.8, rel=0.03)
    assert rows["within_tolerance"].loc[["gd_positive_share", "prior_relapses_mean"]].all()
    with pytest.raises(ValueError, match="gd_positive_share must come with match_enrolled = true"):
        TrialSpec(
            name="x",
            seed=1,
            follow_up_years=1,
            population={**population, "match_enrolled": False},
            arms=(ArmSpec(name="a", n=2),),
        )
