"""Subgroup analysis and leave-one-out sensitivity analysis of a pooled result."""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from msreboot.evidence._checks import EvidenceError, TruncatedTau2Warning
from msreboot.evidence._meta import PooledEstimate, _fit

__all__ = ["LeaveOneOut", "SubgroupAnalysis", "leave_one_out", "subgroup_analysis"]


def refit(
    result: PooledEstimate, mask: np.ndarray, *, warn: bool = True, warm_start: bool = False
) -> PooledEstimate:
    """Pool the studies of ``result`` selected by ``mask`` with the same settings.

    With ``warm_start`` the iterative tau^2 estimators start from ``result.tau2`` (close
    to the subset's when few studies are dropped); the estimate does not depend on it.
    """
    idx = np.flatnonzero(mask)
    events = None if result.events is None else np.asarray(result.events)[idx]
    totals = None if result.totals is None else np.asarray(result.totals)[idx]
    labels = tuple(result.labels[i] for i in idx)
    if result.method in ("MH", "PETO"):
        raise EvidenceError(
            f"a {result.method} pool must be refitted from its 2x2 tables; got a pool without "
            "them. Call pool_mantel_haenszel or pool_peto on the subset of tables."
        )
    if result.method == "GLMM":
        from msreboot.evidence._glmm import pool_proportions_glmm

        if events is None or totals is None:  # pragma: no cover - GLMM always has counts
            raise EvidenceError("a GLMM pool must carry events and totals.")
        glmm: PooledEstimate = pool_proportions_glmm(
            events, totals, conf_level=result.conf_level, labels=labels
        )
        return glmm
    return _fit(
        np.asarray(result.yi)[idx],
        np.asarray(result.vi)[idx],
        method=result.method,  # type: ignore[arg-type]
        test=result.test,  # type: ignore[arg-type]
        conf_level=result.conf_level,
        measure=result.measure,
        labels=labels,
        events=events,
        totals=totals,
        natural_n=totals if result.measure == "PFT" else None,
        warn=warn,
        tau2_start=result.tau2 if warm_start else None,
    )


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Separate pools per subgroup and the test for subgroup differences.

    Attributes
    ----------
    groups
        Subgroup names (sorted).
    pools
        One :class:`PooledEstimate` per subgroup, each with its own tau^2.
    overall
        The pool over all studies (the input result).
    q_between, q_between_df, q_between_pvalue
        Test for subgroup differences: Cochran's Q across the subgroup estimates with
        weights ``1 / SE_g^2`` (a common-effect meta-analysis of the subgroup pools).
    """

    groups: tuple[str, ...]
    pools: tuple[PooledEstimate, ...] = field(repr=False)
    overall: PooledEstimate = field(repr=False)
    q_between: float
    q_between_df: int
    q_between_pvalue: float

    def pool_for(self, group: str) -> PooledEstimate:
        """The pool of one subgroup."""
        try:
            return self.pools[self.groups.index(group)]
        except ValueError:
            raise EvidenceError(
                f"group must be one of {', '.join(self.groups)}; got {group!r}."
            ) from None

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup plus an ``overall`` row."""
        rows = []
        for name, res in [*zip(self.groups, self.pools, strict=True), ("overall", self.overall)]:
            rows.append(
                {
                    "group": name,
                    "k": res.k,
                    "estimate": res.estimate,
                    "se": res.se,
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "estimate_natural": res.estimate_natural,
                    "ci_low_natural": res.ci_low_natural,
                    "ci_high_natural": res.ci_high_natural,
                    "pi_low_natural": res.pi_low_natural,
                    "pi_high_natural": res.pi_high_natural,
                    "tau2": res.tau2,
                    "i2": res.i2,
                    "q": res.q,
                    "q_pvalue": res.q_pvalue,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Per-subgroup estimates and the between-groups test."""
        lines = [f"Subgroup analysis ({self.overall.method}, {self.overall.measure})"]
        for name, res in zip(self.groups, self.pools, strict=True):
            lines.append(
                f"  {name}: k={res.k}, {res.estimate_natural:.4g} "
                f"({res.ci_low_natural:.4g} to {res.ci_high_natural:.4g}), "
                f"I^2 {100 * res.i2:.1f}%"
            )
        lines.append(
            f"  test for subgroup differences: Q = {self.q_between:.3f}, "
            f"df = {self.q_between_df}, p = {self.q_between_pvalue:.4g}"
        )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def subgroup_analysis(
    result: PooledEstimate, groups: Sequence[object] | npt.ArrayLike | pd.Series
) -> SubgroupAnalysis:
    """Pool each subgroup separately and test whether the subgroups differ.

    Parameters
    ----------
    result
        The pool over all studies; its method, test, measure and conf_level are reused.
    groups
        Subgroup of each study, in the order of ``result.labels`` (the index is ignored).

    Returns
    -------
    SubgroupAnalysis

    Notes
    -----
    Each subgroup gets its own tau^2 (as RevMan and R ``meta`` do by default). The test
    for subgroup differences is ``Q_b = sum (mu_g - mu_w)^2 / SE_g^2`` on ``G - 1`` df,
    where ``mu_w`` is the inverse-variance mean of the subgroup estimates. For a model
    with a common tau^2 use :func:`meta_regression` with the grouping as a categorical
    moderator (its ``qm``). Checked against metafor on dat.bcg by allocation.

    References
    ----------
    Borenstein M, Higgins JPT. Meta-analysis and subgroups. Prev Sci 2013;14:134-43.
    doi:10.1007/s11121-013-0377-7.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> res = pool([0.1, 0.2, 0.8, 0.9], [0.02, 0.03, 0.02, 0.03], method="FE")
    >>> sub = subgroup_analysis(res, ["a", "a", "b", "b"])
    >>> sub.groups, round(sub.q_between, 2)
    (('a', 'b'), 20.42)
    """
    raw = groups.to_numpy() if isinstance(groups, pd.Series) else np.asarray(groups, dtype=object)
    values = np.asarray([str(g) for g in raw.ravel()])
    if values.size != result.k:
        raise EvidenceError(
            f"groups must have one entry per study; got {values.size} for k={result.k}."
        )
    names = tuple(sorted(set(values.tolist())))
    pools = tuple(refit(result, values == name) for name in names)
    est = np.array([p.estimate for p in pools])
    w = 1.0 / np.array([p.se for p in pools]) ** 2
    mean = float(np.sum(w * est) / np.sum(w))
    q = float(np.sum(w * (est - mean) ** 2))
    df = len(names) - 1
    return SubgroupAnalysis(
        groups=names,
        pools=pools,
        overall=result,
        q_between=q,
        q_between_df=df,
        q_between_pvalue=float(stats.chi2.sf(q, df)) if df > 0 else float("nan"),
    )


@dataclass(frozen=True)
class LeaveOneOut:
    """Pools with each study left out in turn (same method, test and level).

    Attributes
    ----------
    omitted
        Label of the study left out, per row.
    estimate, se, ci_low, ci_high, pvalue, q, q_pvalue, tau2, i2, h2
        The pool without that study (analysis scale).
    estimate_natural, ci_low_natural, ci_high_natural
        The same on the natural scale.
    """

    omitted: tuple[str, ...]
    estimate: tuple[float, ...]
    se: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    pvalue: tuple[float, ...]
    q: tuple[float, ...]
    q_pvalue: tuple[float, ...]
    tau2: tuple[float, ...]
    i2: tuple[float, ...]
    h2: tuple[float, ...]
    estimate_natural: tuple[float, ...]
    ci_low_natural: tuple[float, ...]
    ci_high_natural: tuple[float, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per omitted study."""
        return pd.DataFrame({name: list(getattr(self, name)) for name in self.__annotations__})

    def summary(self) -> str:
        """Range of the pooled estimate across omissions."""
        lo, hi = int(np.argmin(self.estimate)), int(np.argmax(self.estimate))
        return (
            f"Leave-one-out over {len(self.omitted)} studies: estimate from "
            f"{self.estimate[lo]:.4f} (without {self.omitted[lo]}) to "
            f"{self.estimate[hi]:.4f} (without {self.omitted[hi]})"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def leave_one_out(result: PooledEstimate) -> LeaveOneOut:
    """Re-pool with each study omitted in turn (metafor's ``leave1out``).

    Parameters
    ----------
    result
        The pool over all studies; its method, test, measure and conf_level are reused.

    Returns
    -------
    LeaveOneOut

    Raises
    ------
    EvidenceError
        Fewer than 2 studies.

    Notes
    -----
    Truncation of tau^2 in the reduced pools is not warned about (one warning per study
    would drown the signal); read ``tau2`` instead. The iterative tau^2 estimators of the
    reduced pools start from the full pool's tau^2 (a warm start; the estimates solve
    their equations to machine precision, so they do not depend on it). Checked against
    metafor's ``leave1out`` on dat.bcg (REML).

    References
    ----------
    Viechtbauer W, Cheung MW-L. Outlier and influence diagnostics for meta-analysis.
    Res Synth Methods 2010;1:112-25. doi:10.1002/jrsm.11.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> res = pool([0.1, 0.4, 0.35, 0.8], [0.02, 0.03, 0.02, 0.04])
    >>> loo = leave_one_out(res)
    >>> len(loo.omitted)
    4
    """
    if result.k < 2:
        raise EvidenceError(
            f"leave-one-out needs at least 2 studies; got k={result.k}. Pool more studies."
        )
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        for i in range(result.k):
            mask = np.ones(result.k, dtype=bool)
            mask[i] = False
            fits.append(refit(result, mask, warn=False, warm_start=True))

    def col(name: str) -> tuple[float, ...]:
        return tuple(float(getattr(f, name)) for f in fits)

    return LeaveOneOut(
        omitted=result.labels,
        estimate=col("estimate"),
        se=col("se"),
        ci_low=col("ci_low"),
        ci_high=col("ci_high"),
        pvalue=col("pvalue"),
        q=col("q"),
        q_pvalue=col("q_pvalue"),
        tau2=col("tau2"),
        i2=col("i2"),
        h2=col("h2"),
        estimate_natural=col("estimate_natural"),
        ci_low_natural=col("ci_low_natural"),
        ci_high_natural=col("ci_high_natural"),
    )
