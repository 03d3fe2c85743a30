"""Two-group effect sizes: 2x2 tables (log OR, log RR, RD) and means (MD, SMD)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

from msreboot.evidence._checks import (
    EvidenceError,
    FloatArray,
    as_vector,
    check_counts,
    check_positive,
    check_same_length,
    labels_or_default,
)

if TYPE_CHECKING:
    from msreboot.evidence._pooled import PooledEstimate

__all__ = [
    "BinaryMeasure",
    "ContinuityTo",
    "EffectSizes",
    "MeanMeasure",
    "binary_effect_sizes",
    "check_table",
    "mean_effect_sizes",
]

BinaryMeasure = Literal["OR", "RR", "RD"]
MeanMeasure = Literal["MD", "SMD"]
ContinuityTo = Literal["only0", "all", "if0all", "none"]
_TO: tuple[str, ...] = ("only0", "all", "if0all", "none")


@dataclass(frozen=True)
class EffectSizes:
    """Study effect sizes and sampling variances for one two-group measure.

    Attributes
    ----------
    measure
        ``"OR"`` / ``"RR"`` (log scale), ``"RD"``, ``"MD"`` or ``"SMD"``.
    labels, yi, vi
        Per study: label, effect on the analysis scale and sampling variance (NaN where the
        study gives no effect, see ``dropped``).
    dropped
        Per study: whether it has no estimable effect (a double-zero table with
        ``drop00=True``, or a zero cell with ``to="none"``).
    corrected
        Per study: whether the continuity correction was added to its cells.
    """

    measure: str
    labels: tuple[str, ...]
    yi: tuple[float, ...] = field(repr=False)
    vi: tuple[float, ...] = field(repr=False)
    dropped: tuple[bool, ...] = field(repr=False)
    corrected: tuple[bool, ...] = field(repr=False)

    @property
    def k(self) -> int:
        """Number of studies with an estimable effect."""
        return int(sum(not d for d in self.dropped))

    def to_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, vi, sei, dropped, corrected."""
        vi = np.asarray(self.vi)
        return pd.DataFrame(
            {
                "label": list(self.labels),
                "yi": list(self.yi),
                "vi": vi,
                "sei": np.sqrt(vi),
                "dropped": list(self.dropped),
                "corrected": list(self.corrected),
            }
        )

    def pool(self, **kwargs: Any) -> PooledEstimate:
        """Pool the estimable studies with :func:`msreboot.evidence.pool` (keywords as there).

        Studies in ``dropped`` are left out; the measure is passed on.
        """
        from msreboot.evidence._meta import pool

        keep = [i for i, d in enumerate(self.dropped) if not d]
        if not keep:
            raise EvidenceError(
                "effect sizes must include at least one estimable study; got none "
                "(every table was dropped). Use drop00=False or to='only0'."
            )
        vi = np.asarray(self.vi)[keep]
        if np.any(vi <= 0):
            i = keep[int(np.flatnonzero(vi <= 0)[0])]
            raise EvidenceError(
                f"vi must be positive to pool; got {self.vi[i]:g} for {self.labels[i]!r}. "
                "A risk difference of a table with no events in either arm has variance 0 "
                "without a continuity correction: use to='only0' or drop00=True."
            )
        return pool(
            np.asarray(self.yi)[keep],
            vi,
            measure=self.measure,  # type: ignore[arg-type]
            labels=[self.labels[i] for i in keep],
            **kwargs,
        )

    def summary(self) -> str:
        """Short text: measure, studies, dropped and corrected counts."""
        return (
            f"{self.measure} effect sizes of {len(self.labels)} studies: {self.k} estimable, "
            f"{sum(self.dropped)} dropped, {sum(self.corrected)} continuity-corrected"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def check_table(
    ai: Sequence[float] | npt.ArrayLike,
    bi: Sequence[float] | npt.ArrayLike,
    ci: Sequence[float] | npt.ArrayLike,
    di: Sequence[float] | npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Checked 2x2 cells: whole numbers >= 0, aligned, each arm with at least one patient."""
    cells = {n: as_vector(n, v) for n, v in (("ai", ai), ("bi", bi), ("ci", ci), ("di", di))}
    check_same_length(**cells)
    for name, arr in cells.items():
        check_positive(name, arr, allow_zero=True)
        check_counts(name, arr)
    a, b, c, d = cells["ai"], cells["bi"], cells["ci"], cells["di"]
    for arm, total in (("treated (ai + bi)", a + b), ("control (ci + di)", c + d)):
        empty = np.flatnonzero(total == 0)
        if empty.size:
            raise EvidenceError(
                f"each arm must have at least one patient; got an empty {arm} arm at "
                f"position {int(empty[0])}. Drop that study."
            )
    return a, b, c, d


def binary_effect_sizes(
    ai: Sequence[float] | npt.ArrayLike,
    bi: Sequence[float] | npt.ArrayLike,
    ci: Sequence[float] | npt.ArrayLike,
    di: Sequence[float] | npt.ArrayLike,
    *,
    measure: BinaryMeasure = "OR",
    add: float = 0.5,
    to: ContinuityTo = "only0",
    drop00: bool = False,
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """Log odds ratios, log risk ratios or risk differences from 2x2 tables.

    Parameters
    ----------
    ai, bi, ci, di
        Per study: events and non-events in the treated arm (``ai``, ``bi``) and in the
        control arm (``ci``, ``di``).
    measure
        ``"OR"`` (log odds ratio), ``"RR"`` (log risk ratio) or ``"RD"`` (risk difference).
    add
        Continuity correction added to every cell of the studies chosen by ``to``.
    to
        ``"only0"`` (default: studies with a zero cell), ``"all"`` (every study),
        ``"if0all"`` (every study if any has a zero cell) or ``"none"``.
    drop00
        Give no effect (NaN, ``dropped``) to studies with no events, or only events, in
        both arms, before any correction.
    labels
        Study labels (default ``"study 1"`` ...).

    Returns
    -------
    EffectSizes

    Notes
    -----
    With ``n1 = ai + bi`` and ``n2 = ci + di`` (after the correction):
    ``log OR = log(ai di / (bi ci))``, ``v = 1/ai + 1/bi + 1/ci + 1/di``;
    ``log RR = log((ai / n1) / (ci / n2))``, ``v = 1/ai - 1/n1 + 1/ci - 1/n2``;
    ``RD = ai / n1 - ci / n2``, ``v = p1 (1 - p1) / n1 + p2 (1 - p2) / n2``.
    A zero cell left uncorrected (``to="none"``) makes a ratio inestimable (``dropped``);
    a risk difference stays defined. These are metafor's ``escalc`` defaults
    (``add = 1/2, to = "only0"``, ``drop00 = FALSE``) and match it to 1e-6.

    References
    ----------
    Deeks JJ, Higgins JPT, Altman DG. Analysing data and undertaking meta-analyses.
    Cochrane Handbook, chapter 10. doi:10.1002/9781119536604.ch10.

    Examples
    --------
    >>> es = binary_effect_sizes([2, 0], [48, 30], [6, 3], [44, 27], measure="RR")
    >>> [round(y, 3) for y in es.yi]
    [-1.099, -1.946]
    >>> es.corrected
    (False, True)
    """
    a, b, c, d = check_table(ai, bi, ci, di)
    if measure not in ("OR", "RR", "RD"):
        raise EvidenceError(
            f"measure must be one of OR, RR, RD; got {measure!r}. Use 'MD' or 'SMD' with "
            "mean_effect_sizes."
        )
    if to not in _TO:
        raise EvidenceError(
            f"to must be one of {', '.join(_TO)}; got {to!r}. 'only0' is metafor's default."
        )
    if not np.isfinite(add) or add < 0:
        raise EvidenceError(f"add must be a finite number >= 0; got {add!r}. The usual is 0.5.")
    k = a.size
    dropped = np.zeros(k, dtype=bool)
    if drop00:
        dropped = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    zero = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~dropped
    if to == "only0":
        corrected = zero
    elif to == "all":
        corrected = ~dropped
    elif to == "if0all":
        corrected = ~dropped if zero.any() else np.zeros(k, dtype=bool)
    else:
        corrected = np.zeros(k, dtype=bool)
    if add == 0:
        corrected = np.zeros(k, dtype=bool)
    extra = np.where(corrected, add, 0.0)
    a, b, c, d = a + extra, b + extra, c + extra, d + extra
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a * d / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log((a / n1) / (c / n2))
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        else:
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    bad = dropped | ~np.isfinite(yi) | ~np.isfinite(vi)
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    return EffectSizes(
        measure=measure,
        labels=labels_or_default(labels, k),
        yi=tuple(float(v) for v in yi),
        vi=tuple(float(v) for v in vi),
        dropped=tuple(bool(v) for v in bad),
        corrected=tuple(bool(v) for v in corrected),
    )


def hedges_correction(df: FloatArray) -> FloatArray:
    """Hedges' exact small-sample factor ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``."""
    return np.asarray(
        np.exp(special.gammaln(df / 2) - 0.5 * np.log(df / 2) - special.gammaln((df - 1) / 2)),
        dtype=np.float64,
    )


def mean_effect_sizes(
    m1: Sequence[float] | npt.ArrayLike,
    sd1: Sequence[float] | npt.ArrayLike,
    n1: Sequence[float] | npt.ArrayLike,
    m2: Sequence[float] | npt.ArrayLike,
    sd2: Sequence[float] | npt.ArrayLike,
    n2: Sequence[float] | npt.ArrayLike,
    *,
    measure: MeanMeasure = "SMD",
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """Mean differences or standardised mean differences (Hedges' g) of two groups.

    Parameters
    ----------
    m1, sd1, n1
        Per study: mean, standard deviation and size of the treated group.
    m2, sd2, n2
        The same for the control group.
    measure
        ``"MD"`` (raw mean difference) or ``"SMD"`` (Hedges' g, default).
    labels
        Study labels (default ``"study 1"`` ...).

    Returns
    -------
    EffectSizes

    Notes
    -----
    ``MD = m1 - m2``, ``v = sd1^2 / n1 + sd2^2 / n2``. ``SMD = J(m) (m1 - m2) / s_p`` with
    the pooled SD ``s_p^2 = ((n1 - 1) sd1^2 + (n2 - 1) sd2^2) / m``, ``m = n1 + n2 - 2`` and
    Hedges' exact correction ``J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``;
    ``v = 1/n1 + 1/n2 + g^2 / (2 (n1 + n2))`` (metafor's ``escalc`` default, large-sample).

    References
    ----------
    Hedges LV. Distribution theory for Glass's estimator of effect size and related
    estimators. J Educ Stat 1981;6:107-28. doi:10.3102/10769986006002107.

    Examples
    --------
    >>> es = mean_effect_sizes([5.0], [2.0], [20], [4.0], [2.0], [20])
    >>> round(es.yi[0], 4)
    0.4901
    """
    arrays = {
        n: as_vector(n, v)
        for n, v in (("m1", m1), ("sd1", sd1), ("n1", n1), ("m2", m2), ("sd2", sd2), ("n2", n2))
    }
    k = check_same_length(**arrays)
    for name in ("sd1", "sd2"):
        check_positive(name, arrays[name], allow_zero=True)
    for name in ("n1", "n2"):
        check_positive(name, arrays[name])
    a1, s1, k1 = arrays["m1"], arrays["sd1"], arrays["n1"]
    a2, s2, k2 = arrays["m2"], arrays["sd2"], arrays["n2"]
    if measure == "MD":
        yi = a1 - a2
        vi = s1**2 / k1 + s2**2 / k2
    elif measure == "SMD":
        df = k1 + k2 - 2
        small = np.flatnonzero(df < 2)
        if small.size:
            i = int(small[0])
            raise EvidenceError(
                f"n1 + n2 must be at least 4 for an SMD; got {k1[i] + k2[i]:g} at position "
                f"{i}. Use measure='MD' for such a study."
            )
        sp = np.sqrt(((k1 - 1) * s1**2 + (k2 - 1) * s2**2) / df)
        zero = np.flatnonzero(sp == 0)
        if zero.size:
            raise EvidenceError(
                f"the pooled SD must be positive for an SMD; got 0 at position "
                f"{int(zero[0])}. Check the study's standard deviations."
            )
        yi = hedges_correction(df) * (a1 - a2) / sp
        vi = 1 / k1 + 1 / k2 + yi**2 / (2 * (k1 + k2))
    else:
        raise EvidenceError(
            f"measure must be 'MD' or 'SMD'; got {measure!r}. Use binary_effect_sizes for "
            "OR, RR and RD."
        )
    none = np.zeros(k, dtype=bool)
    return EffectSizes(
        measure=measure,
        labels=labels_or_default(labels, k),
        yi=tuple(float(v) for v in yi),
        vi=tuple(float(v) for v in vi),
        dropped=tuple(bool(v) for v in none),
        corrected=tuple(bool(v) for v in none),
    )
