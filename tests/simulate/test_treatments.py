"""Treatment effects emerge from the mechanisms at the published orders of magnitude.

The arms share a seed, so each patient appears with the same baseline in every arm
(paired counterfactuals) and differences are the treatment's. Tolerances are stated per
check; the default parameters are priors, so these are plausibility bounds, not fits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.simulate import (
    AHSCTCourse,
    DMTCourse,
    MSCCourse,
    PopulationSpec,
    SimulatedCohort,
    Treatment,
    VisitSchedule,
    simulate_cohort,
)

YEAR = 365.25
# HALT-MS: median age 38, EDSS 4.5 (3.0-5.5), duration 4.9 years, all RRMS, active
HALT = PopulationSpec.matching(
    age_median=38,
    age_range=(18, 60),
    edss_median=4.5,
    edss_range=(3.0, 5.5),
    duration_median_years=4.9,
    min_prior_relapses=1,
    prior_relapse_window_years=1.0,
)
SCHEDULE = VisitSchedule(edss_every_months=6, mri_every_months=6)


def _arm(treatment: Treatment, years: float = 5, n: int = 2000, **kw: object) -> SimulatedCohort:
    spec = kw.pop("population", HALT)
    schedule = kw.pop("schedule", SCHEDULE)
    return simulate_cohort(
        n,
        spec,
        treatment,
        schedule,
        years,
        seed=99,
        validate=False,  # type: ignore[arg-type]
    )


def _rates(sim: SimulatedCohort, lo: float, hi: float) -> tuple[float, float]:
    """Relapses per patient-year and mean Gd+ lesions per scan in [lo, hi) days."""
    rel = sim.cohort.relapses
    years = (np.minimum(sim.truth["last_day"], hi) - lo).clip(lower=0).sum() / YEAR
    relapses = rel["onset_date"].between(lo, hi, inclusive="left").sum() / years
    mri = sim.cohort.mri
    gd = mri.loc[mri["date"].between(lo, hi, inclusive="left"), "gd_lesions"].mean()
    return float(relapses), float(gd)


@pytest.fixture(scope="module")
def untreated() -> SimulatedCohort:
    return _arm(None)


@pytest.fixture(scope="module")
def beam() -> SimulatedCohort:
    return _arm(AHSCTCourse("beam_atg", cd34_selected=True))


def test_ahsct_stops_inflammation(untreated: SimulatedCohort, beam: SimulatedCohort) -> None:
    """From month 6 to year 5: relapse and Gd+ rate ratios below 0.15 (published cohorts:
    almost no relapses or Gd+ lesions after AHSCT)."""
    r0, g0 = _rates(untreated, 182, 5 * YEAR)
    r1, g1 = _rates(beam, 182, 5 * YEAR)
    assert r1 / r0 < 0.15
    assert g1 / g0 < 0.15
    relapse_free = 1 - beam.cohort.relapses.query("onset_date >= 90")["patient_id"].nunique() / 2000
    assert 0.75 < relapse_free < 0.97  # HALT-MS 86.9% relapse-free at 5 years


def test_engraftment_and_hospital_stay(beam: SimulatedCohort) -> None:
    """Neutrophils engraft around days 8-13; stays of 3-4 weeks; febrile neutropenia in
    about 68% (accepted 55-80%)."""
    days = beam.truth["engraftment_day"]
    assert 8 <= days.median() <= 13
    assert days.between(7, 14).mean() > 0.9
    t = beam.cohort.treatments
    stay = (t["discharge_date"] - t["admission_date"] + 1).dropna()
    assert 18 <= stay.median() <= 30
    assert 0.55 < beam.truth["febrile_neutropenia"].mean() < 0.80


def test_cd4_recovers_over_years(beam: SimulatedCohort) -> None:
    """CD4 (800/ul before) below 250 at 6 months, rising through 12 and 24 months."""
    cd4 = beam.truth[["cd4_6m_per_ul", "cd4_12m_per_ul", "cd4_24m_per_ul"]].median()
    assert cd4.iloc[0] < 250
    assert cd4.iloc[0] < cd4.iloc[1] < cd4.iloc[2] < 800


def test_more_cd34_speeds_engraftment() -> None:
    low = _arm(AHSCTCourse("beam_atg", cd34_dose_1e6_per_kg=2.0), years=0.3, n=500)
    high = _arm(AHSCTCourse("beam_atg", cd34_dose_1e6_per_kg=10.0), years=0.3, n=500)
    assert high.truth["engraftment_day"].mean() < low.truth["engraftment_day"].mean()


def test_intensity_orders_the_effect(untreated: SimulatedCohort, beam: SimulatedCohort) -> None:
    """Low-intensity conditioning leaves more relapses than BEAM with a selected graft."""
    low = _arm(AHSCTCourse("cy_low"))
    r0 = _rates(untreated, 182, 5 * YEAR)[0]
    assert _rates(low, 182, 5 * YEAR)[0] / r0 > 2 * _rates(beam, 182, 5 * YEAR)[0] / r0


@pytest.mark.parametrize(
    ("population", "course", "low", "high"),
    [
        # young, recent, Cy 200 + ATG: below 0.5% (MIST, Burt 2015: no deaths)
        (
            PopulationSpec.matching(
                age_median=34,
                age_range=(18, 50),
                edss_median=3.5,
                edss_range=(2.0, 6.0),
                duration_median_years=5,
            ),
            AHSCTCourse("cy200_atg", transplant_year=2018),
            0.0,
            0.005,
        ),
        # older, progressive, 2000, busulfan: a few percent (Atkins 1/24; early cohorts)
        (
            PopulationSpec.matching(
                age_median=48,
                age_range=(30, 60),
                edss_median=6.5,
                edss_range=(4.0, 7.5),
                duration_median_years=12,
                phenotype_shares={"SPMS": 0.8, "RRMS": 0.2},
            ),
            AHSCTCourse("bu_cy_atg", cd34_selected=True, transplant_year=2000),
            0.03,
            0.20,
        ),
    ],
    ids=["young-recent-cy200", "older-progressive-busulfan"],
)
def test_transplant_related_mortality(
    population: PopulationSpec, course: AHSCTCourse, low: float, high: float
) -> None:
    sim = simulate_cohort(
        8000, population, course, VisitSchedule(12, None), 0.5, seed=4, validate=False
    )
    trm = sim.truth["transplant_related_death"].mean()
    assert low <= trm <= high
    deaths = sim.cohort.deaths
    early = deaths[deaths["transplant_related"]]
    start = sim.cohort.treatments.set_index("patient_id")["start_date"]
    assert ((early["date"].to_numpy() - start.loc[early["patient_id"]].to_numpy()) <= 100).all()


def test_neurological_improvement_is_larger_when_young(beam: SimulatedCohort) -> None:
    """Median observed EDSS change at 2 years at most 0 (MIST: -1.0 in year 1; HALT-MS
    -0.5 at 5 years); latent improvement larger under 35 years of age."""
    e = beam.cohort.edss
    base = e[e["date"] == 0].set_index("patient_id")["edss"]
    two = e[e["date"].between(700, 760)].set_index("patient_id")["edss"]
    assert (two - base.reindex(two.index)).median() <= 0
    t = beam.truth
    change = t["edss_latent_end"] - t["edss_latent"]
    assert change[t["age_years"] < 35].mean() < change[t["age_years"] >= 45].mean()


def test_progression_continues_in_progressive_disease() -> None:
    """Latent EDSS worsening of 1.0 within 5 years is more common in SPMS than in RRMS."""
    course = AHSCTCourse("beam_atg")
    sp = PopulationSpec.matching(
        age_median=40,
        edss_median=6.0,
        edss_range=(4.0, 7.0),
        duration_median_years=10,
        phenotype_shares={"SPMS": 1.0},
    )
    progressive = _arm(course, population=sp).truth
    relapsing = _arm(course).truth
    worse = lambda t: ((t["edss_latent_end"] - t["edss_latent"]) >= 1.0).mean()  # noqa: E731
    assert worse(progressive) > worse(relapsing) + 0.1


def test_g_csf_alone_risks_a_flare() -> None:
    """More relapses between mobilisation and conditioning with G-CSF alone."""

    def window(sim: SimulatedCohort) -> int:
        day = sim.cohort.relapses["onset_date"]
        return int(day.between(14, 48).sum())

    alone = _arm(AHSCTCourse("beam_atg", mobilisation_regimen="g_csf"), years=0.3)
    with_cy = _arm(AHSCTCourse("beam_atg", mobilisation_regimen="cy_g_csf"), years=0.3)
    assert window(alone) > 1.5 * window(with_cy)


def test_dmt_rate_ratio_is_recovered() -> None:
    """Natalizumab over year 1: relapse rate ratio 0.32 +/- 0.08 against the same patients
    untreated; Gd+ rate ratio below 0.5 (the autoregressive process carries a month or
    two of pre-treatment activity)."""
    monthly = VisitSchedule(6, 1)
    r0, g0 = _rates(_arm(None, years=1, schedule=monthly), 1, YEAR)
    r1, g1 = _rates(_arm(DMTCourse("natalizumab"), years=1, schedule=monthly), 1, YEAR)
    assert r1 / r0 == pytest.approx(0.32, abs=0.08)
    assert g1 / g0 < 0.5


def test_msc_near_no_effect_on_gd() -> None:
    """Intravenous autologous MSC 1.5 x 10^6/kg: Gd+ rate ratio over 24 weeks within
    0.8-1.0 (MESEMS 0.94, 95% CI 0.58-1.50)."""
    monthly = VisitSchedule(6, 1)
    g0 = _rates(_arm(None, years=0.5, schedule=monthly), 1, 170)[1]
    g1 = _rates(_arm(MSCCourse(dose_1e6_per_kg=1.5), years=0.5, schedule=monthly), 1, 170)[1]
    assert 0.8 <= g1 / g0 <= 1.0


def test_adverse_events_after_transplant(beam: SimulatedCohort) -> None:
    ae = beam.cohort.adverse_events
    per_patient = ae.groupby("category")["patient_id"].nunique() / 2000
    assert 0.05 < per_patient["viral_reactivation"] < 0.6
    assert 0.02 < per_patient["secondary_autoimmunity"] < 0.12  # thyroid about 3-8%
    vzv = ae[ae["pathogen"] == "VZV"]["patient_id"].nunique() / 2000
    assert vzv == pytest.approx(0.15, abs=0.03)
    start = beam.cohort.treatments.set_index("patient_id")["start_date"]
    days = ae["onset_date"].to_numpy() - start.reindex(ae["patient_id"]).to_numpy()
    assert (pd.Series(days).dropna() >= 0).all()
