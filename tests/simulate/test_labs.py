"""Laboratory results of virtual transplant patients: immune reconstitution after AHSCT."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.analysis import immune_reconstitution
from msreboot.data import ANALYTES, Cohort
from msreboot.simulate import (
    LAB_MONTHS,
    SIMULATED_ANALYTES,
    AHSCTCourse,
    DMTCourse,
    PopulationSpec,
    SimulationParameters,
    VisitSchedule,
    simulate_cohort,
)
from msreboot.simulate._kernel_common import T_CD4_6M, T_CD4_12M, T_CD4_24M
from msreboot.simulate._labs import (
    B_OVERSHOOT_RATIO,
    CD8_START_RATIO,
    NK_TAU_MONTHS,
    draw_days,
    recovery_ratio,
)
from msreboot.simulate._rng import seed_prefix
from msreboot.simulate._simulate import _run_chunk, course_day
from msreboot.simulate._switch import no_switch
from msreboot.simulate._treatment import treatment_vector

LABS = VisitSchedule(lab_months=LAB_MONTHS)
CY = AHSCTCourse("cy200_atg")


def _medians(sim_cohort: Cohort, analyte: str) -> dict[float, float]:
    table = immune_reconstitution(sim_cohort).to_frame()
    part = table[table["analyte"] == analyte]
    return dict(zip(part["month"], part["median"], strict=True))


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    """400 transplanted patients, 5 years, the usual draws."""
    return simulate_cohort(400, treatment=CY, schedule=LABS, follow_up_years=5, seed=11).cohort


# -- the schedule and the draw days (hand-worked) ----------------------------------------


def test_labs_are_off_by_default() -> None:
    sim = simulate_cohort(20, treatment=CY, follow_up_years=2, seed=1)
    assert sim.cohort.labs.empty
    assert "lab_months" not in sim.metadata["schedule"]  # type: ignore[operator]
    assert VisitSchedule().lab_months is None


def test_draw_days_hand_worked() -> None:
    """Reinfusion on day 54 (14 + 35 + 5): month m is day 54 + round(30.4375 m)."""
    assert draw_days((1.0, 3.0, 12.0), 54, 14).tolist() == [0, 84, 145, 419]
    # mobilisation at enrolment: the baseline is the day before it
    assert draw_days((1.0,), 40, 0).tolist() == [-1, 70]


@pytest.mark.parametrize(
    "months",
    [(), (0.0, 1.0), (3.0, 1.0), (1.0, 1.0), (-1.0,), (1.0, 2000.0), (True,)],
    ids=["empty", "zero", "decreasing", "repeated", "negative", "too-late", "bool"],
)
def test_lab_months_are_checked(months: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="lab_months must be increasing months"):
        VisitSchedule(lab_months=months)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1200), min_size=1, max_size=10, unique=True))
def test_any_increasing_months_are_accepted(months: list[float]) -> None:
    schedule = VisitSchedule(lab_months=tuple(sorted(months)))
    assert schedule.lab_months == tuple(sorted(months))
    assert schedule.to_dict()["lab_months"] == tuple(sorted(months))


def test_recovery_rules_hand_worked() -> None:
    """The kinetic rules at their anchors."""
    t = np.array([0.0, 1.0, 6.0, 12.0, 480.0])
    nk = recovery_ratio("nk", t)
    assert nk[0] == 0.0
    assert nk[1] == pytest.approx(1 - math.exp(-1 / NK_TAU_MONTHS))
    assert nk[1] >= 0.9  # normal by 1 month (Storek 2004)
    cd8 = recovery_ratio("cd8", t)
    assert cd8[0] == pytest.approx(CD8_START_RATIO)
    assert cd8[2] == pytest.approx(1 - (1 - CD8_START_RATIO) * math.exp(-2))
    cd19 = recovery_ratio("cd19", t)
    assert cd19[0] == 0.0
    # the overshoot peaks at 9 months: rise (1 - e^-9) times 1 + 0.5
    assert recovery_ratio("cd19", np.array([9.0]))[0] == pytest.approx(
        (1 - math.exp(-9)) * (1 + B_OVERSHOOT_RATIO)
    )
    assert cd19[2] > 1.0
    assert cd19[3] > 1.0
    assert cd19[4] == pytest.approx(1.0, abs=1e-9)  # and back to it
    with pytest.raises(ValueError, match="analyte must be"):
        recovery_ratio("cd4", t)


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 600), st.floats(0, 600))
def test_recovery_rules_are_bounded_and_nk_cd8_never_fall(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    for analyte in ("nk", "cd8"):
        r_lo, r_hi = recovery_ratio(analyte, np.array([lo, hi]))
        assert 0.0 <= r_lo <= r_hi <= 1.0
    (r,) = recovery_ratio("cd19", np.array([a]))
    assert 0.0 <= r <= 1.0 + B_OVERSHOOT_RATIO


# -- the table ------------------------------------------------------------------------------


def test_labs_validate_and_are_canonical() -> None:
    """The simulated labs pass the same validation as real data and come out unchanged."""
    schedule = VisitSchedule(lab_months=LAB_MONTHS, loss_to_follow_up_per_year=0.2)
    fast = simulate_cohort(
        150, treatment=CY, schedule=schedule, follow_up_years=4, seed=3, validate=False
    )
    checked = Cohort.from_frames(fast.cohort.tables, time_unit="day")
    assert checked.equals(fast.cohort)
    labs = fast.cohort.labs
    assert not labs.empty
    assert set(labs["analyte"]) == set(SIMULATED_ANALYTES) <= set(ANALYTES)
    assert (labs["unit"] == "cells/uL").all()
    assert (labs["value"] > 0).all()
    # every draw has all six analytes
    assert (labs.groupby(["patient_id", "date"]).size() == len(SIMULATED_ANALYTES)).all()


def test_draws_are_within_observation_and_life() -> None:
    schedule = VisitSchedule(lab_months=LAB_MONTHS, loss_to_follow_up_per_year=0.3)
    params = SimulationParameters.default().replace(trm_intermediate_lymphoablative_probability=0.2)
    sim = simulate_cohort(
        300, treatment=CY, schedule=schedule, follow_up_years=3, seed=4, parameters=params
    )
    labs, truth = sim.cohort.labs, sim.truth.set_index("patient_id")
    day = labs["date"].to_numpy(dtype=float)
    pid = labs["patient_id"].astype(object)
    assert (day <= truth.loc[pid, "observed_until_day"].to_numpy()).all()
    death = truth.loc[pid, "death_day"].to_numpy()
    assert not (day >= death).any()
    assert day.max() <= 3 * 365.25  # 36 and 48 months fall after follow-up
    d0 = course_day(treatment_vector(CY, SimulationParameters.default()))
    expected = set(draw_days(LAB_MONTHS, d0, 14).tolist())
    assert set(labs["date"].astype(int)) <= expected
    assert d0 + round(36 * 365.25 / 12) not in set(labs["date"].astype(int))
    # transplant-related deaths before the first month leave only the baseline
    early = truth.index[truth["death_day"] < d0 + 30]
    assert len(early) > 0
    assert (labs[labs["patient_id"].isin(early)]["date"] == 0).all()


def test_only_transplant_courses_have_labs() -> None:
    for treatment in (None, DMTCourse("natalizumab")):
        sim = simulate_cohort(30, treatment=treatment, schedule=LABS, follow_up_years=2, seed=2)
        assert sim.cohort.labs.empty


def test_turning_labs_on_changes_no_other_table() -> None:
    """Same seed with and without labs: every other table and the truth are identical."""
    schedule = VisitSchedule(3, 6, jitter_days=10, loss_to_follow_up_per_year=0.1)
    on = VisitSchedule(3, 6, jitter_days=10, loss_to_follow_up_per_year=0.1, lab_months=LAB_MONTHS)
    a = simulate_cohort(250, treatment=CY, schedule=schedule, follow_up_years=5, seed=8)
    b = simulate_cohort(250, treatment=CY, schedule=on, follow_up_years=5, seed=8)
    assert not b.cohort.labs.empty
    for name, table in a.cohort.tables.items():
        if name != "labs":
            pd.testing.assert_frame_equal(table, b.cohort.table(name))
    pd.testing.assert_frame_equal(a.truth, b.truth)


def test_labs_do_not_depend_on_chunking_or_cohort_size() -> None:
    whole = simulate_cohort(60, treatment=CY, schedule=LABS, follow_up_years=3, seed=9)
    chunked = simulate_cohort(
        60, treatment=CY, schedule=LABS, follow_up_years=3, seed=9, chunk_size=7
    )
    pd.testing.assert_frame_equal(whole.cohort.labs, chunked.cohort.labs)
    first = simulate_cohort(25, treatment=CY, schedule=LABS, follow_up_years=3, seed=9)
    part = whole.cohort.labs[
        whole.cohort.labs["patient_id"].isin(first.cohort.patients["patient_id"])
    ]
    pd.testing.assert_frame_equal(part.reset_index(drop=True), first.cohort.labs)


def test_the_kernel_records_the_model_cd4_at_the_draw_days() -> None:
    """CD4 at 6, 12 and 24 months equals the truth table's (within one day's change)."""
    params = SimulationParameters.default()
    root = np.random.SeedSequence(12)
    pool, hc = seed_prefix(root)
    tv = treatment_vector(CY, params)
    schedule = VisitSchedule()
    chunk = _run_chunk(
        0,
        50,
        pool,
        hc,
        PopulationSpec().to_vector(),
        params.to_array(),
        tv,
        treatment_vector(None, params),  # no second course
        no_switch(),
        schedule.edss_days(3.0),
        schedule.mri_days(3.0),
        schedule,
        3.0 * 365.25,
        None,
        np.array([182.625, 365.25, 730.5]),
    )
    truth = chunk.truth[:, [T_CD4_6M, T_CD4_12M, T_CD4_24M]]
    np.testing.assert_allclose(chunk.lab[:, :, 0], truth, rtol=0.01)
    assert (chunk.lab[:, :, 1] < chunk.lab[:, :, 0]).all()  # naive within the total


# -- the kinetics (a few hundred virtual patients through the analysis) -------------------


def test_cd4_is_low_at_a_year_and_recovers_by_three_to_four(cohort: Cohort) -> None:
    cd4 = _medians(cohort, "cd4")
    assert cd4[12.0] < 0.6 * cd4[0.0]
    assert cd4[1.0] < cd4[3.0] < cd4[6.0] < cd4[12.0] < cd4[24.0] < cd4[36.0] < cd4[48.0]
    assert cd4[48.0] < cd4[0.0]  # still below baseline at 4 years
    assert math.isnan(cd4[60.0])  # no draw at 60 months in LAB_MONTHS


def test_innate_and_b_cells_return_first(cohort: Cohort) -> None:
    nk, cd8, cd19, cd4 = (_medians(cohort, a) for a in ("nk", "cd8", "cd19", "cd4"))
    assert nk[1.0] > 0.8 * nk[0.0]  # NK by 1 month
    assert 0.85 * cd8[0.0] < cd8[12.0] < 1.15 * cd8[0.0]  # CD8 by a year
    assert cd19[1.0] < 0.3 * cd19[0.0]
    assert cd19[6.0] > 1.2 * cd19[0.0]
    assert cd19[12.0] > 1.2 * cd19[0.0]
    assert cd19[48.0] < cd19[12.0]
    assert nk[1.0] / nk[0.0] > cd8[1.0] / cd8[0.0] > cd4[1.0] / cd4[0.0]
    lymph = _medians(cohort, "lymphocytes")
    assert lymph[1.0] < 0.4 * lymph[0.0] < lymph[12.0]


def test_younger_patients_recover_faster() -> None:
    def run(age: float) -> Cohort:
        population = PopulationSpec(
            age_mean_years=age, age_sd_years=3, age_range_years=(age - 6, age + 6)
        )
        return simulate_cohort(
            600,
            population=population,
            treatment=CY,
            schedule=LABS,
            follow_up_years=4.5,
            seed=21,
            validate=False,
        ).cohort

    young, old = run(25.0), run(55.0)
    for month in (24.0, 36.0, 48.0):
        assert _medians(young, "cd4")[month] > _medians(old, "cd4")[month]

    def naive(c: Cohort) -> pd.Series:
        labs = c.labs[c.labs["analyte"] == "cd4_naive"]
        return labs.groupby("date")["value"].median()

    ratio = naive(young) / naive(old)
    assert (ratio.iloc[1:] > 1.05).all()  # thymic output falls with age


def test_cd34_selection_lengthens_cd4_lymphopenia() -> None:
    """Paired (same seed, same patients): a selected graft returns fewer lymphocytes, so
    every CD4 result after the reinfusion is lower; the baseline is the same."""
    a = simulate_cohort(200, treatment=CY, schedule=LABS, follow_up_years=4, seed=13)
    b = simulate_cohort(
        200,
        treatment=AHSCTCourse("cy200_atg", cd34_selected=True),
        schedule=LABS,
        follow_up_years=4,
        seed=13,
    )
    pair = a.cohort.labs.merge(b.cohort.labs, on=["patient_id", "date", "analyte"])
    cd4 = pair[pair["analyte"] == "cd4"]
    after = cd4["date"] > 0
    assert after.sum() > 1000
    assert (cd4.loc[after, "value_y"] < cd4.loc[after, "value_x"]).all()
    assert (cd4.loc[~after, "value_y"] == cd4.loc[~after, "value_x"]).all()


def test_atg_conditioning_lengthens_cd4_lymphopenia() -> None:
    """Cy 200 + ATG (intermediate lymphoablative) against cyclophosphamide alone (low):
    the model's ATG acts through the intensity class (the surviving fraction)."""
    atg = simulate_cohort(
        300, treatment=CY, schedule=LABS, follow_up_years=3, seed=14, validate=False
    ).cohort
    cy = simulate_cohort(
        300,
        treatment=AHSCTCourse("cy_low"),
        schedule=LABS,
        follow_up_years=3,
        seed=14,
        validate=False,
    ).cohort
    with_atg, without = _medians(atg, "cd4"), _medians(cy, "cd4")
    for month in (1.0, 3.0, 6.0, 12.0, 24.0):
        assert with_atg[month] < without[month]
