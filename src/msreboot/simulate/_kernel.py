"""The compiled course of one patient: monthly steps from enrolment.

The patient draws only from its own streams (see :mod:`msreboot.simulate._rng`):
baseline (population), disease course, observation (visit jitter, rater noise, recorded
end dates, loss to follow-up) and transplant procedure, and writes into slots the caller
preallocated (:mod:`msreboot.simulate._kernel_chunk`, which runs the patients of a chunk in
parallel); when its relapses or adverse events overflow them it returns a status saying so.

Per month of 365.25 / 12 days, in this order: relapses (Poisson at the untreated rate
times the treatment's inflammatory multiplier; attacks within the minimum gap of the
previous onset are the same relapse; each may leave a residual step, part of it
recoverable), new Gd+ lesions (autoregressive negative binomial, Velez de Mendizabal
2013, lambda0 scaled by the same multiplier) and new T2 lesions from them,
relapse-independent progression (0.5-point steps at the relapsing-phase rate rising with
age, or at the patient's progressive-class rate, slowed in proportion to the
inflammation-driven share), recovery of recoverable damage while inflammation is
suppressed, conversion to SPMS (Weibull in duration, rising with age, EDSS and
neurodegeneration), death (Gompertz background times the EDSS multiplier), then the
visits and scans of the month.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from msreboot.simulate._kernel_common import (
    ABOVE_7,
    AE_DAY,
    AE_END,
    B_AGE,
    B_DURATION,
    B_EDSS_LATENT,
    B_EDSS_REVERSIBLE,
    B_FEMALE,
    B_GAMMA,
    B_GD,
    B_GD_LAG,
    B_NEURO,
    B_PHENOTYPE,
    B_PRIOR_DMTS,
    B_RECENT,
    B_REMYELINATION,
    B_SP_CLASS,
    B_T2,
    BUSULFAN_CNS,
    CAUSE_MS,
    CAUSE_OTHER,
    DAYS_PER_YEAR,
    DT_DAYS,
    GD_AR1,
    GD_AR2,
    GD_OVERDISP,
    LAYOUT_FINGERPRINT,
    MILESTONES,
    MORT_7,
    MORT_8,
    MORT_9,
    N_AE_COLS,
    NA_DAY,
    PH_RR,
    PH_SP,
    PIRA_AGE,
    PIRA_EDSS,
    PIRA_RR,
    R_DURATION,
    R_END_P,
    R_GAP,
    R_PEAK,
    R_RESID_MEAN,
    R_RESID_P,
    RECOVERY,
    SHARE_PROG,
    SHARE_RR,
    SP_AGE,
    SP_EDSS,
    SP_FAST,
    SP_MEDIUM,
    SP_SCALE,
    SP_SHAPE,
    SP_SLOW,
    T2_PER_GD,
    T_DEATH_CAUSE,
    T_DEATH_DAY,
    T_DMT_RESPONSE,
    T_DMT_STOP_DAY,
    T_EDSS3_DAY,
    T_EDSS_END,
    T_GD_TOTAL,
    T_LAST_DAY,
    T_OBS_END,
    T_RELAPSES,
    T_SHARE_PROG,
    T_SHARE_RR,
    T_SPMS_DAY,
    T_TRM,
    gd_baseline_rate,
    mortality_rate,
    observe_edss,
    untreated_rate,
)
from msreboot.simulate._kernel_course import (
    dmt_response,
    recent_factor,
    share_shift,
    shifted_share,
)
from msreboot.simulate._kernel_msc import msc_month
from msreboot.simulate._kernel_population import draw_patient
from msreboot.simulate._kernel_switch import (
    ON_EDSS,
    ON_RELAPSE,
    SW_AFTER,
    SW_ON,
    TX_END,
    TX_PRESENT,
    TX_START,
    close_row,
    start_switch,
    start_transplant,
    switched_multiplier,
    worsened_visit,
)
from msreboot.simulate._rng import (
    STREAM_COURSE,
    STREAM_OBSERVATION,
    STREAM_POPULATION,
    STREAM_TRANSPLANT,
    binomial,
    negative_binomial,
    poisson,
    uniform,
)
from msreboot.simulate._treatment import (
    KIND_AHSCT,
    KIND_DMT,
    KIND_MSC,
    TR_BUSULFAN,
    TR_KIND,
    TR_MSC_INFUSIONS,
    TR_MSC_INTERVAL,
    TR_START,
)

# status codes
OK, FAILED_POPULATION, OVERFLOW_RELAPSES, OVERFLOW_EVENTS = 0, 1, 2, 3
MAX_MONTH_RELAPSES = 8


@njit(cache=True)
def _jittered(st: np.ndarray, sched: np.ndarray, jitter: int, last: float, out: np.ndarray) -> int:
    """Scheduled days with jitter (day 0 exact), kept within follow-up and in order."""
    n = 0
    prev = -1
    for k in range(sched.shape[0]):
        day = sched[k]
        if k > 0 and jitter > 0:
            day += math.floor(uniform(st) * (2 * jitter + 1)) - jitter
        day = min(day, math.floor(last))
        if day <= prev:
            continue
        out[n] = day
        prev = day
        n += 1
    return n


@njit(cache=True)
def _spms_hazard(fp: np.ndarray, duration: float, age: float, z: float, neuro: float) -> float:
    scale = fp[SP_SCALE]
    shape = fp[SP_SHAPE]
    d = max(duration, 1e-6)
    h = shape / scale * (d / scale) ** (shape - 1.0)
    return float(h) * neuro * math.exp(fp[SP_AGE] * (age - 30.0) + fp[SP_EDSS] * (z - 3.0))


@njit(cache=True)
def simulate_patient(
    pv: np.ndarray,
    fp: np.ndarray,
    tv: np.ndarray,
    tv2: np.ndarray,
    sw: np.ndarray,
    edss_sched: np.ndarray,
    mri_sched: np.ndarray,
    jitter: int,
    ltfu_per_year: float,
    fu_days: float,
    st: np.ndarray,
    base: np.ndarray,
    truth: np.ndarray,
    edss_day: np.ndarray,
    edss_val: np.ndarray,
    mri_day: np.ndarray,
    mri_val: np.ndarray,
    rel_day: np.ndarray,
    rel_end: np.ndarray,
    ae: np.ndarray,
    tx: np.ndarray,
    tx2: np.ndarray,
    lab_days: np.ndarray,
    lab: np.ndarray,
) -> tuple[int, int, int, int, int]:
    """One patient from baseline to the end of follow-up.

    Returns ``(n_edss, n_mri, n_relapses, n_adverse_events, status)``. A transplanted
    patient's CD4 counts ``lab_days`` after the reinfusion go to ``lab`` (NaN otherwise).
    With a switch rule (``sw[SW_ON] > 0``), a failure on the first course starts the
    course ``tv2`` (:mod:`msreboot.simulate._kernel_switch`), written to ``tx2``.
    """
    sp = st[STREAM_POPULATION]
    sc = st[STREAM_COURSE]
    so = st[STREAM_OBSERVATION]
    stx = st[STREAM_TRANSPLANT]
    for k in range(truth.shape[0]):
        truth[k] = np.nan
    for k in range(tx.shape[0]):
        tx[k] = NA_DAY
    tx[TX_PRESENT] = 0
    for k in range(tx2.shape[0]):
        tx2[k] = NA_DAY
    tx2[TX_PRESENT] = 0
    prior = np.empty(32)
    n_prior = draw_patient(pv, fp, sp, base, prior)
    if n_prior < 0:
        return 0, 0, 0, 0, FAILED_POPULATION
    age0 = base[B_AGE]
    female = base[B_FEMALE] > 0.5
    phen = int(base[B_PHENOTYPE])
    dur0 = base[B_DURATION]
    g = base[B_GAMMA]
    neuro = base[B_NEURO]
    remy = base[B_REMYELINATION]
    z_raw = base[B_EDSS_REVERSIBLE]
    z_perm = base[B_EDSS_LATENT] - z_raw
    sp_class = int(base[B_SP_CLASS])
    sp_rate = fp[SP_SLOW] if sp_class == 0 else (fp[SP_MEDIUM] if sp_class == 1 else fp[SP_FAST])
    # the patient's inflammation-driven shares of progression (the rest is neurodegenerative)
    activity = g * base[B_RECENT]
    z0 = base[B_EDSS_LATENT]
    n_dmts = base[B_PRIOR_DMTS]
    share_rr = shifted_share(fp[SHARE_RR], share_shift(fp, activity, age0, phen, n_dmts, z0, False))
    share_prog = shifted_share(
        fp[SHARE_PROG], share_shift(fp, activity, age0, phen, n_dmts, z0, True)
    )
    truth[T_SHARE_RR] = share_rr
    truth[T_SHARE_PROG] = share_prog
    # observation: schedule with jitter, loss to follow-up
    n_vis = _jittered(so, edss_sched, jitter, fu_days, edss_day)
    n_scan = _jittered(so, mri_sched, jitter, fu_days, mri_day)
    obs_end = fu_days
    if ltfu_per_year > 0.0:
        obs_end = min(fu_days, -math.log(uniform(so)) / ltfu_per_year * DAYS_PER_YEAR)
    # prior relapses (recorded)
    n_rel = 0
    last_onset = -1e18
    for k in range(n_prior):
        rel_day[n_rel] = int(prior[k])
        length = max(7.0, -fp[R_DURATION] * math.log(uniform(so)))
        rel_end[n_rel] = int(prior[k] + length) if uniform(so) < fp[R_END_P] else NA_DAY
        n_rel += 1
        last_onset = prior[k]
    cap_rel = rel_day.shape[0]
    # treatment set-up
    kind = int(tv[TR_KIND])
    recent = base[B_RECENT]
    dmt_ratio = 1.0
    dmt_stop = np.inf
    n_months = math.ceil(fu_days / DT_DAYS - 1e-9)
    mult_m = np.ones(max(n_months, 1))
    cd4_m = np.full(max(n_months, 1), np.nan)
    death_day = np.inf
    cause = -1
    trm = False
    n_ae = 0
    flare_day = -1.0
    cond_day = np.inf
    if kind == KIND_AHSCT:
        cond_day, death_day, cause, trm, n_ae, flare_day = start_transplant(
            fp,
            tv,
            stx,
            0.0,
            base,
            age0,
            base[B_EDSS_LATENT],
            phen != PH_RR,
            fu_days,
            mult_m,
            cd4_m,
            truth,
            lab_days,
            lab,
            ae,
            tx,
        )
    elif kind in (KIND_DMT, KIND_MSC):
        tx[TX_PRESENT] = 1
        tx[TX_START] = int(tv[TR_START])
        if kind == KIND_DMT:
            dmt_ratio, dmt_class, dmt_stop = dmt_response(fp, tv, sc)
            truth[T_DMT_RESPONSE] = dmt_class
            truth[T_DMT_STOP_DAY] = dmt_stop if dmt_stop <= fu_days else np.nan
            if dmt_stop <= fu_days:
                tx[TX_END] = int(dmt_stop)
        if kind == KIND_MSC:
            tx[TX_END] = int(tv[TR_START] + (tv[TR_MSC_INFUSIONS] - 1) * tv[TR_MSC_INTERVAL])
    if n_ae > ae.shape[0]:
        return 0, 0, 0, 0, OVERFLOW_EVENTS
    # switch on failure: the failure test's state, and the second course once started
    sw_on = int(sw[SW_ON])
    start1 = tv[TR_START] if kind == KIND_DMT else 0.0
    edss_test = np.array([-1.0, -1.0])
    fail_day = -1.0
    switched = False
    end1 = start2 = stop2 = np.inf
    ratio2 = 1.0
    # state
    n1 = base[B_GD]
    n2 = base[B_GD_LAG]
    pending_t2 = 0
    t2_total = int(base[B_T2])
    gd_total = 0.0
    n_edss = 0
    n_mri = 0
    iv = 0
    isc = 0
    if n_scan > 0 and mri_day[0] == 0:  # baseline scan from the population draw
        mri_val[0, 0] = int(base[B_GD])
        mri_val[0, 1] = -1
        mri_val[0, 2] = t2_total
        n_mri = 1
        isc = 1
    true_relapses = 0
    bump_day = -1e18
    bump_end = -1e18
    bump_peak = 0.0
    sp_day = np.nan
    z = min(z_perm + z_raw, 9.5)
    for k in range(4):
        if z >= MILESTONES[k]:
            truth[T_EDSS3_DAY + k] = 0.0
    month_day = np.empty(MAX_MONTH_RELAPSES)
    month_res = np.empty(MAX_MONTH_RELAPSES)
    alive = True
    for m in range(n_months):
        if not alive:
            break
        t0 = m * DT_DAYS
        t1 = min(t0 + DT_DAYS, fu_days)
        if t0 >= death_day:
            break
        span = t1 - t0
        yrs = span / DAYS_PER_YEAR
        mid = t0 + 0.5 * span
        age = age0 + t0 / DAYS_PER_YEAR
        dur = dur0 + t0 / DAYS_PER_YEAR
        # inflammatory multiplier of the month
        mult = 1.0
        if kind == KIND_DMT:
            on = min(t1, dmt_stop) - max(t0, tv[TR_START])
            frac = min(max(on / span, 0.0), 1.0)
            mult = 1.0 - frac * (1.0 - dmt_ratio)
        elif kind == KIND_AHSCT:
            mult = mult_m[m]
        if switched:
            mult = switched_multiplier(mult, tv2, t0, t1, start2, stop2, ratio2, mult_m[m], end1)
        neuro_factor = 1.0
        if kind == KIND_MSC:
            mult, neuro_factor = msc_month(fp, tv, phen, mid)
        base_rate = untreated_rate(fp, g, age, dur, phen) * recent_factor(fp, recent, mid)
        z_start = min(z_perm + z_raw, 9.5)
        # relapses
        k_rel = min(poisson(sc, base_rate * mult * yrs), MAX_MONTH_RELAPSES)
        for j in range(k_rel):
            month_day[j] = t0 + math.floor(uniform(sc) * span)
        if t0 <= flare_day < t1 and k_rel < MAX_MONTH_RELAPSES:
            month_day[k_rel] = flare_day
            k_rel += 1
        month_day[:k_rel].sort()
        n_month = 0
        for j in range(k_rel):
            day = month_day[j]
            if day - last_onset <= fp[R_GAP]:
                continue
            last_onset = day
            true_relapses += 1
            resid = 0.0
            if uniform(sc) < fp[R_RESID_P]:
                resid = -fp[R_RESID_MEAN] * math.log(uniform(sc))
            z_perm += resid * (1.0 - remy)
            z_raw += resid * remy
            peak = -fp[R_PEAK] * math.log(uniform(sc))
            length = max(7.0, -fp[R_DURATION] * math.log(uniform(sc)))
            bump_day = day
            bump_end = day + length
            bump_peak = peak
            month_day[n_month] = day
            month_res[n_month] = resid
            n_month += 1
            if day <= obs_end:
                if (sw_on & ON_RELAPSE) != 0 and fail_day < 0.0 and day >= start1 + sw[SW_AFTER]:
                    fail_day = day
                if n_rel >= cap_rel:
                    return 0, 0, 0, 0, OVERFLOW_RELAPSES
                rel_day[n_rel] = int(day)
                rel_end[n_rel] = int(day + length) if uniform(so) < fp[R_END_P] else NA_DAY
                n_rel += 1
        # new Gd+ and T2 lesions
        lam = gd_baseline_rate(fp, base_rate) * mult + fp[GD_AR1] * n1 + fp[GD_AR2] * n2
        ngd = negative_binomial(sc, lam, fp[GD_OVERDISP])
        prev_gd = int(n1)
        n2 = n1
        n1 = float(ngd)
        gd_total += ngd
        month_t2 = binomial(sc, ngd, fp[T2_PER_GD])
        # relapse-independent progression and recovery
        if phen == PH_RR:
            prate = (
                fp[PIRA_RR]
                * neuro
                * math.exp(fp[PIRA_AGE] * (age - 40.0) + fp[PIRA_EDSS] * (z_start - 3.0))
            )
            prate = min(prate, sp_rate)  # never faster than the patient's progressive phase
            share = share_rr
        else:
            prate = sp_rate
            share = share_prog
        infl = min(mult, 1.0)
        if t0 >= cond_day and (tv[TR_BUSULFAN] > 0.5 or tv2[TR_BUSULFAN] > 0.5):
            infl *= 1.0 - fp[BUSULFAN_CNS]
        pmult = ((1.0 - share) + share * infl) * neuro_factor
        if z_start >= 7.0:
            pmult *= fp[ABOVE_7]
        z_perm += 0.5 * poisson(sc, prate * pmult * yrs / 0.5)
        suppression = 1.0 - min(mult, 1.0)
        z_raw *= math.exp(-fp[RECOVERY] * suppression * suppression * yrs)
        z = min(z_perm + z_raw, 9.5)
        # conversion to SPMS
        if phen == PH_RR:
            h = _spms_hazard(fp, dur, age, z, neuro) * pmult
            if uniform(sc) < 1.0 - math.exp(-h * yrs):
                phen = PH_SP
                sp_day = t0 + math.floor(uniform(sc) * span)
        # death
        if death_day == np.inf:
            hd = mortality_rate(fp, female, age, z)
            if uniform(sc) < 1.0 - math.exp(-hd * yrs):
                death_day = t0 + math.floor(uniform(sc) * span)
                ratio = 1.0
                if z >= 9.0:
                    ratio = fp[MORT_9]
                elif z >= 8.0:
                    ratio = fp[MORT_8]
                elif z >= 7.0:
                    ratio = fp[MORT_7]
                cause = CAUSE_MS if uniform(sc) < (ratio - 1.0) / ratio else CAUSE_OTHER
        last_month = m == n_months - 1
        if death_day <= t1:
            alive = False
        # EDSS visits of the month
        while iv < n_vis and (edss_day[iv] < t1 or (last_month and edss_day[iv] <= t1)):
            day = edss_day[iv]
            iv += 1
            if day > obs_end or day > death_day:
                continue
            zv = z_start
            for j in range(n_month):
                if month_day[j] <= day:
                    zv += month_res[j]
            if bump_day <= day <= bump_end:
                zv += bump_peak * (1.0 - (day - bump_day) / (bump_end - bump_day + 1.0))
            edss_day[n_edss] = day
            edss_val[n_edss] = observe_edss(fp, so, min(zv, 9.5))
            testing = (sw_on & ON_EDSS) != 0 and fail_day < 0.0
            if testing and worsened_visit(sw, edss_test, day, edss_val[n_edss], start1):
                fail_day = day
            n_edss += 1
        # scans of the month
        while isc < n_scan and (mri_day[isc] < t1 or (last_month and mri_day[isc] <= t1)):
            day = mri_day[isc]
            isc += 1
            if day > obs_end or day > death_day:
                continue
            # a scan shows the lesions of about the month before it: this month's when it
            # falls in the second half of the month, else the previous month's
            late = day >= mid
            new_t2 = pending_t2 + (month_t2 if late else 0)
            t2_total += new_t2
            mri_day[n_mri] = day
            mri_val[n_mri, 0] = ngd if late else prev_gd
            mri_val[n_mri, 1] = new_t2
            mri_val[n_mri, 2] = t2_total
            pending_t2 = -month_t2 if late else 0
            n_mri += 1
        pending_t2 += month_t2
        if fail_day >= 0.0 and not switched and alive:
            switched = True
            end1, start2, stop2, ratio2, cond_day, trm_day, trm_cause, trm, n_ae, flare_day = (
                start_switch(
                    fp,
                    tv2,
                    stx,
                    fail_day,
                    base,
                    age0,
                    z,
                    phen != PH_RR,
                    fu_days,
                    mult_m,
                    cd4_m,
                    truth,
                    lab_days,
                    lab,
                    ae,
                    tx2,
                )
            )
            if n_ae > ae.shape[0]:
                return 0, 0, 0, 0, OVERFLOW_EVENTS
            if trm_day < death_day:
                death_day, cause = trm_day, trm_cause
            dmt_stop = min(dmt_stop, end1)
            if kind == KIND_DMT and end1 <= fu_days:
                tx[TX_END] = int(min(tx[TX_END] if tx[TX_END] != NA_DAY else end1, end1))
        for k in range(4):
            if np.isnan(truth[T_EDSS3_DAY + k]) and z >= MILESTONES[k]:
                truth[T_EDSS3_DAY + k] = mid
    # truth and end-of-record fix-ups
    if death_day > fu_days:
        death_day = np.inf
        trm = False
    last = min(death_day, fu_days)
    truth[T_SPMS_DAY] = sp_day
    truth[T_DEATH_DAY] = death_day if death_day < np.inf else np.nan
    truth[T_DEATH_CAUSE] = cause if death_day < np.inf else np.nan
    truth[T_TRM] = 1.0 if trm else 0.0
    truth[T_EDSS_END] = z
    truth[T_RELAPSES] = true_relapses
    truth[T_GD_TOTAL] = gd_total
    truth[T_OBS_END] = obs_end
    truth[T_LAST_DAY] = last
    recorded_death = death_day < np.inf and death_day <= obs_end
    cut = min(last, obs_end)
    kept_rel = 0
    for k in range(n_rel):  # relapses drawn in the month of death but after it are dropped
        if rel_day[k] > cut:
            continue
        rel_day[kept_rel] = rel_day[k]
        rel_end[kept_rel] = rel_end[k]
        if rel_end[kept_rel] != NA_DAY and rel_end[kept_rel] > cut:
            rel_end[kept_rel] = NA_DAY if not recorded_death else int(death_day)
        kept_rel += 1
    n_rel = kept_rel
    close_row(tx, kind, cond_day, last, cut, death_day, recorded_death, switched)
    close_row(tx2, int(tv2[TR_KIND]), cond_day, last, cut, death_day, recorded_death, True)
    # adverse events: only those of a transplant that happened, up to the end of records
    kept = 0
    if tx[TX_PRESENT] == 1 or tx2[TX_PRESENT] == 1:
        for k in range(n_ae):
            if ae[k, AE_DAY] > cut:
                continue
            for c in range(N_AE_COLS):
                ae[kept, c] = ae[k, c]
            if ae[kept, AE_END] != NA_DAY and ae[kept, AE_END] > cut:
                ae[kept, AE_END] = NA_DAY
            kept += 1
    if recorded_death:
        truth[T_LAST_DAY] = death_day
    return n_edss, n_mri, n_rel, kept, OK


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
