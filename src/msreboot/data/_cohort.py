"""The validated cohort (the canonical tables) and the validation report."""

from __future__ import annotations

import html
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from msreboot.data._coerce import PartialDates
from msreboot.data._schema import SCHEMA, TABLE_NAMES, TimeUnit
from msreboot.data._validate import prepare_tables
from msreboot.exceptions import DataValidationError, Problem, problems_to_frame

__all__ = ["Cohort", "ValidationReport"]

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: the canonical tables of one centre, registry or simulation.

    Build one with :func:`~msreboot.data.read_cohort` (files), :func:`~msreboot.data.read_store`
    (DuckDB) or :meth:`Cohort.from_frames` (pandas); each validates the input and raises
    :class:`~msreboot.exceptions.DataValidationError` listing every problem. Tables always
    have every canonical column with its canonical dtype, rows sorted by patient and date,
    and a fresh 0-based index. Treat them as read-only.

    Attributes
    ----------
    patients, treatments, edss, relapses, mri, adverse_events, deaths, labs, proms
        The canonical tables (see ``docs/schema.md``); a table absent from the input is
        empty.
    timed_walk, peg_test, sdmt
        The timed 25-foot walk, nine-hole peg test and SDMT results (empty when absent).
    time_unit
        ``"date"`` (calendar dates, ``datetime64[ns]``) or ``"day"`` (whole days from each
        patient's origin, ``Int64``).
    warnings
        Problems of severity ``"warning"`` found while loading (ignored columns, files).
    partial_dates
        How partial dates of the input were completed (``"first"`` or ``"mid"``), or
        ``None`` when they were refused (the default): recorded for the report's provenance.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> cohort = load_example()
    >>> cohort.n_patients, cohort.time_unit
    (300, 'date')
    >>> list(cohort.edss.columns[:3])
    ['patient_id', 'date', 'edss']
    """

    patients: pd.DataFrame
    treatments: pd.DataFrame
    edss: pd.DataFrame
    relapses: pd.DataFrame
    mri: pd.DataFrame
    adverse_events: pd.DataFrame
    deaths: pd.DataFrame
    labs: pd.DataFrame = field(default_factory=lambda: SCHEMA["labs"].empty_frame("date"))
    proms: pd.DataFrame = field(default_factory=lambda: SCHEMA["proms"].empty_frame("date"))
    timed_walk: pd.DataFrame = field(
        default_factory=lambda: SCHEMA["timed_walk"].empty_frame("date")
    )
    peg_test: pd.DataFrame = field(default_factory=lambda: SCHEMA["peg_test"].empty_frame("date"))
    sdmt: pd.DataFrame = field(default_factory=lambda: SCHEMA["sdmt"].empty_frame("date"))
    time_unit: TimeUnit = "date"
    warnings: tuple[Problem, ...] = ()
    partial_dates: PartialDates | None = None
    _derived: dict[Hashable, Any] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value derived from this cohort under ``key``, computed on first use only.

        Several endpoints need the same per-patient values (last contact, time zero,
        disability events under one set of rules); each is computed once per cohort and
        shared. ``key`` must name everything the value depends on besides the cohort, and
        the value must be treated as read-only. A cohort made by ``dataclasses.replace``
        starts with nothing derived.
        """
        if key not in self._derived:
            self._derived[key] = compute()
        value: T = self._derived[key]
        return value

    @classmethod
    def from_frames(
        cls,
        tables: Mapping[str, pd.DataFrame],
        *,
        time_unit: TimeUnit | None = None,
        date_format: str | None = None,
    ) -> Cohort:
        """Validate pandas tables (any column order, index and dtypes) into a cohort.

        Parameters
        ----------
        tables
            Tables by canonical name; ``patients`` is required, the others default to empty.
        time_unit
            Force ``"date"`` or ``"day"``; inferred from the date columns when ``None``.
        date_format
            strftime format of text dates when they are not ISO 8601 (``"%d/%m/%Y"``).

        Raises
        ------
        DataValidationError
            With every problem found, when any is an error.
        """
        unknown = sorted(set(tables) - set(TABLE_NAMES))
        if unknown:
            raise ValueError(
                f"table names must be among {', '.join(TABLE_NAMES)}; got {', '.join(unknown)}"
            )
        prepared = prepare_tables(tables, time_unit=time_unit, date_format=date_format)
        if not prepared.ok:
            raise DataValidationError(prepared.problems)
        return cls.from_canonical(prepared.tables, prepared.time_unit, prepared.problems)

    @classmethod
    def from_canonical(
        cls,
        tables: Mapping[str, pd.DataFrame],
        time_unit: TimeUnit,
        warnings: tuple[Problem, ...] = (),
        *,
        partial_dates: PartialDates | None = None,
    ) -> Cohort:
        """Wrap tables that are already canonical (validated); no checks are run."""
        return cls(
            patients=tables["patients"],
            treatments=tables["treatments"],
            edss=tables["edss"],
            relapses=tables["relapses"],
            mri=tables["mri"],
            adverse_events=tables["adverse_events"],
            deaths=tables["deaths"],
            labs=tables.get("labs", SCHEMA["labs"].empty_frame(time_unit)),
            proms=tables.get("proms", SCHEMA["proms"].empty_frame(time_unit)),
            timed_walk=tables.get("timed_walk", SCHEMA["timed_walk"].empty_frame(time_unit)),
            peg_test=tables.get("peg_test", SCHEMA["peg_test"].empty_frame(time_unit)),
            sdmt=tables.get("sdmt", SCHEMA["sdmt"].empty_frame(time_unit)),
            time_unit=time_unit,
            warnings=warnings,
            partial_dates=partial_dates,
        )

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The twelve tables by name, in canonical order."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def table(self, name: str) -> pd.DataFrame:
        """One table by name."""
        if name not in SCHEMA:
            raise KeyError(f"table must be one of {', '.join(TABLE_NAMES)}; got {name!r}")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def equals(self, other: Cohort) -> bool:
        """Same time unit and identical tables (values, dtypes and row order)."""
        return self.time_unit == other.time_unit and all(
            self.table(n).equals(other.table(n)) for n in TABLE_NAMES
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per table: rows, patients with rows, and columns holding any value."""
        rows = []
        for name, frame in self.tables.items():
            filled = [c for c in frame.columns if frame[c].notna().any()]
            rows.append(
                {
                    "table": name,
                    "rows": len(frame),
                    "patients": int(frame["patient_id"].nunique()),
                    "columns_with_data": len(filled),
                    "columns": len(frame.columns),
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A short description of the cohort: patients, treatments and follow-up (text)."""
        from msreboot.data._summary import describe_cohort

        return describe_cohort(self).summary()

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>Cohort</b>: {self.n_patients} patients, "
            f"time unit {html.escape(self.time_unit)}</p>"
        )
        return head + self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n}={len(t)}" for n, t in self.tables.items())
        return f"Cohort(time_unit={self.time_unit!r}, {counts})"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a cohort: every problem found, errors and warnings.

    Attributes
    ----------
    source
        What was validated (a path, or ``"<frames>"``).
    problems
        Every problem, in the order found.
    rows
        Rows read per table (tables not given are absent).
    time_unit
        The time unit the dates were read in.
    """

    source: str
    problems: tuple[Problem, ...]
    rows: Mapping[str, int]
    time_unit: TimeUnit

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def to_frame(self) -> pd.DataFrame:
        """Every problem, one row each: severity, table, row, patient_id, column, value, problem."""
        frame = problems_to_frame(self.problems)
        return frame[["severity", *[c for c in frame.columns if c != "severity"]]]

    def by_table(self) -> pd.DataFrame:
        """Counts of errors and warnings per table and column."""
        frame = self.to_frame()
        if frame.empty:
            return pd.DataFrame(columns=["table", "column", "errors", "warnings"])
        frame["column"] = frame["column"].fillna("(table)")
        counts = (
            frame.groupby(["table", "column", "severity"])
            .size()
            .unstack(fill_value=0)
            .reindex(columns=["error", "warning"], fill_value=0)
            .rename(columns={"error": "errors", "warning": "warnings"})
            .reset_index()
        )
        counts.columns.name = None
        return counts

    def write_csv(self, path: str | Path, *, escape_formulas: bool = True) -> Path:
        """Write the full problem list to CSV (atomically) and return the path.

        Values that a spreadsheet would run as a formula get a leading ``'`` unless
        ``escape_formulas`` is false.
        """
        from msreboot.data._files import atomic_write_text, csv_text

        text = csv_text(self.to_frame(), escape_formulas=escape_formulas)
        return atomic_write_text(Path(path), text)

    def summary(self, shown: int = 10) -> str:
        """Counts, then the first ``shown`` errors (text)."""
        rows = ", ".join(f"{t} {n}" for t, n in self.rows.items())
        lines = [
            f"validated {self.source}: {len(self.errors)} error(s), "
            f"{len(self.warnings)} warning(s)",
            f"rows read: {rows or 'none'}",
        ]
        lines += [f"  {p.severity}: {p.describe()}" for p in (self.errors or self.warnings)[:shown]]
        remaining = len(self.errors or self.warnings) - shown
        if remaining > 0:
            lines.append(f"  ... and {remaining} more")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        status = "valid" if self.ok else "not valid"
        return (
            f"<p><b>{html.escape(self.source)}</b>: {status}, {len(self.errors)} errors, "
            f"{len(self.warnings)} warnings</p>" + self.to_frame().head(50).to_html(index=False)
        )
