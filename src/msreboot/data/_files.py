"""Read cohort tables from files (CSV, Parquet, Excel) and write them back, atomically."""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pandas as pd

from msreboot.data._atomic import atomic_write_bytes, atomic_write_text, replace_directory
from msreboot.data._schema import SCHEMA, TABLE_NAMES
from msreboot.exceptions import MissingDependencyError, Problem

__all__ = [
    "TABLE_SUFFIXES",
    "FileFormat",
    "atomic_write_bytes",
    "atomic_write_text",
    "csv_text",
    "read_folder",
    "read_table_file",
    "read_workbook",
    "replace_directory",
    "write_tables",
]

FileFormat = Literal["csv", "parquet"]
TABLE_SUFFIXES: Mapping[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
}


def _table_key(stem: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", stem.strip().lower()).strip("_")


def read_folder(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read every file named after a canonical table (``edss.csv``, ``mri.parquet``...).

    Files that name no table are reported as warnings; two files for one table, empty
    files and files that are not tables are errors.
    """
    raw: dict[str, pd.DataFrame] = {}
    sources: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")) or not path.is_file():
            continue
        if path.suffix.lower() not in TABLE_SUFFIXES:
            continue
        name = _table_key(path.stem)
        if name not in SCHEMA:
            close = difflib.get_close_matches(name, TABLE_NAMES, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}{path.suffix}?" if close else ""
            problems.append(
                Problem.table_level(
                    path.name,
                    f"file is not named after a cohort table ({', '.join(TABLE_NAMES)}) and is "
                    f"ignored{hint}",
                    severity="warning",
                )
            )
            continue
        if name in sources:
            problems.append(
                Problem.table_level(
                    name,
                    f"two files for the {name} table ({sources[name].name} and {path.name}); "
                    "keep one",
                )
            )
            continue
        sources[name] = path
        frame = read_table_file(path, name, problems)
        if frame is not None:
            raw[name] = frame
    for name, spec in SCHEMA.items():
        if name not in sources and not spec.required:
            problems.append(
                Problem.table_level(
                    name,
                    f"no {name} file in {folder} (looked for {name}.csv, .parquet, .xlsx); "
                    "the table is empty",
                    severity="warning",
                )
            )
    return raw, problems


def read_table_file(path: Path, table: str, problems: list[Problem]) -> pd.DataFrame | None:
    """Read one table file as raw values; on failure append a problem and return ``None``."""
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    try:
        if path.stat().st_size == 0:
            problems.append(
                Problem.table_level(
                    table, f"{path.name} is empty: it has no header row", value=path.name
                )
            )
            return None
        if kind == "parquet":
            return _read_parquet(path)
        if kind == "excel":
            sheets = _read_excel(path)
            return next(iter(sheets.values()))
        return _read_csv(path)
    except MissingDependencyError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        problems.append(
            Problem.table_level(
                table,
                f"{path.name} could not be read as a table: {_first_line(err)}",
                value=path.name,
            )
        )
        return None


def read_workbook(path: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read an Excel workbook whose sheets are named after the tables."""
    problems: list[Problem] = []
    raw: dict[str, pd.DataFrame] = {}
    for sheet, frame in _read_excel(path).items():
        name = _table_key(str(sheet))
        if name in SCHEMA:
            raw[name] = frame
        else:
            problems.append(
                Problem.table_level(
                    str(sheet),
                    f"sheet {sheet!r} is not named after a cohort table and is ignored",
                    severity="warning",
                )
            )
    return raw, problems


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _sniff_separator(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if b"\x00" in head:
        raise ValueError("it is a binary file, not a text table (CSV)")
    first = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head else ""
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path) -> pd.DataFrame:
    sep = _sniff_separator(path)
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=False,
        )
    except UnicodeDecodeError:
        # spreadsheet exports on Windows are often cp1252
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="cp1252")
    except pd.errors.EmptyDataError as err:
        raise ValueError("it has no header row") from err


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises its own error types for corrupt files
        raise ValueError(f"not a Parquet file ({_first_line(err)})") from err
    frame: pd.DataFrame = table.to_pandas(date_as_object=False)
    return frame


def _read_excel(path: Path) -> dict[str, pd.DataFrame]:
    try:
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            "reading Excel files needs openpyxl; install it with `pip install 'msreboot[excel]'`"
        ) from err
    try:
        sheets: dict[str, pd.DataFrame] = pd.read_excel(
            path, sheet_name=None, dtype=object, engine="openpyxl"
        )
    except Exception as err:  # openpyxl raises zipfile/KeyError types for non-workbooks
        raise ValueError(f"not an Excel workbook ({_first_line(err)})") from err
    return sheets


# --- writing -------------------------------------------------------------------------------


def write_frame(frame: pd.DataFrame, path: Path, *, escape_formulas: bool = True) -> Path:
    """Write a result table to ``.csv`` or ``.parquet`` (by suffix), atomically.

    CSV text cells that a spreadsheet would run as a formula get a leading ``'`` unless
    ``escape_formulas`` is false (see :func:`write_tables`).
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return atomic_write_text(path, csv_text(frame, escape_formulas=escape_formulas))
    if suffix == ".parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return atomic_write_bytes(path, buffer.getvalue())
    raise ValueError(f"the output file must end in .csv or .parquet; got {path.name}.")


def _csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            out[col] = series.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(series.dtype):
            out[col] = series.map({True: "true", False: "false"}, na_action="ignore")
    return out


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _escape_formula(value: object) -> object:
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_PREFIXES)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame, *, escape_formulas: bool = True) -> str:
    r"""The CSV text of ``frame`` (no index, ``\n`` line ends), safe to open in a spreadsheet.

    Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
    leading ``'`` so that a spreadsheet shows them instead of running them as a formula
    (OWASP, "CSV Injection"); plain numbers such as ``-1.5`` are left alone. Turn this off
    with ``escape_formulas=False`` to keep every value byte for byte. When a text cell holds
    a carriage return, every text field is quoted (a bare CR is otherwise written
    unquoted and splits the row when read back).
    """
    text_columns = [
        c
        for c in frame.columns
        if pd.api.types.is_object_dtype(frame[c].dtype)
        or pd.api.types.is_string_dtype(frame[c].dtype)
    ]
    out = frame.copy() if escape_formulas and text_columns else frame
    has_cr = False
    for col in text_columns:
        if escape_formulas:
            out[col] = out[col].map(_escape_formula, na_action="ignore")
        has_cr = has_cr or any(isinstance(v, str) and "\r" in v for v in out[col])
    if has_cr:
        return out.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    return out.to_csv(index=False, lineterminator="\n")


def write_tables(
    tables: Mapping[str, pd.DataFrame],
    folder: Path,
    fmt: FileFormat = "csv",
    *,
    escape_formulas: bool = True,
) -> list[Path]:
    """Write canonical tables to ``folder`` (one file per table); all files or none.

    CSV text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return) get a leading ``'`` unless
    ``escape_formulas`` is false; line breaks inside a cell are always quoted.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet'; got {fmt!r}")
    written: list[Path] = []
    with replace_directory(folder) as staging:
        for name, frame in tables.items():
            path = staging / f"{name}.{fmt}"
            if fmt == "csv":
                text = csv_text(_csv_frame(frame), escape_formulas=escape_formulas)
                path.write_text(text, encoding="utf-8")
            else:
                _write_parquet(frame, path)
            written.append(folder / path.name)
    return written


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type):
            fields.append(pa.field(field.name, pa.date32()))
        else:
            fields.append(field)
    table = table.cast(pa.schema(fields))
    pq.write_table(table, path)
