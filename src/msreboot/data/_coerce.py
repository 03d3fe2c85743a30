"""Turn raw input columns (text from CSV, typed from Parquet or Excel) into canonical dtypes.

Each coercer returns the converted column and a mask of the values that were present in
the input but could not be converted; the caller turns the mask into problems. Missing
values stay missing: whether they are allowed is the schema's business, not the coercer's.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from msreboot.data._schema import ColumnSpec, TimeUnit

__all__ = [
    "CELL_BLANKS",
    "EXCEL_DATE_FORMAT",
    "MAX_DAY_OFFSET",
    "NA_STRINGS",
    "Coerced",
    "PartialDates",
    "coerce_column",
    "count_numeric",
    "hidden_characters",
    "is_missing",
    "normalise_missing",
]

CELL_BLANKS = " \t\r\n\xa0"
"""What is trimmed from both ends of a text cell: spaces, tabs, line ends and no-break spaces.
Other Unicode whitespace (U+2028 line separator, U+0085, ...) is kept, so a value holding it
fails to convert or stays as typed instead of being changed without a word."""


def hidden_characters(text: str) -> list[str]:
    """The control, format and replacement characters in ``text`` (``U+2028 LINE SEPARATOR``).

    Tabs are not counted; a header or a key holding one of these would otherwise match
    after the character is dropped.
    """
    found = []
    for ch in dict.fromkeys(text):
        if ch == "\t":
            continue
        if ch == "\ufffd" or unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"}:
            name = unicodedata.name(ch, "control character")
            found.append(f"U+{ord(ch):04X} {name}")
    return found


NA_STRINGS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "none", "nat"})
"""Text read as a missing value (compared case-insensitively, after stripping blanks)."""

_NA_VARIANTS: frozenset[str] = frozenset(
    "".join(chars)
    for na in NA_STRINGS
    for chars in itertools.product(*({c.lower(), c.upper()} for c in na))
)
"""Every spelling of :data:`NA_STRINGS` in upper and lower case (``NA``, ``N/a``, ``NULL``)."""

_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
_EARLIEST_DATE = pd.Timestamp("1900-01-01")

PartialDates = Literal["first", "mid"]
"""How partial calendar dates (``2015-11``, ``2015``) are completed when allowed: ``"first"``
takes the first day of the month or year, ``"mid"`` the 15th of the month or 1 July."""

MAX_DAY_OFFSET = 73_050
"""Largest day-based date, either way from the patient's origin: 200 years of 365.25 days."""

EXCEL_DATE_FORMAT = "excel"
"""``date_format`` value for Excel serial day numbers (days since 1899-12-30)."""

_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")
_ZONED = re.compile(r"^\d{4}-\d{2}-\d{2}[T ][0-9:.]+\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Coerced:
    """A converted column and what went wrong converting it."""

    values: pd.Series
    bad: np.ndarray  # bool, True where the input value could not be converted
    problem: str | pd.Series  # message for the bad values (or one per row, by index)
    completed_mask: np.ndarray | None = None  # partial dates completed under a policy
    timed_mask: np.ndarray | None = None  # date-times whose time of day was dropped
    raw: pd.Series | None = None  # the values as given (for examples)

    @property
    def completed(self) -> int:
        """Partial dates completed under a partial-dates policy."""
        return 0 if self.completed_mask is None else int(self.completed_mask.sum())

    @property
    def times_dropped_n(self) -> int:
        """Date-times read as their date, the time of day dropped."""
        return 0 if self.timed_mask is None else int(self.timed_mask.sum())

    @property
    def times_dropped(self) -> str | None:
        """The first date-time whose time of day was dropped, as given."""
        if not self.times_dropped_n or self.raw is None or self.timed_mask is None:
            return None
        return str(self.raw.iloc[int(np.argmax(self.timed_mask))])

    def expand(self, codes: np.ndarray, index: pd.Index) -> Coerced:
        """The result for every row, from the result for each distinct value (``codes``
        index the distinct values; -1 is a missing cell)."""

        def take(mask: np.ndarray | None) -> np.ndarray | None:
            return None if mask is None else np.append(mask, False)[codes]

        def objects(series: pd.Series) -> pd.Series:
            return pd.Series(series.array.take(codes, allow_fill=True), index=index, dtype=object)

        values = pd.Series(self.values.array.take(codes, allow_fill=True), index=index)
        bad = take(self.bad)
        assert bad is not None
        timed = take(self.timed_mask)
        # per-row messages and raw values are spread only when a row needs them: messages
        # are read for bad rows only, raw values for the example of a dropped time of day
        problem = self.problem
        if isinstance(problem, pd.Series):
            problem = objects(problem.astype(object)) if bad.any() else ""
        needs_raw = self.raw is not None and timed is not None and bool(timed.any())
        raw = objects(self.raw.astype(object)) if needs_raw and self.raw is not None else None
        return Coerced(values, bad, problem, take(self.completed_mask), timed, raw)


def normalise_missing(raw: pd.Series, *, distinct: bool = False) -> pd.Series:
    """Strip blanks from text values and turn :data:`NA_STRINGS` into missing values.
    ``distinct``: the values are known to be distinct (they are not factorized again)."""
    if not (pdt.is_object_dtype(raw.dtype) or pdt.is_string_dtype(raw.dtype)):
        return raw
    array = raw.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) == "string":
        # what _clean does, vectorised over the distinct values
        if distinct and not pd.isna(array).any():
            codes, uniques = np.arange(len(array)), array
        else:
            codes, uniques = pd.factorize(array)
        text = pd.Series(uniques, dtype=object)
        joined = "\x00".join(uniques)  # one scan: is any value to strip at all?
        if any(blank in joined for blank in CELL_BLANKS):
            text = text.str.strip(CELL_BLANKS)
        # text.lower() in NA_STRINGS exactly when text is one of their ASCII case variants
        # (no other character lower-cases to one of their letters): one hashed lookup
        missing = text.isin(_NA_VARIANTS).to_numpy(bool)
        table = np.empty(len(text) + 1, dtype=object)  # the last entry: missing cells (-1)
        table[:-1] = text.to_numpy(dtype=object)
        table[:-1][missing] = None
        return pd.Series(table[codes], index=raw.index, dtype=object)
    return map_distinct(raw, _clean)


def map_distinct(values: pd.Series, func: Callable[[Any], object]) -> pd.Series:
    """``func`` of every present value (missing values give ``None``), as an object Series.

    ``func`` must depend on its value only. When the values are all text (as read from a
    CSV file), it is called once per distinct value, which makes cleaning a million cells
    of a few thousand distinct ids or dates cheap; for mixed cells (Excel) it is called per
    cell, since grouping would merge ``1``, ``1.0`` and ``True``.
    """
    array = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) == "string":
        codes, uniques = pd.factorize(array)
        table = np.array([*(func(u) for u in uniques), None], dtype=object)
        return pd.Series(table[codes], index=values.index, dtype=object)
    mapped = [None if is_missing(v) else func(v) for v in array]
    return pd.Series(mapped, index=values.index, dtype=object)


def is_missing(v: object) -> bool:
    """True for None, NaN, NA and NaT (one scalar)."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _clean(v: object) -> object:
    if isinstance(v, str):
        text = v.strip(CELL_BLANKS)
        return None if len(text) <= 4 and text.lower() in NA_STRINGS else text
    return None if is_missing(v) else v


def coerce_column(
    raw: pd.Series,
    spec: ColumnSpec,
    time_unit: TimeUnit,
    date_format: str | None = None,
    partial_dates: PartialDates | None = None,
    distinct: tuple[np.ndarray, pd.Series] | Literal[False] | None = False,
) -> Coerced:
    """Convert ``raw`` to ``spec``'s canonical dtype, flagging values that do not convert.

    Text columns (as read from CSV) are converted once per distinct value, so that a million
    cells of a few thousand distinct dates or scores cost a few thousand conversions.
    ``distinct`` is :func:`factorize_text` of ``raw`` when the caller already has it (the
    default ``False`` computes it here).
    """
    if distinct is False:
        distinct = factorize_text(raw)
    if distinct is not None:
        codes, uniques = distinct
        return _coerce(uniques, spec, time_unit, date_format, partial_dates, True).expand(
            codes, raw.index
        )
    return _coerce(raw, spec, time_unit, date_format, partial_dates)


def factorize_text(raw: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """``(codes, distinct values)`` of a column of text cells (missing cells code -1), or
    ``None`` when the column holds anything else (typed cells are converted one by one,
    since grouping would merge ``1``, ``1.0`` and ``True``)."""
    if not (pdt.is_object_dtype(raw.dtype) or pdt.is_string_dtype(raw.dtype)):
        return None
    array = raw.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) not in ("string", "empty"):
        return None
    codes, uniques = pd.factorize(array)
    return codes, pd.Series(uniques, dtype=object)


def _coerce(
    raw: pd.Series,
    spec: ColumnSpec,
    time_unit: TimeUnit,
    date_format: str | None,
    partial_dates: PartialDates | None,
    distinct: bool = False,
) -> Coerced:
    values = normalise_missing(raw, distinct=distinct)
    present = values.notna().to_numpy()
    if spec.kind == "date":
        if time_unit == "date":
            return replace(_coerce_date(values, present, date_format, partial_dates), raw=raw)
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
    """Numbers as float; true/false values (a boolean Parquet column, Excel TRUE) are not
    numbers and become missing, so that they are reported rather than read as 1 and 0."""
    if pdt.is_bool_dtype(values.dtype):
        return pd.Series(np.nan, index=values.index, dtype="float64")
    if pdt.is_numeric_dtype(values.dtype):
        return values.astype("float64")
    if pdt.is_object_dtype(values.dtype):
        kept = [None if isinstance(v, (bool, np.bool_)) else v for v in values.to_numpy()]
        values = pd.Series(kept, index=values.index, dtype=object)
    out = pd.to_numeric(values, errors="coerce")
    return pd.Series(np.asarray(out, dtype="float64"), index=values.index)


def _as_bool(values: pd.Series, present: np.ndarray, spec: ColumnSpec) -> Coerced:
    if pdt.is_bool_dtype(values.dtype):
        out = values.astype("boolean")
        return Coerced(out, np.zeros(len(out), dtype=bool), "")
    text = values.map(lambda v: str(v).strip(CELL_BLANKS).lower(), na_action="ignore")
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


def _coerce_date(
    values: pd.Series,
    present: np.ndarray,
    date_format: str | None,
    partial_dates: PartialDates | None = None,
) -> Coerced:
    expected = date_format or "YYYY-MM-DD"
    special = pd.Series(None, index=values.index, dtype=object)  # per-row messages
    completed: np.ndarray | None = None
    if pdt.is_datetime64_any_dtype(values.dtype):
        parsed = values
        if getattr(values.dtype, "tz", None) is not None:
            # as for text: a zoned date-time is a date only at midnight UTC
            utc = values.dt.tz_convert("UTC")
            midnight = (utc == utc.dt.normalize()).to_numpy()
            for row in values.index[present & ~midnight]:
                special[row] = (
                    "must be a calendar date without a time zone; got a date-time with a time "
                    "zone, whose calendar day depends on where it is read. Store the day of "
                    "the clinic's calendar as a date (Parquet date32)"
                )
            parsed = utc.dt.tz_localize(None).where(midnight)
        # Parquet dates arrive in ms or s units and may lie beyond the ns range (9999-12-31)
        in_range = (parsed >= _EARLIEST_DATE) & (parsed <= pd.Timestamp(dt.date.today()))
        parsed = parsed.where(in_range)
    elif date_format == EXCEL_DATE_FORMAT:
        number = _to_number(values)
        whole = number.where(np.mod(number, 1) == 0)
        whole = whole.where((whole >= 1) & (whole <= 100_000))
        parsed = _EXCEL_EPOCH + pd.to_timedelta(whole, unit="D")
        expected = "an Excel serial day number"
    elif pdt.is_numeric_dtype(values.dtype) or pdt.is_bool_dtype(values.dtype):
        if date_format is not None and pdt.is_integer_dtype(values.dtype):
            text = values.map(str)
            parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        else:
            parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    else:
        text = map_distinct(values, lambda v: _date_text(v, date_format))
        if date_format is None:
            text, zoned, special = _zoned_dates(text, special)
            text, partial = _partial_dates(text, special, partial_dates)
            if partial_dates is not None:
                completed = values.index.isin(partial.index[partial.notna().to_numpy()])
        parsed = pd.Series(
            pd.to_datetime(text, format=date_format or "ISO8601", errors="coerce"),
            index=values.index,
        )
        if date_format is None:
            parsed = parsed.astype("datetime64[ns]")
            parsed[zoned.index] = zoned
            parsed[partial.index] = partial
    day = parsed.dt.normalize().astype("datetime64[ns]")
    timed = (parsed.notna() & (parsed != day)).to_numpy()
    parsed = day
    today = pd.Timestamp(dt.date.today())
    implausible = ((parsed < _EARLIEST_DATE) | (parsed > today)).to_numpy()
    parsed = parsed.mask(implausible)
    bad = present & parsed.isna().to_numpy()
    problem = (
        f"must be a calendar date ({expected}) between 1900-01-01 and today; "
        "a cohort's dates are either all calendar dates or all whole days from each "
        "patient's origin"
    )
    message = special.fillna(problem) if special.notna().any() else problem
    return Coerced(parsed, bad, message, completed, timed & ~bad)


def _zoned_dates(text: pd.Series, special: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Date-times with a time zone (``2015-11-08T00:00:00Z``): the calendar date when the
    time is midnight UTC, else a located error (the day depends on the clinic's zone)."""
    mask = map_distinct(text, lambda v: isinstance(v, str) and bool(_ZONED.match(v)))
    mask = mask.eq(True)
    if not mask.any():
        return text, pd.Series(dtype="datetime64[ns]"), special
    zoned_text = text[mask]
    stamps = pd.to_datetime(zoned_text, utc=True, format="ISO8601", errors="coerce")
    midnight = stamps.notna() & (stamps == stamps.dt.normalize())
    # offsets other than zero shift the day: only UTC midnight is unambiguous
    offset_zero = zoned_text.str.contains(r"(?:Z|[+-]00(?::?00)?)$", case=False, regex=True)
    ok = midnight & offset_zero
    zoned = stamps.dt.tz_localize(None).where(ok).astype("datetime64[ns]")
    for row in zoned_text.index[~ok.to_numpy()]:
        day = str(zoned_text[row])[:10]
        special[row] = (
            "must be a calendar date (YYYY-MM-DD) without a time zone; got a date-time with "
            f"a time zone, whose calendar day depends on where it is read. Write the day of "
            f"the clinic's calendar (e.g. {day}) instead; only midnight UTC "
            f"({day}T00:00:00Z) is read as a date"
        )
    text = text.copy()
    text[mask] = None
    return text, zoned, special


def _partial_dates(
    text: pd.Series, special: pd.Series, policy: PartialDates | None
) -> tuple[pd.Series, pd.Series]:
    """Partial dates (``2015-11``, ``2015``): refused, or completed under ``policy``."""
    match = map_distinct(text, lambda v: _PARTIAL.match(v) if isinstance(v, str) else None)
    mask = match.notna()
    if not mask.any():
        return text, pd.Series(dtype="datetime64[ns]")
    completed: dict[object, pd.Timestamp | None] = {}
    for row in text.index[mask.to_numpy()]:
        m = match[row]
        year, month = int(m.group(1)), m.group(2)
        if policy is None:
            special[row] = (
                f"must be a full calendar date (YYYY-MM-DD); got the partial date "
                f"{text[row]!r}. Complete it in the source, or choose how partial dates are "
                "completed: --partial-dates first (the first day of the month or year) or "
                "--partial-dates mid (the 15th of the month, 1 July of the year)"
            )
            completed[row] = None
            continue
        if month is None:
            day = (1, 1) if policy == "first" else (7, 1)
        else:
            day = (int(month), 1 if policy == "first" else 15)
        try:
            completed[row] = pd.Timestamp(year, day[0], day[1])
        except ValueError:
            completed[row] = None
    parsed = pd.Series(completed, dtype="datetime64[ns]")
    text = text.copy()
    text[mask] = None
    return text, parsed


def _date_text(v: object, date_format: str | None = None) -> str | None:
    if isinstance(v, (dt.date, pd.Timestamp)):
        return v.isoformat()
    if isinstance(v, str):
        return v
    if date_format is not None and isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(v)  # YYYYMMDD integers with --date-format %Y%m%d
    if date_format is not None and isinstance(v, float) and v.is_integer():
        return str(int(v))
    return None  # a number in a calendar-date cohort: not a date


def _coerce_day(values: pd.Series, present: np.ndarray) -> Coerced:
    number = _to_number(values)
    finite = number.notna().to_numpy()
    whole = np.zeros(len(number), dtype=bool)
    numbers = number.to_numpy()
    whole[finite] = np.equal(np.mod(numbers[finite], 1), 0) & (
        np.abs(numbers[finite]) <= MAX_DAY_OFFSET
    )
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    out[whole] = number[whole].astype("int64")
    bad = present & ~whole
    return Coerced(
        out,
        bad,
        "must be a whole number of days from the patient's origin, within "
        f"{MAX_DAY_OFFSET:,} days (200 years) either way; for calendar dates written as "
        "numbers pass --date-format (%Y%m%d, or excel for Excel serial numbers)",
    )


def count_numeric(
    values: pd.Series, distinct: tuple[np.ndarray, pd.Series] | Literal[False] | None = False
) -> tuple[int, int]:
    """(values that are numbers, values present): how day-like a time column is.

    ``distinct`` is :func:`factorize_text` of ``values`` when the caller has it (the default
    ``False`` computes it here)."""
    if distinct is False:
        distinct = factorize_text(values)
    if distinct is not None:  # count the distinct values, weighted by their cells
        codes, uniques = distinct
        weight = np.bincount(codes[codes >= 0], minlength=len(uniques))
        clean = normalise_missing(uniques, distinct=True)
        filled = clean.notna().to_numpy()
        numeric = _to_number(clean.where(filled)).notna().to_numpy()
        return int(weight[numeric & filled].sum()), int(weight[filled].sum())
    values = normalise_missing(values).dropna()
    if values.empty:
        return 0, 0
    if pdt.is_bool_dtype(values.dtype) or pdt.is_datetime64_any_dtype(values.dtype):
        return 0, len(values)
    number = _to_number(values)
    return int(number.notna().sum()), len(values)
