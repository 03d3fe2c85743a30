"""Compiled course steps shared by a patient's first course and a switch on failure.

A treatments-table row (``TX_*`` positions, days from enrolment), the start of a
transplant at any day (the randomised course at enrolment, or a crossover after failure),
the closing of a row at the end of the record, and the switch rule of
:class:`~msreboot.simulate.SwitchRule`: the failure test run at each recorded relapse and
EDSS visit, the second course started on failure, and the month's inflammatory multiplier
once switched.

A switch draws only from the patient's transplant stream, which a DMT or untreated first
course never uses: a patient who does not fail has the same course, draw for draw, as
without the rule, and one who fails has the same course up to the failure.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from msreboot.simulate._kernel_common import (
    B_HCT_CI,
    B_THYMIC,
    CAUSE_INFECTION,
    CAUSE_TOXICITY,
    DAYS_PER_YEAR,
    LAYOUT_FINGERPRINT,
    NA_DAY,
    T_CD34,
    T_ENGRAFT_DAY,
    T_FEBRILE_NEUTROPENIA,
    TRM_INFECTION,
)
from msreboot.simulate._kernel_course import dmt_response
from msreboot.simulate._kernel_transplant import (
    discharge_day,
    engraftment_day,
    immune_course,
    transplant_events,
    transplant_log_hazard,
    trm_death_event,
)
from msreboot.simulate._rng import normal, uniform
from msreboot.simulate._treatment import (
    KIND_AHSCT,
    KIND_DMT,
    KIND_MSC,
    TR_CD34_MEDIAN,
    TR_CD34_SDLOG,
    TR_COND_DAY,
    TR_D0,
    TR_KIND,
    TR_MOB_DAY,
    TR_MOB_FLARE_P,
    TR_START,
    TR_TRM_P,
)

# treatment-row columns (days from enrolment; NA_DAY when absent)
TX_PRESENT, TX_MOB, TX_COND, TX_ADMIT, TX_START, TX_ENGRAFT, TX_DISCHARGE, TX_END, N_TX = range(9)
TX_FAILURE = N_TX
"""Position, in a switch row, of the day the failure that triggered it was recorded."""
N_TX_SWITCH = N_TX + 1

# the switch rule's vector (SwitchRule.vector)
SW_ON, SW_AFTER, SW_CONFIRM, SW_INCREASE, N_SW = range(5)
ON_RELAPSE, ON_EDSS = 1, 2
"""Bits of ``SW_ON``: a recorded relapse, a confirmed EDSS worsening (3: either)."""


@njit(cache=True)
def start_transplant(
    fp: np.ndarray,
    tv: np.ndarray,
    stx: np.ndarray,
    offset: float,
    base: np.ndarray,
    age0: float,
    edss: float,
    progressive: bool,
    fu_days: float,
    mult_m: np.ndarray,
    cd4_m: np.ndarray,
    truth: np.ndarray,
    lab_days: np.ndarray,
    lab: np.ndarray,
    ae: np.ndarray,
    tx: np.ndarray,
) -> tuple[float, float, int, bool, int, float]:
    """A transplant whose steps start ``offset`` days after enrolment.

    Fills the monthly multiplier and CD4 count, the adverse events, the treatment row and
    the transplant's truth. Returns ``(conditioning day, death day (inf unless
    transplant-related), death cause, transplant-related death, adverse events written,
    mobilisation flare day (-1 without))``.
    """
    d0 = offset + tv[TR_D0]
    cond_day = offset + tv[TR_COND_DAY]
    cd34 = tv[TR_CD34_MEDIAN] * math.exp(tv[TR_CD34_SDLOG] * normal(stx))
    cd34 = min(max(cd34, 0.5), 40.0)
    cd34 = math.floor(cd34 * 100.0 + 0.5) / 100.0
    engraft = engraftment_day(fp, tv, stx, cd34)
    immune_course(
        fp,
        tv,
        stx,
        cd34,
        base[B_THYMIC],
        cond_day,
        d0,
        fu_days,
        mult_m,
        cd4_m,
        truth,
        lab_days,
        lab,
    )
    age_tx = age0 + d0 / DAYS_PER_YEAR
    lp = transplant_log_hazard(fp, tv, age_tx, edss, base[B_HCT_CI], progressive)
    n_ae, fn = transplant_events(fp, tv, stx, d0, engraft, lp, cd4_m, ae)
    p_trm = 1.0 - (1.0 - tv[TR_TRM_P]) ** math.exp(lp)
    death_day = np.inf
    cause = -1
    trm = False
    if uniform(stx) < p_trm:
        trm = True
        death_day = d0 + 5.0 + math.floor(uniform(stx) * 95.0)
        infection = uniform(stx) < fp[TRM_INFECTION]
        cause = CAUSE_INFECTION if infection else CAUSE_TOXICITY
        n_ae = trm_death_event(stx, d0, death_day, infection, ae, n_ae)
    flare_day = -1.0
    if uniform(stx) < tv[TR_MOB_FLARE_P]:
        flare_day = offset + tv[TR_MOB_DAY] + 3.0 + math.floor(uniform(stx) * 11.0)
    tx[TX_PRESENT] = 1
    tx[TX_MOB] = int(offset + tv[TR_MOB_DAY])
    tx[TX_COND] = int(cond_day)
    tx[TX_ADMIT] = int(cond_day) - 1
    tx[TX_START] = int(d0)
    tx[TX_ENGRAFT] = int(d0) + engraft
    tx[TX_DISCHARGE] = int(discharge_day(fp, stx, d0 + engraft))
    truth[T_ENGRAFT_DAY] = engraft
    truth[T_CD34] = cd34
    truth[T_FEBRILE_NEUTROPENIA] = 1.0 if fn else 0.0
    return cond_day, death_day, cause, trm, n_ae, flare_day


@njit(cache=True)
def close_row(
    tx: np.ndarray,
    kind: int,
    cond_day: float,
    last: float,
    cut: float,
    death_day: float,
    recorded_death: bool,
    keep_end: bool,
) -> None:
    """A treatment row at the end of the record (``cut``: the end of follow-up, death or
    loss to follow-up): a course that had not started is not written; dates after the cut
    are unknown, a DMT taken until a recorded death ends on that day.

    ``keep_end``: a DMT that ended before a recorded death keeps its end date. Without it
    (a first course without a switch) the death day replaces it, as before switch rules
    existed, so results without a rule do not change.
    """
    if tx[TX_PRESENT] != 1:
        return
    start = tx[TX_START]
    if start > cut or (kind == KIND_AHSCT and cond_day > last):
        tx[TX_PRESENT] = 0
    elif kind == KIND_AHSCT:
        if tx[TX_ENGRAFT] > cut:
            tx[TX_ENGRAFT] = NA_DAY
        if tx[TX_DISCHARGE] > cut:
            tx[TX_DISCHARGE] = int(death_day) if recorded_death else NA_DAY
    elif kind == KIND_DMT and tx[TX_END] != NA_DAY and tx[TX_END] > cut:
        tx[TX_END] = int(death_day) if recorded_death else NA_DAY
    elif kind == KIND_DMT and recorded_death and (tx[TX_END] == NA_DAY or not keep_end):
        tx[TX_END] = int(death_day)
    elif kind == KIND_MSC and tx[TX_END] > cut:
        tx[TX_END] = NA_DAY


@njit(cache=True)
def worsened_visit(
    sw: np.ndarray, state: np.ndarray, day: float, value: float, start1: float
) -> bool:
    """Update the EDSS failure test with a recorded visit; True when it confirms a failure.

    ``state`` holds the reference score (the first recorded visit; -1 before it) and the
    day of the first worsened visit not yet confirmed (-1 without). A visit worsened by at
    least ``SW_INCREASE`` points on the reference, at least ``SW_AFTER`` days after the
    first course began, starts a worsening; any later visit below it ends the worsening;
    a visit at least ``SW_CONFIRM`` days after its start, still worsened, confirms it.
    """
    if state[0] < 0.0:
        state[0] = value
        return False
    if day < start1 + sw[SW_AFTER]:
        return False
    if value < state[0] + sw[SW_INCREASE] - 1e-9:
        state[1] = -1.0
        return False
    if state[1] < 0.0:
        state[1] = day
        return False
    return bool(day - state[1] >= sw[SW_CONFIRM])


@njit(cache=True)
def start_switch(
    fp: np.ndarray,
    tv2: np.ndarray,
    stx: np.ndarray,
    fail_day: float,
    base: np.ndarray,
    age0: float,
    edss: float,
    progressive: bool,
    fu_days: float,
    mult_m: np.ndarray,
    cd4_m: np.ndarray,
    truth: np.ndarray,
    lab_days: np.ndarray,
    lab: np.ndarray,
    ae: np.ndarray,
    tx2: np.ndarray,
) -> tuple[float, float, float, float, float, float, int, bool, int, float]:
    """The second course, started on a failure recorded on ``fail_day``.

    Its steps are those of a course started at enrolment, shifted to the failure day (a
    DMT's ``start_day`` and a transplant's days to mobilisation count from the failure).
    Returns ``(end of the first course, DMT start, DMT stop, DMT rate ratio, conditioning
    day, death day, death cause, transplant-related death, adverse events written,
    mobilisation flare day)``; the first course ends when the DMT starts, or at
    mobilisation.
    """
    tx2[TX_FAILURE] = int(fail_day)
    if int(tv2[TR_KIND]) == KIND_DMT:
        ratio, _, stop = dmt_response(fp, tv2, stx)
        start = fail_day + tv2[TR_START]
        stop = fail_day + stop
        tx2[TX_PRESENT] = 1
        tx2[TX_START] = int(start)
        if stop <= fu_days:
            tx2[TX_END] = int(stop)
        return start, start, stop, ratio, np.inf, np.inf, -1, False, 0, -1.0
    cond_day, death_day, cause, trm, n_ae, flare_day = start_transplant(
        fp,
        tv2,
        stx,
        fail_day,
        base,
        age0,
        edss,
        progressive,
        fu_days,
        mult_m,
        cd4_m,
        truth,
        lab_days,
        lab,
        ae,
        tx2,
    )
    mob = fail_day + tv2[TR_MOB_DAY]
    return mob, np.inf, np.inf, 1.0, cond_day, death_day, cause, trm, n_ae, flare_day


@njit(cache=True)
def switched_multiplier(
    mult1: float,
    tv2: np.ndarray,
    t0: float,
    t1: float,
    start2: float,
    stop2: float,
    ratio2: float,
    mult_transplant: float,
    end1: float,
) -> float:
    """The month's inflammatory multiplier after a switch: ``mult1`` (the first course,
    stopped at ``end1``) with the second DMT's share of the month taken off, or, once the
    transplant's mobilisation has begun, the transplant's multiplier less what the first
    course still removed in the month."""
    if int(tv2[TR_KIND]) == KIND_DMT:
        span = t1 - t0
        on = min(t1, stop2) - max(t0, start2)
        frac = min(max(on / span, 0.0), 1.0)
        return mult1 - frac * (1.0 - ratio2)
    if t1 <= end1:
        return mult1
    return max(mult_transplant - (1.0 - mult1), 0.0)


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
