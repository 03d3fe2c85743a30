"""Mantel-Haenszel (OR, RR, RD) and Peto (OR) common-effect pooling of 2x2 tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from msreboot.evidence._checks import (
    EvidenceError,
    FloatArray,
    check_conf_level,
    labels_or_default,
)
from msreboot.evidence._effect_sizes import BinaryMeasure, binary_effect_sizes, check_table
from msreboot.evidence._effects import back_transform
from msreboot.evidence._pooled import PooledEstimate

__all__ = ["pool_mantel_haenszel", "pool_peto"]


def _result(
    *,
    estimate: float,
    se: float,
    q: float,
    q_df: int,
    k: int,
    method: str,
    measure: str,
    conf_level: float,
    labels: tuple[str, ...],
    yi: FloatArray,
    vi: FloatArray,
    weights: FloatArray,
) -> PooledEstimate:
    crit = float(stats.norm.ppf(0.5 + conf_level / 2))
    lo, hi = estimate - crit * se, estimate + crit * se
    z = estimate / se
    nat = back_transform(measure)(np.array([estimate, lo, hi]))
    if q_df > 0:
        i2 = max(0.0, (q - q_df) / q) if q > 0 else 0.0
        h2, q_p = q / q_df, float(stats.chi2.sf(q, q_df))
    else:  # one informative table: no heterogeneity to measure (as pool() with k = 1)
        q, q_df = 0.0, max(q_df, 0)
        i2, h2, q_p = 0.0, 1.0, 1.0
    nan = float("nan")
    return PooledEstimate(
        estimate=estimate,
        se=se,
        ci_low=lo,
        ci_high=hi,
        conf_level=conf_level,
        statistic=z,
        pvalue=float(2 * stats.norm.sf(abs(z))),
        pi_low=lo,
        pi_high=hi,
        tau2=0.0,
        tau2_ci_low=nan,
        tau2_ci_high=nan,
        tau2_truncated=False,
        i2=i2,
        i2_ci_low=nan,
        i2_ci_high=nan,
        h2=h2,
        q=q,
        q_df=q_df,
        q_pvalue=q_p,
        k=k,
        method=method,
        test="z",
        measure=measure,
        estimate_natural=float(nat[0]),
        ci_low_natural=float(nat[1]),
        ci_high_natural=float(nat[2]),
        pi_low_natural=float(nat[1]),
        pi_high_natural=float(nat[2]),
        labels=labels,
        yi=tuple(float(v) for v in yi),
        vi=tuple(float(v) for v in vi),
        weights=tuple(float(v) for v in weights),
    )


def pool_mantel_haenszel(
    ai: Sequence[float] | npt.ArrayLike,
    bi: Sequence[float] | npt.ArrayLike,
    ci: Sequence[float] | npt.ArrayLike,
    di: Sequence[float] | npt.ArrayLike,
    *,
    measure: BinaryMeasure = "OR",
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> PooledEstimate:
    """Mantel-Haenszel common-effect pool of 2x2 tables (odds ratio, risk ratio, risk difference).

    Parameters
    ----------
    ai, bi, ci, di
        Per study: events and non-events in the treated arm, then in the control arm.
    measure
        ``"OR"``, ``"RR"`` (pooled on the log scale) or ``"RD"``.
    conf_level
        Confidence level of the Wald interval, in (0, 1).
    labels
        Study labels (default ``"study 1"`` ...).

    Returns
    -------
    PooledEstimate
        ``method="MH"``, ``tau2 = 0``; the prediction interval equals the CI. ``yi`` / ``vi``
        are the studies' own effects with 1/2 added to tables with a zero cell (for the
        forest plot and Q); ``weights`` are the Mantel-Haenszel weights.

    Raises
    ------
    EvidenceError
        Cells that are not whole numbers >= 0, an empty arm, or no events (or no
        non-events) in any study so that the pooled ratio is undefined.

    Notes
    -----
    No continuity correction enters the pooled estimate. With ``n = ai + bi + ci + di``:

    * OR: ``sum(ai di / n) / sum(bi ci / n)``; variance of its log by Robins, Breslow &
      Greenland (1986).
    * RR: ``sum(ai n2 / n) / sum(ci n1 / n)``; variance of its log by Greenland & Robins
      (1985).
    * RD: ``sum((ai n2 - ci n1) / n) / sum(n1 n2 / n)``; variance by Sato, Greenland &
      Robins (1989), valid in sparse and large strata.

    Cochran's Q is ``sum (y_i - mu_MH)^2 / v_i`` over the studies whose effect is defined
    once tables without events (or without non-events) in both arms are dropped, on
    ``k' - 1`` df; ``I^2 = (Q - df) / Q`` (floored at 0), ``H^2 = Q / df``. This is R
    metafor's ``rma.mh`` (defaults ``add = 1/2, to = "only0", drop00 = TRUE``), matched to
    1e-6 on dat.bcg and a sparse table set; its Cochran-Mantel-Haenszel and Tarone tests
    are not computed.

    References
    ----------
    Mantel N, Haenszel W. J Natl Cancer Inst 1959;22:719-48. doi:10.1093/jnci/22.4.719.
    Robins J, Breslow N, Greenland S. Estimators of the Mantel-Haenszel variance consistent
    in both sparse data and large-strata limiting models. Biometrics 1986;42:311-23.
    doi:10.2307/2531052.
    Greenland S, Robins JM. Estimation of a common effect parameter from sparse follow-up
    data. Biometrics 1985;41:55-68. doi:10.2307/2530643.
    Sato T, Greenland S, Robins JM. On the variance estimator for the Mantel-Haenszel risk
    difference. Biometrics 1989;45:1323-4.

    Examples
    --------
    >>> res = pool_mantel_haenszel([2, 1, 4], [48, 29, 36], [6, 3, 9], [44, 27, 32])
    >>> round(res.estimate_natural, 3)
    0.349
    """
    a, b, c, d = check_table(ai, bi, ci, di)
    conf_level = check_conf_level(conf_level)
    labs = labels_or_default(labels, a.size)
    n1, n2 = a + b, c + d
    n = n1 + n2
    if measure == "OR":
        r, s = a * d / n, b * c / n
        big_r, big_s = float(np.sum(r)), float(np.sum(s))
        _check_defined(big_r, big_s, "odds ratio")
        est = float(np.log(big_r / big_s))
        p, q = (a + d) / n, (b + c) / n
        var = (
            float(np.sum(p * r)) / (2 * big_r**2)
            + float(np.sum(p * s + q * r)) / (2 * big_r * big_s)
            + float(np.sum(q * s)) / (2 * big_s**2)
        )
        w = s
    elif measure == "RR":
        r, s = a * n2 / n, c * n1 / n
        big_r, big_s = float(np.sum(r)), float(np.sum(s))
        _check_defined(big_r, big_s, "risk ratio")
        est = float(np.log(big_r / big_s))
        var = float(np.sum((n1 * n2 * (a + c) - a * c * n) / n**2)) / (big_r * big_s)
        w = s
    elif measure == "RD":
        w = n1 * n2 / n
        big_w = float(np.sum(w))
        est = float(np.sum((a * n2 - c * n1) / n)) / big_w
        p_sum = float(np.sum((n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / n**2))
        q_sum = float(np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * n)))
        var = (est * p_sum + q_sum) / big_w**2
    else:
        raise EvidenceError(f"measure must be one of OR, RR, RD; got {measure!r}.")
    if not var > 0:
        raise EvidenceError(
            f"the Mantel-Haenszel variance must be positive; got {var:g}. The tables carry "
            "no information on the effect (e.g. no events at all)."
        )
    display = binary_effect_sizes(a, b, c, d, measure=measure)
    yi, vi = np.asarray(display.yi), np.asarray(display.vi)
    q_set = ~np.asarray(binary_effect_sizes(a, b, c, d, measure=measure, drop00=True).dropped)
    q_stat = float(np.sum((yi[q_set] - est) ** 2 / vi[q_set]))
    return _result(
        estimate=est,
        se=float(np.sqrt(var)),
        q=q_stat,
        q_df=int(np.sum(q_set)) - 1,
        k=a.size,
        method="MH",
        measure=measure,
        conf_level=conf_level,
        labels=labs,
        yi=yi,
        vi=vi,
        weights=w / np.sum(w),
    )


def _check_defined(num: float, den: float, what: str) -> None:
    if num <= 0 or den <= 0:
        raise EvidenceError(
            f"the Mantel-Haenszel {what} must be finite and positive; got numerator "
            f"{num:g} and denominator {den:g}. Some arm must have events and some "
            "non-events; use measure='RD' for tables without any."
        )


def pool_peto(
    ai: Sequence[float] | npt.ArrayLike,
    bi: Sequence[float] | npt.ArrayLike,
    ci: Sequence[float] | npt.ArrayLike,
    di: Sequence[float] | npt.ArrayLike,
    *,
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> PooledEstimate:
    """Peto's one-step pooled odds ratio of 2x2 tables.

    Parameters
    ----------
    ai, bi, ci, di
        Per study: events and non-events in the treated arm, then in the control arm.
    conf_level
        Confidence level of the Wald interval, in (0, 1).
    labels
        Study labels (default ``"study 1"`` ...).

    Returns
    -------
    PooledEstimate
        ``method="PETO"``, ``measure="OR"`` (log scale); the per-study tuples hold the
        studies with information (``V_i > 0``), their effect computed with 1/2 added to
        tables with a zero cell (as metafor shows them); ``weights`` are ``V_i / sum V``.

    Notes
    -----
    With ``O_i = ai``, ``E_i = (ai + ci) n1 / n`` and the hypergeometric variance
    ``V_i = (ai + ci)(bi + di) n1 n2 / (n^2 (n - 1))``: ``log OR = sum(O - E) / sum V``
    with variance ``1 / sum V``, and ``Q = sum (O - E)^2 / V - (sum(O - E))^2 / sum V`` on
    (studies with ``V > 0``) - 1 df, without continuity corrections. Tables without
    events (or without non-events) in both arms have ``V = 0`` and carry no weight. Matches
    R metafor's ``rma.peto`` to 1e-6. Peto's method is biased for large effects or
    unbalanced arms (Greenland & Salvan 1990).

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P. Beta blockade during and after
    myocardial infarction. Prog Cardiovasc Dis 1985;27:335-71.
    doi:10.1016/S0033-0620(85)80003-7.

    Examples
    --------
    >>> res = pool_peto([2, 1, 4], [48, 29, 36], [6, 3, 9], [44, 27, 32])
    >>> round(res.estimate_natural, 3)
    0.378
    """
    a, b, c, d = check_table(ai, bi, ci, di)
    conf_level = check_conf_level(conf_level)
    labs = labels_or_default(labels, a.size)
    n1, n2 = a + b, c + d
    n = n1 + n2
    m1, m2 = a + c, b + d
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, m1 * m2 * n1 * n2 / (n**2 * (n - 1)), 0.0)
    o_e = a - m1 * n1 / n
    info = v > 0
    if not info.any():
        raise EvidenceError(
            "the tables must include one with events and non-events for Peto's odds "
            "ratio; got none. "
            "Use measure='RD' with pool_mantel_haenszel."
        )
    big_v = float(np.sum(v[info]))
    est = float(np.sum(o_e[info])) / big_v
    q = float(np.sum(o_e[info] ** 2 / v[info])) - float(np.sum(o_e[info])) ** 2 / big_v
    # per-study display effects with the usual correction of zero cells
    extra = np.where((a == 0) | (b == 0) | (c == 0) | (d == 0), 0.5, 0.0)
    ca, cb, cc, cd = a + extra, b + extra, c + extra, d + extra
    cn1, cn2 = ca + cb, cc + cd
    cn = cn1 + cn2
    cv = (ca + cc) * (cb + cd) * cn1 * cn2 / (cn**2 * (cn - 1))
    yi = (ca - (ca + cc) * cn1 / cn) / cv
    keep = np.flatnonzero(info)
    return _result(
        estimate=est,
        se=float(1.0 / np.sqrt(big_v)),
        q=max(q, 0.0),
        q_df=keep.size - 1,
        k=a.size,
        method="PETO",
        measure="OR",
        conf_level=conf_level,
        labels=tuple(labs[i] for i in keep),
        yi=yi[keep],
        vi=1.0 / cv[keep],
        weights=v[keep] / big_v,
    )
