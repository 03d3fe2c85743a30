"""The exceptions msreboot raises, and the located data problem they carry.

Every exception derives from :class:`MsrebootError` and from the builtin it refines, so
``except ValueError`` keeps working for callers who do not know msreboot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PROBLEM_COLUMNS",
    "DataValidationError",
    "MissingDependencyError",
    "MsrebootError",
    "Problem",
    "RedcapApiError",
    "Severity",
    "SpecFileError",
    "StoreError",
    "problems_to_frame",
]

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
    import pandas as pd

    frame = pd.DataFrame([asdict(p) for p in problems], columns=list(PROBLEM_COLUMNS))
    frame["row"] = frame["row"].astype("Int64")
    return frame


class MsrebootError(Exception):
    """Root of every exception raised by msreboot."""


class DataValidationError(MsrebootError, ValueError):
    """A cohort failed validation; ``problems`` holds every problem found, not only the first.

    Parameters
    ----------
    problems
        Every problem found, errors and warnings, in the order they were found.
    shown
        How many problems the message lists before summarising the rest.
    """

    def __init__(self, problems: Sequence[Problem], shown: int = 10) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"cohort has {len(errors)} data problem(s); the first {min(shown, len(errors))}:"]
        lines += [f"  - {p.describe()}" for p in errors[:shown]]
        if len(errors) > shown:
            lines.append(
                f"  ... and {len(errors) - shown} more: see .problems or .to_frame() "
                "(`msreboot validate` writes them all to CSV)"
            )
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``"error"`` (the ones that stopped loading)."""
        return tuple(p for p in self.problems if p.severity == "error")

    def to_frame(self) -> pd.DataFrame:
        """Every problem as a tidy table (one row per problem)."""
        return problems_to_frame(self.problems)


class SpecFileError(MsrebootError, ValueError):
    """A TOML file (trial spec, endpoint definitions, calibration targets or priors, REDCap
    mapping, protocol catalogue) could not be read: missing, not a regular file, too large,
    not UTF-8, nested too deeply or not valid TOML. The message names the file."""


class StoreError(MsrebootError, OSError):
    """The embedded DuckDB store could not be read or written."""


class RedcapApiError(MsrebootError, OSError):
    """The REDCap API could not be reached, or refused the request; the message says why
    (never with the token)."""


class MissingDependencyError(MsrebootError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""
