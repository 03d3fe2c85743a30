"""Rate ratios between groups from a negative-binomial (NB2) or Poisson model, checked against R."""

from __future__ import annotations

import html
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from msreboot.stats._checks import FloatArray, as_labels, check_conf_level, z_value
from msreboot.stats._intervals import exact_poisson_ci
from msreboot.stats._negative_binomial import (
    MAX_IRLS,
    fit_negative_binomial,
    theta_information,
)

__all__ = ["RateRatio", "negative_binomial_rate_ratio"]

Model = Literal["negative_binomial", "poisson"]


@dataclass(frozen=True, eq=False)
class RateRatio:
    """Rate ratios between groups from a negative-binomial (or Poisson) log-linear model.

    Attributes
    ----------
    table
        One row per non-reference group level, then per covariate term (numeric covariates
        by name, each non-reference level of a categorical one as ``"column[level]"``):
        ``term``, ``rate_ratio`` = exp(``estimate``), its Wald interval ``ci_low`` /
        ``ci_high`` at ``conf_level``, the Wald ``p_value``, and the log rate ratio
        ``estimate`` with its ``std_error``. A level without any relapse has rate_ratio 0,
        estimate -inf, ci_low 0 and no std_error, ci_high or p_value (NaN).
    rates
        Observed rates, one row per group level: ``group``, ``patients``, ``relapses``,
        ``person_years``, the pooled ``arr`` (relapses / person-years) with its exact Poisson
        interval ``ci_low`` / ``ci_high``, and ``reference`` (True for the reference level).
    theta, theta_std_error
        Negative-binomial shape theta (variance mu + mu^2 / theta) and its standard error as
        R's ``MASS::theta.ml`` reports it; ``inf`` and NaN for the Poisson model.
    model
        ``"negative_binomial"``, or ``"poisson"`` when the data show no overdispersion.
    group_col, reference
        The grouping column and its reference level.
    intercept, intercept_std_error
        Log relapse rate per person-year of the reference group at covariates 0.
    loglik
        Log-likelihood at the estimate (the full likelihood, as R's ``logLik``).
    conf_level
        Level of the Wald intervals.
    n
        Patients (rows) analysed.
    notes
        What the model did that a reader must know (Poisson fallback, levels without
        relapses); also shown by :meth:`summary`.
    """

    table: pd.DataFrame
    rates: pd.DataFrame
    theta: float
    theta_std_error: float
    model: Model
    group_col: str
    reference: Hashable
    intercept: float
    intercept_std_error: float
    loglik: float
    conf_level: float
    n: int
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The rate-ratio table, one row per term, with the model and conf_level."""
        out = self.table.copy()
        out["model"] = self.model
        out["conf_level"] = self.conf_level
        return out

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        if self.model == "poisson":
            shape = "Poisson model (no overdispersion: theta is infinite)"
        else:
            shape = f"negative binomial, theta {self.theta:.3f} (SE {self.theta_std_error:.3f})"
        lines = [
            f"Relapse rate ratios, {shape}; n = {self.n}, log-likelihood {self.loglik:.2f}",
        ]
        for term, rr, lo, hi, p, _, se in self.table.itertuples(index=False):
            if np.isfinite(se):
                lines.append(
                    f"  {term}: RR {rr:.3g} ({pct} CI {lo:.3g} to {hi:.3g}), p = {_fmt_p(p)}"
                )
            else:
                lines.append(f"  {term}: RR {rr:.3g} (not estimable: no relapses)")
        lines.append(f"  reference: {self.group_col} = {self.reference}")
        lines.append("  observed ARR (pooled relapses / person-years):")
        for row in self.rates.itertuples():
            lines.append(
                f"    {row.group}: {row.relapses} / {row.person_years:.1f} = {row.arr:.3f} "
                f"({row.patients} patients)"
            )
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        text = "<br>".join(html.escape(x) for x in self.summary().splitlines()[:1])
        notes = "".join(f"<br>note: {html.escape(n)}" for n in self.notes)
        return (
            f"<p>{text}{notes}</p>"
            + self.to_frame().to_html(index=False)
            + self.rates.to_html(index=False)
        )


def _fmt_p(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.2e}"


# --- input checks ------------------------------------------------------------------------


def _rows(frame: pd.DataFrame, bad: npt.NDArray[np.bool_]) -> str:
    """Where ``bad`` is true: the first few rows (0-based positions) with their patient_id."""
    where = np.flatnonzero(bad)
    ids = frame["patient_id"].to_numpy() if "patient_id" in frame.columns else None
    shown = [
        f"row {int(i)}" + (f" (patient_id {ids[i]!s})" if ids is not None else "")
        for i in where[:3]
    ]
    more = f" and {where.size - 3} more" if where.size > 3 else ""
    return ", ".join(shown) + more


def _numbers(frame: pd.DataFrame, col: str) -> FloatArray:
    series = frame[col]
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise ValueError(
            f"{col} must be numeric; got dtype {series.dtype} (values such as "
            f"{series.head(3).tolist()!r})."
        )
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _model_frame(
    data: pd.DataFrame, needed: list[str]
) -> tuple[pd.DataFrame, FloatArray, FloatArray]:
    """The model columns (and patient_id) by position, with the counts and the years."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise ValueError(
            f"columns must exist in data; got unknown {absent!r}. "
            f"Columns are: {', '.join(map(str, data.columns))}."
        )
    repeated = sorted({c for c in needed if needed.count(c) > 1})
    if repeated:
        raise ValueError(f"model columns must be distinct; got {repeated!r} more than once.")
    keep = [*needed, "patient_id"] if "patient_id" in data.columns else needed
    frame = data[list(dict.fromkeys(keep))].reset_index(drop=True)
    if frame.empty:
        raise ValueError("data must have at least one row; got none.")
    missing = np.asarray(frame[needed].isna().to_numpy().any(axis=1), dtype=bool)
    if missing.any():
        cols = [c for c in needed if frame[c].isna().any()]
        raise ValueError(
            f"model columns must have no missing values; got {int(missing.sum())} row(s) "
            f"missing {cols!r}: {_rows(frame, missing)}. Drop or complete them first "
            "(R's glm.nb drops them silently)."
        )
    count_col, years_col = needed[0], needed[1]
    counts = _numbers(frame, count_col)
    bad = np.asarray(~np.isfinite(counts) | (counts < 0) | (counts != np.round(counts)), dtype=bool)
    if bad.any():
        raise ValueError(
            f"{count_col} must be whole numbers >= 0; got {counts[bad][0]:g} at "
            f"{_rows(frame, bad)}."
        )
    years = _numbers(frame, years_col)
    bad = np.asarray(~(np.isfinite(years) & (years > 0)), dtype=bool)
    if bad.any():
        raise ValueError(
            f"{years_col} must be > 0 (finite follow-up in years); got {years[bad][0]:g} at "
            f"{_rows(frame, bad)}. Drop patients without follow-up in the period."
        )
    return frame, counts, years


@dataclass(eq=False)
class _Term:
    name: str
    values: FloatArray
    factor: str | None = None  # the categorical column it codes, if any
    level: Hashable = None


def _categorical(series: pd.Series[Any]) -> bool:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ValueError(
            f"covariate {series.name!r} must be numeric, bool or categorical; got dtype {dtype}. "
            "Convert dates to a number (e.g. age in years) first."
        )
    return not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def _dummies(
    series: pd.Series[Any], name: str, base: Hashable | None
) -> tuple[list[_Term], FloatArray, Hashable]:
    labels, levels = as_labels(series, name=name)
    base = levels[0] if base is None else base
    if base not in levels:
        raise ValueError(
            f"reference must be one of the levels of {name!r}, {list(levels)!r}; got {base!r}."
        )
    terms = [
        _Term(f"{name}[{level}]", (labels == level).astype(np.float64), name, level)
        for level in levels
        if level != base
    ]
    return terms, (labels == base).astype(np.float64), base


# --- public ------------------------------------------------------------------------------


def negative_binomial_rate_ratio(
    data: pd.DataFrame,
    *,
    count_col: str = "relapses",
    years_col: str = "years",
    group_col: str = "group",
    covariates: Sequence[str] = (),
    reference: Hashable | None = None,
    conf_level: float = 0.95,
) -> RateRatio:
    """Relapse rate ratios between groups from a negative-binomial regression.

    Fits the NB2 log-linear model ``log E[count] = log(years) + b0 + b_group + b' x`` with
    variance mu + mu^2 / theta, jointly by maximum likelihood in the coefficients and
    theta, as R's ``MASS::glm.nb(count ~ group + covariates + offset(log(years)))``.

    Parameters
    ----------
    data
        One row per patient (its index is ignored); a ``patient_id`` column, if present, is
        used in error messages.
    count_col
        Relapses (whole numbers >= 0).
    years_col
        Follow-up in years (> 0); enters as the offset log(years).
    group_col
        Groups to compare, treatment-coded against ``reference``.
    covariates
        Further columns: numeric and bool enter as they are; text and categorical columns are
        treatment-coded against their first level.
    reference
        Reference level of ``group_col``; ``None``: the first level in sorted order (the first
        category of a pandas Categorical), as R's default factor levels.
    conf_level
        Level of the Wald intervals of the rate ratios.

    Returns
    -------
    RateRatio

    Raises
    ------
    ValueError
        Unknown columns; missing values; counts that are not whole numbers >= 0; years that
        are not > 0 (the message names the rows and patient_id); fewer than two groups; an
        unknown reference or one without relapses; collinear terms.

    Warns
    -----
    RuntimeWarning
        A non-reference level has no relapses (its rate ratio is 0 and not estimable), or
        the fit did not converge.

    Notes
    -----
    *Estimation.* At a given alpha = 1/theta the coefficients are statsmodels' GLM with
    ``families.NegativeBinomial(alpha)`` (IRLS to 1e-12). alpha is the root of the profile
    score d loglik / d alpha (written to stay exact as alpha -> 0, see
    ``_negative_binomial.alpha_score``), found by Brent's method on log(alpha) to 1e-13.
    (statsmodels' discrete ``NegativeBinomial`` with ``method="newton"`` reaches the same
    maximum when it converges, but its Newton steps in alpha can cross 0: on the hand-made
    reference data (theta 2.1) and on data without overdispersion it returns NaN and
    reports convergence.) Standard errors are those of the GLM at the fitted theta
    (inverse expected information, dispersion 1), as ``summary(glm.nb(...))`` reports
    them; intervals exp(b -/+ z SE) and p-values are Wald. The standard error of theta is
    1 / sqrt(observed information for theta at the fitted means), as ``MASS::theta.ml``.

    *No overdispersion.* At the Poisson fit the slope of the log-likelihood in alpha is
    sum((y - mu)^2 - y) / 2. When it is <= 0 the likelihood is largest at alpha = 0 (theta
    infinite): the result is the Poisson model (``model == "poisson"``, ``theta == inf``),
    noted in the summary. R's glm.nb climbs towards the same limit and stops with an
    "iteration limit reached" warning at a large finite theta.

    *A level without relapses.* Its coefficient tends to -inf and the likelihood's supremum
    is reached by fitting the other terms on the remaining patients, which is what is done:
    the level gets rate ratio 0, estimate -inf, ci_low 0 and NaN standard error, ci_high
    and p-value, with a warning. (R stops at an arbitrary large negative coefficient with a
    huge standard error.) A reference level without relapses raises: choose another one.

    Checked against R 4.2 ``MASS::glm.nb`` (7.3-58) to 1e-6 relative on hand-made,
    simulated (including weak overdispersion, theta 7.8) and bundled data, with covariates
    and at two confidence levels: theta and its SE, coefficients, SEs, rate ratios,
    intervals, p-values and log-likelihood; the Poisson fallback against
    ``glm(family = poisson)``.

    References
    ----------
    Venables WN, Ripley BD. Modern Applied Statistics with S, 4th ed. Springer 2002, section
    7.4 (the ``glm.nb`` algorithm). doi:10.1007/978-0-387-21706-2

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame(
    ...     {
    ...         "group": ["ahsct"] * 6 + ["dmt"] * 6,
    ...         "relapses": [0, 0, 1, 0, 3, 0, 2, 5, 1, 0, 4, 7],
    ...         "years": [4.0, 5.5, 3.0, 6.0, 2.5, 4.5, 3.0, 4.0, 2.0, 3.5, 5.0, 4.5],
    ...     }
    ... )
    >>> fit = negative_binomial_rate_ratio(data, reference="dmt")
    >>> print(fit.summary())
    Relapse rate ratios, negative binomial, theta 2.116 (SE 2.952); n = 12, ...
      group[ahsct]: RR 0.215 (95% CI 0.0584 to 0.79), p = 0.0206
      reference: group = dmt
      observed ARR (pooled relapses / person-years):
        ahsct: 4 / 25.5 = 0.157 (6 patients)
        dmt: 19 / 22.0 = 0.864 (6 patients)

    R gives the same (``tests/reference/endpoints/nb_rate_ratio_reference.R``, case "hand").
    """
    conf_level = check_conf_level(conf_level)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    frame, y, years = _model_frame(data, [count_col, years_col, group_col, *covariates])
    terms, base = _terms(frame, y, group_col, covariates, reference)
    empty, keep = _without_relapses(terms, y)
    notes = [
        f"{t.factor} = {t.level} has no relapses: its rate ratio is 0 and not estimable "
        "(estimate -inf; no standard error, upper limit or p-value); the other terms are "
        f"fitted without its {int((t.values == 1).sum())} patient(s), the likelihood's limit."
        for t in empty
    ]
    for note in notes:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    fitted = [t for t in terms if t not in empty]
    x = np.column_stack([np.ones(int(keep.sum()))] + [t.values[keep] for t in fitted])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError(
            "model terms must not be collinear with each other or constant; got "
            f"{[t.name for t in fitted]!r}"
            + (" after leaving out the levels without relapses" if empty else "")
            + ". Drop the redundant covariates."
        )
    fit, converged = fit_negative_binomial(y[keep], x, np.log(years[keep]))
    if not converged:
        warnings.warn(
            f"the rate model did not converge in {MAX_IRLS} IRLS iterations; its estimates "
            "may be unreliable (a covariate that separates patients with and without "
            "relapses can do this).",
            RuntimeWarning,
            stacklevel=2,
        )
    if fit.alpha > 0:
        model: Model = "negative_binomial"
        theta = 1 / fit.alpha
        info = theta_information(y[keep], fit.mu, theta)
        theta_se = float(1 / np.sqrt(info)) if info > 0 else np.nan
    else:
        model, theta, theta_se = "poisson", np.inf, np.nan
        notes.insert(
            0,
            "no overdispersion (sum((y - mu)^2 - y) <= 0 at the Poisson fit): the "
            "likelihood is largest at theta = inf, so this is the Poisson model.",
        )
    estimates = dict(zip(fitted, zip(fit.params[1:], fit.std_error[1:], strict=True), strict=True))
    return RateRatio(
        table=_table(terms, estimates, conf_level),
        rates=_observed(frame[group_col], y, years, group_col, base, conf_level),
        theta=float(theta),
        theta_std_error=theta_se,
        model=model,
        group_col=group_col,
        reference=base,
        intercept=float(fit.params[0]),
        intercept_std_error=float(fit.std_error[0]),
        loglik=fit.loglik,
        conf_level=conf_level,
        n=int(y.size),
        notes=tuple(notes),
    )


def _terms(
    frame: pd.DataFrame,
    y: FloatArray,
    group_col: str,
    covariates: list[str],
    reference: Hashable | None,
) -> tuple[list[_Term], Hashable]:
    """Model terms (group levels, then covariates) and the reference level of the groups."""
    terms, is_base, base = _dummies(frame[group_col], group_col, reference)
    if not terms:
        raise ValueError(
            f"{group_col} must have at least two levels to compare; got only {base!r}."
        )
    if not y[is_base == 1].sum() > 0:
        raise ValueError(
            f"the reference group must have at least one relapse; got none in {group_col} = "
            f"{base!r} ({int(is_base.sum())} patients): every rate ratio would be infinite. "
            f"Choose another reference, e.g. reference={terms[0].level!r}."
        )
    for col in covariates:
        if _categorical(frame[col]):
            levels, is_ref, ref = _dummies(frame[col], col, None)
            if not y[is_ref == 1].sum() > 0:
                raise ValueError(
                    f"the reference level of covariate {col!r} must have at least one "
                    f"relapse; got none in {col} = {ref!r}. Recode {col!r} (e.g. merge levels)."
                )
            terms += levels
        else:
            terms.append(_Term(col, frame[col].to_numpy(dtype=np.float64)))
    return terms, base


def _without_relapses(
    terms: list[_Term], y: FloatArray
) -> tuple[list[_Term], npt.NDArray[np.bool_]]:
    """Levels without relapses, and the rows left once their patients are set aside.

    Such a level's coefficient tends to -inf, its patients' likelihood to 1, and the other
    coefficients to their maximum on the remaining rows. Repeated until no level is empty
    (setting patients aside can empty another factor's level).
    """
    keep = np.ones(y.size, dtype=bool)
    empty: list[_Term] = []
    changed = True
    while changed:
        changed = False
        for term in terms:
            inside = keep & (term.values == 1)
            if term.factor is not None and term not in empty and y[inside].sum() == 0:
                empty.append(term)
                keep &= ~inside
                changed = True
    return empty, keep


def _table(
    terms: list[_Term], estimates: dict[_Term, tuple[float, float]], conf_level: float
) -> pd.DataFrame:
    from scipy import stats

    crit = z_value(conf_level)
    rows = []
    for term in terms:
        if term not in estimates:  # a level without relapses
            rows.append((term.name, 0.0, 0.0, np.nan, np.nan, -np.inf, np.nan))
            continue
        b, se = (float(v) for v in estimates[term])
        with np.errstate(over="ignore"):
            rr, lo, hi = np.exp([b, b - crit * se, b + crit * se])
        p = float(2 * stats.norm.sf(abs(b / se)))
        rows.append((term.name, float(rr), float(lo), float(hi), p, b, se))
    return pd.DataFrame(
        rows,
        columns=["term", "rate_ratio", "ci_low", "ci_high", "p_value", "estimate", "std_error"],
    )


def _observed(
    groups: pd.Series[Any],
    y: FloatArray,
    years: FloatArray,
    group_col: str,
    base: Hashable,
    conf_level: float,
) -> pd.DataFrame:
    labels, levels = as_labels(groups, name=group_col)
    rows = []
    for level in levels:
        inside = labels == level
        k, t = int(y[inside].sum()), float(years[inside].sum())
        lo, hi = exact_poisson_ci(k, t, conf_level)
        rows.append(
            {
                "group": level,
                "patients": int(inside.sum()),
                "relapses": k,
                "person_years": t,
                "arr": k / t,
                "ci_low": lo,
                "ci_high": hi,
                "reference": level == base,
            }
        )
    return pd.DataFrame(rows)
