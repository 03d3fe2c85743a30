"""Turn raw input columns (text from CSV, typed from Parquet or Excel) into canonical dtypes.

Each coercer returns the converted column and a mask of the values that were present in
the input but could not be converted; the caller turns the mask into problems. Missing
values stay missing: whether they are allowed is the schema's business, not the coercer's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from msreboot.data._schema import ColumnSpec, TimeUnit

__all__ = [
    "NA_STRINGS",
    "Coerced",
    "coerce_column",
    "count_numeric",
    "is_missing",
    "normalise_missing",
]

NA_STRINGS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "none", "nat"})
"""Text read as a missing value (compared case-insensitively, after stripping blanks)."""

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_EARLIEST_DATE = pd.Timestamp("1900-01-01")


@dataclass(frozen=True, slots=True)
class Coerced:
    """A converted column and what went wrong converting it."""

    values: pd.Series
    bad: np.ndarray  # bool, True where the input value could not be converted
    problem: str  # message for the bad values


def normalise_missing(raw: pd.Series) -> pd.Series:
    """Strip blanks from text values and turn :data:`NA_STRINGS` into missing values."""
    if not (pdt.is_object_dtype(raw.dtype) or pdt.is_string_dtype(raw.dtype)):
        return raw
    cleaned = [_clean(v) for v in raw.to_numpy(dtype=object)]
    return pd.Series(cleaned, index=raw.index, dtype=object)


def is_missing(v: object) -> bool:
    """True for None, NaN, NA and NaT (one scalar)."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _clean(v: object) -> object:
    if isinstance(v, str):
        text = v.strip()
        return None if len(text) <= 4 and text.lower() in NA_STRINGS else text
    return None if is_missing(v) else v


def coerce_column(
    raw: pd.Series, spec: ColumnSpec, time_unit: TimeUnit, date_format: str | None = None
) -> Coerced:
    """Convert ``raw`` to ``spec``'s canonical dtype, flagging values that do not convert."""
    values = normalise_missing(raw)
    present = values.notna().to_numpy()
    if spec.kind == "date":
        if time_unit == "date":
            return _coerce_date(values, present, date_format)
        return _coerce_day(values, present)
    return _COERCERS[spec.kind](values, present, spec)


def _as_text(values: pd.Series, present: np.ndarray, spec: ColumnSpec) -> Coerced:
    if pdt.is_float_dtype(values.dtype) or pdt.is_integer_dtype(values.dtype):
        # typed ids from Parquet / Excel: 7.0 -> "7"
        text = values.map(_number_text, na_action="ignore")
    else:
        text = values.map(str, na_action="ignore")
    out = text.astype("string")
    if spec.allowed is not None:
        canonical = {a.lower(): a for a in spec.allowed}
        lowered = out.str.lower()
        known = lowered.isin(list(canonical)).fillna(False).to_numpy(dtype=bool)
        out = out.copy()
        out[known] = lowered[known].map(canonical)
    return Coerced(out, np.zeros(len(out), dtype=bool), "")


def _number_text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _as_float(values: pd.Series, present: np.ndarray, spec: ColumnSpec) -> Coerced:
    out = _to_number(values)
    bad = present & out.isna().to_numpy()
    hint = "a number (use a dot as decimal mark)"
    return Coerced(out.astype("float64"), bad, f"{spec.name} must be {hint}")


def _as_int(values: pd.Series, present: np.ndarray, spec: ColumnSpec) -> Coerced:
    number = _to_number(values)
    finite = number.notna().to_numpy()
    whole = np.zeros(len(number), dtype=bool)
    whole[finite] = np.equal(np.mod(number.to_numpy()[finite], 1), 0)
    bad = present & ~whole
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    out[whole] = number[whole].astype("int64")
    return Coerced(out, bad, f"{spec.name} must be a whole number")


def _to_number(values: pd.Series) -> pd.Series:
    if pdt.is_bool_dtype(values.dtype):
        return values.astype("float64")
    if pdt.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    out = pd.to_numeric(values, errors="coerce")
    return pd.Series(np.asarray(out, dtype="float64"), index=values.index)


def _as_bool(values: pd.Series, present: np.ndarray, spec: ColumnSpec) -> Coerced:
    if pdt.is_bool_dtype(values.dtype):
        out = values.astype("boolean")
        return Coerced(out, np.zeros(len(out), dtype=bool), "")
    text = values.map(lambda v: str(v).strip().lower(), na_action="ignore")
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    is_true = text.isin(_TRUE).to_numpy()
    is_false = text.isin(_FALSE).to_numpy()
    out[is_true] = True
    out[is_false] = False
    bad = present & ~(is_true | is_false)
    return Coerced(out, bad, f"{spec.name} must be true or false (or 1/0, yes/no)")


_COERCERS: dict[str, Callable[[pd.Series, np.ndarray, ColumnSpec], Coerced]] = {
    "id": _as_text,
    "category": _as_text,
    "label": _as_text,
    "text": _as_text,
    "float": _as_float,
    "int": _as_int,
    "bool": _as_bool,
}


def _coerce_date(values: pd.Series, present: np.ndarray, date_format: str | None) -> Coerced:
    expected = date_format or "YYYY-MM-DD"
    if pdt.is_datetime64_any_dtype(values.dtype):
        parsed = values
        if getattr(values.dtype, "tz", None) is not None:
            parsed = values.dt.tz_localize(None)
    elif pdt.is_numeric_dtype(values.dtype) or pdt.is_bool_dtype(values.dtype):
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    else:
        text = values.map(_date_text, na_action="ignore")
        parsed = pd.to_datetime(text, format=date_format or "ISO8601", errors="coerce")
    parsed = parsed.dt.normalize().astype("datetime64[ns]")
    today = pd.Timestamp(dt.date.today())
    implausible = ((parsed < _EARLIEST_DATE) | (parsed > today)).to_numpy()
    parsed = parsed.mask(implausible)
    bad = present & parsed.isna().to_numpy()
    problem = (
        f"must be a calendar date ({expected}) between 1900-01-01 and today; "
        "a cohort's dates are either all calendar dates or all whole days from each "
        "patient's origin"
    )
    return Coerced(parsed, bad, problem)


def _date_text(v: object) -> str | None:
    if isinstance(v, (dt.date, pd.Timestamp)):
        return v.isoformat()
    if isinstance(v, str):
        return v
    return None  # a number in a calendar-date cohort: not a date


def _coerce_day(values: pd.Series, present: np.ndarray) -> Coerced:
    number = _to_number(values)
    finite = number.notna().to_numpy()
    whole = np.zeros(len(number), dtype=bool)
    whole[finite] = np.equal(np.mod(number.to_numpy()[finite], 1), 0)
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    out[whole] = number[whole].astype("int64")
    bad = present & ~whole
    return Coerced(out, bad, "must be a whole number of days from the patient's origin")


def count_numeric(values: pd.Series) -> tuple[int, int]:
    """(values that are numbers, values present): how day-like a time column is."""
    values = normalise_missing(values).dropna()
    if values.empty:
        return 0, 0
    if pdt.is_bool_dtype(values.dtype) or pdt.is_datetime64_any_dtype(values.dtype):
        return 0, len(values)
    number = _to_number(values)
    return int(number.notna().sum()), len(values)
