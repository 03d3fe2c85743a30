"""The rules of one typed table: its contract (pandera, lazy, skipped when a pre-check finds
every value passing), treatment-kind columns, duplicate keys and date order within a row."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.data._coerce import (
    is_missing,
)
from msreboot.data._column_checks import _row_problems, _value_text
from msreboot.data._schema import ColumnSpec, TableSpec
from msreboot.exceptions import Problem

if TYPE_CHECKING:  # pandera (which may import pyspark) is imported when a table is checked
    import pandera.pandas as pa

__all__ = []


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


def _contract_may_fail(
    spec: TableSpec, table: pd.DataFrame, columns: list[str] | None = None
) -> bool:
    """False when every value passes the checks of :func:`_pandera_schema` (the same
    comparisons, on the present values, as pandera makes); True on any failure or doubt,
    and then pandera runs and reports. Clean tables skip pandera altogether. ``columns``:
    the columns checked (by default all)."""
    try:
        for name in table.columns if columns is None else columns:
            col = spec[name]
            checked = (col.allowed, col.min_value, col.max_value, col.step)
            if col.nullable and all(c is None for c in checked):
                continue  # no check applies to this column
            values = table[name]
            present = values.notna().to_numpy()
            if not present.all():
                if not col.nullable:
                    return True
                values = values[present]
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
    columns: list[str],
    raw_values: Mapping[str, pd.Series],
    pid: pd.Series,
    unconvertible: set[tuple[int, str]],
    found: list[Problem],
) -> None:
    """Run the pandera contract on ``columns`` (those present in the input); report each
    failure with the value as given in the input."""
    if not _contract_may_fail(spec, table, columns):
        return  # every check passes: pandera would report nothing
    table = table[columns]
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
    kind_given = kind.notna()
    other_kind: dict[tuple[str, ...], pd.Series] = {}  # rows of another kind, per kind list
    for col in spec.columns:
        if col.treatment_kinds is None:
            continue
        kinds = tuple(col.treatment_kinds)
        if kinds not in other_kind:
            other_kind[kinds] = kind_given & ~kind.isin(col.treatment_kinds)
        misplaced = table[col.name].notna() & other_kind[kinds]
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
    spec: TableSpec,
    table: pd.DataFrame,
    pid: pd.Series,
    found: list[Problem],
    pid_codes: np.ndarray | None = None,
) -> None:
    """Rows repeating the key of an earlier row. ``pid_codes`` (each row's patient as an
    integer, -1 where missing) stand for the patient_id text: the same rows compare equal."""
    if not spec.key:
        return
    key = table[list(spec.key)]
    by_code = pid_codes is not None and "patient_id" in spec.key
    compared = key.assign(patient_id=pid_codes) if by_code else key
    complete = np.ones(len(key), dtype=bool)  # every required part of the key present
    for c in spec.key:
        if not spec[c].required:
            continue
        if by_code and c == "patient_id":
            complete &= compared[c].to_numpy() >= 0
        else:
            complete &= key[c].notna().to_numpy()
    dup = compared.duplicated(keep="first").to_numpy() & complete
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
            table.index[dup],
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
