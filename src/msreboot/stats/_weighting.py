"""Propensity-score weights: IPTW for the ATE and the ATT, overlap weights, stabilised and
trimmed weights, and Kish's effective sample size."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.stats._checks import FloatArray, frozen_array
from msreboot.stats._propensity import PropensityScore

__all__ = ["Estimand", "PropensityWeights", "effective_sample_size", "propensity_weights"]

Estimand = Literal["ate", "att", "overlap"]
_ESTIMANDS: tuple[str, ...] = ("ate", "att", "overlap")


def effective_sample_size(weights: npt.ArrayLike) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 of the positive weights.

    Equals the number of patients when all weights are equal and falls as they spread.

    References
    ----------
    Kish L (1965). Survey Sampling. New York: Wiley.

    Examples
    --------
    >>> effective_sample_size([1, 1, 1, 1])
    4.0
    >>> round(effective_sample_size([1, 1, 1, 3]), 3)
    3.0
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError(
            "weights must be a non-empty 1-d array of finite numbers >= 0; got "
            f"shape {w.shape}. Pass one weight per patient."
        )
    total = float(w.sum())
    if total == 0.0:
        return 0.0
    return total * total / float(np.sum(w * w))


@dataclass(frozen=True, eq=False)
class PropensityWeights:
    """Propensity-score weights, one per patient by position.

    Attributes
    ----------
    weights
        The weights (0 for patients trimmed out by ``ps_bounds``).
    scores, treated
        The propensity scores and treatment the weights were computed from.
    estimand
        ``"ate"``, ``"att"`` or ``"overlap"`` (the average treatment effect in the overlap
        population, ATO).
    stabilized
        Whether ATE weights were multiplied by the marginal probability of the group.
    ps_bounds
        Patients with a score outside these bounds were given weight 0, or ``None``.
    trim_quantile
        Weights above this quantile were set to it, or ``None``.
    trimmed
        Patients given weight 0 by ``ps_bounds``.
    truncated
        Patients whose weight was capped at the ``trim_quantile``.
    ess_treated, ess_control
        Kish effective sample sizes of each group.
    """

    weights: FloatArray = field(repr=False)
    scores: FloatArray = field(repr=False)
    treated: npt.NDArray[np.bool_] = field(repr=False)
    estimand: str
    stabilized: bool
    ps_bounds: tuple[float, float] | None
    trim_quantile: float | None
    trimmed: npt.NDArray[np.bool_] = field(repr=False)
    truncated: npt.NDArray[np.bool_] = field(repr=False)
    ess_treated: float
    ess_control: float

    def to_frame(self) -> pd.DataFrame:
        """One row per patient: ``row``, ``treated``, ``score``, ``weight``, ``trimmed``,
        ``truncated``."""
        return pd.DataFrame(
            {
                "row": np.arange(self.weights.size),
                "treated": self.treated,
                "score": self.scores,
                "weight": self.weights,
                "trimmed": self.trimmed,
                "truncated": self.truncated,
            }
        )

    def summary(self) -> str:
        label = {"ate": "IPTW (ATE)", "att": "IPTW (ATT)", "overlap": "overlap weights (ATO)"}
        head = label[self.estimand] + (", stabilised" if self.stabilized else "")
        if self.ps_bounds is not None:
            head += f", scores outside [{self.ps_bounds[0]:g}, {self.ps_bounds[1]:g}] trimmed"
        if self.trim_quantile is not None:
            head += f", weights capped at the {100 * self.trim_quantile:g}th percentile"
        lines = [head]
        for name, mask, ess in (
            ("treated", self.treated, self.ess_treated),
            ("control", ~self.treated, self.ess_control),
        ):
            w = self.weights[mask]
            pos = w[w > 0]
            lines.append(
                f"  {name}: n = {mask.sum()}, weights {pos.min():.3g} to {pos.max():.3g} "
                f"(sum {w.sum():.4g}), effective sample size {ess:.1f}"
                if pos.size
                else f"  {name}: n = {mask.sum()}, all weights 0"
            )
        lines.append(f"  trimmed: {int(self.trimmed.sum())}, capped: {int(self.truncated.sum())}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def _as_scores(
    score: PropensityScore | npt.ArrayLike, treated: npt.ArrayLike | None
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    if isinstance(score, PropensityScore):
        if treated is not None:
            raise ValueError(
                "treated must be None when score is a PropensityScore; got an array. The "
                "fitted model carries the treatment it was fitted to."
            )
        return np.asarray(score.scores, dtype=np.float64), np.asarray(score.treated, dtype=bool)
    e = np.asarray(score, dtype=np.float64)
    if treated is None:
        raise ValueError(
            "treated must be given when score is an array of probabilities; got None. "
            "Pass treated=frame['treatment'] (bool or 0/1)."
        )
    t_raw = np.asarray(treated)
    t = t_raw.astype(np.float64)
    if t.shape != e.shape or e.ndim != 1:
        raise ValueError(
            f"score and treated must be 1-d of one length; got shapes {e.shape} and {t.shape}."
        )
    if np.any((t != 0) & (t != 1)):
        raise ValueError("treated must be 0/1 or bool; got other values. Recode the column.")
    return e, t == 1


def propensity_weights(
    score: PropensityScore | npt.ArrayLike,
    treated: npt.ArrayLike | None = None,
    *,
    estimand: Estimand = "ate",
    stabilize: bool = False,
    ps_bounds: tuple[float, float] | None = None,
    trim_quantile: float | None = None,
) -> PropensityWeights:
    """Inverse probability of treatment weights (ATE, ATT) or overlap weights.

    Parameters
    ----------
    score
        A fitted :class:`PropensityScore`, or probabilities of treatment e (one per patient,
        in (0, 1)) with ``treated``.
    treated
        Treatment indicator (bool or 0/1) when ``score`` is an array.
    estimand
        ``"ate"``: w = T / e + (1 - T) / (1 - e); ``"att"``: w = T + (1 - T) e / (1 - e);
        ``"overlap"``: w = T (1 - e) + (1 - T) e.
    stabilize
        Multiply ATE weights by the marginal probability of the patient's group, P(T = 1)
        for the treated and P(T = 0) for controls, so that each group's weights sum to
        about its size. Only for ``estimand="ate"`` (ATT weights are already on the treated
        scale, overlap weights are bounded by 1).
    ps_bounds
        ``(low, high)``: patients whose score lies outside are given weight 0 (trimming of
        the population, Crump et al. 2009 suggest (0.1, 0.9)).
    trim_quantile
        Weights above this quantile (R's type 7, over the positive weights; for the ATT over
        the control weights only) are set to it (truncation, called trimming in WeightIt;
        e.g. 0.99). Applied after ``ps_bounds``.

    Returns
    -------
    PropensityWeights
        The weights, which patients were trimmed or capped, and effective sample sizes.

    Raises
    ------
    ValueError
        When a score is not in (0, 1) (after trimming by ``ps_bounds``), or an option is
        out of range.

    Notes
    -----
    IPTW weights each patient by the inverse probability of the treatment received, so
    that the weighted groups both resemble the whole sample (ATE) or the treated (ATT)
    (Austin & Stuart 2015). Overlap weights weight each patient by the probability of the
    other treatment; they are bounded, emphasise patients in clinical equipoise and give
    exact mean balance of every covariate of a logistic propensity model (Li, Morgan &
    Zaslavsky 2018). Stabilised weights: Xu et al. (2010). Checked against the formulas in
    base R on the same scores (tests/reference/stats).

    References
    ----------
    Austin PC, Stuart EA (2015). Moving towards best practice when using inverse
    probability of treatment weighting (IPTW) using the propensity score to estimate
    causal treatment effects in observational studies. Stat Med 34:3661-3679.
    doi:10.1002/sim.6607

    Li F, Morgan KL, Zaslavsky AM (2018). Balancing covariates via propensity score
    weighting. J Am Stat Assoc 113:390-400. doi:10.1080/01621459.2016.1260466

    Xu S, Ross C, Raebel MA, et al. (2010). Use of stabilized inverse propensity scores as
    weights to directly estimate relative risk and its confidence intervals. Value Health
    13:273-277. doi:10.1111/j.1524-4733.2009.00671.x

    Crump RK, Hotz VJ, Imbens GW, Mitnik OA (2009). Dealing with limited overlap in
    estimation of average treatment effects. Biometrika 96:187-199.
    doi:10.1093/biomet/asn055

    Examples
    --------
    >>> w = propensity_weights([0.5, 0.25, 0.5, 0.75], [1, 1, 0, 0])
    >>> w.weights.tolist()
    [2.0, 4.0, 2.0, 4.0]
    >>> propensity_weights([0.5, 0.25, 0.5, 0.75], [1, 1, 0, 0], estimand="att").weights.tolist()
    [1.0, 1.0, 1.0, 3.0]
    """
    e, t = _as_scores(score, treated)
    if estimand not in _ESTIMANDS:
        raise ValueError(
            f"estimand must be one of {', '.join(map(repr, _ESTIMANDS))}; got {estimand!r}."
        )
    if stabilize and estimand != "ate":
        raise ValueError(
            f"stabilize must be False for estimand {estimand!r}; got True. Stabilisation "
            "applies to ATE weights; ATT weights are on the treated scale already and "
            "overlap weights are bounded by 1."
        )
    if not t.any() or t.all():
        raise ValueError(
            "treated must contain treated and control patients; got one group only. "
            "Weights compare two groups."
        )
    trimmed = np.zeros(e.size, dtype=bool)
    if ps_bounds is not None:
        low, high = (float(b) for b in ps_bounds)
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(
                f"ps_bounds must satisfy 0 <= low < high <= 1; got {ps_bounds!r}. "
                "Crump et al. (2009) suggest (0.1, 0.9)."
            )
        trimmed = (e < low) | (e > high)
        if trimmed[t].all() or trimmed[~t].all():
            raise ValueError(
                f"ps_bounds must keep patients of both groups; got {ps_bounds!r}, which trims "
                "every patient of one group. Widen the bounds."
            )
    kept = ~trimmed
    bad = kept & ~((e > 0.0) & (e < 1.0))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"propensity scores must be in (0, 1); got {e[pos]!r} at position {pos}. "
            "Scores of 0 or 1 come from separation: trim them with ps_bounds or refit."
        )
    ek = np.where(kept, e, 0.5)
    if estimand == "ate":
        w = np.where(t, 1.0 / ek, 1.0 / (1.0 - ek))
        if stabilize:
            p1 = float(t.mean())
            w = w * np.where(t, p1, 1.0 - p1)
    elif estimand == "att":
        w = np.where(t, 1.0, ek / (1.0 - ek))
    else:
        w = np.where(t, 1.0 - ek, ek)
    w = np.where(kept, w, 0.0)
    truncated = np.zeros(e.size, dtype=bool)
    if trim_quantile is not None:
        q = float(trim_quantile)
        if not 0.5 <= q < 1.0:
            raise ValueError(
                f"trim_quantile must be in [0.5, 1); got {trim_quantile!r}. "
                "Use e.g. 0.99 to cap the largest 1% of weights."
            )
        pool = (w > 0) & (~t if estimand == "att" else np.ones_like(t))
        cap = float(np.quantile(w[pool], q))  # numpy's default is R's type 7
        truncated = pool & (w > cap)
        w = np.where(truncated, cap, w)
    return PropensityWeights(
        weights=frozen_array(w),
        scores=frozen_array(e),
        treated=frozen_array(t, dtype=np.bool_),
        estimand=estimand,
        stabilized=bool(stabilize),
        ps_bounds=None if ps_bounds is None else (float(ps_bounds[0]), float(ps_bounds[1])),
        trim_quantile=None if trim_quantile is None else float(trim_quantile),
        trimmed=frozen_array(trimmed, dtype=np.bool_),
        truncated=frozen_array(truncated, dtype=np.bool_),
        ess_treated=effective_sample_size(w[t]),
        ess_control=effective_sample_size(w[~t]),
    )
