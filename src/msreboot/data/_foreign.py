"""Shared pieces of the SDTM and OMOP readers: where each canonical row came from, ISO 8601
dates of the source, counted reports of dropped records, and validation into a cohort.

A foreign reader builds raw canonical tables, one source record per row, and records for
every row the source table (SDTM domain or OMOP table), the 1-based record number in it,
the subject and the source variable of each canonical column. The raw tables go through
the same validation as every other reader; each problem of a row is then moved back to the
source record it came from, so that an error names the domain, record, subject and
variable a data manager can look up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msreboot.data._coerce import PartialDates
from msreboot.data._cohort import Cohort
from msreboot.data._schema import SCHEMA
from msreboot.data._validate import prepare_tables
from msreboot.exceptions import DataValidationError, Problem

__all__ = ["DateParts", "Dropped", "ForeignTables", "finish", "parse_iso_dates"]

_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIMED = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True, slots=True)
class DateParts:
    """ISO 8601 date texts of a source column, classified.

    Attributes
    ----------
    text
        ``YYYY-MM-DD`` for full dates and date-times (the time dropped), the completed date
        for partial dates under a policy, else missing.
    kind
        Per value: ``"full"``, ``"time"`` (a date-time, read as its date), ``"month"``
        (``YYYY-MM``), ``"year"`` (``YYYY``), ``"bad"`` (anything else) or missing.
    year
        The year of every value that has one (for a year of birth).
    """

    text: pd.Series
    kind: pd.Series
    year: pd.Series


def parse_iso_dates(values: pd.Series, policy: PartialDates | None) -> DateParts:
    """Classify ISO 8601 date texts and complete partial ones only under ``policy``.

    Full dates are kept; a date-time keeps its date (``2015-11-08T10:30`` is 2015-11-08);
    ``YYYY-MM`` and ``YYYY`` are completed to the first day (``"first"``) or the 15th and 1
    July (``"mid"``) only when a policy is given; any other text (``2015---08``, intervals,
    durations, time zones) is ``"bad"``. Nothing is guessed: the caller reports the
    partial values left without a date and the bad ones.
    """
    texts: list[str | None] = []
    kinds: list[str | None] = []
    years: list[int | None] = []
    for raw in values.tolist():
        text, kind, year = _classify(raw, policy)
        texts.append(text)
        kinds.append(kind)
        years.append(year)
    index = values.index
    return DateParts(
        pd.Series(texts, index=index, dtype=object),
        pd.Series(kinds, index=index, dtype=object),
        pd.Series(years, index=index, dtype="Int64"),
    )


def _classify(
    raw: object, policy: PartialDates | None
) -> tuple[str | None, str | None, int | None]:
    """``(date text, kind, year)`` of one value (see :func:`parse_iso_dates`)."""
    if _missing(raw):
        return None, None, None
    value = str(raw).strip()
    if not value:
        return None, None, None
    if m := _FULL.match(value):
        return value, "full", int(m.group(1))
    if m := _TIMED.match(value):
        return value[:10], "time", int(m.group(1))
    if m := _MONTH.match(value):
        done = None if policy is None else f"{value}-{'01' if policy == 'first' else '15'}"
        return done, "month", int(m.group(1))
    if m := _YEAR.match(value):
        done = None if policy is None else f"{value}-{'01-01' if policy == 'first' else '07-01'}"
        return done, "year", int(m.group(1))
    return None, "bad", None


@dataclass
class Dropped:
    """Source records left out on purpose, counted by where and why."""

    groups: dict[tuple[str, str, str], list[tuple[int, str | None, str | None]]] = field(
        default_factory=dict
    )

    def add(
        self, source: str, variable: str, reason: str, row: int, subject: object, value: object
    ) -> None:
        """Count one record of ``source`` left out for ``reason`` (kept per reason)."""
        subject_text = None if _missing(subject) else str(subject)
        value_text = None if _missing(value) else str(value)
        self.groups.setdefault((source, variable, reason), []).append(
            (row, subject_text, value_text)
        )

    def warnings(self) -> list[Problem]:
        """One warning per source, variable and reason: the count, the first rows and the
        most frequent values."""
        out = []
        for (source, variable, reason), records in self.groups.items():
            rows = ", ".join(str(r) for r, _, _ in records[:5])
            more = f" and {len(records) - 5} more" if len(records) > 5 else ""
            values = pd.Series([v for _, _, v in records if v is not None], dtype=object)
            common = ", ".join(repr(v) for v in values.value_counts().index[:3])
            shown = f"; most frequent values {common}" if common else ""
            subjects = len({s for _, s, _ in records if s is not None})
            first_row, first_subject, first_value = records[0]
            out.append(
                Problem(
                    source,
                    first_row,
                    first_subject,
                    variable,
                    first_value,
                    f"{len(records)} record(s) of {subjects} subject(s) not read: {reason} "
                    f"(records {rows}{more}{shown})",
                    severity="warning",
                )
            )
        return out


def _missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    )


@dataclass
class ForeignTables:
    """Raw canonical tables built from foreign records, with each row's origin."""

    parts: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    origins: dict[str, list[tuple[str, np.ndarray, np.ndarray, Mapping[str, str]]]] = field(
        default_factory=dict
    )
    problems: list[Problem] = field(default_factory=list)
    dropped: Dropped = field(default_factory=Dropped)

    def add(
        self,
        table: str,
        frame: pd.DataFrame,
        source: str,
        rows: Sequence[int] | np.ndarray,
        subjects: Sequence[object] | np.ndarray,
        variables: Mapping[str, str],
    ) -> None:
        """Add rows of ``table`` read from ``source`` (records ``rows``, 1-based), with the
        source variable of each canonical column."""
        if len(frame) != len(rows) or len(frame) != len(subjects):
            raise ValueError("rows and subjects must match the frame's length")
        if frame.empty:
            return
        self.parts.setdefault(table, []).append(frame.reset_index(drop=True))
        self.origins.setdefault(table, []).append(
            (source, np.asarray(rows, dtype="int64"), np.asarray(subjects, dtype=object), variables)
        )

    def add_selected(
        self,
        table: str,
        source: str,
        rows: pd.Index,
        data: Mapping[str, object],
        ids: pd.Series,
        id_variable: str,
        variables: Mapping[str, str],
    ) -> None:
        """:meth:`add` the records ``rows`` (index labels of the source frame, which are its
        1-based record numbers) of ``table``: each ``data`` value is a source column (a
        Series, read at ``rows``) or one value for every row; ``ids`` (the source's subject
        column, read at ``rows``) becomes ``patient_id``, located as ``id_variable``."""
        frame = pd.DataFrame(
            {
                k: (v.loc[rows].to_numpy() if isinstance(v, pd.Series) else v)
                for k, v in data.items()
            },
            index=rows,
        )
        subjects = ids.loc[rows].to_numpy()
        frame.insert(0, "patient_id", subjects)
        self.add(
            table,
            frame,
            source,
            rows.to_numpy(),
            subjects,
            {"patient_id": id_variable, **variables},
        )

    def error(
        self,
        source: str,
        row: int | None,
        subject: object,
        variable: str | None,
        value: object,
        message: str,
    ) -> None:
        """Record an error located at a source record."""
        self.problems.append(
            Problem(
                source,
                row,
                None if _missing(subject) else str(subject),
                variable,
                None if _missing(value) else str(value),
                message,
            )
        )

    def raw(self) -> dict[str, pd.DataFrame]:
        """The raw tables (text and numbers as read), by canonical name."""
        out = {}
        for table, parts in self.parts.items():
            columns = SCHEMA[table].column_names
            frames = [p.reindex(columns=[c for c in columns if c in p.columns]) for p in parts]
            out[table] = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return out

    def locate(self, problem: Problem) -> Problem:
        """``problem`` of a canonical row, moved to the source record it was read from."""
        if problem.row is None or problem.table not in self.origins:
            return problem
        index = problem.row - 1
        for source, rows, subjects, variables in self.origins[problem.table]:
            if index < len(rows):
                column = problem.column
                variable = variables.get(column, column) if column is not None else None
                subject = subjects[index]
                where = f"{problem.table}.{column}" if column else problem.table
                return Problem(
                    source,
                    int(rows[index]),
                    problem.patient_id if _missing(subject) else str(subject),
                    variable,
                    problem.value,
                    f"{problem.problem} (read into {where})",
                    problem.severity,
                )
            index -= len(rows)
        return problem


def finish(tables: ForeignTables, *, partial_dates: PartialDates | None) -> Cohort:
    """Validate the raw tables into a cohort; every problem named by its source record.

    Raises
    ------
    DataValidationError
        When the reader or the validation found any error: every problem, errors and
        warnings, each at its source record where it has one.
    """
    dropped = tables.dropped.warnings()
    if any(p.severity == "error" for p in tables.problems):
        raise DataValidationError([*tables.problems, *dropped])
    prepared = prepare_tables(tables.raw(), time_unit="date")
    problems = [*tables.problems, *dropped, *(tables.locate(p) for p in prepared.problems)]
    if not prepared.ok:
        raise DataValidationError(problems)
    return Cohort.from_canonical(
        prepared.tables, "date", tuple(problems), partial_dates=partial_dates
    )
