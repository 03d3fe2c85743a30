# ruff: noqa: SIM103, SIM108, SIM109  (explicit comparisons compile to the simplest code)
"""Compiled per-patient scan for confirmed disability events.

The whole cohort arrives as flat arrays sorted by patient then day, with per-patient offsets
(``vstart``, ``rstart``). Each patient is scanned independently (``prange``), so the kernel
runs unchanged on any partition of patients. Values are oriented so that larger is worse;
thresholds are precomputed per visit (``dw`` for worsening, ``di`` for improvement, from the
visit's own value as a reference).

The scan is a state machine over (baseline, search position); its steps are documented in
:func:`msreboot.endpoints.detect_disability_events`. Output slots are preallocated: each
patient owns ``n_visits`` event slots and ``2 * n_visits`` unconfirmed-change slots starting
at its visit offset.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Integer options (``ip``)
IP_MODE = 0
IP_BASELINE = 1
IP_PROCEED_EVENT = 2
IP_SUB_THRESHOLD = 3
IP_SKIP_EXTREMA = 4
IP_PREC_TYPE = 5
IP_CHECK_INTERMEDIATE = 6
IP_RAW_PIRA = 7
IP_RELAPSE_REBASELINE = 8
IP_NOT_LOWER = 9
IP_IMPUTE = 10
IP_USE_END_DATES = 11
N_IP = 12

# Float options (``fp``); NaN stands for "no bound"
FP_BL_LAST, FP_BL_NEXT, FP_EV_LAST, FP_EV_NEXT, FP_CF_LAST, FP_CF_NEXT = 0, 1, 2, 3, 4, 5
FP_RAW_LAST, FP_RAW_NEXT, FP_SUST_DAYS, FP_IMPUTE_MAX_FU = 6, 7, 8, 9
FP_P0, FP_P1, FP_E0, FP_E1, FP_C0, FP_C1 = 10, 11, 12, 13, 14, 15
N_FP = 16

MODE_FIRST_CDW, MODE_FIRST_CDI, MODE_FIRST, MODE_FIRST_PIRA, MODE_FIRST_RAW, MODE_ALL = range(6)
BL_FIXED, BL_ROVING, BL_ROVING_IMPR, BL_ROVING_WORS = range(4)
ST_NONE, ST_EVENT, ST_IMPROVEMENT, ST_WORSENING = range(4)
EXT_NONE, EXT_STRICT, EXT_ALL = range(3)
PREC_BASELINE, PREC_LAST, PREC_LAST_DELTA = range(3)

# Event type codes
EV_CDI, EV_CDW, EV_RAW, EV_PIRA = 1, 2, 3, 4

# Columns of the integer event output
OUT_TYPE, OUT_CHANGE, OUT_BASELINE, OUT_LAST_DELTA, OUT_SUSTAINED_TO = 0, 1, 2, 3, 4
N_OUT_FIXED = 5  # then one confirmation column per period, then one PIRA column per period

# Kernel status codes
STATUS_OK, STATUS_OVERFLOW, STATUS_UNCONFIRMED_TRUNCATED = 0, 1, 2


@njit(cache=True, inline="always")
def _wors(xv: float, bv: float, delta: float, sub: bool) -> bool:
    if sub:
        return xv > bv
    return xv - bv >= delta


@njit(cache=True, inline="always")
def _impr(xv: float, bv: float, delta: float, sub: bool) -> bool:
    if sub:
        return xv < bv
    return xv - bv <= -delta


@njit(cache=True)
def _local_extremum(x: np.ndarray, dw: np.ndarray, di: np.ndarray, i: int, mode: int) -> bool:
    n = x.shape[0]
    prec = i - 1 if i > 0 else i
    subs = i + 1 if i < n - 1 else i
    sub = mode == EXT_ALL
    is_min = _wors(x[prec], x[i], dw[i], sub) and _wors(x[subs], x[i], dw[i], sub)
    is_max = _impr(x[prec], x[i], di[i], sub) and _impr(x[subs], x[i], di[i], sub)
    if not (is_min or is_max):
        return False
    if i >= 2 and x[i] == x[i - 2]:
        return False  # undulating course: not an extremum
    return True


@njit(cache=True)
def _holds(
    x: np.ndarray, ref: float, delta: float, worse: bool, sub: bool, lo: int, hi: int, every: bool
) -> bool:
    """Whether the change from ``ref`` holds on visits lo..hi (all of them, or only ``hi``)."""
    if every:
        for k in range(lo, hi + 1):
            if worse:
                if not _wors(x[k], ref, delta, sub):
                    return False
            elif not _impr(x[k], ref, delta, sub):
                return False
        return True
    if hi < lo:
        return True
    if worse:
        return _wors(x[hi], ref, delta, sub)
    return _impr(x[hi], ref, delta, sub)


@njit(cache=True)
def _last_delta(
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    change: int,
    conf0: int,
    worse: bool,
    skip: int,
    every: bool,
) -> int:
    """Last visit before ``change`` from which the change is clinically meaningful (0 if none)."""
    iref = change
    while iref > 1:
        iref -= 1
        delta = dw[iref] if worse else di[iref]
        if skip != EXT_NONE and _local_extremum(x, dw, di, iref, skip):
            continue
        if worse:
            ok = _wors(x[change], x[iref], delta, False)
        else:
            ok = _impr(x[change], x[iref], delta, False)
        if ok and _holds(x, x[iref], delta, worse, False, change + 1, conf0, every):
            return iref
    return 0


@njit(cache=True)
def _sustained(
    t: np.ndarray,
    x: np.ndarray,
    bv: float,
    delta: float,
    worse: bool,
    change: int,
    next_nonsust: int,
    sust_days: float,
    every: bool,
) -> bool:
    n = t.shape[0]
    if sust_days == 0:
        return True
    if every:
        return next_nonsust < 0 or t[next_nonsust] - t[change] >= sust_days
    vis = n - 1
    if t[n - 1] - t[change] >= sust_days:
        for k in range(change + 1, n):
            if t[k] - t[change] >= sust_days:
                vis = k
                break
    if worse:
        return _wors(x[vis], bv, delta, False)
    return _impr(x[vis], bv, delta, False)


@njit(cache=True)
def _relapse_in(r: np.ndarray, rend: np.ndarray, lo: float, hi: float, use_end: bool) -> bool:
    for k in range(r.shape[0]):
        end = rend[k] if use_end else r[k]
        if r[k] <= hi and end >= lo:
            return True
    return False


@njit(cache=True)
def _pira_free(
    r: np.ndarray,
    rend: np.ndarray,
    fp: np.ndarray,
    t_prec: float,
    t_event: float,
    t_conf: float,
    use_end: bool,
) -> bool:
    """No relapse in the relapse-free intervals around (preceding visit, event, confirmation).

    A missing left bound (NaN) continues the previous interval, a missing right bound opens
    one that the next checkpoint closes; an interval of zero length is ignored.
    """
    t0 = np.nan
    for point in range(3):
        if point == 0:
            tp, lo, hi = t_prec, fp[FP_P0], fp[FP_P1]
        elif point == 1:
            tp, lo, hi = t_event, fp[FP_E0], fp[FP_E1]
        else:
            tp, lo, hi = t_conf, fp[FP_C0], fp[FP_C1]
        if not np.isnan(lo):
            t0 = tp - lo
        if not np.isnan(hi):
            t1 = tp + hi
            if t1 > t0 and _relapse_in(r, rend, t0, t1, use_end):
                return False
    return True


@njit(cache=True)
def _record_values(out: np.ndarray, row: np.ndarray, x: np.ndarray, bv: float, nw: int) -> None:
    """Values at detection time: baseline, event, last-delta, then each confirmation column."""
    out[0] = bv
    out[1] = x[row[OUT_CHANGE]]
    out[2] = x[row[OUT_LAST_DELTA]]
    for c in range(2 * nw):
        idx = row[N_OUT_FIXED + c]
        out[3 + c] = x[idx] if idx >= 0 else np.nan


@njit(cache=True)
def _first_of_window(cu: np.ndarray, bits: np.ndarray, nu: int, w: int) -> int:
    for k in range(nu):
        if bits[k] & (1 << w):
            return int(cu[k])
    return -1


@njit(cache=True)
def _first_confirmation(cu: np.ndarray, bits: np.ndarray, nu: int, nw: int) -> int:
    """Earliest confirming visit of the first period (in the order given) that has one."""
    for w in range(nw):
        found = _first_of_window(cu, bits, nu, w)
        if found >= 0:
            return found
    return -1


@njit(cache=True)
def _change_lost(
    x: np.ndarray, bv: float, delta: float, worse: bool, cu: np.ndarray, nu: int
) -> tuple[int, int]:
    """First visit after the first confirmation where the change no longer holds (-1: none),
    and how many confirmation candidates come before it."""
    nxt = -1
    for k in range(cu[0] + 1, x.shape[0]):
        held = _wors(x[k], bv, delta, False) if worse else _impr(x[k], bv, delta, False)
        if not held:
            nxt = k
            break
    nf = nu
    if nxt >= 0:
        nf = 0
        while nf < nu and cu[nf] < nxt:
            nf += 1
    return nxt, nf


@njit(cache=True)
def _note_unconfirmed(
    unc: np.ndarray,
    unc_d: np.ndarray,
    nunc: int,
    change: int,
    bl: int,
    dprev: np.ndarray,
    dnext: np.ndarray,
    x: np.ndarray,
    bv: float,
) -> bool:
    """Record an unconfirmed candidate in slot ``nunc``; False when the slots are full."""
    if nunc >= unc.shape[0]:
        return False
    unc[nunc, 0] = change
    unc[nunc, 1] = bl
    unc_d[nunc, 0] = dprev[change]
    unc_d[nunc, 1] = dnext[change]
    unc_d[nunc, 2] = x[change]
    unc_d[nunc, 3] = bv
    return True


@njit(cache=True)
def _scan_patient(
    t: np.ndarray,
    x0: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
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
) -> tuple[int, int, int]:
    """Scan one patient; returns (number of events, number of unconfirmed, status)."""
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
    sub = st_kind != ST_NONE
    raw_last = fp[FP_RAW_LAST]
    rebl_lag = 0.0 if mode == MODE_FIRST_PIRA else raw_last

    # the "not lower" rule may carry a baseline value (and its thresholds) forward
    x = x0.copy()
    dw = dw.copy()
    di = di.copy()
    # relapses before the first visit minus the baseline buffer are ignored
    keep = r_all >= t[0] - fp[FP_BL_LAST]
    r = r_all[keep]
    rend = rend_all[keep]
    m = r.shape[0]

    # distance from each visit to the closest relapse before / after (same day counts as 0)
    dprev = np.full(n, np.inf)
    dnext = np.full(n, np.inf)
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
    det_int = np.full((cap, ev_int.shape[1]), -1, dtype=np.int32)
    det_val = np.zeros((cap, ev_val.shape[1]))
    ndet = 0
    nunc = 0
    status = STATUS_OK
    n_cdi = 0
    n_cdw = 0
    n_raw = 0
    n_pira = 0

    cu = np.empty(n, dtype=np.int64)
    bits = np.empty(n, dtype=np.int64)

    bl = 0
    search = 1
    bl_last = np.nan
    bl_last_dw = np.nan
    bl_last_di = np.nan
    irel = 0
    while irel < m and not r[irel] > t[bl]:
        irel += 1

    guard = 0
    while True:
        guard += 1
        if guard > 8 * n * n + 64 or ndet >= cap - 1:
            status = STATUS_OVERFLOW
            break
        # 1. baseline: skip visits within a relapse's influence and local extrema
        ext = skip != EXT_NONE and _local_extremum(x, dw, di, bl, skip)
        ended = False
        while dprev[bl] < fp[FP_BL_LAST] or dnext[bl] < fp[FP_BL_NEXT] or ext:
            bl += 1
            if bl > n - 2:
                ended = True
                break
            ext = skip != EXT_NONE and _local_extremum(x, dw, di, bl, skip)
        if ended:
            break
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

        # 2. first candidate change from the baseline, outside the event buffer
        change = -1
        for i in range(search, n):
            if fp[FP_EV_LAST] > dprev[i] or fp[FP_EV_NEXT] > dnext[i]:
                continue
            if sub:
                hit = x[i] != bv
            else:
                hit = _wors(x[i], bv, bdw, False) or _impr(x[i], bv, bdi, False)
            if hit:
                change = i
                break
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
                and _impr(x[change], bv, bdi, False)
                and _holds(x, bv, bdi, False, False, change + 1, first_conf, every)
            ):
                # confirmed improvement
                nxt, nf = _change_lost(x, bv, bdi, False, cu, nu)
                ok = _sustained(t, x, bv, bdi, False, change, nxt, fp[FP_SUST_DAYS], every)
                if ok:
                    ld = _last_delta(x, dw, di, change, cu[0], False, skip, every)
                    row = det_int[ndet]
                    row[OUT_TYPE] = EV_CDI
                    row[OUT_CHANGE] = change
                    row[OUT_BASELINE] = bl
                    row[OUT_LAST_DELTA] = ld
                    row[OUT_SUSTAINED_TO] = n - 1 if nxt < 0 else nxt - 1
                    for w in range(nw):
                        row[N_OUT_FIXED + w] = _first_of_window(cu, bits, nf, w)
                    _record_values(det_val[ndet], row, x, bv, nw)
                    ndet += 1
                    n_cdi += 1
                elif _note_unconfirmed(unc, unc_d, nunc, change, bl, dprev, dnext, x, bv):
                    nunc += 1
                else:
                    status = STATUS_UNCONFIRMED_TRUNCATED
                conf0 = _first_confirmation(cu, bits, nf, nw)
                target = conf0 if not from_event else change
                if bl_kind == BL_ROVING or bl_kind == BL_ROVING_IMPR:
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
                and _holds(x, bv, 0.0, False, True, change + 1, first_conf, every)
                and (bl_kind == BL_ROVING or bl_kind == BL_ROVING_IMPR)
                and (st_kind == ST_EVENT or st_kind == ST_IMPROVEMENT)
            ):
                # confirmed sub-threshold improvement: re-baseline
                newref = first_conf if not from_event else change
                bl = newref
                search = newref + 1

            elif _wors(x[change], bv, bdw, False) and (
                (nu > 0 and _holds(x, bv, bdw, True, False, change + 1, first_conf, every))
                or (impute and change == n - 1 and t[change] - t[0] <= fp[FP_IMPUTE_MAX_FU])
            ):
                # confirmed (or imputed last-visit) worsening
                imputed = nu == 0
                if imputed:
                    cu[0] = n - 1
                    bits[0] = 0
                    nu = 1
                nxt, nf = _change_lost(x, bv, bdw, True, cu, nu)
                ok = _sustained(t, x, bv, bdw, True, change, nxt, fp[FP_SUST_DAYS], every)
                include = False
                if ok:
                    include = True
                    ld = _last_delta(x, dw, di, change, cu[0], True, skip, every)
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
                                if _pira_free(r, rend, fp, t_prec, t[change], t[cu[q]], use_end):
                                    if n_free == 0:
                                        kind = EV_PIRA
                                    for w in range(nw):
                                        if (bits[q] & (1 << w)) and row[N_OUT_FIXED + nw + w] < 0:
                                            row[N_OUT_FIXED + nw + w] = cu[q]
                                    n_free += 1
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
                            row[N_OUT_FIXED + w] = _first_of_window(cu, bits, nf, w)
                        _record_values(det_val[ndet], row, x, bv, nw)
                        ndet += 1
                        n_cdw += 1
                        if kind == EV_RAW:
                            n_raw += 1
                        elif kind == EV_PIRA:
                            n_pira += 1
                    else:
                        for w in range(2 * nw):
                            row[N_OUT_FIXED + w] = -1
                elif _note_unconfirmed(unc, unc_d, nunc, change, bl, dprev, dnext, x, bv):
                    nunc += 1
                else:
                    status = STATUS_UNCONFIRMED_TRUNCATED
                conf0 = _first_confirmation(cu, bits, nf, nw)
                if conf0 >= 0:
                    target = conf0 if not from_event else change
                    if bl_kind == BL_ROVING or bl_kind == BL_ROVING_WORS:
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
                and _holds(x, bv, 0.0, True, True, change + 1, first_conf, every)
                and (bl_kind == BL_ROVING or bl_kind == BL_ROVING_WORS)
                and (st_kind == ST_EVENT or st_kind == ST_WORSENING)
            ):
                # confirmed sub-threshold worsening: re-baseline
                newref = first_conf if not from_event else change
                bl = newref
                search = newref + 1

            else:
                search = change + 1
                if _note_unconfirmed(unc, unc_d, nunc, change, bl, dprev, dnext, x, bv):
                    nunc += 1
                else:
                    status = STATUS_UNCONFIRMED_TRUNCATED

        # 4. post-relapse re-baseline: a relapse between baseline and search position
        if rebl and search < n:
            crossed = False
            for q in range(m):
                if t[bl] < r[q] and r[q] + rebl_lag < t[search]:
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

    # detections in visit order; a change detected twice keeps its last detection
    order = np.argsort(det_int[:ndet, OUT_CHANGE], kind="mergesort")
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


@njit(cache=True, parallel=True)
def scan_cohort(
    vstart: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    valid: np.ndarray,
    rstart: np.ndarray,
    r: np.ndarray,
    rend: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scan every patient; events and unconfirmed changes are written to per-patient slots.

    Returns ``(ev_int, ev_val, n_events, unc, unc_d, n_unconfirmed, status)``: event rows of patient
    ``p`` are ``ev_int[vstart[p]:vstart[p] + n_events[p]]`` with visit indices relative to the
    patient's first visit; unconfirmed rows of ``p`` likewise (``unc_d``: distances to the
    relapses before / after, value, baseline value).
    """
    n_patients = vstart.shape[0] - 1
    total = t.shape[0]
    nw = win_lo.shape[0]
    ev_int = np.full((total, N_OUT_FIXED + 2 * nw), -1, dtype=np.int32)
    ev_val = np.full((total, 3 + 2 * nw), np.nan)
    unc = np.full((total, 2), -1, dtype=np.int32)
    unc_d = np.full((total, 4), np.inf)
    n_events = np.zeros(n_patients, dtype=np.int64)
    n_unc = np.zeros(n_patients, dtype=np.int64)
    status = np.zeros(n_patients, dtype=np.int64)
    for p in prange(n_patients):
        a = vstart[p]
        b = vstart[p + 1]
        if b <= a:
            continue
        ne, nu, st = _scan_patient(
            t[a:b],
            x[a:b],
            dw[a:b],
            di[a:b],
            valid[a:b],
            r[rstart[p] : rstart[p + 1]],
            rend[rstart[p] : rstart[p + 1]],
            ip,
            fp,
            win_lo,
            win_hi,
            ev_int[a:b],
            ev_val[a:b],
            unc[a:b],
            unc_d[a:b],
        )
        n_events[p] = ne
        n_unc[p] = nu
        status[p] = st
    return ev_int, ev_val, n_events, unc, unc_d, n_unc, status


@njit(cache=True, parallel=True)
def scan_milestone(
    vstart: np.ndarray,
    t: np.ndarray,
    x: np.ndarray,
    valid: np.ndarray,
    rstart: np.ndarray,
    r: np.ndarray,
    milestone: float,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    every: bool,
    impute: bool,
    first: int,
) -> np.ndarray:
    """First confirmed visit at or beyond ``milestone`` per patient (local index, -1: none).

    The first visit reaching the milestone (outside the event buffer) is confirmed by the
    first eligible visit in the windows, every visit up to it also at the milestone (or
    only that visit); otherwise the scan moves to the next visit reaching it.
    """
    n_patients = vstart.shape[0] - 1
    out = np.full(n_patients, -1, dtype=np.int64)
    for p in prange(n_patients):
        a = vstart[p]
        n = vstart[p + 1] - a
        rel = r[rstart[p] : rstart[p + 1]]
        m = rel.shape[0]
        dprev = np.full(n, np.inf)
        dnext = np.full(n, np.inf)
        j = 0
        for i in range(n):
            while j < m and rel[j] <= t[a + i]:
                j += 1
            if j > 0:
                dprev[i] = t[a + i] - rel[j - 1]
            q = j - 1 if (j > 0 and rel[j - 1] == t[a + i]) else j
            if q < m:
                dnext[i] = rel[q] - t[a + i]
        for i in range(first, n):
            if x[a + i] < milestone or dprev[i] < fp[FP_EV_LAST] or dnext[i] < fp[FP_EV_NEXT]:
                continue
            conf = -1
            for c in range(i + 1, n):
                if not valid[a + c] or dprev[c] < fp[FP_CF_LAST] or dnext[c] < fp[FP_CF_NEXT]:
                    continue
                lag = t[a + c] - t[a + i]
                for w in range(win_lo.shape[0]):
                    if win_lo[w] <= lag <= win_hi[w]:
                        conf = c
                        break
                if conf >= 0:
                    break
            if conf < 0:
                if impute and i == n - 1 and t[a + i] - t[a] <= fp[FP_IMPUTE_MAX_FU]:
                    out[p] = i
                    break
                continue
            held = True
            lo = i + 1 if every else conf
            for c in range(lo, conf + 1):
                if x[a + c] < milestone:
                    held = False
                    break
            if held and fp[FP_SUST_DAYS] > 0:
                if every:
                    for c in range(conf + 1, n):
                        if x[a + c] < milestone:
                            held = t[a + c] - t[a + i] >= fp[FP_SUST_DAYS]
                            break
                else:
                    vis = n - 1
                    for c in range(i + 1, n):
                        if t[a + c] - t[a + i] >= fp[FP_SUST_DAYS]:
                            vis = c
                            break
                    held = x[a + vis] >= milestone
            if held:
                out[p] = i
                break
    return out
