# ruff: noqa: SIM109  (explicit comparisons compile to the simplest code)
"""Compiled per-patient scan for confirmed disability events.

One patient's visits (sorted by day) and relapses (sorted by onset) are scanned
independently of every other patient's, so the scan runs unchanged on any partition of
patients. Values are oriented so that larger is worse;
thresholds are precomputed per visit (``dw`` for worsening, ``di`` for improvement, from the
visit's own value as a reference).

Option codes, option slots and output columns are those of :mod:`._disability_layout`;
the checks are in :mod:`._disability_checks`. The scan is a state machine over (baseline,
search position); its steps are documented in
:func:`msreboot.endpoints.detect_disability_events`. The scan of one patient writes into
arrays it is given and allocates nothing; :mod:`._disability_chunks` runs it over the
cohort in parallel chunks with compact outputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from msreboot.endpoints._disability_checks import (
    change_lost,
    confirmed_minimum,
    first_confirmation,
    first_of_window,
    free_before_event,
    holds,
    impr,
    last_delta,
    least_change_reference,
    local_extremum,
    monotone,
    note_unconfirmed,
    pira_free,
    record_values,
    sustained,
    wors,
)
from msreboot.endpoints._disability_layout import (
    BL_FIXED,
    BL_ROVING,
    BL_ROVING_IMPR,
    BL_ROVING_WORS,
    BL_RUNNING_MIN,
    EV_CDI,
    EV_CDW,
    EV_PIRA,
    EV_PIRA_RELAPSE,
    EV_RAW,
    EXT_NONE,
    FINGERPRINT,
    FP_BL_LAST,
    FP_BL_NEXT,
    FP_CF_LAST,
    FP_CF_NEXT,
    FP_EV_LAST,
    FP_EV_NEXT,
    FP_IMPUTE_MAX_FU,
    FP_MIN_DISTANCE,
    FP_RAW_LAST,
    FP_RAW_NEXT,
    FP_REF_CONF_DAYS,
    FP_SUST_DAYS,
    IP_BASELINE,
    IP_CHECK_INTERMEDIATE,
    IP_DISTANCE_PREVIOUS,
    IP_IMPUTE,
    IP_LOWEST_CONFIRMED,
    IP_MODE,
    IP_MONOTONIC,
    IP_NOT_LOWER,
    IP_PREC_TYPE,
    IP_PROCEED_EVENT,
    IP_RAW_PIRA,
    IP_RELAPSE_IN_CONFIRMATION,
    IP_RELAPSE_REBASELINE,
    IP_RESIDUAL_ONLY,
    IP_SKIP_EXTREMA,
    IP_SUB_THRESHOLD,
    IP_UNCONFIRMED,
    IP_USE_END_DATES,
    MODE_ALL,
    MODE_FIRST,
    MODE_FIRST_CDI,
    MODE_FIRST_CDW,
    MODE_FIRST_PIRA,
    MODE_FIRST_RAW,
    N_OUT_FIXED,
    OUT_BASELINE,
    OUT_CHANGE,
    OUT_LAST_DELTA,
    OUT_SUSTAINED_TO,
    OUT_TYPE,
    PREC_BASELINE,
    PREC_LAST,
    ST_EVENT,
    ST_IMPROVEMENT,
    ST_NONE,
    ST_WORSENING,
    STATUS_OK,
    STATUS_OVERFLOW,
    STATUS_UNCONFIRMED_TRUNCATED,
)

__all__ = ["compiled_fingerprint", "scan_patient"]


@njit(cache=True)
def scan_patient(
    t: np.ndarray,
    x0: np.ndarray,
    dw0: np.ndarray,
    di0: np.ndarray,
    valid: np.ndarray,
    r_all: np.ndarray,
    rend_all: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    ev_int: np.ndarray,
    ev_val: np.ndarray,
    unc: np.ndarray,
    unc_d: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    dprev: np.ndarray,
    dnext: np.ndarray,
    det_int: np.ndarray,
    det_val: np.ndarray,
    cu: np.ndarray,
    bits: np.ndarray,
    order: np.ndarray,
) -> tuple[int, int, int]:
    """Scan one patient; returns (number of events, number of unconfirmed, status).

    ``ev_int`` .. ``unc_d`` receive the results (``n`` rows each); ``x`` .. ``order`` are
    scratch arrays (``x`` .. ``bits``: ``n`` rows; ``det_int``, ``det_val`` and ``order``:
    ``4 n + 4`` rows), overwritten here.
    """
    n = t.shape[0]
    nw = win_lo.shape[0]
    mode = ip[IP_MODE]
    bl_kind = ip[IP_BASELINE]
    from_event = ip[IP_PROCEED_EVENT] == 1
    st_kind = ip[IP_SUB_THRESHOLD]
    skip = ip[IP_SKIP_EXTREMA]
    every = ip[IP_CHECK_INTERMEDIATE] == 1
    rawpira = ip[IP_RAW_PIRA] == 1
    rebl = ip[IP_RELAPSE_REBASELINE] == 1
    not_lower = ip[IP_NOT_LOWER] == 1 and rebl
    impute = ip[IP_IMPUTE] == 1
    use_end = ip[IP_USE_END_DATES] == 1
    split_conf_relapse = ip[IP_RELAPSE_IN_CONFIRMATION] == 1
    mono = ip[IP_MONOTONIC] == 1
    unconf_mode = ip[IP_UNCONFIRMED] == 1
    lowest_ref = ip[IP_LOWEST_CONFIRMED] == 1
    running_min = bl_kind == BL_RUNNING_MIN
    min_distance = fp[FP_MIN_DISTANCE]
    distance_previous = ip[IP_DISTANCE_PREVIOUS] == 1
    residual_only = ip[IP_RESIDUAL_ONLY] == 1 and rebl
    sub = st_kind != ST_NONE
    raw_last = fp[FP_RAW_LAST]
    rebl_lag = 0.0 if mode == MODE_FIRST_PIRA else raw_last

    # the "not lower" rule may carry a baseline value (and its thresholds) forward
    x[:] = x0
    dw[:] = dw0
    di[:] = di0
    # relapses before the first visit minus the baseline buffer are ignored (they are
    # sorted by onset, so the kept ones are a tail)
    j0 = 0
    while j0 < r_all.shape[0] and not r_all[j0] >= t[0] - fp[FP_BL_LAST]:
        j0 += 1
    r = r_all[j0:]
    rend = rend_all[j0:]
    m = r.shape[0]

    # distance from each visit to the closest relapse before / after (same day counts as 0)
    dprev[:] = np.inf
    dnext[:] = np.inf
    j = 0
    for i in range(n):
        while j < m and r[j] <= t[i]:
            j += 1
        if j > 0:
            dprev[i] = t[i] - r[j - 1]
        k = j - 1 if (j > 0 and r[j - 1] == t[i]) else j
        if k < m:
            dnext[i] = r[k] - t[i]

    cap = 4 * n + 4
    det_int[:] = -1
    det_val[:] = 0.0
    ndet = 0
    nunc = 0
    status = STATUS_OK
    n_cdi = 0
    n_cdw = 0
    n_raw = 0
    n_pira = 0

    bl = 0
    search = 1
    bl_last = np.nan
    bl_last_dw = np.nan
    bl_last_di = np.nan
    irel = 0
    while irel < m and not r[irel] > t[bl]:
        irel += 1
    handled = -np.inf  # relapses up to this day no longer move the reference
    rebased = False  # the baseline has just moved after a relapse (residual_only)
    prev_bl = 0

    guard = 0
    while True:
        guard += 1
        if guard > 8 * n * n + 64 or ndet >= cap - 1:
            status = STATUS_OVERFLOW
            break
        # 1. baseline: skip visits within a relapse's influence and local extrema
        ext = skip != EXT_NONE and local_extremum(x, dw, di, bl, skip)
        ended = False
        while dprev[bl] < fp[FP_BL_LAST] or dnext[bl] < fp[FP_BL_NEXT] or ext:
            bl += 1
            if bl > n - 2:
                ended = True
                break
            ext = skip != EXT_NONE and local_extremum(x, dw, di, bl, skip)
        if ended:
            break
        if rebased:
            rebased = False
            if not x[bl] > x[prev_bl]:
                # no residual disability: the reference stays, the search goes on from here
                handled = t[bl]
                search = bl
                bl = prev_bl
                while irel < m and not r[irel] > handled:
                    irel += 1
        if rebl and irel < m:
            while irel < m and not r[irel] > t[bl]:
                irel += 1
        if search <= bl:
            search = bl + 1
        if not_lower and not np.isnan(bl_last) and bl_last > x[bl]:
            x[bl] = bl_last
            dw[bl] = bl_last_dw
            di[bl] = bl_last_di
        bv = x[bl]
        bl_last = bv
        bl_last_dw = dw[bl]
        bl_last_di = di[bl]
        bdw = dw[bl]
        bdi = di[bl]
        bl_set = bl

        # 2. first candidate change from the baseline, outside the event buffer
        change = -1
        lower = -1
        for i in range(search, n):
            if fp[FP_EV_LAST] > dprev[i] or fp[FP_EV_NEXT] > dnext[i]:
                continue
            if min_distance > 0 and x[i] > bv:
                # a worsening candidate must lie far enough from its reference / the last visit
                since = t[i] - t[i - 1] if distance_previous else t[i] - t[bl]
                if since < min_distance:
                    continue
            if running_min:
                # a confirmed lower score moves the reference; only worsening is a candidate
                if x[i] < bv:
                    k = confirmed_minimum(t, x, i, bv, fp[FP_REF_CONF_DAYS])
                    if k >= 0:
                        x[i] = x[k]
                        dw[i] = dw[k]
                        di[i] = di[k]
                        lower = i
                        break
                    continue
                hit = wors(x[i], bv, bdw, False)
            elif sub:
                hit = x[i] != bv
            else:
                hit = wors(x[i], bv, bdw, False) or impr(x[i], bv, bdi, False)
            if hit:
                change = i
                break
        if lower >= 0:
            bl = lower
            search = lower + 1
            continue
        if change < 0:
            break

        if rebl and irel < m and t[change] > r[irel] + rebl_lag:
            search = change  # the change crossed the next relapse: re-baseline after it
        else:
            # 3. confirmation candidates: per period, eligible visits in the lag window
            nu = 0
            for k in range(change + 1, n):
                if not valid[k] or dprev[k] < fp[FP_CF_LAST] or dnext[k] < fp[FP_CF_NEXT]:
                    continue
                lag = t[k] - t[change]
                b = 0
                for w in range(nw):
                    if win_lo[w] <= lag <= win_hi[w]:
                        b |= 1 << w
                if b:
                    cu[nu] = k
                    bits[nu] = b
                    nu += 1
            first_conf = cu[0] if nu > 0 else -1

            if (
                nu > 0
                and impr(x[change], bv, bdi, False)
                and holds(x, bv, bdi, False, False, change + 1, first_conf, every)
                and (not mono or monotone(x, change, first_conf, False, every))
            ):
                # confirmed improvement
                nxt, nf = change_lost(x, bv, bdi, False, cu, nu)
                ok = sustained(t, x, bv, bdi, False, change, nxt, fp[FP_SUST_DAYS], every)
                if ok:
                    ld = last_delta(x, dw, di, change, cu[0], False, skip, every)
                    row = det_int[ndet]
                    row[OUT_TYPE] = EV_CDI
                    row[OUT_CHANGE] = change
                    row[OUT_BASELINE] = bl
                    row[OUT_LAST_DELTA] = ld
                    row[OUT_SUSTAINED_TO] = n - 1 if nxt < 0 else nxt - 1
                    for w in range(nw):
                        row[N_OUT_FIXED + w] = first_of_window(cu, bits, nf, w)
                    record_values(det_val[ndet], row, x, bv, nw)
                    ndet += 1
                    n_cdi += 1
                elif note_unconfirmed(unc, unc_d, nunc, change, bl, dprev, dnext, x, bv):
                    nunc += 1
                else:
                    status = STATUS_UNCONFIRMED_TRUNCATED
                conf0 = first_confirmation(cu, bits, nf, nw)
                target = conf0 if not from_event else change
                if bl_kind == BL_ROVING or bl_kind == BL_ROVING_IMPR:
                    if lowest_ref:
                        target = least_change_reference(x, dw, di, change, conf0, False, every)
                    bl = target
                    newref = target
                elif ok:
                    newref = target
                else:
                    newref = change
                search = newref + 1

            elif (
                nu > 0
                and x[change] < bv
                and holds(x, bv, 0.0, False, True, change + 1, first_conf, every)
                and (bl_kind == BL_ROVING or bl_kind == BL_ROVING_IMPR)
                and (st_kind == ST_EVENT or st_kind == ST_IMPROVEMENT)
            ):
                # confirmed sub-threshold improvement: re-baseline
                newref = first_conf if not from_event else change
                bl = newref
                search = newref + 1

            elif wors(x[change], bv, bdw, False) and (
                (
                    nu > 0
                    and holds(x, bv, bdw, True, False, change + 1, first_conf, every)
                    and (not mono or monotone(x, change, first_conf, True, every))
                )
                or (impute and change == n - 1 and t[change] - t[0] <= fp[FP_IMPUTE_MAX_FU])
                or unconf_mode
            ):
                # confirmed (or imputed last-visit, or unconfirmed on request) worsening
                unconf = False
                if unconf_mode and not (
                    nu > 0
                    and holds(x, bv, bdw, True, False, change + 1, first_conf, every)
                    and (not mono or monotone(x, change, first_conf, True, every))
                ):
                    unconf = not (
                        impute and change == n - 1 and t[change] - t[0] <= fp[FP_IMPUTE_MAX_FU]
                    )
                if unconf:  # the candidate stands for its own confirmation
                    cu[0] = change
                    bits[0] = 0
                    nu = 1
                imputed = nu == 0
                if imputed:
                    cu[0] = n - 1
                    bits[0] = 0
                    nu = 1
                nxt, nf = change_lost(x, bv, bdw, True, cu, nu)
                ok = sustained(t, x, bv, bdw, True, change, nxt, fp[FP_SUST_DAYS], every)
                include = False
                if ok:
                    include = True
                    ld = last_delta(x, dw, di, change, cu[0], True, skip, every)
                    kind = EV_CDW
                    row = det_int[ndet]
                    for w in range(nw):
                        row[N_OUT_FIXED + nw + w] = -1
                    if rawpira:
                        if dprev[change] <= raw_last or dnext[change] <= fp[FP_RAW_NEXT]:
                            kind = EV_RAW
                            if mode == MODE_FIRST_PIRA and (
                                bl_kind == BL_FIXED or bl_kind == BL_ROVING_IMPR
                            ):
                                include = False
                        elif mode == MODE_FIRST_RAW and (
                            bl_kind == BL_FIXED or bl_kind == BL_ROVING_IMPR
                        ):
                            include = False
                        else:
                            if ip[IP_PREC_TYPE] == PREC_BASELINE:
                                t_prec = t[bl]
                            elif ip[IP_PREC_TYPE] == PREC_LAST:
                                t_prec = t[change - 1]
                            else:
                                t_prec = t[ld]
                            n_free = 0
                            for q in range(nf):
                                if pira_free(r, rend, fp, t_prec, t[change], t[cu[q]], use_end):
                                    if n_free == 0:
                                        kind = EV_PIRA
                                    for w in range(nw):
                                        if (bits[q] & (1 << w)) and row[N_OUT_FIXED + nw + w] < 0:
                                            row[N_OUT_FIXED + nw + w] = cu[q]
                                    n_free += 1
                            if (
                                n_free == 0
                                and split_conf_relapse
                                and free_before_event(r, rend, fp, t_prec, t[change], use_end)
                            ):
                                kind = EV_PIRA_RELAPSE
                            if (
                                n_free == 0
                                and mode == MODE_FIRST_PIRA
                                and (bl_kind == BL_FIXED or bl_kind == BL_ROVING_IMPR)
                            ):
                                include = False
                    if include:
                        row[OUT_TYPE] = kind
                        row[OUT_CHANGE] = change
                        row[OUT_BASELINE] = bl
                        row[OUT_LAST_DELTA] = ld
                        row[OUT_SUSTAINED_TO] = n - 1 if nxt < 0 else nxt - 1
                        for w in range(nw):
                            row[N_OUT_FIXED + w] = first_of_window(cu, bits, nf, w)
                        record_values(det_val[ndet], row, x, bv, nw)
                        ndet += 1
                        n_cdw += 1
                        if kind == EV_RAW:
                            n_raw += 1
                        elif kind == EV_PIRA:
                            n_pira += 1
                    else:
                        for w in range(2 * nw):
                            row[N_OUT_FIXED + w] = -1
                elif note_unconfirmed(unc, unc_d, nunc, change, bl, dprev, dnext, x, bv):
                    nunc += 1
                else:
                    status = STATUS_UNCONFIRMED_TRUNCATED
                conf0 = first_confirmation(cu, bits, nf, nw)
                if unconf:
                    conf0 = change
                if conf0 >= 0:
                    target = conf0 if not from_event else change
                    if bl_kind == BL_ROVING or bl_kind == BL_ROVING_WORS or running_min:
                        if lowest_ref:
                            target = least_change_reference(x, dw, di, change, conf0, True, every)
                        bl = target
                        newref = target
                    elif not include:
                        newref = change
                    else:
                        newref = target
                    search = newref + 1
                else:  # imputed at the last visit: nothing confirms it
                    search = change + 1

            elif (
                nu > 0
                and x[change] > bv
                and holds(x, bv, 0.0, True, True, change + 1, first_conf, every)
                and (bl_kind == BL_ROVING or bl_kind == BL_ROVING_WORS)
                and (st_kind == ST_EVENT or st_kind == ST_WORSENING)
            ):
                # confirmed sub-threshold worsening: re-baseline
                newref = first_conf if not from_event else change
                bl = newref
                search = newref + 1

            else:
                search = change + 1
                if note_unconfirmed(unc, unc_d, nunc, change, bl, dprev, dnext, x, bv):
                    nunc += 1
                else:
                    status = STATUS_UNCONFIRMED_TRUNCATED

        # a roving move after a confirmed change sets the level that "not lower" keeps,
        # even when the relapse buffer then moves the baseline to a later, lower visit
        if not_lower and bl != bl_set and x[bl] > bl_last:
            bl_last = x[bl]
            bl_last_dw = dw[bl]
            bl_last_di = di[bl]

        # 4. post-relapse re-baseline: a relapse between baseline and search position
        if rebl and search < n:
            crossed = False
            for q in range(m):
                if t[bl] < r[q] and r[q] > handled and r[q] + rebl_lag < t[search]:
                    crossed = True
                    break
            if crossed:
                nb = -1
                for k in range(bl, n):
                    if irel < m and r[irel] <= t[k]:
                        nb = k
                        break
                if nb < 0:
                    break
                rebased = residual_only
                prev_bl = bl
                bl = nb
                search = bl + 1
                if bl > n - 2:
                    break

        # 5. first-event modes stop at the first event of their kind
        if mode == MODE_FIRST and ndet > 1:
            break
        if mode == MODE_FIRST_CDW and n_cdw > 0:
            break
        if mode == MODE_FIRST_CDI and n_cdi > 0:
            break
        if mode == MODE_FIRST_PIRA and n_pira > 0:
            break
        if mode == MODE_FIRST_RAW and n_raw > 0:
            break

    # detections in visit order (a stable sort); a change detected twice keeps its last
    # detection
    for a in range(ndet):
        key = det_int[a, OUT_CHANGE]
        q = a - 1
        while q >= 0 and det_int[order[q], OUT_CHANGE] > key:
            order[q + 1] = order[q]
            q -= 1
        order[q + 1] = a
    nout = 0
    for a in range(ndet):
        d = order[a]
        if a + 1 < ndet and det_int[order[a + 1], OUT_CHANGE] == det_int[d, OUT_CHANGE]:
            continue
        kind = det_int[d, OUT_TYPE]
        if mode == MODE_FIRST_CDW and kind == EV_CDI:
            continue
        if mode == MODE_FIRST_CDI and kind != EV_CDI:
            continue
        if mode == MODE_FIRST_PIRA and kind != EV_PIRA:
            continue
        if mode == MODE_FIRST_RAW and kind != EV_RAW:
            continue
        ev_int[nout, :] = det_int[d, :]
        ev_val[nout, :] = det_val[d, :]
        nout += 1
        if mode != MODE_ALL:
            break
    return nout, nunc, status


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_disability_cache.ensure_fresh``)."""
    return FINGERPRINT
