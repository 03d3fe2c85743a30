"""Sham and placebo arms of progressive MS, and MSC arms beside them, against published arms.

Published figures used (each read where stated; nothing else is used):

- Petrou P, et al. Beneficial effects of autologous mesenchymal stem cell transplantation
  in active progressive multiple sclerosis. Brain 2020 (NCT02166021). Table 3 (pooled
  6-month cycles), read from the journal's table view as mirrored on dbpia.nl.go.kr
  (view-large/226872995): relapses per patient (mean +/- SD) 0.06 +/- 0.25 intrathecal,
  0.28 +/- 0.58 intravenous, 0.56 +/- 0.67 sham; relapse-free 93.8% (30/32), 78.1%
  (25/32), 53.1% (17/32); mean EDSS change at 6 months -0.20 +/- 0.3, -0.13 +/- 0.4,
  +0.30 +/- 0.4. Design from the trial record (crick.ai/trials/NCT02166021): 48 patients,
  progressive MS, EDSS 3.5-6.5 (mean 5.6 +/- 0.8), autologous MSC 1 x 10^6/kg IT or IV or
  placebo, crossed over at 6 months; eligibility (trials.co record): age 18-65, duration
  > 3 years, new activity in the 3 months before. The footnotes defining "treatment
  failure" were not read, so that endpoint is not used; the n behind the EDSS means is
  not read either (31, the sham denominator of the primary end point, is assumed).
- Montalban X, et al. N Engl J Med 2017 (ORATORIO, PPMS, age 18-55, EDSS 3.0-6.5): 39.3%
  of placebo patients with 12-week confirmed disability progression in a time-to-event
  analysis (structured summary journaljams.org/study/oratorio-2017; evidence row
  montalban2017_oratorio:placebo:progression:090). The time point of the percentage was
  NOT read: it is compared at week 120, the minimum double-blind period (assumed).
- MESEMS (Uccelli 2021): Gd+ rate ratio 0.94 (0.58-1.50) for intravenous MSC; checked in
  tests/simulate/test_treatments.py.

Not used (not verifiable here): EXPAND's placebo 3-month CDP (the results paragraph was
not read), ASCEND's placebo progression (48% is a composite of EDSS, T25FW and 9HPT, which
the simulator does not produce).

Assumed population characteristics are marked in the population helpers. Intervals: 95%
(Wilson for proportions, normal for means). The Petrou population's ``activity_ratio`` (4:
"active progressive MS", a source population whose inflammatory propensity is four times
that of unselected MS) is chosen so that the sham relapse rate falls in its interval, so
the relapse checks of the sham arm are calibrated, not independent; the EDSS change and the
MSC arms are not fitted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from msreboot.endpoints import DisabilityDefinition, ThresholdRule, detect_disability_events
from msreboot.simulate import (
    MSCCourse,
    PopulationSpec,
    SimulatedCohort,
    SimulationParameters,
    VisitSchedule,
    simulate_cohort,
)

HALF_YEAR_DAYS = 182
N = 1500


def wilson(events: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    p = events / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def mean_interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    half = 1.96 * sd / math.sqrt(n)
    return mean - half, mean + half


def petrou_population() -> PopulationSpec:
    """Active progressive MS as in Petrou 2020: EDSS mean 5.6 in 3.5-6.5, age 18-65,
    duration over 3 years (published); SPMS 80% / PPMS 20%, age median 47, duration
    median 12 years, new activity read as a relapse in the 3 months before, and
    activity_ratio 4 (assumed)."""
    return PopulationSpec.matching(
        age_median=47,
        age_range=(18, 65),
        edss_median=5.6,
        edss_range=(3.5, 6.5),
        duration_median_years=12,
        duration_range_years=(3, 40),
        phenotype_shares={"SPMS": 0.8, "PPMS": 0.2},
        min_prior_relapses=1,
        prior_relapse_window_years=0.25,
        activity_ratio=4.0,
    )


def six_month_arm(sim: SimulatedCohort) -> dict[str, float]:
    """Relapses per patient and relapse-free share over days 1-182; mean change of the
    observed EDSS from day 0 to the 6-month visit."""
    rel = sim.cohort.relapses
    rel = rel[(rel["onset_date"] > 0) & (rel["onset_date"] <= HALF_YEAR_DAYS)]
    edss = sim.cohort.edss
    base = edss[edss["date"] == 0].set_index("patient_id")["edss"]
    month6 = edss[edss["date"].between(150, 210)].groupby("patient_id")["edss"].first()
    return {
        "relapses": len(rel) / sim.n_patients,
        "relapse_free": 1 - rel["patient_id"].nunique() / sim.n_patients,
        "edss_change": float((month6 - base.reindex(month6.index)).mean()),
    }


def petrou_arms(parameters: SimulationParameters) -> dict[str, dict[str, float]]:
    """The three arms of a virtual Petrou 2020 cycle (1 x 10^6 cells/kg, autologous, not
    pre-treated), the same patients in each arm (paired seeds)."""
    courses = {
        "sham": None,
        "intravenous": MSCCourse(route="intravenous", dose_1e6_per_kg=1.0),
        "intrathecal": MSCCourse(route="intrathecal", dose_1e6_per_kg=1.0),
    }
    schedule = VisitSchedule(edss_every_months=3, mri_every_months=3)
    return {
        arm: six_month_arm(
            simulate_cohort(
                N, petrou_population(), course, schedule, 0.6, parameters, seed=20, validate=False
            )
        )
        for arm, course in courses.items()
    }


@pytest.fixture(scope="module")
def default_arms() -> dict[str, dict[str, float]]:
    return petrou_arms(SimulationParameters.default())


@pytest.fixture(scope="module")
def calibrated_arms() -> dict[str, dict[str, float]]:
    return petrou_arms(SimulationParameters.preset("calibrated"))


def test_sham_arm_relapses(default_arms: dict[str, dict[str, float]]) -> None:
    """Sham relapses per patient in [0.33, 0.79] (0.56 +/- 0.67, n 32) and relapse-free
    share in [0.36, 0.69] (17/32): calibrated through activity_ratio (see the module)."""
    sham = default_arms["sham"]
    low, high = mean_interval(0.56, 0.67, 32)
    assert low <= sham["relapses"] <= high
    low, high = wilson(17, 32)
    assert low <= sham["relapse_free"] <= high


def test_sham_arm_edss_change(default_arms: dict[str, dict[str, float]]) -> None:
    """Mean EDSS change over 6 months of the sham arm in [0.16, 0.44] (+0.30 +/- 0.4,
    n 31 assumed), hand-set parameters: not fitted."""
    low, high = mean_interval(0.30, 0.4, 31)
    assert low <= default_arms["sham"]["edss_change"] <= high


@pytest.mark.xfail(
    strict=True,
    reason="calibrated set: relapse residual mean 0.76 EDSS (fitted to AHSCT cohorts) makes "
    "the active sham arm worsen by about +0.5 in 6 months; a refit with this anchor is due",
)
def test_sham_arm_edss_change_calibrated(calibrated_arms: dict[str, dict[str, float]]) -> None:
    low, high = mean_interval(0.30, 0.4, 31)
    assert low <= calibrated_arms["sham"]["edss_change"] <= high


@pytest.mark.parametrize("which", ["default", "calibrated"])
def test_three_arms_separate_as_published(which: str, request: pytest.FixtureRequest) -> None:
    """Intrathecal relapse-free share in [0.80, 0.98] (30/32); sham in [0.36, 0.69]; the
    intrathecal arm at most half the sham relapses (published 0.06 against 0.56); the
    intravenous arm between sham and intrathecal and no further from sham than published
    (78.1% against 53.1%; MESEMS: no effect on Gd+ lesions); the EDSS difference between
    sham and intrathecal positive and no larger than the published difference's upper 95%
    bound (0.50 +/- 0.18)."""
    arms = request.getfixturevalue(f"{which}_arms")
    it, iv, sham = arms["intrathecal"], arms["intravenous"], arms["sham"]
    low, high = wilson(30, 32)
    assert low <= it["relapse_free"] <= high
    low, high = wilson(17, 32)
    assert low <= sham["relapse_free"] <= high
    assert it["relapses"] <= 0.5 * sham["relapses"]
    assert sham["relapse_free"] <= iv["relapse_free"] <= it["relapse_free"]
    assert iv["relapse_free"] - sham["relapse_free"] <= 25 / 32 - 17 / 32
    difference = sham["edss_change"] - it["edss_change"]
    assert 0 < difference <= 0.50 + 1.96 * math.sqrt(0.3**2 / 32 + 0.4**2 / 31)


def test_intrathecal_effect_is_capped_and_route_ordered() -> None:
    """The intrathecal ratio scales the intravenous effect; the reduction of the
    inflammatory rate never exceeds 1 (no negative rates), whatever the ratio."""
    from msreboot.simulate._kernel_msc import msc_month, msc_peak_effect
    from msreboot.simulate._treatment import treatment_vector

    params = SimulationParameters.default().replace(msc_intrathecal_effect_ratio=1000.0)
    fp = params.to_array()
    iv = treatment_vector(MSCCourse(route="intravenous", dose_1e6_per_kg=1.0), params)
    it = treatment_vector(MSCCourse(route="intrathecal", dose_1e6_per_kg=1.0), params)
    both = treatment_vector(
        MSCCourse(route="intravenous_and_intrathecal", dose_1e6_per_kg=1.0), params
    )
    assert msc_peak_effect(fp, it, 1) == 1.0 == msc_peak_effect(fp, both, 1)
    assert 0 < msc_peak_effect(fp, iv, 1) < msc_peak_effect(fp, iv, 0) < 1.0
    for day in (0.0, 15.0, 200.0, 800.0):
        mult, neuro = msc_month(fp, it, 1, day)
        assert 0.0 <= mult <= 1.0
        assert 0.0 <= neuro <= 1.0


def km_incidence(days: np.ndarray, event: np.ndarray, at: float) -> float:
    """1 - Kaplan-Meier survival at ``at`` days."""
    order = np.lexsort((~event, days))
    t, e = days[order], event[order]
    at_risk = len(t) - np.arange(len(t))
    survival = np.cumprod(np.where(e, 1 - 1 / at_risk, 1.0))
    k = np.searchsorted(t, at, side="right")
    return float(1 - (survival[k - 1] if k else 1.0))


@pytest.mark.xfail(
    strict=True,
    reason="the progressive classes of SPMS (28% fast at 1.33 EDSS/year) applied to PPMS "
    "give 52% (hand-set; 54% calibrated) at week 120 against 39.3%: too active, not too "
    "quiet; the fix changes every progressive arm (AHSCT and DMT too) and is left to the refit",
)
def test_oratorio_placebo_cdp_at_week_120() -> None:
    """ORATORIO-like placebo (PPMS; age 18-55 and EDSS 3.0-6.5 published; age median 45,
    EDSS median 4.5, duration median 6 years, EDSS every 12 weeks assumed): 12-week
    confirmed progression (+1.0 up to EDSS 5.5, +0.5 above) by week 120 within 0.10 of
    39.3% (Monte Carlo error about 0.015; the rest for the unread time point)."""
    spec = PopulationSpec.matching(
        age_median=45,
        age_range=(18, 55),
        edss_median=4.5,
        edss_range=(3.0, 6.5),
        duration_median_years=6,
        duration_range_years=(0.5, 15),
        phenotype_shares={"PPMS": 1.0},
    )
    sim = simulate_cohort(
        N,
        spec,
        None,
        VisitSchedule(3, None),
        2.4,
        SimulationParameters.default(),
        seed=7,
        validate=False,
    )
    definition = DisabilityDefinition(name="cdp_12w", threshold=ThresholdRule.kappos_2020())
    events = detect_disability_events(sim.cohort, definition=definition).events
    first = events.sort_values(["patient_id", "event_number"]).groupby("patient_id").first()
    cdp = km_incidence(first["time_days"].to_numpy(float), first["event"].to_numpy(bool), 840)
    assert cdp == pytest.approx(0.393, abs=0.10)
