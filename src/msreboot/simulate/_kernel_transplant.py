"""Compiled AHSCT steps of one patient: graft, engraftment, immune reset, adverse events.

Engraftment follows a transit-compartment myelosuppression model (Friberg 2002): a
proliferating marrow compartment seeded at day 0 by the graft (proportional to the CD34+
dose) and by host marrow left by the conditioning, three transit compartments and the
circulating neutrophils, with mean transit time ``neutrophil_transit_days`` (shortened by
G-CSF) and feedback ``(ANC0 / ANC)^gamma``. The feedback is capped at ANC below
``neutrophil_feedback_floor_ratio`` of baseline: without a cap the empty marrow of a
transplant makes proliferation explode and every patient engrafts by day 6. Engraftment
is the first day with ANC above 0.5 x 10^9/L.

Immune reconstitution (per day for two years, then per week), all counts per ul::

    N_old' = (p_N - d_N) N_old                      surviving and graft-derived naive
    N_new' = s thymic + (p_N - d_N) N_new           new thymic emigrants
    M'     = (p_M - d_M) M + c (N_old + N_new)      memory
    a'     = a (p_M - d_M - k N_new / N*) + (d_M - p_M*) (N_old + f N_new) / N*

with density-dependent proliferation ``p_N = p_N,max / (1 + N / K_N)``,
``p_M = p_M,max / (1 + M / K_M)``, whose maxima are set so that the pre-transplant state
(N*, M*, a = 1) is a steady state. ``a`` is the autoreactive memory pool relative to
before the transplant; it starts at the surviving fraction (times the extra depletion of
activated cells) plus what the graft returns, re-expands with the memory pool, is
removed by regulation from the new thymic repertoire (``k``) and is primed again mostly
from the surviving old naive cells (the new repertoire is more tolerant, ``f``). It
scales the inflammatory rate after the transplant. A late reactivation (hazard from
the end of year 1, scaled by ``(a(0) / 3 x 10^-4)^e``: fewer surviving autoreactive cells,
fewer reactivations) cuts the regulation, and the pool then regrows slowly towards
``reactivation_level_ratio`` of its pre-transplant size,
``a' += (level - a) / reactivation_regrowth_years``: late relapses and MRI activity.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from msreboot.simulate._kernel_common import (
    AE_AUTOIMMUNITY,
    AE_CATEGORY,
    AE_DAY,
    AE_DETAIL,
    AE_END,
    AE_FEBRILE_NEUTROPENIA,
    AE_GRADE,
    AE_HEPATIC,
    AE_INFECTION,
    AE_PATHOGEN,
    AE_SERIOUS,
    AE_VIRAL,
    ANC_BASELINE,
    ANC_DAY0,
    AUTO_DEPLETION,
    CD34_SELECTION,
    CMV_P,
    DAYS_PER_YEAR,
    DISCHARGE,
    DT_DAYS,
    DT_YEARS,
    FEEDBACK,
    FEEDBACK_FLOOR,
    FN_PER_DAY,
    GCSF_TRANSIT,
    GRAFT_RETURN,
    INF_APLASIA,
    INF_LYMPH,
    LAYOUT_FINGERPRINT,
    MEMORY,
    MEMORY_DEATH,
    MEMORY_K,
    NA_DAY,
    NAIVE,
    NAIVE_DEATH,
    NAIVE_K,
    NEW_REPERTOIRE,
    PRIMING,
    REACT_LEVEL,
    REACT_POOL_EXP,
    REACT_REGROWTH,
    REACT_REGULATION,
    REACTIVATION,
    REGULATION,
    SEED_CV,
    SEED_PER_CD34,
    SURV_SD,
    T_AUTO_6M,
    T_AUTO_12M,
    T_AUTO_24M,
    T_AUTO_60M,
    T_CD4_6M,
    T_CD4_12M,
    T_CD4_24M,
    T_REACTIVATION_DAY,
    THYMIC,
    TRANSIT,
    TX_AGE,
    TX_EDSS,
    TX_ERA,
    TX_HCTCI,
    TX_PROG,
    VZV_P,
)
from msreboot.simulate._kernel_population import lognormal_mean_one
from msreboot.simulate._rng import normal, poisson, uniform
from msreboot.simulate._treatment import (
    TR_ALEMTUZUMAB,
    TR_AUTOIMMUNITY_P,
    TR_EBV_P,
    TR_GCSF_AFTER,
    TR_HOST_MARROW,
    TR_SELECTED,
    TR_SURV_LOG10,
    TR_YEAR,
)

ENGRAFT_STEPS_PER_DAY = 20
ENGRAFT_MAX_DAYS = 60


@njit(cache=True)
def engraftment_day(fp: np.ndarray, tv: np.ndarray, st: np.ndarray, cd34: float) -> int:
    """Days from reinfusion to ANC > 0.5 x 10^9/L (transit-compartment model)."""
    mtt = fp[TRANSIT] * (fp[GCSF_TRANSIT] if tv[TR_GCSF_AFTER] > 0.5 else 1.0)
    ktr = 4.0 / mtt
    prol = fp[SEED_PER_CD34] * cd34 * lognormal_mean_one(st, fp[SEED_CV]) + tv[TR_HOST_MARROW]
    t1 = 0.0
    t2 = 0.0
    t3 = 0.0
    circ = fp[ANC_DAY0]
    threshold = 0.5 / fp[ANC_BASELINE]
    floor = fp[FEEDBACK_FLOOR]
    gam = fp[FEEDBACK]
    h = 1.0 / ENGRAFT_STEPS_PER_DAY
    for day in range(1, ENGRAFT_MAX_DAYS + 1):
        for _ in range(ENGRAFT_STEPS_PER_DAY):
            feedback = (1.0 / max(circ, floor)) ** gam
            d_prol = ktr * prol * (feedback - 1.0)
            d1 = ktr * (prol - t1)
            d2 = ktr * (t1 - t2)
            d3 = ktr * (t2 - t3)
            dc = ktr * (t3 - circ)
            prol += h * d_prol
            t1 += h * d1
            t2 += h * d2
            t3 += h * d3
            circ += h * dc
        if circ > threshold:
            return day
    return ENGRAFT_MAX_DAYS


@njit(cache=True)
def immune_course(
    fp: np.ndarray,
    tv: np.ndarray,
    st: np.ndarray,
    cd34: float,
    thymic: float,
    cond_day: float,
    d0: float,
    end_day: float,
    mult: np.ndarray,
    cd4: np.ndarray,
    truth: np.ndarray,
    lab_days: np.ndarray,
    lab: np.ndarray,
) -> None:
    """Monthly inflammatory multiplier (``mult``) and CD4 count (``cd4``) from enrolment.

    ``mult`` is 1 before conditioning, 0 during it, and the autoreactive pool ``a`` after
    reinfusion (monthly means); ``cd4`` is the month-end CD4 count (NaN before day 0).
    ``lab[k]`` receives the total and naive CD4 counts ``lab_days[k]`` days after the
    reinfusion (linear between the two steps around it; NaN after ``end_day``): recording
    them changes no step and no draw.
    """
    n_months = mult.shape[0]
    for m in range(n_months):
        mult[m] = 0.0
        cd4[m] = np.nan
    # before reinfusion: 1 until conditioning, 0 during it
    for m in range(n_months):
        lo = m * DT_DAYS
        hi = lo + DT_DAYS
        pre = max(0.0, min(hi, cond_day) - lo)
        mult[m] += pre / DT_DAYS
    surv = 10.0 ** (tv[TR_SURV_LOG10] + fp[SURV_SD] * normal(st))
    graft = fp[GRAFT_RETURN] * cd34 / 5.0
    if tv[TR_SELECTED] > 0.5:
        graft *= 10.0 ** (-fp[CD34_SELECTION])
    a = surv * fp[AUTO_DEPLETION] + graft
    # more surviving autoreactive cells, more late reactivations (3e-4: Cy 200 + ATG with an
    # unmanipulated graft of 5 x 10^6 CD34+/kg)
    react_rate = fp[REACTIVATION] / DAYS_PER_YEAR * (max(a, 1e-12) / 3e-4) ** fp[REACT_POOL_EXP]
    react_day = np.inf
    if react_rate > 0.0:
        react_day = d0 + 365.0 - math.log(uniform(st)) / react_rate
    truth[T_REACTIVATION_DAY] = react_day if react_day <= end_day else np.nan
    n_star = fp[NAIVE]
    m_star = fp[MEMORY]
    dn = fp[NAIVE_DEATH]
    dm = fp[MEMORY_DEATH]
    prime = fp[PRIMING]
    pn_star = dn - fp[THYMIC] / n_star
    pm_star = dm - prime * n_star / m_star
    pn_max = pn_star * (1.0 + n_star / fp[NAIVE_K])
    pm_max = pm_star * (1.0 + m_star / fp[MEMORY_K])
    sigma = fp[THYMIC] * thymic
    phi = fp[NEW_REPERTOIRE]
    n_old = n_star * (surv + graft)
    n_new = 0.0
    mem = m_star * (surv + graft)
    regrowth = 1.0 / (fp[REACT_REGROWTH] * DAYS_PER_YEAR)
    t = d0
    marks = (182.625, 365.25, 730.5, 1826.25)
    slots = (T_AUTO_6M, T_AUTO_12M, T_AUTO_24M, T_AUTO_60M)
    cd4_slots = (T_CD4_6M, T_CD4_12M, T_CD4_24M, -1)
    next_mark = 0
    for k in range(4):
        truth[slots[k]] = np.nan
        if cd4_slots[k] >= 0:
            truth[cd4_slots[k]] = np.nan
    n_lab = lab_days.shape[0]
    for k in range(n_lab):
        lab[k, 0] = np.nan
        lab[k, 1] = np.nan
    next_lab = 0
    while t < end_day:
        prev_t = t
        prev_cd4 = n_old + n_new + mem
        prev_naive = n_old + n_new
        h = 1.0 if t - d0 < 730.5 else 7.0
        h = min(h, end_day - t)
        kappa = fp[REGULATION] * (fp[REACT_REGULATION] if t >= react_day else 1.0)
        naive = n_old + n_new
        pn = pn_max / (1.0 + naive / fp[NAIVE_K])
        pm = pm_max / (1.0 + mem / fp[MEMORY_K])
        d_old = (pn - dn) * n_old
        d_new = sigma + (pn - dn) * n_new
        d_mem = (pm - dm) * mem + prime * naive
        d_a = (
            a * (pm - dm - kappa * n_new / n_star) + (dm - pm_star) * (n_old + phi * n_new) / n_star
        )
        if t >= react_day:  # after a late reactivation the pool regrows slowly
            d_a += (fp[REACT_LEVEL] - a) * regrowth
        m = int(t / DT_DAYS)
        if m < n_months:
            mult[m] += a * h / DT_DAYS
        n_old = max(n_old + h * d_old, 0.0)
        n_new = max(n_new + h * d_new, 0.0)
        mem = max(mem + h * d_mem, 0.0)
        a = max(a + h * d_a, 0.0)
        t += h
        m_end = int((t - 1e-9) / DT_DAYS)
        if m_end < n_months:
            cd4[m_end] = n_old + n_new + mem
        while next_lab < n_lab and t - d0 >= lab_days[next_lab]:
            w = (lab_days[next_lab] - (prev_t - d0)) / (t - prev_t)
            w = min(max(w, 0.0), 1.0)
            lab[next_lab, 0] = prev_cd4 + w * (n_old + n_new + mem - prev_cd4)
            lab[next_lab, 1] = prev_naive + w * (n_old + n_new - prev_naive)
            next_lab += 1
        while next_mark < 4 and t - d0 >= marks[next_mark]:
            truth[slots[next_mark]] = a
            if cd4_slots[next_mark] >= 0:
                truth[cd4_slots[next_mark]] = n_old + n_new + mem
            next_mark += 1


@njit(cache=True)
def transplant_log_hazard(
    fp: np.ndarray, tv: np.ndarray, age: float, edss: float, hct_ci: float, progressive: bool
) -> float:
    """Log hazard ratio of transplant complications against the reference patient."""
    return float(
        fp[TX_AGE] * (age - 35.0) / 10.0
        + fp[TX_EDSS] * (edss - 4.0)
        + fp[TX_HCTCI] * hct_ci
        + (fp[TX_PROG] if progressive else 0.0)
        + fp[TX_ERA] * (2015.0 - tv[TR_YEAR]) / 10.0
    )


@njit(cache=True)
def add_event(
    ae: np.ndarray,
    n: int,
    day: float,
    end: float,
    category: int,
    grade: int,
    pathogen: int,
    serious: bool,
    detail: int,
) -> int:
    """Append one adverse event; returns the new count (capacity + 1 on overflow)."""
    if n >= ae.shape[0]:
        return int(ae.shape[0]) + 1
    ae[n, AE_DAY] = int(day)
    ae[n, AE_END] = int(end) if end >= day else NA_DAY
    ae[n, AE_CATEGORY] = category
    ae[n, AE_GRADE] = grade
    ae[n, AE_PATHOGEN] = pathogen
    ae[n, AE_SERIOUS] = 1 if serious else 0
    ae[n, AE_DETAIL] = detail
    return n + 1


@njit(cache=True)
def transplant_events(
    fp: np.ndarray,
    tv: np.ndarray,
    st: np.ndarray,
    d0: float,
    engraft: int,
    lp: float,
    cd4: np.ndarray,
    ae: np.ndarray,
) -> tuple[int, bool]:
    """Febrile neutropenia, infections, viral reactivations and secondary autoimmunity.

    Returns the number of events written and whether febrile neutropenia occurred.
    """
    n = 0
    risk = math.exp(lp)
    fn = uniform(st) < 1.0 - math.exp(-fp[FN_PER_DAY] * engraft)
    if fn:
        onset = d0 + math.floor(uniform(st) * engraft)
        n = add_event(ae, n, onset, d0 + engraft, AE_FEBRILE_NEUTROPENIA, 3, 0, True, 0)
    k = min(poisson(st, fp[INF_APLASIA] * engraft * risk), 2)
    for _ in range(k):
        onset = d0 + math.floor(uniform(st) * (engraft + 1))
        u = uniform(st)
        grade = 2 if u < 0.3 else (3 if u < 0.9 else 4)
        n = add_event(
            ae,
            n,
            onset,
            onset + 7 + math.floor(14 * uniform(st)),
            AE_INFECTION,
            grade,
            0,
            grade >= 3,
            0,
        )
    # infections while CD4 < 200/ul after engraftment
    start_month = int((d0 + engraft) / DT_DAYS) + 1
    for m in range(start_month, cd4.shape[0]):
        if not cd4[m] < 200.0:
            continue
        k = poisson(st, fp[INF_LYMPH] * risk * DT_YEARS)
        for _ in range(k):
            onset = math.floor(m * DT_DAYS + uniform(st) * DT_DAYS)
            grade = 2 if uniform(st) < 0.7 else 3
            n = add_event(
                ae,
                n,
                onset,
                onset + 5 + math.floor(10 * uniform(st)),
                AE_INFECTION,
                grade,
                0,
                grade >= 3,
                0,
            )
    for pathogen in range(1, 4):
        if pathogen == 1:
            p, lo, span = tv[TR_EBV_P], 20.0, 70.0
        elif pathogen == 2:
            p, lo, span = fp[CMV_P], 20.0, 80.0
        else:
            p, lo, span = fp[VZV_P], 60.0, 305.0
        if uniform(st) < p:
            onset = d0 + lo + math.floor(uniform(st) * span)
            grade = 1 + int(3.0 * uniform(st))
            n = add_event(
                ae,
                n,
                onset,
                onset + 14 + math.floor(30 * uniform(st)),
                AE_VIRAL,
                grade,
                pathogen,
                grade >= 3,
                0,
            )
    if uniform(st) < tv[TR_AUTOIMMUNITY_P]:
        itp_share = 0.5 if tv[TR_ALEMTUZUMAB] > 0.5 else 0.2
        itp = uniform(st) < itp_share
        onset = d0 + 180.0 + math.floor(uniform(st) * 915.0)
        n = add_event(ae, n, onset, -1.0, AE_AUTOIMMUNITY, 3 if itp else 2, 0, itp, 2 if itp else 1)
    return n, fn


@njit(cache=True)
def discharge_day(fp: np.ndarray, st: np.ndarray, engraft_abs: float) -> float:
    """Discharge after engraftment (at least one day later)."""
    return float(engraft_abs + max(1.0, math.floor(fp[DISCHARGE] + 2.0 * normal(st) + 0.5)))


@njit(cache=True)
def trm_death_event(
    st: np.ndarray, d0: float, death_day: float, infection: bool, ae: np.ndarray, n: int
) -> int:
    """The grade-5 adverse event of a transplant-related death."""
    onset = death_day - math.floor(uniform(st) * min(7.0, death_day - d0))
    category = AE_INFECTION if infection else AE_HEPATIC
    return add_event(ae, n, onset, death_day, category, 5, 0, True, 0)


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
