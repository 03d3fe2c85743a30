"""Entry points: validate or read a cohort from a folder, workbook, REDCap export or store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from msreboot.data._coerce import PartialDates
from msreboot.data._cohort import Cohort, ValidationReport
from msreboot.data._files import FileFormat, read_folder, read_workbook, write_tables
from msreboot.data._schema import TABLE_NAMES, TimeUnit
from msreboot.data._validate import MAX_CELL_CHARS, Prepared, prepare_tables
from msreboot.exceptions import DataValidationError, Problem

__all__ = ["CohortSource", "read_cohort", "validate", "write_cohort"]

CohortSource = str | Path | Mapping[str, pd.DataFrame]
"""A folder of table files, an Excel workbook (one sheet per table), a REDCap export (with
a mapping), a DuckDB store (``.duckdb``), or pandas tables by name."""

STORE_SUFFIXES = (".duckdb", ".db")


@dataclass(frozen=True)
class _Raw:
    label: str
    tables: Mapping[str, pd.DataFrame]
    problems: Sequence[Problem]
    row_numbers: Mapping[str, pd.Index] | None = None


def _read_raw(
    source: CohortSource, redcap_mapping: str | Path | None, max_cell_chars: int = MAX_CELL_CHARS
) -> _Raw:
    if isinstance(source, Mapping):
        unknown = sorted(set(source) - set(TABLE_NAMES))
        problems = tuple(
            Problem.table_level(
                name,
                f"{name!r} is not a cohort table ({', '.join(TABLE_NAMES)}) and is ignored",
                severity="warning",
            )
            for name in unknown
        )
        return _Raw("<frames>", dict(source), problems)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"cohort source must exist; got {path} (no such file or folder)")
    if redcap_mapping is not None:
        from msreboot.data._redcap import read_redcap

        tables, found = read_redcap(path, Path(redcap_mapping), max_cell_chars=max_cell_chars)
        rows = {name: frame.index for name, frame in tables.items()}
        return _Raw(str(path), tables, found, rows)
    if path.is_dir():
        return _Raw(str(path), *read_folder(path, max_cell_chars=max_cell_chars))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _Raw(str(path), *read_workbook(path))
    raise ValueError(
        f"cohort source must be a folder of table files, an Excel workbook, a DuckDB store or "
        f"a REDCap export with a mapping file; got {path}. For a REDCap export pass "
        "redcap_mapping= (CLI: --redcap-mapping)."
    )


def _prepare(
    source: CohortSource,
    redcap_mapping: str | Path | None,
    time_unit: TimeUnit | None,
    date_format: str | None,
    partial_dates: PartialDates | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> tuple[_Raw, Prepared]:
    if partial_dates not in (None, "first", "mid"):
        raise ValueError(f"partial_dates must be None, 'first' or 'mid'; got {partial_dates!r}.")
    if max_cell_chars < 1:
        raise ValueError(f"max_cell_chars must be at least 1; got {max_cell_chars}.")
    raw = _read_raw(source, redcap_mapping, max_cell_chars)
    prepared = prepare_tables(
        {k: v for k, v in raw.tables.items() if k in TABLE_NAMES},
        time_unit=time_unit,
        date_format=date_format,
        problems=raw.problems,
        row_numbers=raw.row_numbers,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    return raw, prepared


def _is_store(source: CohortSource) -> bool:
    return not isinstance(source, Mapping) and Path(source).suffix.lower() in STORE_SUFFIXES


def validate(
    source: CohortSource,
    *,
    redcap_mapping: str | Path | None = None,
    time_unit: TimeUnit | None = None,
    date_format: str | None = None,
    partial_dates: PartialDates | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> ValidationReport:
    """Check a cohort and report every problem, without raising for data problems.

    Parameters
    ----------
    source
        See :data:`CohortSource`.
    redcap_mapping
        Mapping file (TOML) when ``source`` is a REDCap flat export.
    time_unit
        Force ``"date"`` or ``"day"``; inferred when ``None``.
    date_format
        strftime format of text dates when they are not ISO 8601 (``"%d/%m/%Y"``,
        ``"%Y%m%d"``, also for integers), or ``"excel"`` for Excel serial day numbers. With a
        format, dates are calendar dates.
    partial_dates
        ``None`` (default) refuses partial dates (``2015-11``, ``2015``) with a located error;
        ``"first"`` completes them to the first day of the month or year, ``"mid"`` to the
        15th of the month or 1 July (a warning counts them; the cohort records the policy).
    max_cell_chars
        Longest text cell accepted, in characters (default 65,536); longer cells are errors.

    Notes
    -----
    Dates are ``YYYY-MM-DD``. A date-time with a time zone (``2015-11-08T00:00:00Z``) is
    read as its calendar date only when it is midnight UTC; any other time or offset is a
    located error, as its calendar day depends on where it is read. Day-based dates must lie
    within 200 years (73,050 days) of the patient's origin. Integer dates that read as
    ``YYYYMMDD`` or Excel serials are refused unless ``date_format`` names them.

    Returns
    -------
    ValidationReport
        ``.ok`` is false when any problem is an error; ``.to_frame()`` lists them all.

    Examples
    --------
    >>> from msreboot.datasets import example_path
    >>> report = validate(example_path())
    >>> report.ok, len(report.errors)
    (True, 0)
    """
    if _is_store(source):
        from msreboot.data._store import validate_store

        return validate_store(Path(str(source)))
    raw, prepared = _prepare(
        source, redcap_mapping, time_unit, date_format, partial_dates, max_cell_chars
    )
    rows = {name: len(raw.tables[name]) for name in TABLE_NAMES if name in raw.tables}
    return ValidationReport(raw.label, prepared.problems, rows, prepared.time_unit)


def read_cohort(
    source: CohortSource,
    *,
    redcap_mapping: str | Path | None = None,
    time_unit: TimeUnit | None = None,
    date_format: str | None = None,
    partial_dates: PartialDates | None = None,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> Cohort:
    """Read and validate a cohort; raise with the full problem list if anything is wrong.

    Parameters are those of :func:`validate`.

    Raises
    ------
    DataValidationError
        Carrying every problem (``.problems``, ``.to_frame()``).
    FileNotFoundError
        ``source`` does not exist.

    Examples
    --------
    >>> from msreboot.datasets import example_path
    >>> cohort = read_cohort(example_path())
    >>> cohort.n_patients
    300
    """
    if _is_store(source):
        from msreboot.data._store import read_store

        return read_store(Path(str(source)))
    _, prepared = _prepare(
        source, redcap_mapping, time_unit, date_format, partial_dates, max_cell_chars
    )
    if not prepared.ok:
        raise DataValidationError(prepared.problems)
    return Cohort.from_canonical(
        prepared.tables,
        prepared.time_unit,
        prepared.problems,
        partial_dates=partial_dates if prepared.time_unit == "date" else None,
    )


def write_cohort(
    cohort: Cohort, folder: str | Path, fmt: FileFormat = "csv", *, escape_formulas: bool = True
) -> list[Path]:
    """Write a cohort as one file per table (CSV or Parquet) into ``folder``.

    All files are written to a temporary folder first and moved into place only when every
    table was written, so an error leaves ``folder`` as it was. CSV dates are ISO 8601
    (``YYYY-MM-DD``), booleans ``true``/``false``, missing values empty; floats are written
    with enough digits to read back exactly. Parquet dates are ``date32``. CSV text cells
    that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return) get a leading ``'`` unless ``escape_formulas`` is false.

    Returns
    -------
    list of Path
        The files written, in canonical table order.
    """
    return write_tables(cohort.tables, Path(folder), fmt, escape_formulas=escape_formulas)
