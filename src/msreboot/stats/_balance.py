"""Covariate balance before and after matching or weighting: standardised mean differences,
variance ratios, effective sample sizes, propensity overlap, and the warning rule."""

from __future__ import annotations

import html
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.stats._checks import FloatArray, as_labels, frozen_array
from msreboot.stats._propensity import PropensityScore, as_treatment
from msreboot.stats._weighting import Estimand, effective_sample_size

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Balance",
    "BalanceRule",
    "BalanceWarning",
    "Overlap",
    "balance_table",
    "propensity_overlap",
]


class BalanceWarning(UserWarning):
    """Balance failed after adjustment, or the propensity scores overlap poorly."""


@dataclass(frozen=True)
class BalanceRule:
    """When balance or overlap counts as failed.

    Attributes
    ----------
    max_abs_smd
        Largest acceptable absolute standardised mean difference after adjustment; 0.1 is
        the usual threshold (Austin 2009; Normand et al. 2001).
    max_outside_support
        Largest acceptable share of either group whose propensity score lies outside the
        common support, the interval from the larger of the two groups' smallest scores to
        the smaller of their largest scores. 0.05 is this package's convention, not a
        published threshold.
    """

    max_abs_smd: float = 0.1
    max_outside_support: float = 0.05

    def __post_init__(self) -> None:
        if not self.max_abs_smd > 0:
            raise ValueError(f"max_abs_smd must be > 0; got {self.max_abs_smd!r}. Use 0.1.")
        if not 0 <= self.max_outside_support < 1:
            raise ValueError(
                f"max_outside_support must be in [0, 1); got {self.max_outside_support!r}."
            )


@dataclass(frozen=True, eq=False)
class Balance:
    """Covariate balance between treated and controls, before and after adjustment.

    Attributes
    ----------
    terms
        One per covariate term: the column, or ``"column[level]"`` for every level of a
        categorical covariate.
    binary
        Whether the term is binary (a bool or 0/1 column, or a level indicator).
    mean_treated_before, mean_control_before, mean_treated_after, mean_control_after
        Unweighted and weighted group means (proportions for binary terms).
    smd_before, smd_after
        (mean treated - mean control) / s, with s from the unadjusted sample: the treated
        SD for the ATT, sqrt((s1^2 + s0^2) / 2) for the ATE and overlap weights (cobalt's
        defaults); a binary term's variance is p (1 - p).
    var_ratio_before, var_ratio_after
        Treated over control variance (weighted after), continuous terms only (NaN for
        binary ones).
    estimand
        Which SD the SMDs use (``"att"``: treated; otherwise pooled).
    adjusted
        Whether weights were given (else the "after" columns repeat "before").
    n_treated, n_control, ess_treated, ess_control
        Group sizes and Kish effective sample sizes after adjustment.
    rule, failing
        The rule applied and the terms whose adjusted |SMD| exceeds it.
    """

    terms: tuple[str, ...]
    binary: npt.NDArray[np.bool_] = field(repr=False)
    mean_treated_before: FloatArray = field(repr=False)
    mean_control_before: FloatArray = field(repr=False)
    smd_before: FloatArray = field(repr=False)
    var_ratio_before: FloatArray = field(repr=False)
    mean_treated_after: FloatArray = field(repr=False)
    mean_control_after: FloatArray = field(repr=False)
    smd_after: FloatArray = field(repr=False)
    var_ratio_after: FloatArray = field(repr=False)
    estimand: str
    adjusted: bool
    n_treated: int
    n_control: int
    ess_treated: float
    ess_control: float
    rule: BalanceRule
    failing: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per term, with ``type`` (``"binary"`` / ``"continuous"``) and every column."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "type": np.where(self.binary, "binary", "continuous"),
                "mean_treated_before": self.mean_treated_before,
                "mean_control_before": self.mean_control_before,
                "smd_before": self.smd_before,
                "var_ratio_before": self.var_ratio_before,
                "mean_treated_after": self.mean_treated_after,
                "mean_control_after": self.mean_control_after,
                "smd_after": self.smd_after,
                "var_ratio_after": self.var_ratio_after,
            }
        )

    def summary(self) -> str:
        sd = "treated SD" if self.estimand == "att" else "pooled SD"
        lines = [
            f"Covariate balance ({sd}): {self.n_treated} treated, {self.n_control} control; "
            f"effective sample sizes {self.ess_treated:.1f} and {self.ess_control:.1f}",
            f"  {'term':<28} {'SMD before':>10} {'SMD after':>10} {'VR after':>9}",
        ]
        for i, term in enumerate(self.terms):
            vr = "" if self.binary[i] else f"{self.var_ratio_after[i]:.2f}"
            lines.append(
                f"  {term:<28} {self.smd_before[i]:10.3f} {self.smd_after[i]:10.3f} {vr:>9}"
            )
        if self.adjusted:
            if self.failing:
                lines.append(
                    f"  NOT BALANCED: |SMD| > {self.rule.max_abs_smd:g} after adjustment for "
                    + ", ".join(self.failing)
                )
            else:
                lines.append(f"  balanced: every |SMD| <= {self.rule.max_abs_smd:g}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().splitlines()[0])
        return f"<p>{head}</p>" + self.to_frame().to_html(index=False)

    def love_plot(self, path: str | Path | None = None) -> Figure:
        """The love plot of these SMDs (see :func:`love_plot`)."""
        from msreboot.stats._balance_plots import love_plot

        return love_plot(self, path)


def _terms(
    frame: pd.DataFrame, covariates: Sequence[str]
) -> tuple[list[str], list[FloatArray], list[bool]]:
    if isinstance(covariates, str):
        raise TypeError(
            f"covariates must be a list of column names; got the string {covariates!r}."
        )
    names: list[str] = []
    columns: list[FloatArray] = []
    binary: list[bool] = []
    for col in covariates:
        if col not in frame.columns:
            raise ValueError(
                f"covariates must name columns of frame; got {col!r}. "
                f"Columns are: {', '.join(map(str, frame.columns))}."
            )
        series = frame[col]
        if series.isna().any():
            raise ValueError(
                f"covariate {col!r} must have no missing values; got "
                f"{int(series.isna().sum())}. Impute or drop those rows first."
            )
        dtype = series.dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not isinstance(
            dtype, pd.CategoricalDtype
        )
        if numeric or pd.api.types.is_bool_dtype(dtype):
            x = series.to_numpy(dtype=np.float64)
            names.append(str(col))
            columns.append(x)
            binary.append(bool(np.all((x == 0) | (x == 1))))
            continue
        labels, levels = as_labels(series, name=f"covariate {col!r}")
        for level in levels:
            names.append(f"{col}[{level}]")
            columns.append((labels == level).astype(np.float64))
            binary.append(True)
    if not names:
        raise ValueError("covariates must name at least one column; got none.")
    return names, columns, binary


def _wmean(x: FloatArray, w: FloatArray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def _wvar(x: FloatArray, w: FloatArray, is_binary: bool) -> float:
    """Weighted variance: p (1 - p) for binary terms, else with reliability-weight correction
    sum(w) / (sum(w)^2 - sum(w^2)) (the usual n - 1 variance when all weights are 1)."""
    m = _wmean(x, w)
    if is_binary:
        return m * (1.0 - m)
    sw = float(np.sum(w))
    denom = sw * sw - float(np.sum(w * w))
    if denom <= 0:
        return float("nan")
    return float(np.sum(w * (x - m) ** 2)) * sw / denom


def balance_table(
    frame: pd.DataFrame,
    treatment_col: str,
    covariates: Sequence[str],
    weights: npt.ArrayLike | None = None,
    *,
    estimand: Estimand = "ate",
    rule: BalanceRule | None = None,
    warn: bool = True,
) -> Balance:
    """Standardised mean differences and variance ratios before and after adjustment.

    Parameters
    ----------
    frame
        One row per patient (the pandas index is ignored).
    treatment_col
        Treatment indicator column (bool or 0/1).
    covariates
        Columns to check; categorical ones are shown level by level.
    weights
        Weights after adjustment, one per patient (``PropensityWeights.weights`` or the
        matching weights ``MatchedSample.weights``; 0 drops a patient). ``None``: only the
        unadjusted balance.
    estimand
        ``"att"`` standardises by the treated SD (use it for matching, which targets the
        treated); ``"ate"`` and ``"overlap"`` by the pooled SD sqrt((s1^2 + s0^2) / 2).
        The SDs always come from the unadjusted sample, so before and after share one
        denominator (cobalt's default).
    rule
        When balance counts as failed (default: |SMD| > 0.1).
    warn
        Whether to issue a :class:`BalanceWarning` when balance fails after adjustment.

    Returns
    -------
    Balance
        One row per term; ``failing`` lists the terms out of balance after adjustment.

    Warns
    -----
    BalanceWarning
        When weights are given and some adjusted |SMD| exceeds ``rule.max_abs_smd``; the
        message lists the covariates.

    Notes
    -----
    SMD = (m1 - m0) / s, with weighted means after adjustment. Continuous variances are
    the weighted sum w (x - m)^2 times sum(w) / ((sum w)^2 - sum w^2); binary variances
    p (1 - p). Variance ratios are for continuous terms only. Checked against these
    formulas in base R (tests/reference/stats).

    References
    ----------
    Austin PC (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. Stat Med
    28:3083-3107. doi:10.1002/sim.3697

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"t": [1, 1, 0, 0], "age": [30.0, 40.0, 30.0, 50.0]})
    >>> b = balance_table(frame, "t", ["age"])
    >>> round(float(b.smd_before[0]), 4)
    -0.4472
    """
    treated = as_treatment(frame, treatment_col)
    if estimand not in ("ate", "att", "overlap"):
        raise ValueError(
            f"estimand must be one of 'ate', 'att', 'overlap'; got {estimand!r}. Use 'att' "
            "after matching (treated SD) and the estimand of the weights otherwise."
        )
    rule = rule or BalanceRule()
    names, columns, binary = _terms(frame, covariates)
    if weights is None:
        w = np.ones(treated.size)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != treated.shape or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise ValueError(
                f"weights must be finite numbers >= 0, one per row of frame ({treated.size}); "
                f"got shape {w.shape}. Pass PropensityWeights.weights or MatchedSample.weights."
            )
        if w[treated].sum() == 0 or w[~treated].sum() == 0:
            raise ValueError(
                "weights must be positive for some treated and some control patients; got "
                "all zero in one group. Check the matching or the trimming."
            )
    one = np.ones(treated.size)
    t1, t0 = treated, ~treated
    out: dict[str, list[float]] = {
        k: [] for k in ("mt0", "mc0", "s0", "v0", "mt1", "mc1", "s1", "v1")
    }
    for x, is_bin in zip(columns, binary, strict=True):
        var1 = _wvar(x[t1], one[t1], is_bin)
        var0 = _wvar(x[t0], one[t0], is_bin)
        sd = np.sqrt(var1) if estimand == "att" else np.sqrt((var1 + var0) / 2.0)
        for tag, ww in (("0", one), ("1", w)):
            mt = _wmean(x[t1], ww[t1])
            mc = _wmean(x[t0], ww[t0])
            with np.errstate(divide="ignore", invalid="ignore"):
                smd = (mt - mc) / sd if sd > 0 else (0.0 if mt == mc else np.inf * np.sign(mt - mc))
                vr = (
                    float("nan")
                    if is_bin
                    else np.float64(_wvar(x[t1], ww[t1], False))
                    / np.float64(_wvar(x[t0], ww[t0], False))
                )
            out["mt" + tag].append(mt)
            out["mc" + tag].append(mc)
            out["s" + tag].append(float(smd))
            out["v" + tag].append(float(vr))
    smd_after = np.asarray(out["s1"])
    adjusted = weights is not None
    failing = (
        tuple(n for n, s in zip(names, smd_after, strict=True) if abs(s) > rule.max_abs_smd)
        if adjusted
        else ()
    )
    if failing and warn:
        shown = ", ".join(
            f"{n} ({s:+.3f})"
            for n, s in zip(names, smd_after, strict=True)
            if abs(s) > rule.max_abs_smd
        )
        warnings.warn(
            f"covariate balance failed after adjustment: |SMD| > {rule.max_abs_smd:g} for "
            f"{shown}. Add these covariates (or interactions) to the propensity model, "
            "tighten the caliper, or use exact matching on them.",
            BalanceWarning,
            stacklevel=2,
        )
    return Balance(
        terms=tuple(names),
        binary=frozen_array(binary, dtype=np.bool_),
        mean_treated_before=frozen_array(out["mt0"]),
        mean_control_before=frozen_array(out["mc0"]),
        smd_before=frozen_array(out["s0"]),
        var_ratio_before=frozen_array(out["v0"]),
        mean_treated_after=frozen_array(out["mt1"]),
        mean_control_after=frozen_array(out["mc1"]),
        smd_after=frozen_array(smd_after),
        var_ratio_after=frozen_array(out["v1"]),
        estimand=str(estimand),
        adjusted=adjusted,
        n_treated=int(t1.sum()),
        n_control=int(t0.sum()),
        ess_treated=effective_sample_size(w[t1]),
        ess_control=effective_sample_size(w[t0]),
        rule=rule,
        failing=failing,
    )


@dataclass(frozen=True, eq=False)
class Overlap:
    """Overlap of the propensity-score distributions of the two groups.

    Attributes
    ----------
    scores, treated
        The scores and treatment, by position.
    support_low, support_high
        The common support: from the larger of the two groups' smallest scores to the
        smaller of their largest scores.
    outside_treated, outside_control
        Share of each group with a score outside the common support.
    poor
        Whether either share exceeds ``rule.max_outside_support`` (or the supports do
        not meet at all).
    rule
        The rule applied.
    """

    scores: FloatArray = field(repr=False)
    treated: npt.NDArray[np.bool_] = field(repr=False)
    support_low: float
    support_high: float
    outside_treated: float
    outside_control: float
    poor: bool
    rule: BalanceRule

    def to_frame(self) -> pd.DataFrame:
        """One row per group: ``group``, ``n``, ``min``, ``max``, ``outside_support``."""
        rows = []
        for name, mask, share in (
            ("treated", self.treated, self.outside_treated),
            ("control", ~self.treated, self.outside_control),
        ):
            s = self.scores[mask]
            rows.append(
                {
                    "group": name,
                    "n": int(mask.sum()),
                    "min": float(s.min()),
                    "max": float(s.max()),
                    "outside_support": share,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        verdict = "POOR overlap" if self.poor else "overlap acceptable"
        return (
            f"Propensity overlap: common support [{self.support_low:.3f}, "
            f"{self.support_high:.3f}]; outside it {100 * self.outside_treated:.1f}% of "
            f"treated, {100 * self.outside_control:.1f}% of controls ({verdict}; limit "
            f"{100 * self.rule.max_outside_support:g}%)"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>" + self.to_frame().to_html(index=False)

    def plot(self, path: str | Path | None = None) -> Figure:
        """The overlap plot (see :func:`overlap_plot`)."""
        from msreboot.stats._balance_plots import overlap_plot

        return overlap_plot(self, path)


def propensity_overlap(
    score: PropensityScore | npt.ArrayLike,
    treated: npt.ArrayLike | None = None,
    *,
    rule: BalanceRule | None = None,
    warn: bool = True,
) -> Overlap:
    """Common support of the propensity scores and the share of each group outside it.

    Parameters
    ----------
    score
        A fitted :class:`PropensityScore`, or scores with ``treated``.
    treated
        Treatment indicator (bool or 0/1) when ``score`` is an array.
    rule
        When overlap counts as poor (default: more than 5% of either group outside the
        common support).
    warn
        Whether to issue a :class:`BalanceWarning` when overlap is poor.

    Returns
    -------
    Overlap

    Examples
    --------
    >>> ov = propensity_overlap([0.2, 0.6, 0.3, 0.5], [1, 1, 0, 0], warn=False)
    >>> (ov.support_low, ov.support_high, ov.outside_treated)
    (0.3, 0.5, 1.0)
    """
    if isinstance(score, PropensityScore):
        e = np.asarray(score.scores, dtype=np.float64)
        t = np.asarray(score.treated, dtype=bool)
    else:
        e = np.asarray(score, dtype=np.float64)
        if treated is None:
            raise ValueError("treated must be given when score is an array; got None.")
        t = np.asarray(treated).astype(np.float64) == 1
        if e.shape != t.shape or e.ndim != 1:
            raise ValueError(
                f"score and treated must be 1-d of one length; got {e.shape} and {t.shape}."
            )
    if not t.any() or t.all():
        raise ValueError("treated must contain treated and control patients; got one group.")
    rule = rule or BalanceRule()
    low = max(float(e[t].min()), float(e[~t].min()))
    high = min(float(e[t].max()), float(e[~t].max()))
    outside = (e < low) | (e > high)
    out_t = float(outside[t].mean())
    out_c = float(outside[~t].mean())
    poor = low > high or max(out_t, out_c) > rule.max_outside_support
    if poor and warn:
        warnings.warn(
            f"propensity scores overlap poorly: {100 * out_t:.1f}% of treated and "
            f"{100 * out_c:.1f}% of controls lie outside the common support "
            f"[{low:.3f}, {high:.3f}] (limit {100 * rule.max_outside_support:g}%). Restrict "
            "the cohort to patients eligible for both treatments, trim with ps_bounds, or "
            "use overlap weights.",
            BalanceWarning,
            stacklevel=2,
        )
    return Overlap(
        scores=frozen_array(e),
        treated=frozen_array(t, dtype=np.bool_),
        support_low=low,
        support_high=high,
        outside_treated=out_t,
        outside_control=out_c,
        poor=bool(poor),
        rule=rule,
    )
