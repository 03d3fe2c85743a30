"""Random- and common-effect meta-analysis of one effect per study."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from msreboot.evidence._checks import (
    EvidenceError,
    FloatArray,
    HeterogeneityWarning,
    Tau2Method,
    TestKind,
    as_vector,
    check_conf_level,
    check_counts,
    check_effects,
    check_method,
    check_positive,
    check_same_length,
    check_test,
    labels_or_default,
)
from msreboot.evidence._effects import (
    PROPORTION_MEASURES,
    Measure,
    ProportionMeasure,
    back_transform,
    proportion_effects,
    rate_effects,
)
from msreboot.evidence._pooled import PooledEstimate
from msreboot.evidence._tau2 import (
    estimate_tau2,
    hartung_knapp_factor,
    q_profile_ci,
    typical_variance,
    wls,
)

__all__ = ["TWO_STUDY_I2", "PooledEstimate", "pool", "pool_proportions", "pool_rates"]

#: A pool of exactly two studies warns (:class:`HeterogeneityWarning`) above this I^2.
TWO_STUDY_I2 = 0.5


def _ratio(num: float, den: float) -> float:
    """``num / den`` with 0/0 = NaN and x/0 = +/-inf (Hartung-Knapp on identical studies)."""
    if den > 0:
        return num / den
    return float("nan") if num == 0 else float(np.copysign(np.inf, num))


def _fit(
    yi: FloatArray,
    vi: FloatArray,
    *,
    method: Tau2Method,
    test: TestKind,
    conf_level: float,
    measure: str,
    labels: tuple[str, ...],
    events: FloatArray | None = None,
    totals: FloatArray | None = None,
    natural_n: FloatArray | None = None,
    warn: bool = True,
    warn_two_studies: bool = False,
    tau2_start: float | None = None,
) -> PooledEstimate:
    """Pool checked arrays (internal; all public entry points end here).

    ``tau2_start`` is a first guess for an iterative tau^2 estimator (a warm start, e.g.
    the full fit's tau^2 in leave-one-out); the estimate does not depend on it.
    """
    check_effects(yi, vi)
    k = yi.shape[0]
    x = np.ones((k, 1))
    alpha = 1.0 - conf_level
    if k == 1:
        test = "z"  # no residual degrees of freedom: Hartung-Knapp is undefined
    tau2, truncated = estimate_tau2(yi, vi, x, method, warn=warn, start=tau2_start)
    fit = wls(yi, vi, x, tau2)
    mu = float(fit.beta[0])
    var = float(fit.vcov[0, 0])
    if test == "knha":
        var *= hartung_knapp_factor(fit.q, k - 1, warn=warn)
        crit = float(stats.t.ppf(1 - alpha / 2, k - 1))
    else:
        crit = float(stats.norm.ppf(1 - alpha / 2))
    se = float(np.sqrt(var))
    statistic = _ratio(mu, se)
    # unfrozen distributions: freezing one costs more than the rest of a small pool
    tail = stats.t.sf(abs(statistic), k - 1) if test == "knha" else stats.norm.sf(abs(statistic))
    pvalue = float(2 * tail)
    ci_low, ci_high = mu - crit * se, mu + crit * se
    if method == "FE":
        pi_low, pi_high = ci_low, ci_high
    else:
        half = crit * float(np.sqrt(tau2 + var))
        pi_low, pi_high = mu - half, mu + half
    q_df = k - 1
    q = wls(yi, vi, x, 0.0).q if k > 1 else 0.0
    q_pvalue = float(stats.chi2.sf(q, q_df)) if q_df > 0 else 1.0
    nan = float("nan")
    tau2_ci = (nan, nan)
    i2_ci = (nan, nan)
    if k == 1:
        i2, h2 = 0.0, 1.0
    elif method == "FE":
        i2 = max(0.0, (q - q_df) / q) if q > 0 else 0.0
        h2 = q / q_df
    else:
        vt = typical_variance(vi, x)
        i2, h2 = tau2 / (tau2 + vt), (tau2 + vt) / vt
        tau2_ci = q_profile_ci(yi, vi, x, conf_level)
        i2_ci = (tau2_ci[0] / (tau2_ci[0] + vt), tau2_ci[1] / (tau2_ci[1] + vt))
    if warn and warn_two_studies and k == 2 and i2 > TWO_STUDY_I2:
        warnings.warn(
            f"a pool of two studies with I^2 = {100 * i2:.0f}% (above "
            f"{100 * TWO_STUDY_I2:.0f}%): tau^2 rests on one degree of freedom and the "
            "studies disagree, so the pooled estimate and its interval are unreliable. "
            "Report the two studies separately, or state the caveat.",
            HeterogeneityWarning,
            stacklevel=3,
        )
    weights = fit.weights / np.sum(fit.weights)
    to_nat = back_transform(measure, natural_n)
    nat = to_nat(np.array([mu, ci_low, ci_high, pi_low, pi_high]))
    return PooledEstimate(
        estimate=mu,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        conf_level=conf_level,
        statistic=statistic,
        pvalue=pvalue,
        pi_low=pi_low,
        pi_high=pi_high,
        tau2=tau2,
        tau2_ci_low=tau2_ci[0],
        tau2_ci_high=tau2_ci[1],
        tau2_truncated=truncated,
        i2=i2,
        i2_ci_low=i2_ci[0],
        i2_ci_high=i2_ci[1],
        h2=h2,
        q=q,
        q_df=q_df,
        q_pvalue=q_pvalue,
        k=k,
        method=method,
        test=test,
        measure=measure,
        estimate_natural=float(nat[0]),
        ci_low_natural=float(nat[1]),
        ci_high_natural=float(nat[2]),
        pi_low_natural=float(nat[3]),
        pi_high_natural=float(nat[4]),
        labels=labels,
        yi=tuple(float(v) for v in yi),
        vi=tuple(float(v) for v in vi),
        weights=tuple(float(w) for w in weights),
        events=None if events is None else tuple(float(e) for e in events),
        totals=None if totals is None else tuple(float(t) for t in totals),
    )


def pool(
    yi: Sequence[float] | npt.ArrayLike,
    vi: Sequence[float] | npt.ArrayLike | None = None,
    *,
    se: Sequence[float] | npt.ArrayLike | None = None,
    method: Tau2Method = "REML",
    test: TestKind = "z",
    conf_level: float = 0.95,
    measure: Measure = "GEN",
    labels: Sequence[str] | None = None,
) -> PooledEstimate:
    """Pool one effect per study by random-effects (or common-effect) meta-analysis.

    Parameters
    ----------
    yi
        Study effects on the analysis scale (log ratios for ``measure`` RR, OR, HR, IRR).
    vi
        Their sampling variances (squared standard errors), all positive. Give either
        ``vi`` or ``se``.
    se
        Their standard errors instead of ``vi`` (``vi = se^2``), all positive.
    method
        tau^2 estimator: ``"REML"`` (default, as in metafor), ``"ML"``, ``"DL"``
        (DerSimonian-Laird), ``"PM"`` (Paule-Mandel) or ``"FE"`` (common effect, tau^2 = 0;
        metafor 4's names ``"EE"`` and ``"CE"`` are accepted for it).
    test
        ``"z"`` for Wald intervals or ``"knha"`` for Hartung-Knapp(-Sidik-Jonkman) ones.
    conf_level
        Confidence level of every interval, in (0, 1).
    measure
        Label of the effect measure; sets the back-transformation (``exp`` for ratios).
    labels
        Study labels (default ``"study 1"`` ...).

    Returns
    -------
    PooledEstimate

    Raises
    ------
    EvidenceError
        Inputs of unequal length, non-finite values, non-positive variances, bad options,
        both or neither of ``vi`` and ``se``.

    Warns
    -----
    TruncatedTau2Warning
        When the tau^2 estimate is truncated at 0.
    HeterogeneityWarning
        When exactly two studies are pooled and I^2 exceeds 50% (strictly): tau^2
        then rests on one degree of freedom and the studies disagree.

    Notes
    -----
    With weights ``w_i = 1 / (v_i + tau^2)`` the pooled effect is ``sum w y / sum w`` with
    variance ``1 / sum w``. Hartung-Knapp multiplies that variance by
    ``sum w (y - mu)^2 / (k - 1)`` and uses t(k - 1) quantiles (no truncation of the
    factor at 1, as in metafor). The prediction interval is
    ``mu +/- crit sqrt(tau^2 + SE^2)``. ``I^2 = tau^2 / (tau^2 + s^2)`` and
    ``H^2 = (tau^2 + s^2) / s^2`` with the typical within-study variance ``s^2``; for
    ``method="FE"``, ``I^2 = (Q - df) / Q`` (floored at 0) and ``H^2 = Q / df``.
    With a single study (k = 1) the pool is that study: tau^2 = 0, Q = 0, I^2 = 0,
    H^2 = 1, no tau^2 interval, and ``test="knha"`` falls back to a Wald interval.
    Validated against R metafor 3.8 (``rma``, ``predict``, ``confint``) on dat.bcg and
    edge cases; see ``tests/reference/evidence``.

    References
    ----------
    DerSimonian R, Laird N. Control Clin Trials 1986;7:177-88.
    doi:10.1016/0197-2456(86)90046-2.
    Hartung J, Knapp G. A refined method for the meta-analysis of controlled clinical
    trials with binary outcome. Stat Med 2001;20:3875-89. doi:10.1002/sim.1009.
    Higgins JPT, Thompson SG. Quantifying heterogeneity in a meta-analysis. Stat Med
    2002;21:1539-58. doi:10.1002/sim.1186.
    Riley RD, Higgins JPT, Deeks JJ. Interpretation of random effects meta-analyses.
    BMJ 2011;342:d549. doi:10.1136/bmj.d549.
    Viechtbauer W. Conducting meta-analyses in R with the metafor package. J Stat Softw
    2010;36(3):1-48. doi:10.18637/jss.v036.i03.

    Examples
    --------
    Log risk ratios of six BCG trials (rounded from metafor's dat.bcg):

    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.007]
    >>> res = pool(yi, vi, measure="RR")
    >>> round(res.estimate, 3), round(res.tau2, 3), round(res.estimate_natural, 3)
    (-0.99, 0.224, 0.372)
    >>> round(sum(res.weights), 6)
    1.0
    """
    y = as_vector("yi", yi)
    if (vi is None) == (se is None):
        raise EvidenceError(
            "pool must be given exactly one of vi (variances) and se (standard errors); got "
            f"{'both' if vi is not None else 'neither'}. Pass vi=... or se=..."
        )
    if se is not None:
        s = as_vector("se", se)
        check_same_length(yi=y, se=s)
        check_positive("se", s)
        v = s**2
    else:
        v = as_vector("vi", vi)  # type: ignore[arg-type]
    k = check_same_length(yi=y, vi=v)
    check_positive("vi", v)
    return _fit(
        y,
        v,
        method=check_method(method),
        test=check_test(test),
        conf_level=check_conf_level(conf_level),
        measure=measure,
        labels=labels_or_default(labels, k),
        warn_two_studies=True,
    )


def _counts(
    events: Sequence[float] | npt.ArrayLike,
    totals: Sequence[float] | npt.ArrayLike,
    total_name: str,
    *,
    whole_totals: bool,
) -> tuple[FloatArray, FloatArray, int]:
    x = as_vector("events", events)
    t = as_vector(total_name, totals)
    k = check_same_length(events=x, **{total_name: t})
    check_positive("events", x, allow_zero=True)
    check_counts("events", x)
    check_positive(total_name, t)
    if whole_totals:
        check_counts(total_name, t)
    return x, t, k


def pool_proportions(
    events: Sequence[float] | npt.ArrayLike,
    n: Sequence[float] | npt.ArrayLike,
    *,
    measure: ProportionMeasure = "PLO",
    method: Tau2Method | str = "REML",
    test: TestKind = "z",
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> PooledEstimate:
    """Pool single proportions (events out of ``n`` per study).

    Parameters
    ----------
    events, n
        Number of events and of patients per study (``0 <= events <= n``).
    measure
        ``"PLO"`` (logit, default), ``"PR"`` (raw proportion) or ``"PFT"``
        (Freeman-Tukey double arcsine). Ignored for ``method="GLMM"`` (logit).
    method
        A tau^2 estimator (see :func:`pool`) or ``"GLMM"`` for the binomial-normal
        model fitted by maximum likelihood (see :func:`pool_proportions_glmm`).
    test, conf_level, labels
        As in :func:`pool`. ``method="GLMM"`` takes only ``test="z"`` (Wald) and raises
        :class:`EvidenceError` for ``"knha"`` rather than ignore it.

    Returns
    -------
    PooledEstimate
        ``estimate_natural`` etc. hold the pooled proportion and its intervals.

    Notes
    -----
    Continuity: for ``PLO`` and ``PR`` studies with 0 or ``n`` events get 1/2 added to
    events and non-events (metafor's ``add = 1/2, to = "only0"``). ``PFT`` needs none; its
    pooled value is back-transformed with Miller's inversion at the harmonic mean of the
    study sizes (metafor's ``transf.ipft.hm``). Raw proportions (``PR``) are not clipped
    to [0, 1], as in metafor.

    References
    ----------
    Schwarzer G, Chemaitelly H, Abu-Raddad LJ, Rucker G. Seriously misleading results using
    inverse of Freeman-Tukey double arcsine transformation in meta-analysis of single
    proportions. Res Synth Methods 2019;10:476-83. doi:10.1002/jrsm.1348.

    Examples
    --------
    >>> res = pool_proportions([0, 1, 2, 8], [24, 151, 281, 110], measure="PLO")
    >>> 0 < res.estimate_natural < 0.1
    True
    """
    x, nn, k = _counts(events, n, "n", whole_totals=True)
    above = np.flatnonzero(x > nn)
    if above.size:
        i = int(above[0])
        raise EvidenceError(
            f"events must be <= n; got events={x[i]:g} > n={nn[i]:g} at position {i}. "
            "Check the study's counts."
        )
    if str(method).upper() == "GLMM":
        from msreboot.evidence._glmm import pool_proportions_glmm

        if check_test(test) != "z":
            raise EvidenceError(
                f"test must be 'z' for method='GLMM'; got {test!r}. The binomial-normal "
                "model's interval is a Wald interval from its likelihood; Hartung-Knapp "
                "applies to inverse-variance pools (use method='REML', test='knha')."
            )

        glmm: PooledEstimate = pool_proportions_glmm(x, nn, conf_level=conf_level, labels=labels)
        return glmm
    if measure not in PROPORTION_MEASURES:
        raise EvidenceError(
            f"measure must be one of {', '.join(PROPORTION_MEASURES)}; got {measure!r}. "
            "Use 'PLO' (logit) unless you have a reason not to."
        )
    yi, vi = proportion_effects(x, nn, measure)
    return _fit(
        yi,
        vi,
        method=check_method(method),
        test=check_test(test),
        conf_level=check_conf_level(conf_level),
        measure=measure,
        labels=labels_or_default(labels, k),
        events=x,
        totals=nn,
        natural_n=nn,
        warn_two_studies=True,
    )


def pool_rates(
    events: Sequence[float] | npt.ArrayLike,
    time: Sequence[float] | npt.ArrayLike,
    *,
    method: Tau2Method = "REML",
    test: TestKind = "z",
    conf_level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> PooledEstimate:
    """Pool incidence rates (events over person-time) on the log scale.

    Parameters
    ----------
    events
        Number of events per study (non-negative).
    time
        Person-time at risk per study (positive; e.g. patient-years, so the natural-scale
        estimate is a rate per patient-year).
    method, test, conf_level, labels
        As in :func:`pool`.

    Notes
    -----
    ``yi = log(x / t)``, ``vi = 1 / x``; studies without events get 1/2 added to the
    count (metafor's ``IRLN`` with ``add = 1/2, to = "only0"``).

    Examples
    --------
    >>> res = pool_rates([3, 12, 7], [140.0, 300.0, 98.2])
    >>> round(res.estimate_natural, 3)
    0.043
    """
    x, t, k = _counts(events, time, "time", whole_totals=False)
    yi, vi = rate_effects(x, t)
    return _fit(
        yi,
        vi,
        method=check_method(method),
        test=check_test(test),
        conf_level=check_conf_level(conf_level),
        measure="IRLN",
        labels=labels_or_default(labels, k),
        events=x,
        totals=t,
        warn_two_studies=True,
    )
