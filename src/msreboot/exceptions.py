"""The exceptions msreboot raises.

Every exception derives from :class:`MsrebootError` and from the builtin it refines, so
``except ValueError`` keeps working for callers who do not know msreboot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from msreboot.data._problems import Problem

__all__ = [
    "DataValidationError",
    "MissingDependencyError",
    "MsrebootError",
    "StoreError",
]


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
        from msreboot.data._problems import problems_to_frame

        return problems_to_frame(self.problems)


class StoreError(MsrebootError, OSError):
    """The embedded DuckDB store could not be read or written."""


class MissingDependencyError(MsrebootError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""
