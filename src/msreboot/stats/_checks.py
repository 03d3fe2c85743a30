"""Input checks shared by the survival statistics: times, events, statuses, groups, levels.

Everything is converted once, here, to plain numpy arrays; the pandas index is ignored
(values are taken by position), so a Series with a shuffled or duplicated index cannot
misalign durations and events.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
ConfType = Literal["log-log", "log", "plain"]
Column: TypeAlias = "npt.ArrayLike | pd.Series[Any] | str"

CONF_TYPES: tuple[str, ...] = ("log-log", "log", "plain")


def frozen_array(values: npt.ArrayLike, dtype: type = np.float64) -> npt.NDArray[Any]:
    """A read-only copy of ``values`` (result arrays cannot be changed in place)."""
    arr: npt.NDArray[Any] = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


def check_conf_level(conf_level: float, error: type[ValueError] = ValueError) -> float:
    """Return ``conf_level`` as a float after checking it lies in (0, 1).

    ``error`` is the exception raised otherwise (a ``ValueError`` subclass, such as the
    evidence package's ``EvidenceError``).
    """
    value = float(conf_level)
    if not 0.0 < value < 1.0:
        hint = (
            f" Did you mean {value / 100:g}?"
            if 1.0 < value < 100.0
            else " Pass a probability such as 0.95."
        )
        raise error(f"conf_level must be in (0, 1); got {conf_level!r}.{hint}")
    return value


def check_counts(
    name: str, values: npt.ArrayLike, error: type[ValueError] = ValueError
) -> FloatArray:
    """Return ``values`` as a float array after checking they are whole numbers >= 0.

    Counts (events, patients) are whole numbers: 1.5 events is a data error, never rounded.
    ``error`` is the exception raised otherwise (a ``ValueError`` subclass, such as the
    evidence package's ``EvidenceError``).
    """
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr)))
    if bad.size:
        pos = int(bad[0])
        where = f" at position {pos}" if arr.size > 1 else ""
        raise error(
            f"{name} must be whole numbers >= 0 (counts); got {arr[pos]:g}{where}. "
            "Check the counts: they are never rounded."
        )
    return arr


def check_conf_type(conf_type: str, allowed: tuple[str, ...] = CONF_TYPES) -> ConfType:
    """Return ``conf_type`` after checking it names an interval type."""
    if conf_type not in allowed:
        hint = " Did you mean 'log-log'?" if str(conf_type).replace("_", "-") == "log-log" else ""
        raise ValueError(
            f"conf_type must be one of {', '.join(repr(a) for a in allowed)}; "
            f"got {conf_type!r}.{hint}"
        )
    return conf_type  # type: ignore[return-value]


def z_value(conf_level: float) -> float:
    """Two-sided standard normal quantile for ``conf_level``."""
    from scipy import stats

    return float(stats.norm.ppf(1.0 - (1.0 - conf_level) / 2.0))


def _values(name: str, column: Column, data: pd.DataFrame | None) -> npt.NDArray[Any]:
    if isinstance(column, str):
        if data is None:
            raise ValueError(
                f"{name} must be an array when no data frame is given; got the column name "
                f"{column!r}. Pass data=frame to name columns."
            )
        if column not in data.columns:
            raise ValueError(
                f"{name} must name a column of data; got {column!r}. "
                f"Columns are: {', '.join(map(str, data.columns))}."
            )
        column = data[column]
    if isinstance(column, pd.Series | pd.Index):
        if isinstance(column.dtype, pd.CategoricalDtype):
            return np.asarray(column.astype(object).to_numpy())
        return column.to_numpy()
    arr = np.asarray(column)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    return arr


def _first_bad(
    name: str, arr: npt.NDArray[Any], bad: npt.NDArray[np.bool_], what: str, fix: str
) -> None:
    where = np.flatnonzero(bad)
    if where.size:
        pos = int(where[0])
        raise ValueError(
            f"{name} must be {what}; got {_plain(arr[pos])!r} at position {pos} "
            f"({where.size} such value(s)). {fix}"
        )


def as_times(column: Column, data: pd.DataFrame | None = None, name: str = "time") -> FloatArray:
    """Follow-up times as a finite, non-negative 1-d float array."""
    raw = _values(name, column, data)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {raw.shape}.")
    if raw.size == 0:
        raise ValueError(f"{name} must hold at least one observation; got none.")
    if raw.dtype.kind in "mM":
        raise ValueError(
            f"{name} must be numeric durations (e.g. days from day 0); got dtype {raw.dtype}. "
            "Subtract the origin date and convert to days first."
        )
    try:
        if raw.dtype.kind in "fiu":  # numeric arrays need no conversion through objects
            values = raw.astype(np.float64)
        else:
            values = np.asarray(pd.to_numeric(pd.Series(raw, dtype=object)), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numeric durations; got values such as {raw[:3].tolist()!r}. "
            "Convert to days (or years) from day 0 first."
        ) from None
    _first_bad(
        name,
        values,
        ~np.isfinite(values),
        "finite",
        "Drop or complete rows with missing follow-up first.",
    )
    _first_bad(
        name,
        values,
        values < 0,
        ">= 0",
        "Times are durations from day 0; check the origin and the end dates.",
    )
    return values


def as_events(column: Column, data: pd.DataFrame | None = None, name: str = "event") -> FloatArray:
    """Event indicators (bool or 0/1) as a 1-d float array of 0.0 and 1.0."""
    raw = _values(name, column, data)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {raw.shape}.")
    if raw.dtype.kind in "biuf":  # bool and numeric arrays need no conversion through objects
        values = raw.astype(np.float64)
        missing = np.isnan(values)
    else:
        series = pd.Series(raw, dtype=object)
        missing = series.isna().to_numpy()
    _first_bad(name, raw, missing, "0/1 or bool", "Drop or complete rows with a missing status.")
    try:
        if raw.dtype.kind not in "biuf":
            values = np.asarray(series.astype(np.float64), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be 0/1 or bool; got values such as {raw[:3].tolist()!r}. "
            "Code the event as 1 (or True) and censoring as 0 (or False)."
        ) from None
    _first_bad(
        name,
        raw,
        (values != 0.0) & (values != 1.0),
        "0/1 or bool",
        "For several event types use cumulative_incidence(time, status).",
    )
    return values


def as_status(column: Column, data: pd.DataFrame | None = None, name: str = "status") -> IntArray:
    """Competing-risks status (0 = censored, 1..k = cause) as a 1-d int array."""
    raw = _values(name, column, data)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {raw.shape}.")
    series = pd.Series(raw, dtype=object)
    _first_bad(
        name,
        raw,
        series.isna().to_numpy(),
        "an integer >= 0",
        "Drop or complete rows with a missing status.",
    )
    try:
        values = np.asarray(series.astype(np.float64), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be integer codes (0 = censored, 1..k = cause); got values such as "
            f"{raw[:3].tolist()!r}. Map each cause to an integer first."
        ) from None
    _first_bad(
        name,
        raw,
        (values < 0) | (values != np.round(values)),
        "an integer >= 0",
        "Use 0 for censored and 1..k for the causes.",
    )
    return values.astype(np.int64)


def as_labels(
    column: Column, data: pd.DataFrame | None = None, name: str = "group"
) -> tuple[npt.NDArray[Any], tuple[Hashable, ...]]:
    """Group labels by position and the ordered distinct labels.

    Categorical columns keep their category order (unused categories dropped); other
    labels are sorted, as R orders the levels of a factor made from them.
    """
    ordered: list[Hashable] | None = None
    dtype: Any = (
        data[column].dtype
        if isinstance(column, str) and data is not None and column in data.columns
        else getattr(column, "dtype", None)
    )
    if isinstance(dtype, pd.CategoricalDtype):
        ordered = [_plain(c) for c in dtype.categories]
    raw = _values(name, column, data)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {raw.shape}.")
    labels = np.array([_plain(v) for v in raw], dtype=object)
    missing = pd.isna(pd.Series(labels, dtype=object)).to_numpy()
    _first_bad(name, labels, missing, "non-missing", "Drop rows without a group or label them.")
    present = set(labels.tolist())
    if ordered is not None:
        levels = tuple(c for c in ordered if c in present)
    else:
        try:
            levels = tuple(sorted(present))
        except TypeError:
            levels = tuple(sorted(present, key=str))
    return labels, levels


def _plain(value: Any) -> Hashable:
    """A numpy scalar as the matching Python scalar (so labels print and compare simply)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and np.ndim(value) == 0 else value  # type: ignore[no-any-return]


def check_same_length(**arrays: npt.NDArray[Any]) -> int:
    """Return the common length of ``arrays`` or raise naming the lengths."""
    lengths = {name: int(a.shape[0]) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise ValueError(
            f"inputs must have one value per patient; got lengths {shown}. "
            "Pass columns of one data frame (data=frame with column names) to keep them aligned."
        )
    return next(iter(lengths.values()))


def as_landmarks(times: npt.ArrayLike, name: str = "times") -> FloatArray:
    """Landmark times as a finite, non-negative 1-d float array (a scalar becomes length 1)."""
    values = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if values.ndim != 1:
        raise ValueError(f"{name} must be a number or one-dimensional; got shape {values.shape}.")
    bad = ~np.isfinite(values) | (values < 0)
    _first_bad(name, values, bad, "finite and >= 0", "Landmarks are durations from day 0.")
    return values
