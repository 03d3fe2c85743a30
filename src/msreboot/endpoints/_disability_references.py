# ruff: noqa: SIM109  (explicit comparisons compile to the simplest code)
"""Compiled per-patient scan with separate general and RAW/PIRA references.

Used for ``BaselineRule(raw_pira_reference="separate")``: the reference rules that Mueller
et al. 2023 recommend, with the semantics of the Bern engine (Bsteh et al., Mult Scler Relat
Disord 2025;93:106215, doi:10.1016/j.msard.2024.106215; its code, MIT, was read for
behaviour; this is msreboot's own implementation). Values are oriented so that larger is
worse; ``dw`` is the per-visit worsening threshold from that visit's score as a reference.

The scan walks the visits in order (each visit once, unless merged into an event) and
keeps two references, each a chain of (date visit, score visit) pairs: the *general*
reference, reset only by events, and the *RAW/PIRA* reference, also reset by a relapse
with residual disability. With a running-minimum reference (``kind="running_minimum"``)
a confirmed lower score appends a lower link to a chain; the chain since the last reset
is what the minimal distance may backtrack through.

For each visit ``i``:

1. It is a *re-baselining visit* when it is the first visit after a relapse's RAW window
   (onset + ``raw_days[0]`` days, exclusive), unless that window reaches the next
   relapse's (onset - ``raw_days[1]``). It has *residual disability* when its score is
   above the RAW/PIRA reference.
2. The policy (:class:`PIRARule` ``undefined_worsening``) names the references to judge it
   against: a re-baselining visit against the general reference as "undefined"
   (``never``: not at all); any other visit against the RAW/PIRA reference, as RAW or
   PIRA, and with ``all`` then against the general one as "undefined".
3. Judging: the minimal distance (with backtracking), the threshold from the reference,
   the confirmation (the first valid visit in the window and, with ``check_intermediate``,
   every visit before it; or, sustained, every visit from ``sustained_after_days`` on):
   "minimum" needs the lowest confirmation score to pass the threshold and confirms the
   lower of it and the event score; "monotonic" needs every confirmation score at least
   the event score and confirms the event score. RAW when a relapse lies within
   ``raw_days`` of the event; otherwise PIRA when the :class:`PIRARule` intervals are free
   both with the confirmation visit and with the last confirmation score (sustained: the
   last visit) as the confirmation checkpoint, else "PIRA with relapse during
   confirmation" when reported, else undefined. With ``undefined_reference`` other than
   ``any``, undefined worsening and its confirmation scores must also reach (or exceed)
   the RAW/PIRA reference.
4. After an event (RAW/PIRA events may first absorb the stepwise worsening that follows,
   :class:`MergeRule`): the general reference becomes the confirmed event score; the
   RAW/PIRA reference too when that is higher than it (at a re-baselining visit: the
   visit's own score, when that is higher). Otherwise: a re-baselining visit with residual
   disability resets the RAW/PIRA reference to its score, and a confirmed lower score
   moves either reference down (running minimum).

``undefined_worsening="end"`` scans once with ``rebaseline_only``, then again from the last
RAW/PIRA event (its score as the reference; the whole follow-up when there is none) for
undefined worsening only, replacing what the first scan found after it.

Event modes ``first`` and ``first_cdw`` stop at the first event; ``first_pira`` and
``first_raw`` keep the first event of that type among all events. Relapses before the
first visit are ignored (as in :mod:`._disability_kernel`; the Bern engine would use
them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from msreboot.endpoints._disability_checks import (
    free_before_event,
    last_delta,
    note_unconfirmed,
    pira_free,
    record_values,
    wors,
)
from msreboot.endpoints._disability_layout import (
    BL_RUNNING_MIN,
    EV_CDW,
    EV_PIRA,
    EV_PIRA_RELAPSE,
    EV_RAW,
    EXT_NONE,
    FINGERPRINT,
    FP_BL_LAST,
    FP_IMPUTE_MAX_FU,
    FP_MERGE_MAX_DISTANCE,
    FP_MERGE_REPETITION,
    FP_MIN_DISTANCE,
    FP_RAW_LAST,
    FP_RAW_NEXT,
    FP_REF_CONF_DAYS,
    FP_SUSTAINED_AFTER,
    IP_BACKTRACK,
    IP_BASELINE,
    IP_CHECK_INTERMEDIATE,
    IP_DISTANCE_PREVIOUS,
    IP_IMPUTE,
    IP_MERGE,
    IP_MODE,
    IP_MONOTONIC,
    IP_PREC_TYPE,
    IP_RELAPSE_IN_CONFIRMATION,
    IP_SUSTAINED_AFTER,
    IP_UNCONFIRMED,
    IP_UNDEFINED,
    IP_UNDEFINED_REFERENCE,
    IP_USE_END_DATES,
    MODE_ALL,
    MODE_FIRST,
    MODE_FIRST_CDW,
    MODE_FIRST_PIRA,
    MODE_FIRST_RAW,
    N_OUT_FIXED,
    OUT_BASELINE,
    OUT_CHANGE,
    OUT_LAST_DELTA,
    OUT_MERGED_TO,
    OUT_SUSTAINED_TO,
    OUT_TYPE,
    PREC_BASELINE,
    PREC_LAST,
    STATUS_OK,
    STATUS_UNCONFIRMED_TRUNCATED,
    UND_ALL,
    UND_END,
    UND_GENERAL_ONLY,
    UND_NEVER,
    UND_REBASELINE,
    UREF_HIGHER,
    UREF_NOT_LOWER,
    VAL_MERGED,
)

__all__ = ["compiled_fingerprint", "scan_patient_separate"]

NOT_CANDIDATE, UNCONFIRMED, EVENT = 0, 1, 2


@njit(cache=True)
def rebaseline_flags(
    t: np.ndarray, r: np.ndarray, start: int, raw_last: float, raw_next: float, flag: np.ndarray
) -> None:
    """Flag (1) the re-baselining visit of each relapse among visits ``start`` onwards: the
    first visit after the relapse's RAW window, unless that window reaches the next's."""
    n = t.shape[0]
    m = r.shape[0]
    flag[start:n] = 0
    for q in range(m):
        if q + 1 < m and r[q] + raw_last >= r[q + 1] - raw_next:
            continue
        for k in range(start, n):
            if t[k] > r[q] + raw_last:
                flag[k] = 1
                break


@njit(cache=True)
def judge(
    t: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    valid: np.ndarray,
    dprev: np.ndarray,
    dnext: np.ndarray,
    r: np.ndarray,
    rend: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    i: int,
    cd: np.ndarray,
    cs: np.ndarray,
    nc: int,
    raw_check: bool,
    lb: float,
    lb_strict: bool,
) -> tuple[int, int, int, int, int, int, int]:
    """Judge visit ``i`` against a reference chain (dates ``cd``, scores ``cs``, ``nc``
    links): (status, event type, visit of the confirmed score, reference date visit,
    reference score visit, first and last confirmation visit, -1 for none)."""
    n = t.shape[0]
    no = (NOT_CANDIDATE, EV_CDW, -1, -1, -1, -1, -1)
    if (not x[i] > lb) if lb_strict else (not x[i] >= lb):
        return no
    rd = cd[nc - 1]
    rs = cs[nc - 1]
    md = fp[FP_MIN_DISTANCE]
    if md > 0:
        if ip[IP_DISTANCE_PREVIOUS] == 1:
            dist = t[i] - t[i - 1]
        else:
            dist = t[i] - t[rd]
            if ip[IP_BACKTRACK] == 1:
                for q in range(nc - 1, -1, -1):  # the latest link low and far enough
                    if wors(x[i], x[cs[q]], dw[cs[q]], False) and t[cd[q]] + md <= t[i]:
                        rd = cd[q]
                        rs = cs[q]
                        dist = t[i] - t[rd]
                        break
        if dist < md:
            return no
    bv = x[rs]
    bdw = dw[rs]
    if not wors(x[i], bv, bdw, False):
        return no
    kind = EV_CDW
    if raw_check:
        kind = EV_RAW if dprev[i] <= fp[FP_RAW_LAST] or dnext[i] <= fp[FP_RAW_NEXT] else EV_PIRA

    if ip[IP_UNCONFIRMED] == 1:  # every candidate is an event, at its own score
        return (EVENT, kind, i, rd, rs, -1, i)
    # confirmation scores: visits lo_k..hi_k
    every = ip[IP_CHECK_INTERMEDIATE] == 1
    conf = -1
    lo_k = i + 1
    hi_k = n - 1
    if ip[IP_SUSTAINED_AFTER] == 1:
        lo_k = n
        for k in range(i + 1, n):
            if t[k] - t[i] >= fp[FP_SUSTAINED_AFTER]:
                lo_k = min(lo_k, k)
                if valid[k] and conf < 0:
                    conf = k
    else:
        for k in range(i + 1, n):
            if valid[k] and win_lo[0] <= t[k] - t[i] <= win_hi[0]:
                conf = k
                break
        hi_k = conf
        if not every:
            lo_k = conf
    src = i
    confirmed = False
    if conf >= 0:
        low = lo_k
        for k in range(lo_k, hi_k + 1):
            if x[k] < x[low]:
                low = k
        above = x[low] > lb if lb_strict else x[low] >= lb
        if ip[IP_MONOTONIC] == 1:
            confirmed = above and x[low] >= x[i]
        else:
            confirmed = above and wors(x[low], bv, bdw, False)
            if x[low] < x[i]:
                src = low
    if not confirmed:
        imputed = ip[IP_IMPUTE] == 1 and i == n - 1 and t[i] - t[0] <= fp[FP_IMPUTE_MAX_FU]
        if not imputed:
            return (UNCONFIRMED, kind, -1, rd, rs, -1, -1)
        src = i  # an imputed last visit stands for its own confirmation
        conf = -1
        hi_k = i
    if kind == EV_PIRA:
        tconf = t[conf] if conf >= 0 else t[i]
        prec = ip[IP_PREC_TYPE]
        if prec == PREC_BASELINE:
            tp = t[rd]
        elif prec == PREC_LAST:
            tp = t[i - 1]
        else:
            tp = t[last_delta(x, dw, di, i, max(conf, i), True, EXT_NONE, every)]
        use_end = ip[IP_USE_END_DATES] == 1
        # the relapse-free intervals, up to the last confirmation score
        if not (
            pira_free(r, rend, fp, tp, t[i], tconf, use_end)
            and pira_free(r, rend, fp, tp, t[i], t[hi_k], use_end)
        ):
            if ip[IP_RELAPSE_IN_CONFIRMATION] == 1 and free_before_event(
                r, rend, fp, tp, t[i], use_end
            ):
                kind = EV_PIRA_RELAPSE
            else:
                kind = EV_CDW
    return (EVENT, kind, src, rd, rs, conf, hi_k)


@njit(cache=True)
def merge_forward(
    t: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    valid: np.ndarray,
    dprev: np.ndarray,
    dnext: np.ndarray,
    r: np.ndarray,
    rend: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    i: int,
    kind: int,
    src: int,
    cd: np.ndarray,
    cs: np.ndarray,
    nc: int,
) -> tuple[int, int, int]:
    """Merge the stepwise worsening after the event at ``i``: (last visit merged, last
    visit joined with a final plateau, visit of the merged score)."""
    n = t.shape[0]
    last_member = i
    last_joined = i
    plateau = False
    plateau_day = t[i]
    for k in range(i + 1, n):
        if t[k] > t[last_joined] + fp[FP_MERGE_MAX_DISTANCE] or x[k] < x[src]:
            break
        st, kk, s2, _, _, _, _ = judge(
            t, x, dw, di, valid, dprev, dnext, r, rend, ip, fp, win_lo, win_hi,
            k, cd, cs, nc, True, -np.inf, False,
        )  # fmt: skip
        if st != EVENT or kk != kind or x[s2] < x[src]:
            break
        if x[s2] > x[src]:
            plateau = False
            last_member = k
        else:
            if not plateau:
                plateau = True
                plateau_day = t[k - 1]
            if t[k] - plateau_day > fp[FP_MERGE_REPETITION]:
                break
        src = s2
        last_joined = k
    return last_member, last_joined, src


@njit(cache=True)
def scan_pass(
    t: np.ndarray,
    x: np.ndarray,
    dw: np.ndarray,
    di: np.ndarray,
    valid: np.ndarray,
    dprev: np.ndarray,
    dnext: np.ndarray,
    r: np.ndarray,
    rend: np.ndarray,
    ip: np.ndarray,
    fp: np.ndarray,
    win_lo: np.ndarray,
    win_hi: np.ndarray,
    start: int,
    base: int,
    policy: int,
    ev_int: np.ndarray,
    ev_val: np.ndarray,
    nout: int,
    unc: np.ndarray,
    unc_d: np.ndarray,
    nunc: int,
    gd: np.ndarray,
    gs: np.ndarray,
    work: np.ndarray,
) -> tuple[int, int, int, int, int]:
    """Scan visits after ``start`` (the reference date, with the score of visit ``base``);
    returns (events, unconfirmed, status, last visit and score visit of the last RAW/PIRA
    event (-1: none)). ``work`` holds the RAW/PIRA chain, the re-baselining flags and the
    merged visits (4 blocks of ``n``)."""
    n = t.shape[0]
    nw = win_lo.shape[0]
    pd = work[:n]
    ps = work[n : 2 * n]
    flag = work[2 * n : 3 * n]
    skip = work[3 * n : 4 * n]
    rebaseline_flags(t, r, start, fp[FP_RAW_LAST], fp[FP_RAW_NEXT], flag)
    skip[:] = 0
    gd[0] = start
    gs[0] = base
    ng = 1
    pd[0] = start
    ps[0] = base
    npc = 1
    uref = ip[IP_UNDEFINED_REFERENCE]
    running = ip[IP_BASELINE] == BL_RUNNING_MIN
    rc = fp[FP_REF_CONF_DAYS]
    merge = ip[IP_MERGE] == 1
    status = STATUS_OK
    last_rp = -1
    last_src = -1
    for i in range(start + 1, n):
        if skip[i] == 1:
            continue
        rebl = flag[i] == 1
        pscore = x[ps[npc - 1]]
        # undefined worsening may need to reach the RAW/PIRA reference (and its
        # confirmation scores as well)
        high = True
        lb = -np.inf
        strict = False
        if uref == UREF_NOT_LOWER:
            high = x[i] >= pscore
            lb = pscore if high else -np.inf
        elif uref == UREF_HIGHER:
            high = x[i] > pscore
            lb = pscore if high else -np.inf
            strict = high
        if policy == UND_GENERAL_ONLY:
            chk_p = False
            chk_g = high
        elif rebl:
            chk_p = False
            chk_g = high and policy != UND_NEVER
        else:
            chk_p = True
            chk_g = high and policy == UND_ALL
        st = NOT_CANDIDATE
        kind, src, rd, rs, cf = EV_CDW, -1, -1, -1, -1
        u_rd, u_rs = -1, -1
        if chk_p:
            st, kind, src, rd, rs, cf, _ = judge(
                t, x, dw, di, valid, dprev, dnext, r, rend, ip, fp, win_lo, win_hi,
                i, pd, ps, npc, True, lb, strict,
            )  # fmt: skip
            if st == UNCONFIRMED:
                u_rd, u_rs = rd, rs
        if st != EVENT and chk_g:
            st, kind, src, rd, rs, cf, _ = judge(
                t, x, dw, di, valid, dprev, dnext, r, rend, ip, fp, win_lo, win_hi,
                i, gd, gs, ng, False, lb, strict,
            )  # fmt: skip
            if st == UNCONFIRMED and u_rd < 0:
                u_rd, u_rs = rd, rs
        if st == EVENT:
            last_member = i
            last_joined = i
            if merge and kind != EV_CDW:
                last_member, last_joined, src = merge_forward(
                    t, x, dw, di, valid, dprev, dnext, r, rend, ip, fp, win_lo, win_hi,
                    i, kind, src, pd, ps, npc,
                )  # fmt: skip
                skip[i + 1 : last_member + 1] = 1
            bv = x[rs]
            row = ev_int[nout]
            row[:] = -1
            row[OUT_TYPE] = kind
            row[OUT_CHANGE] = i
            row[OUT_BASELINE] = rd
            row[OUT_LAST_DELTA] = last_delta(
                x, dw, di, i, max(cf, i), True, EXT_NONE, ip[IP_CHECK_INTERMEDIATE] == 1
            )
            lost = n - 1
            for k in range(max(cf, i) + 1, n):
                if not wors(x[k], bv, dw[rs], False):
                    lost = k - 1
                    break
            row[OUT_SUSTAINED_TO] = lost
            row[N_OUT_FIXED] = cf
            if kind == EV_PIRA:
                row[N_OUT_FIXED + nw] = cf
            if merge:
                row[OUT_MERGED_TO] = last_member
            record_values(ev_val[nout], row, x, bv, nw)
            if merge:
                ev_val[nout, VAL_MERGED] = x[src]
            nout += 1
            if kind != EV_CDW:
                last_rp = last_member
                last_src = src
            if ip[IP_MODE] == MODE_FIRST or ip[IP_MODE] == MODE_FIRST_CDW:
                break
            gd[0] = last_joined
            gs[0] = src
            ng = 1
            new_p = i if rebl else src
            if x[new_p] > pscore:
                pd[0] = last_joined
                ps[0] = new_p
                npc = 1
            continue
        if u_rd >= 0:
            if note_unconfirmed(unc, unc_d, nunc, i, u_rd, dprev, dnext, x, x[u_rs]):
                nunc += 1
            else:
                status = STATUS_UNCONFIRMED_TRUNCATED
        if rebl and x[i] > pscore:  # residual disability: a new RAW/PIRA reference
            pd[0] = i
            ps[0] = i
            npc = 1
        if running and (x[i] < x[ps[npc - 1]] or x[i] < x[gs[ng - 1]]):
            top = i  # the highest score of the reference's confirmation span
            ok = rc == 0
            if not ok:
                for k in range(i + 1, n):
                    if x[k] > x[top]:
                        top = k
                    if t[k] - t[i] >= rc:
                        ok = True
                        break
            if ok and x[i] < x[gs[ng - 1]] and x[top] < x[gs[ng - 1]]:
                gd[ng] = i
                gs[ng] = top
                ng += 1
            if ok and x[i] < x[ps[npc - 1]] and x[top] < x[ps[npc - 1]]:
                pd[npc] = i
                ps[npc] = top
                npc += 1
    return nout, nunc, status, last_rp, last_src


@njit(cache=True)
def scan_patient_separate(
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
    """Scan one patient; the arguments of :func:`._disability_kernel.scan_patient` (the
    scratch arrays ``x`` .. ``det_val`` unused; ``cu`` and ``bits`` hold the general
    reference chain, ``order`` the rest of :func:`scan_pass`'s working state)."""
    n = t.shape[0]
    j0 = 0
    while j0 < r_all.shape[0] and not r_all[j0] >= t[0] - fp[FP_BL_LAST]:
        j0 += 1
    r = r_all[j0:]
    rend = rend_all[j0:]
    m = r.shape[0]
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
    policy = ip[IP_UNDEFINED]
    first = UND_REBASELINE if policy == UND_END else policy  # "end": then a second pass
    nout, nunc, status, last_rp, last_src = scan_pass(
        t, x0, dw0, di0, valid, dprev, dnext, r, rend, ip, fp, win_lo, win_hi,
        0, 0, first, ev_int, ev_val, 0, unc, unc_d, 0, cu, bits, order,
    )  # fmt: skip
    if policy == UND_END and ip[IP_MODE] == MODE_ALL:
        start = max(last_rp, 0)
        base = last_src if last_rp >= 0 else 0
        cut = last_rp  # what the first pass found after the last RAW/PIRA event goes
        while nout > 0 and ev_int[nout - 1, OUT_CHANGE] > cut:
            nout -= 1
        while nunc > 0 and unc[nunc - 1, 0] > cut:
            nunc -= 1
        if start < n - 1:
            nout, nunc, status2, _, _ = scan_pass(
                t, x0, dw0, di0, valid, dprev, dnext, r, rend, ip, fp, win_lo, win_hi,
                start, base, UND_GENERAL_ONLY, ev_int, ev_val, nout, unc, unc_d, nunc,
                cu, bits, order,
            )  # fmt: skip
            status = max(status, status2)
    mode = ip[IP_MODE]
    if mode == MODE_FIRST_PIRA or mode == MODE_FIRST_RAW:
        # the first event of the kind among all events (earlier ones set its reference);
        # unconfirmed candidates after it are not listed
        want = EV_PIRA if mode == MODE_FIRST_PIRA else EV_RAW
        keep = -1
        for e in range(nout):
            if ev_int[e, OUT_TYPE] == want:
                keep = e
                break
        if keep >= 0:
            ev_int[0, :] = ev_int[keep, :]
            ev_val[0, :] = ev_val[keep, :]
            while nunc > 0 and unc[nunc - 1, 0] > ev_int[0, OUT_CHANGE]:
                nunc -= 1
        nout = 1 if keep >= 0 else 0
    return nout, nunc, status


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_disability_cache.ensure_fresh``)."""
    return FINGERPRINT
