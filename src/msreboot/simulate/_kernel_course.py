"""Compiled pieces of a course shared by the monthly loop: regression to the mean of
recent activity, the DMT response of one patient, and the patient's inflammation-driven
share of progression.

Recent activity: the untreated inflammatory rate is the patient's propensity times a
recent-activity factor ``r`` (gamma, mean 1) that applies in the window before enrolment
and at enrolment; after enrolment it returns to 1 as ``1 + (r - 1) exp(-t / tau)``.
Eligibility on recent relapses or Gd+ lesions selects high ``r``, so activity after a
switch regresses to the mean, as in switch cohorts.

DMT response: a patient on a DMT is a responder, a partial responder (half the drug's log
rate ratio) or a non-responder (rate ratio 1); the responders' rate ratio is solved (in
:func:`msreboot.simulate._treatment.treatment_vector`) so that the mean rate ratio over
patients is the drug's published one. The drug stops at a constant hazard.

Inflammation-driven share of progression: the phase's share (relapsing or progressive)
moved on the log-odds scale by the patient's activity at enrolment, age, PPMS, prior DMTs
and EDSS; only this share follows the inflammatory rate (and is removed by immune
reconstitution), the rest is neurodegenerative.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from msreboot.simulate._kernel_common import (
    DAYS_PER_YEAR,
    DMT_STOP,
    LAYOUT_FINGERPRINT,
    PH_PP,
    RECENT_DECAY,
    SHARE_ACTIVITY,
    SHARE_AGE,
    SHARE_EDSS,
    SHARE_PPMS,
    SHARE_PRIOR_DMT,
)
from msreboot.simulate._rng import uniform
from msreboot.simulate._treatment import (
    TR_RATE_RATIO,
    TR_RR_PARTIAL,
    TR_SHARE_NON,
    TR_SHARE_PARTIAL,
    TR_START,
)

RESPONDER, PARTIAL, NON_RESPONDER = 0, 1, 2


@njit(cache=True)
def recent_factor(fp: np.ndarray, recent: float, day: float) -> float:
    """The recent-activity multiplier ``day`` days after enrolment (1 before any draw)."""
    if day <= 0.0:
        return recent
    return 1.0 + (recent - 1.0) * math.exp(-day / (fp[RECENT_DECAY] * DAYS_PER_YEAR))


@njit(cache=True)
def dmt_response(fp: np.ndarray, tv: np.ndarray, st: np.ndarray) -> tuple[float, int, float]:
    """``(rate ratio, response class, stop day)`` of one patient on a DMT."""
    u = uniform(st)
    if u < tv[TR_SHARE_NON]:
        rate_ratio, klass = 1.0, NON_RESPONDER
    elif u < tv[TR_SHARE_NON] + tv[TR_SHARE_PARTIAL]:
        rate_ratio, klass = tv[TR_RR_PARTIAL], PARTIAL
    else:
        rate_ratio, klass = tv[TR_RATE_RATIO], RESPONDER
    stop = np.inf
    if fp[DMT_STOP] > 0.0:
        stop = tv[TR_START] + math.floor(-math.log(uniform(st)) / fp[DMT_STOP] * DAYS_PER_YEAR)
    return rate_ratio, klass, stop


@njit(cache=True)
def shifted_share(share: float, shift: float) -> float:
    """A share moved by ``shift`` on the log-odds scale (0 and 1 stay)."""
    if share <= 0.0 or share >= 1.0:
        return share
    return 1.0 / (1.0 + math.exp(-(math.log(share / (1.0 - share)) + shift)))


@njit(cache=True)
def share_shift(
    fp: np.ndarray,
    activity: float,
    age: float,
    phenotype: int,
    prior_dmts: float,
    edss: float,
    progressive_only: bool,
) -> float:
    """Log-odds shift of a patient's inflammation-driven share of progression.

    ``progressive_only``: the shift of the progressive phase (activity, age and PPMS
    terms too); otherwise that of the relapsing phase (prior DMTs and EDSS only).
    """
    shift = fp[SHARE_PRIOR_DMT] * (prior_dmts - 1.0) + fp[SHARE_EDSS] * (edss - 4.0)
    if progressive_only:
        shift += fp[SHARE_ACTIVITY] * math.log(max(activity, 1e-6))
        shift += fp[SHARE_AGE] * (age - 40.0) / 10.0
        if phenotype == PH_PP:
            shift += fp[SHARE_PPMS]
    return float(shift)


@njit(cache=True)
def compiled_fingerprint() -> int:
    """The layout this module was compiled with (see ``_cache.ensure_fresh``)."""
    return LAYOUT_FINGERPRINT
