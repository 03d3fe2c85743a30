"""Validate raw tables against the canonical schema and against each other.

Every problem is collected, none stops the search for others: column names first, then
value conversion, then the per-table contracts (pandera, lazy), duplicate keys, and the
cross-table checks (unknown patients, events before birth or onset, follow-up after death,
dates of one row out of order). The result is the canonical tables or the full problem list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data._coerce import (
    EXCEL_DATE_FORMAT,
    PartialDates,
    coerce_column,
    count_numeric,
    factorize_text,
    normalise_missing,
)
from msreboot.data._column_checks import (
    MAX_CELL_CHARS,
    PatientCodes,
    _check_id_collisions,
    _header_key,
    _limit_cells,
    _match_columns,
    _normalise_ids,
    _row_problems,
    patient_codes,
)
from msreboot.data._cross_table import _check_cross_table, canonical_order
from msreboot.data._date_hint import FailedDates, date_format_hint
from msreboot.data._labs import convert_lab_units
from msreboot.data._msfc import check_timed_tests
from msreboot.data._plausibility import plausibility_warnings
from msreboot.data._schema import SCHEMA, TableSpec, TimeUnit
from msreboot.data._table_rules import (
    _check_contract,
    _check_duplicates,
    _check_order_rules,
    _check_treatment_kinds,
)
from msreboot.exceptions import Problem

__all__ = [
    "MAX_CELL_CHARS",
    "Prepared",
    "canonical_order",
    "infer_time_unit",
    "prepare_tables",
]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Canonical tables (complete only when there are no errors) and every problem found."""

    tables: Mapping[str, pd.DataFrame]
    problems: tuple[Problem, ...]
    time_unit: TimeUnit

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


_Distinct = dict[str, dict[str, "tuple[np.ndarray, pd.Series] | None"]]
"""Per table and source column, :func:`factorize_text` of the column (computed once)."""


def infer_time_unit(
    raw: Mapping[str, pd.DataFrame], *, distinct: _Distinct | None = None
) -> TimeUnit:
    """``"day"`` when most date values across all tables are numbers, else ``"date"``.

    A majority rule, so that one stray value is reported as a bad value of the cohort's
    unit rather than turning every other value into an error. ``distinct``, when given,
    receives the factorization of each date column, for the conversion to reuse.
    """
    numeric = present = 0
    for name, frame in raw.items():
        spec = SCHEMA.get(name)
        if spec is None:
            continue
        by_key = {_header_key(c): c for c in frame.columns}
        for col in spec.date_columns:
            if col in by_key:
                values = frame[by_key[col]]
                factorized = factorize_text(values)
                if distinct is not None:
                    distinct.setdefault(name, {})[str(by_key[col])] = factorized
                n_numeric, n_present = count_numeric(values, factorized)
                numeric += n_numeric
                present += n_present
    return "day" if present and numeric * 2 > present else "date"


def prepare_tables(
    raw: Mapping[str, pd.DataFrame],
    *,
    time_unit: TimeUnit | None = None,
    date_format: str | None = None,
    problems: Iterable[Problem] = (),
    row_numbers: Mapping[str, pd.Index] | None = None,
    partial_dates: PartialDates | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> Prepared:
    """Check and convert raw tables (any dtypes, column order and index) to canonical form.

    Parameters
    ----------
    raw
        Tables by canonical name, as read. Names that are not canonical tables are ignored
        (the readers report them). A missing table counts as empty; a missing ``patients``
        table is an error.
    time_unit
        Force calendar dates (``"date"``) or whole days (``"day"``); inferred when ``None``.
    date_format
        A :func:`time.strftime` format for calendar dates, when they are not ISO 8601.
    problems
        Problems already found while reading, kept at the head of the list.
    row_numbers
        Per table, the row number each row has in the source file (e.g. a REDCap export),
        used in problems; by default rows are numbered 1, 2, ... in the order given (a
        frame's own index is never used).
    partial_dates
        ``None`` (default): partial dates (``2015-11``, ``2015``) are errors; ``"first"`` or
        ``"mid"`` completes them (see :data:`~msreboot.data.PartialDates`), with a warning
        counting them.
    max_cell_chars
        Longest text cell accepted, in characters; longer cells are errors.

    Notes
    -----
    When the unit is inferred and every date is an integer that reads as ``YYYYMMDD`` or as
    an Excel serial day number (7306 to today's serial, i.e. 1920 to today), the cohort is
    refused with the fix (``date_format="%Y%m%d"`` or ``"excel"``): such integers are not
    taken for days from each patient's origin. With ``date_format`` given, dates are
    calendar dates.
    """
    found: list[Problem] = list(problems)
    shared: _Distinct = {}  # each column is factorized once, whoever needs it first
    if max_cell_chars < 1:
        raise ValueError(f"max_cell_chars must be at least 1; got {max_cell_chars}.")
    if time_unit is not None:
        unit = time_unit
    elif date_format is not None:
        unit = "date"
    else:
        unit = infer_time_unit(raw, distinct=shared)
        if unit == "day":
            found.extend(_integer_calendar_dates(raw))
    tables: dict[str, pd.DataFrame] = {}
    patients: dict[str, PatientCodes] = {}  # each table's patient ids, factorized once
    dates: list[FailedDates] | None = [] if unit == "date" and date_format is None else None
    for name, spec in SCHEMA.items():
        frame = raw.get(name)
        if frame is None:
            if spec.required:
                found.append(
                    Problem.table_level(name, f"the {name} table is required but was not given")
                )
            tables[name] = spec.empty_frame(unit)
            patients[name] = patient_codes(tables[name]["patient_id"])
            continue
        rows = None if row_numbers is None else row_numbers.get(name)
        tables[name], patients[name] = _prepare_table(
            spec,
            frame,
            rows,
            unit,
            date_format,
            found,
            partial_dates,
            max_cell_chars,
            dates,
            shared.get(name, {}),
        )
    hint = None if dates is None else date_format_hint(dates)
    if hint is not None:  # the first error names the --date-format to use
        found.insert(0, hint)
    _check_cross_table(tables, unit, found, patients)
    if any(p.severity == "error" for p in found):
        return Prepared(tables, tuple(found), unit)
    found.extend(plausibility_warnings(tables, unit))
    return Prepared(canonical_order(tables, patients), tuple(found), unit)


def _prepare_table(
    spec: TableSpec,
    frame: pd.DataFrame,
    rows: pd.Index | None,
    unit: TimeUnit,
    date_format: str | None,
    found: list[Problem],
    partial_dates: PartialDates | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
    dates: list[FailedDates] | None = None,
    shared: Mapping[str, tuple[np.ndarray, pd.Series] | None] | None = None,
) -> tuple[pd.DataFrame, PatientCodes]:
    """The typed table and its patient codes; problems are appended to ``found``.
    ``shared``: :func:`factorize_text` of source columns already computed."""
    frame = frame.copy(deep=False)  # the caller's frame keeps its index; no cell is copied
    if rows is not None and len(rows) == len(frame) and rows.is_unique:
        frame.index = pd.Index(rows.astype("int64"))
    else:
        frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based data rows
    columns = _match_columns(spec, frame, found)
    # each text column is factorized once: the cell-length check and the conversion share it
    known = shared or {}
    distinct = {
        name: known[source] if source in known else factorize_text(frame[source])
        for name, source in columns.items()
    }
    pid_distinct = distinct.get("patient_id")
    per_id: pd.Series | None = None  # each distinct raw id, converted
    if pid_distinct is not None:  # converted once per distinct id, then spread to the rows
        per_id = coerce_column(pid_distinct[1], spec["patient_id"], unit, distinct=None).values
        pid = pd.Series(per_id.array.take(pid_distinct[0], allow_fill=True), index=frame.index)
    elif "patient_id" in columns:
        pid = coerce_column(frame[columns["patient_id"]], spec["patient_id"], unit, None).values
    else:
        pid = pd.Series(pd.NA, index=frame.index, dtype="string")
    raw_pid = pid
    pid = _normalise_ids(spec.name, pid, found, None if per_id is None else per_id.to_numpy())
    if spec.name == "patients":
        _check_id_collisions(raw_pid, pid, found)
    if pid is raw_pid and pid_distinct is not None and per_id is not None:
        codes = patient_codes(pid, per_id, pid_distinct[0])
    else:
        codes = patient_codes(pid)
    out: dict[str, pd.Series] = {}
    unconvertible: set[tuple[int, str]] = set()
    completed = 0
    for col in spec.columns:
        if col.name not in columns:
            out[col.name] = pd.Series(None, index=frame.index, dtype=col.dtype(unit))
            continue
        source, factorized = _limit_cells(
            spec.name,
            col.name,
            frame[columns[col.name]],
            distinct[col.name],
            pid,
            max_cell_chars,
            found,
            unconvertible,
        )
        coerced = coerce_column(source, col, unit, date_format, partial_dates, factorized)
        out[col.name] = pid if col.name == "patient_id" else coerced.values
        completed += coerced.completed
        if coerced.times_dropped_n:
            found.append(
                Problem.table_level(
                    spec.name,
                    f"{coerced.times_dropped_n} {col.name} value(s) hold a time of day (e.g. "
                    f"{coerced.times_dropped!r}); dates are kept to the day, so the time is "
                    "dropped",
                    column=col.name,
                    value=coerced.times_dropped,
                    severity="warning",
                )
            )
        bad = coerced.bad & ~source.index.isin([r for r, c in unconvertible if c == col.name])
        if dates is not None and col.kind == "date":
            present = int(coerced.values.notna().sum()) + int(bad.sum())
            dates.append(FailedDates(spec.name, col.name, present, source[bad]))
        if bad.any():
            rows = frame.index[bad]
            unconvertible.update((int(r), col.name) for r in rows)
            found.extend(_row_problems(spec.name, rows, pid, col.name, source, coerced.problem))
    if completed:
        found.append(
            Problem.table_level(
                spec.name,
                f"{completed} partial date(s) completed to the "
                + (
                    "first day of the month or year"
                    if partial_dates == "first"
                    else "15th of the month or 1 July of the year"
                )
                + f" (partial_dates={partial_dates!r})",
                severity="warning",
            )
        )
    table = pd.DataFrame(out, index=frame.index)
    if spec.name == "labs":  # values to each analyte's canonical unit, exact factors only
        table = convert_lab_units(table, pid, found, unconvertible)
    check_timed_tests(spec, table, pid, found, unconvertible)  # a time or unable, not both
    raw_values = {name: frame[source] for name, source in columns.items()}
    _check_contract(spec, table, list(columns), raw_values, pid, unconvertible, found)
    _check_treatment_kinds(spec, table, pid, found)
    _check_duplicates(spec, table, pid, found, codes.codes)
    _check_order_rules(spec, table, pid, found)
    return table, codes


def _integer_calendar_dates(raw: Mapping[str, pd.DataFrame]) -> list[Problem]:
    """Integer dates that read as YYYYMMDD or as Excel serials: refused, with the fix."""
    found: list[tuple[str, str, float]] = []
    numbers: list[np.ndarray] = []
    for name, frame in raw.items():
        spec = SCHEMA.get(name)
        if spec is None:
            continue
        by_key = {_header_key(c): c for c in frame.columns}
        for col in spec.date_columns:
            if col not in by_key:
                continue
            values = normalise_missing(frame[by_key[col]]).dropna()
            number = pd.to_numeric(
                values.map(lambda v: None if isinstance(v, bool) else v), errors="coerce"
            ).dropna()
            if len(number):
                numbers.append(number.to_numpy(dtype="float64"))
                found.append((name, col, float(number.iloc[0])))
    if not numbers:
        return []
    allv = np.concatenate(numbers)
    if not (np.all(np.mod(allv, 1) == 0) and np.all(np.abs(allv) < 1e9)):
        return []
    table, column, example = found[0]
    shown = str(int(example))
    ymd = pd.to_datetime(
        pd.Series(allv.astype("int64").astype(str)), format="%Y%m%d", errors="coerce"
    )
    if ymd.notna().all() and bool((allv >= 19000101).all()):
        return [
            Problem.table_level(
                table,
                "dates must be calendar dates or whole days from each patient's origin; every "
                f"date of the cohort is an integer that reads as YYYYMMDD (e.g. {shown}). "
                "Pass --date-format %Y%m%d (date_format='%Y%m%d') to read them as dates",
                column=column,
                value=shown,
            )
        ]
    today_serial = (pd.Timestamp(dt.date.today()) - pd.Timestamp("1899-12-30")).days
    if bool(((allv >= 7306) & (allv <= today_serial)).all()):
        return [
            Problem.table_level(
                table,
                "dates must be calendar dates or whole days from each patient's origin; every "
                f"date of the cohort is an integer that reads as an Excel serial day number "
                f"(e.g. {shown} = "
                f"{(pd.Timestamp('1899-12-30') + pd.Timedelta(days=int(example))).date()}). "
                f"Pass --date-format {EXCEL_DATE_FORMAT} (date_format={EXCEL_DATE_FORMAT!r}) to "
                "read them as dates, or --time-unit day if they are days from each patient's "
                "origin",
                column=column,
                value=shown,
            )
        ]
    return []
