"""Cumulative meta-analysis: the pool as studies accrue in a given order."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._meta import _fit
from msreboot.evidence._pooled import PooledEstimate
from msreboot.evidence._regression import inverse_variance_method

__all__ = ["CumulativeMetaAnalysis", "cumulative_meta_analysis"]


@dataclass(frozen=True)
class CumulativeMetaAnalysis:
    """Pools of the first 1, 2, ..., k studies in a given order.

    Attributes
    ----------
    order
        Position in the original pool of the study added at each step.
    labels
        Label of the study added at each step.
    k
        Number of studies in each pool (1, 2, ..., k).
    estimate, se, ci_low, ci_high, pvalue
        Pooled effect on the analysis scale, its SE, CI and p-value at each step.
    estimate_natural, ci_low_natural, ci_high_natural
        The same back-transformed (ratio, proportion, rate).
    q, tau2, i2, h2
        Heterogeneity at each step (Q = 0, I^2 = 0, H^2 = 1 for the first study).
    method, test, measure, conf_level
        Settings of the pools (those of the original pool).
    """

    order: tuple[int, ...]
    labels: tuple[str, ...]
    k: tuple[int, ...] = field(repr=False)
    estimate: tuple[float, ...] = field(repr=False)
    se: tuple[float, ...] = field(repr=False)
    ci_low: tuple[float, ...] = field(repr=False)
    ci_high: tuple[float, ...] = field(repr=False)
    pvalue: tuple[float, ...] = field(repr=False)
    estimate_natural: tuple[float, ...] = field(repr=False)
    ci_low_natural: tuple[float, ...] = field(repr=False)
    ci_high_natural: tuple[float, ...] = field(repr=False)
    q: tuple[float, ...] = field(repr=False)
    tau2: tuple[float, ...] = field(repr=False)
    i2: tuple[float, ...] = field(repr=False)
    h2: tuple[float, ...] = field(repr=False)
    method: str = ""
    test: str = "z"
    measure: str = "GEN"
    conf_level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """One row per step: the study added and the pool so far."""
        skip = ("method", "test", "measure", "conf_level")
        names = [f for f in self.__dataclass_fields__ if f not in skip]
        frame = pd.DataFrame({n: list(getattr(self, n)) for n in names})
        return frame.rename(columns={"labels": "added"})

    def summary(self) -> str:
        """The pool after each added study."""
        lines = [f"Cumulative meta-analysis ({self.method}, {self.measure})"]
        for j, label in enumerate(self.labels):
            lines.append(
                f"  + {label:<28} k={self.k[j]:<3} {self.estimate_natural[j]:.4g} "
                f"({self.ci_low_natural[j]:.4g} to {self.ci_high_natural[j]:.4g}), "
                f"I^2 {100 * self.i2[j]:.0f}%"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def cumulative_meta_analysis(
    result: PooledEstimate,
    order: Sequence[float] | npt.ArrayLike | None = None,
) -> CumulativeMetaAnalysis:
    """Refit a pool adding one study at a time (e.g. by publication year).

    Parameters
    ----------
    result
        A pool; each step uses its tau^2 estimator, test and confidence level
        (Mantel-Haenszel and Peto pools are refitted by inverse-variance common effect).
    order
        One sort key per study (e.g. publication year), in the order of ``result.labels``;
        studies are added in increasing key, ties kept in their original order. ``None``
        adds them in their given order.

    Returns
    -------
    CumulativeMetaAnalysis

    Notes
    -----
    Matched to metafor's ``cumul`` (1e-6) on dat.bcg and dat.hackshaw1998 ordered by year.
    Truncation warnings of the early, small pools are not raised.

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, et al. Cumulative meta-analysis of therapeutic
    trials for myocardial infarction. N Engl J Med 1992;327:248-54.
    doi:10.1056/NEJM199207233270406.

    Examples
    --------
    >>> from msreboot.evidence import pool
    >>> res = pool([0.5, 0.1, 0.3], [0.04, 0.02, 0.03], method="DL")
    >>> cm = cumulative_meta_analysis(res, order=[2011, 2003, 2007])
    >>> cm.order
    (1, 2, 0)
    """
    k = len(result.yi)
    if order is None:
        idx = np.arange(k)
    else:
        key = np.asarray(getattr(order, "to_numpy", lambda: order)())
        if key.shape != (k,):
            raise EvidenceError(
                f"order must have one key per study; got shape {key.shape} for k={k}."
            )
        if key.dtype.kind in "fc" and np.isnan(key.astype(float)).any():
            raise EvidenceError("order must have no missing keys; got NaN. Give every study a key.")
        idx = np.argsort(key, kind="stable")
    method = inverse_variance_method(result)
    y = np.asarray(result.yi)[idx]
    v = np.asarray(result.vi)[idx]
    labels = tuple(result.labels[i] for i in idx)
    fits = [
        _fit(
            y[: j + 1],
            v[: j + 1],
            method=method,  # type: ignore[arg-type]
            test=result.test,  # type: ignore[arg-type]
            conf_level=result.conf_level,
            measure=result.measure if result.measure != "PFT" else "GEN",
            labels=labels[: j + 1],
            warn=False,
        )
        for j in range(k)
    ]

    def col(name: str) -> tuple[float, ...]:
        return tuple(float(getattr(f, name)) for f in fits)

    return CumulativeMetaAnalysis(
        order=tuple(int(i) for i in idx),
        labels=labels,
        k=tuple(range(1, k + 1)),
        estimate=col("estimate"),
        se=col("se"),
        ci_low=col("ci_low"),
        ci_high=col("ci_high"),
        pvalue=col("pvalue"),
        estimate_natural=col("estimate_natural"),
        ci_low_natural=col("ci_low_natural"),
        ci_high_natural=col("ci_high_natural"),
        q=col("q"),
        tau2=col("tau2"),
        i2=col("i2"),
        h2=col("h2"),
        method=method,
        test=result.test,
        measure=result.measure,
        conf_level=result.conf_level,
    )
