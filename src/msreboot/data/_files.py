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
from msreboot.data._csv import _line_ends, _read_csv
from msreboot.data._schema import SCHEMA, TABLE_NAMES
from msreboot.data._validate import MAX_CELL_CHARS
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


def read_folder(
    folder: Path, *, max_cell_chars: int = MAX_CELL_CHARS
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Read every file named after a canonical table (``edss.csv``, ``mri.parquet``...).

    Files that name no table are reported as warnings; two files for one table, empty
    files and files that are not tables are errors.
    """
    raw: dict[str, pd.DataFrame] = {}
    sources: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")):
            continue
        if path.suffix.lower() not in TABLE_SUFFIXES:
            continue
        name = _table_key(path.stem)
        if not path.is_file():
            if name in SCHEMA:
                what = (
                    "a broken symbolic link"
                    if path.is_symlink() and not path.exists()
                    else "a folder"
                    if path.is_dir()
                    else "not a regular file"
                )
                problems.append(
                    Problem.table_level(
                        name,
                        f"{path.name} in {folder} must be a table file; it is {what}. Replace "
                        f"it with the {name} file, or remove it if the table is empty",
                        value=path.name,
                    )
                )
                sources.setdefault(name, path)
            continue
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
        frame = read_table_file(path, name, problems, max_cell_chars=max_cell_chars)
        if frame is not None:
            raw[name] = frame
    for name, spec in SCHEMA.items():
        if name not in sources and not spec.required and not spec.supplementary:
            problems.append(
                Problem.table_level(
                    name,
                    f"no {name} file in {folder} (looked for {name}.csv, .parquet, .xlsx); "
                    "the table is empty",
                    severity="warning",
                )
            )
    return raw, problems


def read_table_file(
    path: Path, table: str, problems: list[Problem], *, max_cell_chars: int = MAX_CELL_CHARS
) -> pd.DataFrame | None:
    """Read one table file as raw values; on failure append a problem and return ``None``.

    A CSV file is first scanned in blocks for its longest line: a line longer than any row
    of cells within ``max_cell_chars`` could be (a missing line break, an unclosed quote, a
    huge pasted cell) is reported before the file is read into memory.
    """
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
            sheets = _read_excel(path, problems)
            return next(iter(sheets.values()))
        ends = _line_ends(path, table, problems, max_cell_chars)
        if ends is None:
            return None
        return _read_csv(path, table, problems, ends)
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
    sheet_of: dict[str, str] = {}
    for sheet, frame in _read_excel(path, problems).items():
        name = _table_key(str(sheet))
        if name in SCHEMA and name in sheet_of:
            problems.append(
                Problem.table_level(
                    name,
                    f"two sheets of {path.name} name the {name} table ({sheet_of[name]!r} and "
                    f"{sheet!r}); keep one",
                    value=str(sheet),
                )
            )
        elif name in SCHEMA:
            sheet_of[name] = str(sheet)
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


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises its own error types for corrupt files
        raise ValueError(f"not a Parquet file ({_first_line(err)})") from err
    try:
        frame: pd.DataFrame = table.to_pandas(date_as_object=False)
    except Exception:  # out-of-range dates (9999-12-31): keep them as objects, to report
        frame = table.to_pandas(date_as_object=True, timestamp_as_object=True)
    return frame


def _read_excel(path: Path, problems: list[Problem] | None = None) -> dict[str, pd.DataFrame]:
    try:
        import openpyxl  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            "reading Excel files needs openpyxl; install it with `pip install 'msreboot[excel]'`"
        ) from err
    try:
        sheets: dict[str, pd.DataFrame] = pd.read_excel(
            path, sheet_name=None, dtype=object, engine="openpyxl", header=None
        )
    except Exception as err:  # openpyxl raises zipfile/KeyError types for non-workbooks
        raise ValueError(f"not an Excel workbook ({_first_line(err)})") from err
    out: dict[str, pd.DataFrame] = {}
    found = problems if problems is not None else []
    for sheet, grid in sheets.items():
        out[sheet] = _sheet_frame(path, str(sheet), grid, found)
    _check_formulas(path, found)
    return out


def _sheet_frame(path: Path, sheet: str, grid: pd.DataFrame, found: list[Problem]) -> pd.DataFrame:
    """The sheet's first row as header (an exact duplicate name is an error)."""
    if grid.empty:
        return pd.DataFrame()
    header = ["" if v is None or v != v else str(v).strip() for v in grid.iloc[0]]
    for name in sorted({h for h in header if h and header.count(h) > 1}):
        found.append(
            Problem.table_level(
                _table_key(sheet) or sheet,
                f"sheet {sheet!r} of {path.name} has the column {name!r} {header.count(name)} "
                "times in its header; keep one",
                column=name,
                value=name,
            )
        )
    names = [h if h else f"Unnamed: {i}" for i, h in enumerate(header)]
    frame = grid.iloc[1:].reset_index(drop=True)
    frame.columns = pd.Index(names)
    return frame


def _check_formulas(path: Path, found: list[Problem]) -> None:
    """Formula cells saved without a computed value load as missing: an error each."""
    import openpyxl

    try:
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # unreadable: reported by the reader above
        return
    try:
        for ws in formulas.worksheets:
            header: list[str] = []
            cached = values[ws.title].iter_rows(values_only=True)
            for r, (row, vrow) in enumerate(
                zip(ws.iter_rows(values_only=True), cached, strict=False), 1
            ):
                if r == 1:
                    header = ["" if v is None else str(v).strip() for v in row]
                    continue
                for c, (cell, value) in enumerate(zip(row, vrow, strict=False)):
                    if isinstance(cell, str) and cell.startswith("=") and value is None:
                        column = header[c] if c < len(header) else f"column {c + 1}"
                        found.append(
                            Problem(
                                _table_key(ws.title) or ws.title,
                                r - 1,
                                None,
                                column,
                                cell[:60],
                                f"sheet {ws.title!r} of {path.name}: the formula has no "
                                "saved value (the workbook was not recalculated). Open and "
                                "save it in Excel, or replace the formula by its value",
                            )
                        )
    finally:
        formulas.close()
        values.close()


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
