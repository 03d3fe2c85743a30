"""One error naming the ``--date-format`` to use when a cohort's dates are dd/mm/yyyy and alike.

Without a date format, dates must be ISO 8601. A file written by a spreadsheet in another
locale fails on every date, each with its own located error; when most of the cohort's dates
fail and the failing ones all read under one common format, :func:`date_format_hint` gives
one error that says so and names the option. Day-first and month-first are never guessed
between: when both read every value (no day above 12), the error says the format is
ambiguous and names both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from msreboot.exceptions import Problem

__all__ = ["DATE_FORMAT_CANDIDATES", "FailedDates", "date_format_hint"]

DATE_FORMAT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("%d/%m/%Y", "dd/mm/yyyy"),
    ("%m/%d/%Y", "mm/dd/yyyy"),
    ("%d.%m.%Y", "dd.mm.yyyy"),
    ("%d-%m-%Y", "dd-mm-yyyy"),
)
"""Formats tried on dates that fail ISO 8601, with the words shown to the user."""

_SHAPE = re.compile(r"^\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}\s*$")
_SHARE = 0.95  # of the failing values a format must read


@dataclass(frozen=True, slots=True)
class FailedDates:
    """The dates of one column: how many were given and those that failed ISO 8601."""

    table: str
    column: str
    present: int
    failed: pd.Series


def _reads(values: pd.Series, fmt: str) -> pd.Series:
    parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    today = pd.Timestamp(dt.date.today())
    return parsed.notna() & (parsed >= pd.Timestamp("1900-01-01")) & (parsed <= today)


def date_format_hint(columns: Sequence[FailedDates]) -> Problem | None:
    """One error naming the date format of the failing dates, or ``None``.

    Parameters
    ----------
    columns
        Every calendar-date column checked without a date format.

    Returns
    -------
    Problem or None
        An error when more than half of all the dates given failed, the failing ones are
        shaped like ``31/12/2015`` and at least 95% of them read under one of
        :data:`DATE_FORMAT_CANDIDATES`: it names the ``--date-format`` to pass, or, when
        both day-first and month-first read them, says that the format is ambiguous and
        refuses to choose. The row-level errors are kept as they are.

    Examples
    --------
    >>> failed = pd.Series(["31/12/2015", "02/01/2016", "15/07/2017"])
    >>> hint = date_format_hint([FailedDates("edss", "date", 3, failed)])
    >>> print(hint.problem)  # doctest: +NORMALIZE_WHITESPACE
    dates must be ISO 8601 (YYYY-MM-DD) unless a date format is given; got 3 value(s) in
    edss.date that all read as dd/mm/yyyy (e.g. '31/12/2015'). Pass --date-format %d/%m/%Y
    (date_format='%d/%m/%Y'); every row is still listed in the problem list
    """
    present = sum(c.present for c in columns)
    shaped = [
        (c, c.failed[c.failed.astype(str).str.match(_SHAPE)].astype(str).str.strip())
        for c in columns
    ]
    shaped = [(c, v) for c, v in shaped if len(v)]
    total = sum(len(v) for _, v in shaped)
    if not total or 2 * total <= present:
        return None
    values = pd.concat([v for _, v in shaped], ignore_index=True)
    counts = values.value_counts()
    distinct = pd.Series(counts.index, dtype=object)
    weights = counts.to_numpy()
    fits = [
        (fmt, words)
        for fmt, words in DATE_FORMAT_CANDIDATES
        if weights[_reads(distinct, fmt).to_numpy()].sum() >= _SHARE * total
    ]
    if not fits:
        return None
    names = [f"{c.table}.{c.column}" for c, _ in shaped]
    where = ", ".join(names if len(names) <= 4 else [*names[:3], f"{len(names) - 3} more columns"])
    first = shaped[0][0]
    column = first.column if len(shaped) == 1 else None
    if len(fits) > 1:
        ambiguous = distinct[
            _reads(distinct, fits[0][0]).to_numpy() & _reads(distinct, fits[1][0]).to_numpy()
        ]
        example = str(ambiguous.iloc[0]) if len(ambiguous) else str(values.iloc[0])
        options = " or ".join(f"--date-format {fmt}" for fmt, _ in fits)
        message = (
            f"dates must be ISO 8601 (YYYY-MM-DD) unless a date format is given; got "
            f"{total:,} value(s) in {where} that read both as "
            f"{' and as '.join(words for _, words in fits)} (no day above 12, e.g. "
            f"{example!r}), so the format cannot be told from the data and is not guessed. "
            f"Check how the source system writes dates and pass {options}"
        )
        return Problem.table_level(first.table, message, column=column, value=example)
    fmt, words = fits[0]
    example = str(values.iloc[0])
    message = (
        f"dates must be ISO 8601 (YYYY-MM-DD) unless a date format is given; got {total:,} "
        f"value(s) in {where} that all read as {words} (e.g. {example!r}). Pass "
        f"--date-format {fmt} (date_format={fmt!r}); every row is still listed in the "
        "problem list"
    )
    return Problem.table_level(first.table, message, column=column, value=example)
