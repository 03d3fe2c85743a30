"""One data problem, located by table, row, patient and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Literal

import pandas as pd

__all__ = ["PROBLEM_COLUMNS", "Problem", "Severity", "problems_to_frame"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem found in a cohort.

    Attributes
    ----------
    table
        Canonical table name (``"edss"``), or the file name when the file maps to no table.
    row
        1-based data row in the table as read (row 1 is the first row under the header,
        i.e. line 2 of a CSV file); ``None`` for problems of a whole table or column.
    patient_id
        The row's patient, when known.
    column
        Canonical column name, when the problem belongs to one column.
    value
        The offending value as text, when there is one.
    problem
        What is wrong and, where possible, how to fix it.
    severity
        ``"error"`` stops loading; ``"warning"`` is reported and loading goes on.
    """

    table: str
    row: int | None
    patient_id: str | None
    column: str | None
    value: str | None
    problem: str
    severity: Severity = "error"

    @classmethod
    def table_level(
        cls,
        table: str,
        problem: str,
        *,
        column: str | None = None,
        value: str | None = None,
        severity: Severity = "error",
    ) -> Problem:
        """A problem of a whole table, file or column rather than of one row."""
        return cls(table, None, None, column, value, problem, severity)

    def describe(self) -> str:
        """One line for people: ``edss row 12 (patient P007) column edss: ...``."""
        where = [self.table]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.patient_id is not None:
            where.append(f"(patient {self.patient_id})")
        if self.column is not None:
            where.append(f"column {self.column}")
        value = f" [value {self.value!r}]" if self.value is not None else ""
        return f"{' '.join(where)}: {self.problem}{value}"


PROBLEM_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Problem))


def problems_to_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """Problems as a table with columns :data:`PROBLEM_COLUMNS` (row as nullable integer)."""
    frame = pd.DataFrame([asdict(p) for p in problems], columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame
