"""The design matrix of a regression: covariate columns coded once, the same way for every
model of :mod:`msreboot.stats` (Cox, Fine-Gray, propensity scores)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from msreboot.stats._checks import FloatArray, as_labels

__all__ = ["design_matrix"]


def design_matrix(
    frame: pd.DataFrame,
    covariates: Sequence[str],
    reference: Mapping[str, Hashable],
    *,
    intercept: bool,
) -> tuple[FloatArray, tuple[str, ...], dict[str, Hashable]]:
    """Covariate columns as a float matrix without intercept, categorical ones dummy-coded.

    Numeric and bool columns enter as they are; other columns (text, categorical) become one
    0/1 column per level except the reference level (the first category, or the first in
    sorted order: R's treatment contrasts), named ``"column[level]"``. ``intercept`` says
    whether the model adds one (logistic regression) or has none (Cox, Fine-Gray); only the
    wording of the errors depends on it. Shared by every regression of this package, so
    that a covariate is coded, and refused, the same way everywhere.
    """
    if isinstance(covariates, str):
        raise TypeError(
            f"covariates must be a list of column names; got the string {covariates!r}. "
            f"Write [{covariates!r}]."
        )
    covariates = list(covariates)
    if not covariates:
        raise ValueError("covariates must name at least one column; got none.")
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise ValueError(
            f"covariates must name columns of frame; got {missing!r}. "
            f"Columns are: {', '.join(map(str, frame.columns))}."
        )
    columns: list[FloatArray] = []
    names: list[str] = []
    refs: dict[str, Hashable] = {}
    for col in covariates:
        series = frame[col]
        dtype = series.dtype
        if series.isna().any():
            pos = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise ValueError(
                f"covariate {col!r} must have no missing values; got one at position {pos} "
                f"({int(series.isna().sum())} in all). Impute or drop those rows first."
            )
        if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
            raise ValueError(
                f"covariate {col!r} must be numeric, bool or categorical; got dtype {dtype}. "
                "Convert dates to a number (e.g. age in years) first."
            )
        numeric = pd.api.types.is_numeric_dtype(dtype) and not isinstance(
            dtype, pd.CategoricalDtype
        )
        if numeric or pd.api.types.is_bool_dtype(dtype):
            values = series.to_numpy(dtype=np.float64)
            if not np.all(np.isfinite(values)):
                raise ValueError(
                    f"covariate {col!r} must be finite; got an infinite value. "
                    "Drop or correct those rows first."
                )
            columns.append(values)
            names.append(str(col))
            continue
        labels, levels = as_labels(series, name=f"covariate {col!r}")
        base = reference.get(col, levels[0])
        if base not in levels:
            raise ValueError(
                f"reference level of {col!r} must be one of {list(levels)!r}; got {base!r}."
            )
        refs[col] = base
        for level in levels:
            if level != base:
                columns.append((labels == level).astype(np.float64))
                names.append(f"{col}[{level}]")
    unknown = sorted(map(str, set(reference) - set(refs)))
    if unknown:
        raise ValueError(
            f"reference must name categorical covariates; got {unknown!r}. "
            f"Categorical covariates: {sorted(map(str, refs))!r}."
        )
    if not columns:
        raise ValueError(
            "covariates must yield at least one model term; got only single-level "
            "categorical covariates. Drop them."
        )
    x = np.column_stack(columns)
    constant = [n for n, c in zip(names, x.T, strict=True) if np.ptp(c) == 0]
    if constant:
        raise ValueError(
            f"covariates must vary; got constant term(s) {constant!r}. Drop them ("
            + ("the model has an intercept)." if intercept else "the model has no intercept).")
        )
    centred = x - x.mean(axis=0)
    if np.linalg.matrix_rank(centred) < x.shape[1]:
        raise ValueError(
            f"covariates must not be collinear; got terms {names!r} whose columns are "
            "linearly dependent"
            + (" (with the intercept)" if intercept else "")
            + ". Drop one of the redundant covariates."
        )
    return x, tuple(names), refs
