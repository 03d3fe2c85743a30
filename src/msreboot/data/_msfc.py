"""Checks of the functional test tables (timed 25-foot walk, nine-hole peg test) that span
columns: a time or "unable to complete", never both, never neither.

A test not completed is recorded as ``unable_to_complete = true`` with ``seconds`` empty.
Codes that some forms use for it (777, 999) are above the MSFC time limit and are reported
with that fix, as is a time beside ``unable_to_complete``.
"""

from __future__ import annotations

import pandas as pd

from msreboot.data._schema import TableSpec
from msreboot.exceptions import Problem

__all__ = ["TIMED_TABLES", "check_timed_tests"]

TIMED_TABLES = frozenset({"timed_walk", "peg_test"})
"""Tables with ``seconds`` and ``unable_to_complete``."""


def _problem(table: str, row: int, pid: pd.Series, value: object, message: str) -> Problem:
    patient = pid.get(row)
    shown = None if value is None or value is pd.NA else f"{float(str(value)):g}"
    return Problem(
        table, int(row), None if pd.isna(patient) else str(patient), "seconds", shown, message
    )


def check_timed_tests(
    spec: TableSpec,
    table: pd.DataFrame,
    pid: pd.Series,
    found: list[Problem],
    unconvertible: set[tuple[int, str]],
) -> None:
    """Report, located by row and patient, times above the limit (with the fix for codes of
    a test not completed), rows with neither a time nor ``unable_to_complete``, and rows
    with both. Rows reported here are added to ``unconvertible`` (not reported twice)."""
    if spec.name not in TIMED_TABLES or table.empty:
        return
    limit = float(spec["seconds"].max_value or "inf")
    seconds = table["seconds"].astype("Float64")
    unable = table["unable_to_complete"].astype("boolean").fillna(False).astype(bool)
    failed_rows = [r for r, column in unconvertible if column == "seconds"]
    failed = pd.Series(table.index.isin(failed_rows), table.index)
    over = (seconds > limit).fillna(False).astype(bool) & ~failed
    for row in table.index[over.to_numpy()]:
        found.append(
            _problem(
                spec.name,
                row,
                pid,
                seconds[row],
                f"seconds must be >0 to {limit:g} (the MSFC limit per trial); got "
                f"{seconds[row]:g}. Record a test not completed as unable_to_complete = true "
                "with seconds empty, not as a code such as 777 or 999",
            )
        )
        unconvertible.add((int(row), "seconds"))
    missing = seconds.isna().to_numpy() & ~unable.to_numpy() & ~failed.to_numpy()
    for row in table.index[missing]:
        found.append(
            _problem(
                spec.name,
                row,
                pid,
                None,
                "seconds is required unless unable_to_complete is true; the value is missing. "
                "Give the mean time of the trials, or set unable_to_complete to true",
            )
        )
    both = seconds.notna().to_numpy() & unable.to_numpy() & ~over.to_numpy()
    for row in table.index[both]:
        found.append(
            _problem(
                spec.name,
                row,
                pid,
                seconds[row],
                f"seconds must be empty when unable_to_complete is true; got {seconds[row]:g}. "
                "Remove the time, or set unable_to_complete to false",
            )
        )
