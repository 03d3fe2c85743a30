"""Validate raw tables against the canonical schema and against each other.

Every problem is collected, none stops the search for others: column names first, then
value conversion, then the per-table contracts (pandera, lazy), duplicate keys, and the
cross-table checks (unknown patients, events before birth or onset, follow-up after death,
dates of one row out of order). The result is the canonical tables or the full problem list.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.data._coerce import (
    CELL_BLANKS,
    EXCEL_DATE_FORMAT,
    PartialDates,
    coerce_column,
    count_numeric,
    factorize_text,
    hidden_characters,
    is_missing,
    map_distinct,
    normalise_missing,
)
from msreboot.data._date_hint import FailedDates, date_format_hint
from msreboot.data._labs import convert_lab_units
from msreboot.data._msfc import check_timed_tests
from msreboot.data._order import in_order
from msreboot.data._plausibility import plausibility_warnings
from msreboot.data._schema import SCHEMA, ColumnSpec, TableSpec, TimeUnit
from msreboot.exceptions import Problem

if TYPE_CHECKING:  # pandera (which may import pyspark) is imported when a table is checked
    import pandera.pandas as pa

__all__ = ["MAX_CELL_CHARS", "Prepared", "infer_time_unit", "prepare_tables"]

MAX_CELL_CHARS = 65_536
"""Default limit on the characters of one text cell (64 Ki); longer cells are errors."""

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(frozen=True, slots=True)
class Prepared:
    """Canonical tables (complete only when there are no errors) and every problem found."""

    tables: Mapping[str, pd.DataFrame]
    problems: tuple[Problem, ...]
    time_unit: TimeUnit

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def _header_key(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def infer_time_unit(raw: Mapping[str, pd.DataFrame]) -> TimeUnit:
    """``"day"`` when most date values across all tables are numbers, else ``"date"``.

    A majority rule, so that one stray value is reported as a bad value of the cohort's
    unit rather than turning every other value into an error.
    """
    numeric = present = 0
    for name, frame in raw.items():
        spec = SCHEMA.get(name)
        if spec is None:
            continue
        by_key = {_header_key(c): c for c in frame.columns}
        for col in spec.date_columns:
            if col in by_key:
                n_numeric, n_present = count_numeric(frame[by_key[col]])
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
    if max_cell_chars < 1:
        raise ValueError(f"max_cell_chars must be at least 1; got {max_cell_chars}.")
    if time_unit is not None:
        unit = time_unit
    elif date_format is not None:
        unit = "date"
    else:
        unit = infer_time_unit(raw)
        if unit == "day":
            found.extend(_integer_calendar_dates(raw))
    tables: dict[str, pd.DataFrame] = {}
    dates: list[FailedDates] | None = [] if unit == "date" and date_format is None else None
    for name, spec in SCHEMA.items():
        frame = raw.get(name)
        if frame is None:
            if spec.required:
                found.append(
                    Problem.table_level(name, f"the {name} table is required but was not given")
                )
            tables[name] = spec.empty_frame(unit)
            continue
        rows = None if row_numbers is None else row_numbers.get(name)
        tables[name] = _prepare_table(
            spec, frame, rows, unit, date_format, found, partial_dates, max_cell_chars, dates
        )
    hint = None if dates is None else date_format_hint(dates)
    if hint is not None:  # the first error names the --date-format to use
        found.insert(0, hint)
    _check_cross_table(tables, unit, found)
    if any(p.severity == "error" for p in found):
        return Prepared(tables, tuple(found), unit)
    found.extend(plausibility_warnings(tables, unit))
    return Prepared(canonical_order(tables), tuple(found), unit)


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
) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    if rows is not None and len(rows) == len(frame) and rows.is_unique:
        frame.index = pd.Index(rows.astype("int64"))
    else:
        frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based data rows
    columns = _match_columns(spec, frame, found)
    # each text column is factorized once: the cell-length check and the conversion share it
    distinct = {name: factorize_text(frame[source]) for name, source in columns.items()}
    pid = (
        coerce_column(
            frame[columns["patient_id"]],
            spec["patient_id"],
            unit,
            distinct=distinct["patient_id"],
        ).values
        if "patient_id" in columns
        else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    raw_pid = pid
    pid = _normalise_ids(spec.name, pid, found)
    if spec.name == "patients":
        _check_id_collisions(raw_pid, pid, found)
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
    _check_contract(spec, table[list(columns)], raw_values, pid, unconvertible, found)
    _check_treatment_kinds(spec, table, pid, found)
    _check_duplicates(spec, table, pid, found)
    _check_order_rules(spec, table, pid, found)
    return table


def _limit_cells(
    table: str,
    column: str,
    values: pd.Series,
    distinct: tuple[np.ndarray, pd.Series] | None,
    pid: pd.Series,
    limit: int,
    found: list[Problem],
    unconvertible: set[tuple[int, str]],
) -> tuple[pd.Series, tuple[np.ndarray, pd.Series] | None]:
    """Cells longer than ``limit`` characters: one located error each, then left out.

    ``distinct`` is :func:`factorize_text` of ``values``; returned with the cells left out
    coded as missing, so that it still describes the returned values.
    """
    if not (
        pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)
    ):
        return values, distinct
    if distinct is not None:  # lengths of the distinct values
        codes, uniques = distinct
        lengths = pd.Series(
            np.append(uniques.str.len().to_numpy(dtype="int64"), 0)[codes], index=values.index
        )
    else:
        lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0)
    long = (lengths > limit).to_numpy()
    if not long.any():
        return values, distinct
    rows = values.index[long]
    for row in rows:
        patient = pid.get(row)
        found.append(
            Problem(
                table,
                int(row),
                None if is_missing(patient) else str(patient),
                column,
                str(values[row])[:40] + "...",
                f"{column} holds {lengths[row]:,} characters; a cell may hold at most "
                f"{limit:,} (max_cell_chars, CLI --max-cell-chars). Shorten the cell, or "
                "raise the limit if the value is meant to be this long",
            )
        )
        unconvertible.add((int(row), column))
    if distinct is not None:
        distinct = (np.where(long, -1, distinct[0]), distinct[1])
    return values.mask(pd.Series(long, index=values.index)), distinct


def _normalise_ids(table: str, pid: pd.Series, found: list[Problem]) -> pd.Series:
    """Patient ids in Unicode NFC without invisible characters, with a warning listing the
    ids changed (the same patient written two ways must match across tables)."""
    if pid.isna().all():
        return pid

    def clean(v: object) -> object:
        if not isinstance(v, str) or (v.isascii() and v.isprintable()):
            return v
        return _INVISIBLE.sub("", unicodedata.normalize("NFC", v)).strip(CELL_BLANKS)

    distinct = pd.unique(pid.dropna().to_numpy(dtype=object))
    if all(isinstance(v, str) and v.isascii() and v.isprintable() for v in distinct):
        return pid  # clean() leaves every id as it is
    cleaned = map_distinct(pid, clean).where(pid.notna().to_numpy(), pid).astype(pid.dtype)
    changed = (cleaned != pid).fillna(False).astype(bool)
    if not changed.any():
        return pid
    pairs = sorted(
        {(ascii(str(a)), str(b)) for a, b in zip(pid[changed], cleaned[changed], strict=True)}
    )
    listed = ", ".join(f"{a} -> {b!r}" for a, b in pairs[:10])
    more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
    found.append(
        Problem.table_level(
            table,
            f"{len(pairs)} patient_id(s) normalised (Unicode NFC, invisible characters removed): "
            f"{listed}{more}",
            column="patient_id",
            severity="warning",
        )
    )
    return cleaned.astype("string")


def _check_id_collisions(raw: pd.Series, pid: pd.Series, found: list[Problem]) -> None:
    """Two distinct ids of the patients table that normalise to one id: an error."""
    if raw.equals(pid):
        return
    first: dict[str, tuple[int, str]] = {}
    for row, norm, given in zip(pid.index, pid, raw, strict=True):
        if is_missing(norm):
            continue
        if norm in first and first[norm][1] != given:
            found.append(
                Problem(
                    "patients",
                    int(row),
                    str(norm),
                    "patient_id",
                    ascii(str(given)),
                    f"patient_id {str(given)!a} and {first[norm][1]!a} (row "
                    f"{first[norm][0]}) are distinct ids that read the same once normalised "
                    f"(Unicode NFC, invisible characters removed) as {norm!r}; give the two "
                    "patients distinct ids, or one id if they are one patient",
                )
            )
        else:
            first.setdefault(str(norm), (int(row), str(given)))


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


def _match_columns(spec: TableSpec, frame: pd.DataFrame, found: list[Problem]) -> dict[str, str]:
    """Map canonical column names to the input's column names (case and punctuation ignored)."""
    matched: dict[str, str] = {}
    unknown: list[str] = []
    for source in frame.columns:
        key = _header_key(source)
        hidden = hidden_characters(str(source).strip(CELL_BLANKS))
        if hidden and key in spec:
            found.append(
                Problem.table_level(
                    spec.name,
                    f"column header {str(source)!r} must hold only visible characters; it holds "
                    f"{', '.join(hidden)} and would be read as {key}. Remove the character(s) "
                    "(often left by a broken encoding or a copy from another program)",
                    column=key,
                    value=str(source),
                )
            )
        if key in spec and key not in matched:
            matched[key] = str(source)
        elif key in spec:
            found.append(
                Problem.table_level(
                    spec.name,
                    f"column {key} appears twice (as {matched[key]!r} and {source!r}); keep one",
                    column=key,
                    value=str(source),
                )
            )
        else:
            unknown.append(str(source))
    unknown_keys = {_header_key(u): u for u in unknown}
    missing = [c for c in spec.columns if c.required and c.name not in matched]
    for col in missing:
        close = _closest(col.name, list(unknown_keys))
        fix = (
            f" Did you mean {unknown_keys[close]!r}? Rename it to {col.name}."
            if close
            else f" Add a column {col.name!r}: {col.description}"
        )
        found.append(
            Problem.table_level(
                spec.name, f"required column {col.name} is missing.{fix}", column=col.name
            )
        )
    for source in unknown:
        close = _closest(_header_key(source), list(spec.column_names))
        hint = f"; did you mean {close}?" if close else ""
        found.append(
            Problem.table_level(
                spec.name,
                f"column {source!r} is not part of the {spec.name} table and is ignored{hint}",
                column=source,
                severity="warning",
            )
        )
    return matched


def _closest(name: str, candidates: list[str]) -> str | None:
    """The candidate most like ``name``: a near spelling, or a containing name (edss_score)."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return close[0]
    containing = [c for c in candidates if name in c.split("_") or c in name.split("_")]
    return containing[0] if containing else None


def _row_problems(
    table: str,
    rows: Iterable[int] | pd.Index,
    pid: pd.Series,
    column: str | None,
    values: pd.Series | None,
    problem: str | pd.Series,
) -> list[Problem]:
    """One problem per row; ``problem`` is one message or a message per row (by row)."""
    rows = list(rows)
    ids = pid.reindex(rows)
    shown = values.reindex(rows) if values is not None else None
    messages = problem.reindex(rows) if isinstance(problem, pd.Series) else None
    out = []
    for i, row in enumerate(rows):
        patient = ids.iloc[i]
        value = None if shown is None else shown.iloc[i]
        out.append(
            Problem(
                table,
                int(row),
                None if is_missing(patient) else str(patient),
                column,
                None if value is None or is_missing(value) else _value_text(value),
                str(messages.iloc[i]) if messages is not None else str(problem),
            )
        )
    return out


def _value_text(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def _pandera_schema(spec: TableSpec, present: Iterable[str]) -> pa.DataFrameSchema:
    """The pandera contract for the columns present in the input (absent ones are reported
    once, as missing columns, not once per row)."""
    import pandera.pandas as pa

    columns: dict[str, pa.Column] = {}
    for name in present:
        col = spec[name]
        columns[col.name] = pa.Column(
            None, checks=_checks(col), nullable=col.nullable, required=False
        )
    return pa.DataFrameSchema(columns, strict=False, coerce=False, name=spec.name)


def _checks(col: ColumnSpec) -> list[pa.Check]:
    import pandera.pandas as pa

    message = f"{col.name} must be {col.constraint()}"
    checks: list[pa.Check] = []
    if col.allowed is not None:
        close = ""
        checks.append(pa.Check.isin(list(col.allowed), error=message + close))
    if col.min_value is not None:
        if col.min_exclusive:
            checks.append(pa.Check.gt(col.min_value, error=message))
        else:
            checks.append(pa.Check.ge(col.min_value, error=message))
    if col.max_value is not None:
        checks.append(pa.Check.le(col.max_value, error=message))
    if col.step is not None:
        checks.append(pa.Check(_on_grid(col.step), error=message))
    return checks


def _on_grid(step: float) -> Callable[[pd.Series], pd.Series]:
    def check(values: pd.Series) -> pd.Series:
        remainder = np.mod(values.astype("float64"), step)
        on_grid = np.isclose(remainder, 0) | np.isclose(remainder, step)
        return pd.Series(on_grid, index=values.index)

    return check


def _contract_may_fail(spec: TableSpec, table: pd.DataFrame) -> bool:
    """False when every value passes the checks of :func:`_pandera_schema` (the same
    comparisons, on the present values, as pandera makes); True on any failure or doubt,
    and then pandera runs and reports. Clean tables skip pandera altogether."""
    try:
        for name in table.columns:
            col = spec[name]
            values = table[name]
            present = values.notna()
            if not col.nullable and not present.all():
                return True
            values = values[present.to_numpy()]
            tests: list[pd.Series] = []
            if col.allowed is not None:
                tests.append(values.isin(list(col.allowed)))
            if col.min_value is not None:
                tests.append(
                    values > col.min_value if col.min_exclusive else values >= col.min_value
                )
            if col.max_value is not None:
                tests.append(values <= col.max_value)
            if col.step is not None:
                tests.append(_on_grid(col.step)(values))
            if any(not bool(t.fillna(False).astype(bool).all()) for t in tests):
                return True
    except (TypeError, ValueError):
        return True
    return False


def _check_contract(
    spec: TableSpec,
    table: pd.DataFrame,
    raw_values: Mapping[str, pd.Series],
    pid: pd.Series,
    unconvertible: set[tuple[int, str]],
    found: list[Problem],
) -> None:
    """Run the pandera contract; report each failure with the value as given in the input."""
    if not _contract_may_fail(spec, table):
        return  # every check passes: pandera would report nothing
    from pandera.errors import SchemaErrors

    try:
        _pandera_schema(spec, table.columns).validate(table, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[cases["index"].notna()]
        for case in cases.itertuples(index=False):
            row = int(case.index)
            column = str(case.column)
            if (row, column) in unconvertible:
                continue  # already reported: the value did not convert
            if case.check == "not_nullable":
                message = f"{column} is required; the value is missing"
            else:
                message = str(case.check)
                allowed = spec[column].allowed
                if allowed is not None:
                    close = difflib.get_close_matches(str(case.failure_case), allowed, n=1)
                    if close:
                        message += f". Did you mean {close[0]}?"
            patient = pid.get(row)
            given = raw_values[column].get(row)
            found.append(
                Problem(
                    spec.name,
                    row,
                    None if is_missing(patient) else str(patient),
                    column,
                    None if is_missing(given) else _value_text(given),
                    message,
                )
            )


def _check_treatment_kinds(
    spec: TableSpec, table: pd.DataFrame, pid: pd.Series, found: list[Problem]
) -> None:
    if spec.name != "treatments":
        return
    kind = table["kind"]
    for col in spec.columns:
        if col.treatment_kinds is None:
            continue
        misplaced = table[col.name].notna() & kind.notna() & ~kind.isin(col.treatment_kinds)
        wrong = misplaced.fillna(False).astype(bool).to_numpy()
        if wrong.any():
            found.extend(
                _row_problems(
                    spec.name,
                    table.index[wrong],
                    pid,
                    col.name,
                    table[col.name],
                    f"{col.name} applies to {' / '.join(col.treatment_kinds)} courses only; "
                    "this row is a " + kind.astype(str) + " course",
                )
            )


def _check_duplicates(
    spec: TableSpec, table: pd.DataFrame, pid: pd.Series, found: list[Problem]
) -> None:
    if not spec.key:
        return
    key = table[list(spec.key)]
    complete = key.drop(columns=[c for c in spec.key if not spec[c].required]).notna().all(axis=1)
    dup = key.duplicated(keep="first") & complete
    if not dup.any():
        return
    first_row = (
        pd.Series(table.index, index=table.index)
        .groupby([key[c] for c in spec.key], dropna=False, sort=False)
        .transform("min")
    )
    described = ", ".join(spec.key)
    found.extend(
        _row_problems(
            spec.name,
            table.index[dup.to_numpy()],
            pid,
            spec.key[-1],
            table[spec.key[-1]],
            f"duplicate: same {described} as row " + first_row.astype(str) + "; keep one row",
        )
    )


def _check_order_rules(
    spec: TableSpec, table: pd.DataFrame, pid: pd.Series, found: list[Problem]
) -> None:
    for rule in spec.order_rules:
        early, late = table[rule.earlier], table[rule.later]
        wrong = (early >= late) if rule.strict else (early > late)
        wrong = wrong.fillna(False).astype(bool)
        if rule.treatment_kinds is not None:
            wrong &= table["kind"].isin(rule.treatment_kinds).fillna(False).astype(bool)
        relation = "after" if rule.strict else "on or after"
        rows = table.index[wrong.to_numpy()]
        if len(rows):
            found.extend(
                _row_problems(
                    spec.name,
                    rows,
                    pid,
                    rule.later,
                    table[rule.later],
                    f"{rule.later} must be {relation} {rule.earlier} ("
                    + early[rows].map(_value_text)
                    + f"): {rule.reason}",
                )
            )


def _check_cross_table(
    tables: Mapping[str, pd.DataFrame], unit: TimeUnit, found: list[Problem]
) -> None:
    patients = tables["patients"]
    known = pd.Index(patients["patient_id"].dropna().unique())
    patients_once = patients.dropna(subset=["patient_id"]).drop_duplicates("patient_id")
    by_patient = patients_once.set_index("patient_id")
    birth = by_patient["birth_date"]
    onset = by_patient["onset_date"]
    deaths = tables["deaths"].dropna(subset=["patient_id"]).drop_duplicates("patient_id")
    death = deaths.set_index("patient_id")["date"]
    for name, spec in SCHEMA.items():
        table = tables[name]
        if table.empty:
            continue
        pid = table["patient_id"]
        # each row's patient located once, shared by every comparison below
        where = by_patient.index.get_indexer(pd.Index(pid))
        dead = death.index.get_indexer(pd.Index(pid))
        if name != "patients":
            unknown = pid.notna() & ~pid.isin(known)
            found.extend(
                _row_problems(
                    name,
                    table.index[unknown.to_numpy()],
                    pid,
                    "patient_id",
                    pid,
                    "unknown patient_id: not in the patients table",
                )
            )
        for col in spec.date_columns:
            if not (name == "patients" and col == "birth_date"):
                _compare_to_patient(
                    name,
                    table,
                    col,
                    (birth, where),
                    "before",
                    "birth_date",
                    "the patient's birth",
                    found,
                )
            if name in {"edss", "relapses", "treatments"} and col == spec.event_date:
                _compare_to_patient(
                    name, table, col, (onset, where), "before", "onset_date", "MS onset", found
                )
            if name != "deaths":
                _compare_to_patient(
                    name,
                    table,
                    col,
                    (death, dead),
                    "after",
                    "deaths.date",
                    "the patient's death",
                    found,
                )
        if unit == "date" and name != "patients" and by_patient["birth_year"].notna().any():
            year = _per_row(by_patient["birth_year"], where, pid)
            for col in spec.date_columns:
                early = (table[col].dt.year < year).fillna(False).astype(bool)
                found.extend(
                    _row_problems(
                        name,
                        table.index[early.to_numpy()],
                        pid,
                        col,
                        table[col],
                        f"{col} is before the patient's birth_year",
                    )
                )


def _compare_to_patient(
    name: str,
    table: pd.DataFrame,
    col: str,
    located: tuple[pd.Series, np.ndarray],
    direction: str,
    reference_name: str,
    what: str,
    found: list[Problem],
) -> None:
    reference, where = located
    if reference.notna().sum() == 0:
        return
    pid = table["patient_id"]
    ref = _per_row(reference, where, pid)
    values = table[col]
    compared = (values < ref) if direction == "before" else (values > ref)
    wrong = compared.fillna(False).astype(bool).to_numpy()
    if not wrong.any():
        return
    rows = table.index[wrong]
    found.extend(
        _row_problems(
            name,
            rows,
            pid,
            col,
            values,
            f"{col} is {direction} {what} ({reference_name} " + ref[rows].map(_value_text) + ")",
        )
    )


def _per_row(reference: pd.Series, where: np.ndarray, pid: pd.Series) -> pd.Series:
    """``pid.map(reference)`` from ``where = reference.index.get_indexer(pid)`` (computed
    once per table): each row's value of its patient, missing where the patient has none."""
    rows = pd.Series(where, index=pid.index, name=pid.name)
    return rows.map(reference.reset_index(drop=True))  # the same take as pid.map(reference)


def canonical_order(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Rows sorted by patient and key (stable), fresh 0-based index: order-free results."""
    out: dict[str, pd.DataFrame] = {}
    for name, spec in SCHEMA.items():
        table = tables[name]
        sort_by = ["patient_id", *[c for c in spec.key if c != "patient_id"]]
        if spec.event_date is not None and spec.event_date not in sort_by:
            sort_by.append(spec.event_date)
        if not in_order(table, sort_by):
            table = table.sort_values(sort_by, kind="stable", na_position="last")
        out[name] = table.reset_index(drop=True)
    return out
