"""Propensity scores: a logistic regression of treatment on covariates, checked against R glm."""

from __future__ import annotations

import html
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.stats._checks import FloatArray, as_events, frozen_array
from msreboot.stats._design import design_matrix

__all__ = ["PropensityScore", "SeparationWarning", "as_treatment", "propensity_score"]

#: Newton-Raphson stops when no coefficient changes by more than this, far tighter than
#: R's ``glm.control(epsilon = 1e-8)``, so that scores agree with a tightly converged glm.
_TOL = 1e-12
_MAX_ITER = 100
#: A fitted probability this close to 0 or 1 is "numerically 0 or 1" (R glm's threshold:
#: ``10 * .Machine$double.eps``).
_EDGE = 10 * np.finfo(np.float64).eps


class SeparationWarning(UserWarning):
    """The propensity model separates the groups: some scores are numerically 0 or 1."""


def as_treatment(frame: pd.DataFrame, treatment_col: str) -> npt.NDArray[np.bool_]:
    """The treatment column (bool or 0/1) as a boolean array, by position.

    Raises
    ------
    ValueError
        When the column is missing, has missing values or values other than 0/1, or when
        one group is empty.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame; got {type(frame).__name__}.")
    treated: npt.NDArray[np.bool_] = (
        as_events(treatment_col, frame, name=f"treatment column {treatment_col!r}") == 1.0
    )
    n_treated = int(treated.sum())
    if n_treated == 0 or n_treated == treated.size:
        group = "treated" if n_treated == 0 else "control"
        raise ValueError(
            f"treatment column {treatment_col!r} must have treated (1) and control (0) "
            f"patients; got no {group} patient among {treated.size}. "
            "Propensity methods compare two groups: check the coding of the column."
        )
    return treated


@dataclass(frozen=True, eq=False)
class PropensityScore:
    """A fitted propensity-score model: logistic regression of treatment on covariates.

    Attributes
    ----------
    terms
        ``"(Intercept)"`` then one name per covariate term (``"column[level]"`` for each
        non-reference level of a categorical covariate).
    coef, std_err
        Log-odds coefficients and their model-based standard errors.
    scores
        Fitted probability of treatment, one per patient, by position.
    logit
        Linear predictor log(e / (1 - e)) (the distance that matching uses by default).
    treated
        Treatment indicator, by position.
    converged, n_iter
        Whether IRLS converged and in how many iterations.
    separation
        True when the groups are (quasi-)separated, so that the maximum likelihood estimate
        does not exist: some fitted probability is numerically 0 or 1 (within ``10 * eps``
        of either bound, R glm's rule), Newton-Raphson did not converge, or a single term
        separates the groups (``separating_terms``); a :class:`SeparationWarning` was
        issued.
    separating_terms
        Terms that on their own separate the groups (every treated patient above or below
        every control, or a category level present in one group only).
    covariates, reference_levels
        Columns used, and the reference level of each categorical covariate.
    deviance, n, n_treated
        Residual deviance and the numbers of patients and of treated patients.
    """

    terms: tuple[str, ...]
    coef: FloatArray = field(repr=False)
    std_err: FloatArray = field(repr=False)
    scores: FloatArray = field(repr=False)
    logit: FloatArray = field(repr=False)
    treated: npt.NDArray[np.bool_] = field(repr=False)
    converged: bool
    n_iter: int
    separation: bool
    separating_terms: tuple[str, ...]
    covariates: tuple[str, ...]
    reference_levels: Mapping[str, Hashable]
    deviance: float
    n: int
    n_treated: int

    def to_frame(self) -> pd.DataFrame:
        """One row per patient, by position: ``row``, ``treated``, ``score``, ``logit``."""
        return pd.DataFrame(
            {
                "row": np.arange(self.n),
                "treated": self.treated,
                "score": self.scores,
                "logit": self.logit,
            }
        )

    def coefficients(self) -> pd.DataFrame:
        """One row per term: ``term``, ``coef``, ``std_err``, ``odds_ratio``."""
        return pd.DataFrame(
            {
                "term": list(self.terms),
                "coef": self.coef,
                "std_err": self.std_err,
                "odds_ratio": np.exp(self.coef),
            }
        )

    def summary(self) -> str:
        status = "converged" if self.converged else "did NOT converge"
        lines = [
            f"Propensity score (logistic regression): n = {self.n}, {self.n_treated} treated; "
            f"{status} in {self.n_iter} iterations, deviance {self.deviance:.4g}",
            f"  scores: treated {_range(self.scores[self.treated])}, "
            f"control {_range(self.scores[~self.treated])}",
        ]
        if self.separation:
            sep = ", ".join(self.separating_terms) or "a combination of terms"
            lines.append(f"  WARNING: separation (scores numerically 0 or 1); separating: {sep}")
        for term, b, se in zip(self.terms, self.coef, self.std_err, strict=True):
            lines.append(f"  {term}: {b:.4g} (SE {se:.3g})")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "<br>".join(html.escape(x) for x in self.summary().splitlines()[:2])
        return f"<p>{head}</p>" + self.coefficients().to_html(index=False)


def _range(values: FloatArray) -> str:
    return f"{values.min():.3f} to {values.max():.3f}"


def _separating(x: FloatArray, names: Sequence[str], treated: npt.NDArray[np.bool_]) -> list[str]:
    out = []
    for name, col in zip(names, x.T, strict=True):
        t, c = col[treated], col[~treated]
        if t.min() >= c.max() or t.max() <= c.min():
            out.append(name)
    return out


def _irls(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray, bool, int, float]:
    """Logistic regression of y on an intercept and the columns of x.

    Fitted by Newton-Raphson (statsmodels ``Logit``), which for the canonical logit link is
    the same iteration as R glm's IRLS, on centred and scaled columns (so that the absolute
    step tolerance means the same whatever the units of a covariate), with coefficients and
    their covariance transformed back; statsmodels' ``GLM`` IRLS when the Hessian is
    singular.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationWarning,
    )

    centre = x.mean(axis=0)
    scale = x.std(axis=0)
    z = np.column_stack([np.ones(x.shape[0]), (x - centre) / scale])
    # b = A b*: slopes b*_j / s_j, intercept b*_0 - sum_j b*_j m_j / s_j
    back = np.eye(z.shape[1])
    back[1:, 1:] = np.diag(1.0 / scale)
    back[0, 1:] = -centre / scale
    with warnings.catch_warnings():
        for category in (
            PerfectSeparationWarning,
            ConvergenceWarning,
            HessianInversionWarning,
            RuntimeWarning,
        ):
            warnings.simplefilter("ignore", category)
        try:
            fit = sm.Logit(y, z).fit(method="newton", tol=_TOL, maxiter=_MAX_ITER, disp=0)
            params = np.asarray(fit.params, dtype=np.float64)
            cov = np.asarray(fit.cov_params(), dtype=np.float64)
            converged = bool(fit.mle_retvals["converged"])
            n_iter = int(fit.mle_retvals["iterations"])
            deviance = float(-2.0 * fit.llf)
        except np.linalg.LinAlgError:
            glm = sm.GLM(y, z, family=sm.families.Binomial()).fit(
                method="IRLS", tol=_TOL, maxiter=_MAX_ITER, tol_criterion="deviance"
            )
            params = np.asarray(glm.params, dtype=np.float64)
            cov = np.asarray(glm.cov_params(), dtype=np.float64)
            converged = bool(glm.converged)
            n_iter = int(glm.fit_history.get("iteration", _MAX_ITER))
            deviance = float(glm.deviance)
    coef = back @ params
    with np.errstate(invalid="ignore"):
        std_err = np.sqrt(np.diag(back @ cov @ back.T))
    return coef, std_err, converged, n_iter, deviance


def propensity_score(
    frame: pd.DataFrame,
    treatment_col: str,
    covariates: Sequence[str],
    *,
    reference: Mapping[str, Hashable] | None = None,
) -> PropensityScore:
    """Fit a logistic propensity-score model of treatment on covariates.

    Parameters
    ----------
    frame
        One row per patient; the pandas index is ignored (results are by position).
    treatment_col
        Column with the treatment indicator (bool or 0/1; 1 = treated).
    covariates
        Columns of the model, each entering as a main effect. Numeric and bool columns
        enter as they are; text and categorical columns are dummy-coded with the first
        level (category order, else sorted) as reference, as R's treatment contrasts.
        Interactions or splines enter as extra columns made beforehand.
    reference
        Reference level for some categorical covariates, e.g. ``{"centre": "A"}``.

    Returns
    -------
    PropensityScore
        Coefficients, fitted scores and their logit, convergence and separation flags.

    Raises
    ------
    ValueError
        When the treatment is not 0/1 with both groups present, a covariate is missing,
        has missing or infinite values, is constant or collinear with others, or the
        covariates separate the groups completely (no treated and control patient share
        any range of score).

    Warns
    -----
    SeparationWarning
        On quasi-separation (see ``PropensityScore.separation``): some patients have no
        counterpart in the other group, so inverse weights explode and matching cannot
        find them a partner. The warning names the separating terms.

    Notes
    -----
    The model is logit P(T = 1 | X) = b0 + X b, fitted by Newton-Raphson (statsmodels
    ``Logit``; for the logit link this is the iteration of R's IRLS) until no coefficient
    changes by more than 1e-12.
    This is R's ``glm(treat ~ ., family = binomial)``, which MatchIt's
    ``distance = "glm"`` fits; scores agree with R to 1e-8 (tests/reference/stats).

    References
    ----------
    Rosenbaum PR, Rubin DB (1983). The central role of the propensity score in
    observational studies for causal effects. Biometrika 70:41-55. doi:10.1093/biomet/70.1.41

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"t": [1, 1, 0, 0, 1, 0], "age": [30, 41, 35, 50, 28, 44]})
    >>> ps = propensity_score(frame, "t", ["age"])
    >>> ps.terms
    ('(Intercept)', 'age')
    >>> bool(ps.converged)
    True
    """
    treated = as_treatment(frame, treatment_col)
    if treatment_col in list(covariates):
        raise ValueError(
            f"covariates must not include the treatment column; got {treatment_col!r}. "
            "Remove it from covariates."
        )
    x, names, refs = design_matrix(frame, covariates, reference or {}, intercept=True)
    y = treated.astype(np.float64)
    design = np.column_stack([np.ones(x.shape[0]), x])
    separating = _separating(x, names, treated)
    coef, std_err, converged, n_iter, dev = _irls(x, y)
    with np.errstate(over="ignore"):
        eta = design @ coef
        scores = 1.0 / (1.0 + np.exp(-eta))
    edge = (scores < _EDGE) | (scores > 1.0 - _EDGE)
    separated = bool(edge.any() or not converged or separating)
    what = ", ".join(separating) if separating else "a combination of the covariates"
    if edge.any() or not converged:
        t_min, c_max = scores[treated].min(), scores[~treated].max()
        t_max, c_min = scores[treated].max(), scores[~treated].min()
        if t_min >= c_max or t_max <= c_min:
            raise ValueError(
                "treatment must not be perfectly predicted by the covariates; got complete "
                f"separation by {what}: no treated and control patients share a range of "
                "propensity score, so they cannot be compared. Restrict the cohort to "
                "patients eligible for both treatments or drop the separating covariate."
            )
    if separated:
        extreme = int(np.sum((scores < 1e-6) | (scores > 1.0 - 1e-6)))
        warnings.warn(
            f"propensity model separates the groups (separated by {what}; "
            + ("the model did not converge; " if not converged else "")
            + f"{extreme} patient(s) with a score within 1e-6 of 0 or 1): these patients "
            "have no counterpart in the other group and the coefficients are not estimable. "
            "Restrict the cohort, merge rare levels or drop the term.",
            SeparationWarning,
            stacklevel=2,
        )
    return PropensityScore(
        terms=("(Intercept)", *names),
        coef=frozen_array(coef),
        std_err=frozen_array(std_err),
        scores=frozen_array(scores),
        logit=frozen_array(eta),
        treated=frozen_array(treated, dtype=np.bool_),
        converged=converged,
        n_iter=n_iter,
        separation=separated,
        separating_terms=tuple(separating),
        covariates=tuple(covariates),
        reference_levels=dict(refs),
        deviance=dev,
        n=int(treated.size),
        n_treated=int(treated.sum()),
    )


def score_values(score: PropensityScore | npt.ArrayLike | str, frame: pd.DataFrame) -> FloatArray:
    """A distance per patient: a fitted model's logit, a column of frame, or an array."""
    if isinstance(score, PropensityScore):
        values = np.asarray(score.logit, dtype=np.float64)
    elif isinstance(score, str):
        if score not in frame.columns:
            raise ValueError(
                f"score must name a column of frame; got {score!r}. "
                "Pass a PropensityScore, an array or a column name."
            )
        values = np.asarray(frame[score].to_numpy(), dtype=np.float64)
    else:
        raw: Any = score.to_numpy() if isinstance(score, pd.Series) else score
        values = np.asarray(raw, dtype=np.float64)
    if values.ndim != 1 or values.size != len(frame):
        raise ValueError(
            f"score must have one value per row of frame ({len(frame)}); got shape "
            f"{values.shape}. Fit the propensity model on the same frame."
        )
    if not np.all(np.isfinite(values)):
        pos = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError(
            f"score must be finite; got {values[pos]} at position {pos}. "
            "Scores of exactly 0 or 1 have an infinite logit: see the separation warning."
        )
    return values
