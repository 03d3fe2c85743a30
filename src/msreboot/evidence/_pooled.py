"""The result of a meta-analysis: :class:`PooledEstimate`, shared by every pooling method."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.evidence._checks import FloatArray
from msreboot.evidence._effects import back_transform, ipft_harmonic

__all__ = ["PooledEstimate"]


@dataclass(frozen=True)
class PooledEstimate:
    """The result of a meta-analysis of one effect per study.

    All ``estimate`` / ``ci`` / ``pi`` fields are on the analysis scale (log odds, log rate,
    log ratio, raw proportion, Freeman-Tukey angle or the generic effect); the ``*_natural``
    fields are the same quantities back-transformed to the natural scale (proportion,
    rate, ratio). ``i2`` is a fraction in [0, 1] (metafor prints percent).

    Attributes
    ----------
    estimate, se, ci_low, ci_high
        Pooled effect, its standard error and confidence interval at ``conf_level``.
    statistic, pvalue
        Wald z (or Hartung-Knapp t) statistic and two-sided p-value for effect = 0.
    pi_low, pi_high
        Prediction interval for the effect in a new study,
        ``estimate +/- crit * sqrt(tau2 + se^2)`` (equal to the CI for ``method="FE"``).
    tau2, tau2_ci_low, tau2_ci_high
        Between-study variance and its Q-profile confidence interval.
    tau2_truncated
        Whether the tau^2 estimate was truncated at zero.
    i2, i2_ci_low, i2_ci_high, h2
        Higgins & Thompson's I^2 (fraction) and H^2.
    q, q_df, q_pvalue
        Cochran's Q test of homogeneity.
    k, method, test, measure
        Number of studies, tau^2 estimator, interval type and effect measure.
    labels, yi, vi, weights
        Per-study label, effect, sampling variance and normalised weight (sums to 1).
    events, totals
        Per-study events and sample size (proportions) or person-time (rates), if given.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    conf_level: float
    statistic: float
    pvalue: float
    pi_low: float
    pi_high: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    tau2_truncated: bool
    i2: float
    i2_ci_low: float
    i2_ci_high: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    k: int
    method: str
    test: str
    measure: str
    estimate_natural: float
    ci_low_natural: float
    ci_high_natural: float
    pi_low_natural: float
    pi_high_natural: float
    labels: tuple[str, ...] = field(repr=False)
    yi: tuple[float, ...] = field(repr=False)
    vi: tuple[float, ...] = field(repr=False)
    weights: tuple[float, ...] = field(repr=False)
    events: tuple[float, ...] | None = field(default=None, repr=False)
    totals: tuple[float, ...] | None = field(default=None, repr=False)

    @property
    def is_ratio(self) -> bool:
        """Whether the natural scale is a ratio or rate (drawn on a log axis)."""
        return self.measure in ("RR", "OR", "HR", "IRR", "RoM", "IRLN")

    def study_frame(self) -> pd.DataFrame:
        """One row per study: effect, CI at ``conf_level``, weight, natural-scale values."""
        yi = np.asarray(self.yi)
        se = np.sqrt(np.asarray(self.vi))
        z = float(stats.norm.ppf(0.5 + self.conf_level / 2))
        to_nat = back_transform(
            self.measure, None if self.totals is None else np.asarray(self.totals)
        )
        lo, hi = yi - z * se, yi + z * se
        frame = pd.DataFrame(
            {
                "label": list(self.labels),
                "yi": yi,
                "vi": np.asarray(self.vi),
                "ci_low": lo,
                "ci_high": hi,
                "weight": np.asarray(self.weights),
                "estimate_natural": _nat_each(self.measure, yi, self.totals, to_nat),
                "ci_low_natural": _nat_each(self.measure, lo, self.totals, to_nat),
                "ci_high_natural": _nat_each(self.measure, hi, self.totals, to_nat),
            }
        )
        if self.events is not None:
            frame["events"] = np.asarray(self.events)
        if self.totals is not None:
            frame["total"] = np.asarray(self.totals)
        return frame

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per study plus a final ``row_type == "pooled"`` row."""
        studies = self.study_frame()
        studies.insert(0, "row_type", "study")
        pooled = pd.DataFrame(
            {
                "row_type": ["pooled"],
                "label": [f"{self.method} pooled"],
                "yi": [self.estimate],
                "vi": [self.se**2],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "weight": [1.0],
                "estimate_natural": [self.estimate_natural],
                "ci_low_natural": [self.ci_low_natural],
                "ci_high_natural": [self.ci_high_natural],
                "pi_low_natural": [self.pi_low_natural],
                "pi_high_natural": [self.pi_high_natural],
                "tau2": [self.tau2],
                "i2": [self.i2],
                "q": [self.q],
                "q_pvalue": [self.q_pvalue],
                "k": [self.k],
            }
        )
        return pd.concat([studies, pooled], ignore_index=True)

    def heterogeneity_text(self) -> str:
        """One line: Q, df, p, I^2, tau^2 (used by forest plots)."""
        return (
            f"Heterogeneity: Q = {self.q:.2f}, df = {self.q_df}, p {_fmt_p(self.q_pvalue)}; "
            f"I\u00b2 = {100 * self.i2:.1f}%; \u03c4\u00b2 = {self.tau2:.4g}"
        )

    def summary(self) -> str:
        """Human-readable summary (natural scale where it differs)."""
        pct = f"{100 * self.conf_level:g}%"
        lines = [
            f"{self.method} meta-analysis of {self.k} studies ({self.measure}, test={self.test})",
            f"  estimate {self.estimate:.4f} (SE {self.se:.4f}), {pct} CI "
            f"{self.ci_low:.4f} to {self.ci_high:.4f}, p {_fmt_p(self.pvalue)}",
            f"  prediction interval {self.pi_low:.4f} to {self.pi_high:.4f}",
        ]
        if self.measure != "GEN":
            lines.append(
                f"  natural scale {self.estimate_natural:.4g} ({pct} CI "
                f"{self.ci_low_natural:.4g} to {self.ci_high_natural:.4g}; PI "
                f"{self.pi_low_natural:.4g} to {self.pi_high_natural:.4g})"
            )
        lines.append(
            f"  tau^2 {self.tau2:.4g} ({pct} CI {self.tau2_ci_low:.4g} to "
            f"{self.tau2_ci_high:.4g}){' [truncated at 0]' if self.tau2_truncated else ''}"
        )
        lines.append("  " + self.heterogeneity_text().replace("\u00b2", "^2"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _nat_each(
    measure: str,
    values: FloatArray,
    totals: tuple[float, ...] | None,
    default: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """Back-transform study-level values (Freeman-Tukey uses each study's own n)."""
    if measure == "PFT" and totals is not None:
        pairs = zip(values, totals, strict=True)
        return np.array([ipft_harmonic(np.array([v]), n)[0] for v, n in pairs])
    return default(values)


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "= NA"
    return "< 0.0001" if p < 1e-4 else f"= {p:.4f}"
