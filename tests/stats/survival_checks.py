"""Invariants every survival curve and cumulative incidence curve must satisfy."""

from __future__ import annotations

import numpy as np

from msreboot.stats._competing import CumulativeIncidence
from msreboot.stats._survival import SurvivalCurve

SLACK = 1e-12


def check_survival_curve(curve: SurvivalCurve) -> None:
    """Survival in [0, 1], non-increasing, the interval inside [0, 1] and around it."""
    s = curve.survival
    assert curve.times.size == s.size == curve.n_at_risk.size
    assert np.all(np.diff(curve.times) > 0), "times must increase"
    assert np.all((s >= 0) & (s <= 1)), "survival must lie in [0, 1]"
    assert np.all(np.diff(s) <= SLACK), "survival must not increase"
    assert np.all(np.diff(curve.n_at_risk) <= 0), "numbers at risk must not increase"
    assert int(curve.n_events.sum() + curve.n_censored.sum()) == curve.n
    assert curve.n_at_risk[0] == curve.n
    finite = np.isfinite(curve.ci_low) & np.isfinite(curve.ci_high)
    assert np.all(np.isfinite(curve.ci_low) == np.isfinite(curve.ci_high))
    assert np.all(np.isnan(curve.ci_low[~finite]) & (s[~finite] == 0)), "nan only once S = 0"
    lo, hi, sf = curve.ci_low[finite], curve.ci_high[finite], s[finite]
    assert np.all((lo >= 0) & (hi <= 1)), "interval must lie in [0, 1]"
    assert np.all(lo <= sf + SLACK), "interval must bracket the estimate"
    assert np.all(sf <= hi + SLACK), "interval must bracket the estimate"
    assert np.all(curve.std_err[np.isfinite(curve.std_err)] >= 0)


def check_incidence_curve(curve: CumulativeIncidence) -> None:
    """Incidence in [0, 1], non-decreasing, the interval inside [0, 1] and around it."""
    f = curve.estimate
    assert np.all((f >= 0) & (f <= 1 + SLACK)), "incidence must lie in [0, 1]"
    assert np.all(np.diff(f) >= -SLACK), "incidence must not decrease"
    assert np.all(curve.variance >= 0)
    assert np.all((curve.ci_low >= 0) & (curve.ci_high <= 1))
    assert np.all(curve.ci_low <= f + SLACK)
    assert np.all(f <= curve.ci_high + SLACK)
    total = curve.n_events + curve.n_competing + curve.n_censored
    assert int(total.sum()) == curve.n
