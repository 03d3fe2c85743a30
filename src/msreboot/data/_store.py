"""The embedded DuckDB store: one validated cohort per database file.

Import is all-or-nothing: the new database is built in a temporary file beside the target
and renamed over it only when complete, so a failed or killed import leaves an existing
store exactly as it was (byte for byte). Importing a cohort whose content equals the
store's leaves the file untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from msreboot._version import __version__
from msreboot.data._cohort import Cohort
from msreboot.data._schema import SCHEMA, ColumnSpec, TableSpec, TimeUnit
from msreboot.exceptions import StoreError

__all__ = ["STORE_FORMAT", "ImportResult", "cohort_checksum", "import_cohort", "read_store"]

STORE_FORMAT = "1"
"""Version of the store layout; bumped when tables or metadata change incompatibly."""

META_TABLE = "msreboot_meta"


@dataclass(frozen=True)
class ImportResult:
    """What an import did.

    Attributes
    ----------
    path
        The store file.
    rows
        Rows per table now in the store.
    checksum
        Content checksum of the cohort (see :func:`cohort_checksum`).
    changed
        False when the store already held exactly this cohort and was left untouched.
    """

    path: Path
    rows: dict[str, int]
    checksum: str
    changed: bool

    def summary(self) -> str:
        state = "imported into" if self.changed else "already up to date:"
        total = sum(self.rows.values())
        return f"{state} {self.path} ({total} rows in {len(self.rows)} tables)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"table": list(self.rows), "rows": list(self.rows.values())})


def cohort_checksum(cohort: Cohort) -> str:
    """SHA-256 over every table's columns, dtypes and values (row order included)."""
    digest = hashlib.sha256(f"msreboot-store-{STORE_FORMAT}:{cohort.time_unit}".encode())
    for name, frame in cohort.tables.items():
        digest.update(f"|{name}|{','.join(frame.columns)}|{frame.dtypes.to_dict()}".encode())
        if len(frame):
            hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
            digest.update(hashed.tobytes())
    return digest.hexdigest()


def _sql_type(col: ColumnSpec, unit: TimeUnit) -> str:
    if col.kind == "date":
        return "DATE" if unit == "date" else "INTEGER"
    return {
        "float": "DOUBLE",
        "int": "BIGINT",
        "bool": "BOOLEAN",
    }.get(col.kind, "VARCHAR")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ddl(spec: TableSpec, unit: TimeUnit) -> str:
    parts = []
    for col in spec.columns:
        line = f'"{col.name}" {_sql_type(col, unit)}'
        if not col.nullable:
            line += " NOT NULL"
        checks = []
        if col.allowed is not None:
            checks.append(f'"{col.name}" IN ({", ".join(_quote(a) for a in col.allowed)})')
        if col.min_value is not None:
            checks.append(f'"{col.name}" {">" if col.min_exclusive else ">="} {col.min_value!r}')
        if col.max_value is not None:
            checks.append(f'"{col.name}" <= {col.max_value!r}')
        if checks:
            line += f" CHECK ({' AND '.join(checks)})"
        parts.append(line)
    return f'CREATE TABLE "{spec.name}" (\n  ' + ",\n  ".join(parts) + "\n)"


def _select_list(spec: TableSpec, unit: TimeUnit) -> str:
    cols = []
    for col in spec.columns:
        cast = _sql_type(col, unit)
        cols.append(f'CAST("{col.name}" AS {cast})')
    return ", ".join(cols)


def _read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.sql(f"SELECT key, value FROM {META_TABLE}").fetchall()
    return {str(k): str(v) for k, v in rows}


def _existing_checksum(path: Path) -> str | None:
    """The checksum recorded in an existing store, or None when there is none to compare."""
    if not path.exists():
        return None
    try:
        with contextlib.closing(duckdb.connect(str(path), read_only=True)) as con:
            return _read_meta(con).get("checksum")
    except duckdb.Error as err:
        raise StoreError(
            f"the store must be an msreboot DuckDB file; {path} could not be opened as one "
            f"({err}). Choose another --db path or remove the file."
        ) from err


def _clean_stale(path: Path) -> None:
    """Remove temporary files left by imports that were killed."""
    for stale in path.parent.glob(f".{path.name}.importing-*"):
        pid = stale.name.split("importing-")[1].split(".")[0].split("-")[0]
        if pid.isdigit() and _pid_alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            stale.unlink()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _staging_file(path: Path) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(
        prefix=f".{path.name}.importing-{os.getpid()}-", suffix=".duckdb", dir=path.parent
    )
    os.close(fd)
    os.unlink(name)  # DuckDB must create the file itself
    staging = Path(name)
    try:
        yield staging
    finally:
        for leftover in (staging, Path(f"{staging}.wal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def import_cohort(
    cohort: Cohort,
    path: str | Path,
    *,
    source: str | None = None,
    on_table: Callable[[str, int], None] | None = None,
) -> ImportResult:
    """Store a validated cohort in an embedded DuckDB file, replacing what it held.

    Parameters
    ----------
    cohort
        A validated cohort (:func:`~msreboot.data.read_cohort`).
    path
        The database file; created if missing (with its folder).
    source
        Where the data came from, recorded in the store's metadata.
    on_table
        Called with ``(table, rows)`` after each table is written (progress reporting).

    Returns
    -------
    ImportResult

    Raises
    ------
    StoreError
        ``path`` exists and is not an msreboot store; nothing is changed.

    Notes
    -----
    The store holds the seven canonical tables with their types, NOT NULL and CHECK
    constraints, and a ``msreboot_meta`` key/value table (store format, msreboot version,
    time unit, checksum, source, import time). One cohort per file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(path)
    checksum = cohort_checksum(cohort)
    rows = {name: len(frame) for name, frame in cohort.tables.items()}
    if _existing_checksum(path) == checksum:
        return ImportResult(path, rows, checksum, changed=False)
    unit = cohort.time_unit
    with _staging_file(path) as staging:
        con = duckdb.connect(str(staging))
        try:
            con.execute("BEGIN TRANSACTION")
            for name, spec in SCHEMA.items():
                con.execute(_ddl(spec, unit))
                frame = cohort.table(name)
                if len(frame):
                    con.register("incoming", frame)
                    con.execute(
                        f'INSERT INTO "{name}" SELECT {_select_list(spec, unit)} FROM incoming'
                    )
                    con.unregister("incoming")
                if on_table is not None:
                    on_table(name, len(frame))
            meta = {
                "store_format": STORE_FORMAT,
                "msreboot_version": __version__,
                "time_unit": unit,
                "checksum": checksum,
                "source": source or "",
                "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "rows": json.dumps(rows),
            }
            con.execute(f"CREATE TABLE {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
            con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?)", list(meta.items()))
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with staging.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(staging, path)
    return ImportResult(path, rows, checksum, changed=True)


def read_store(path: str | Path) -> Cohort:
    """Read the cohort held in a DuckDB store; tables equal those imported.

    Raises
    ------
    StoreError
        The file is missing or is not an msreboot store of a supported format.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from msreboot.datasets import load_example
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "cohort.duckdb"
    >>> _ = import_cohort(load_example(), db)
    >>> read_store(db).equals(load_example())
    True
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"store must be an existing DuckDB file; got {path} (not found)")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as err:
        raise StoreError(f"{path} is not a DuckDB database ({err})") from err
    try:
        try:
            meta = _read_meta(con)
        except duckdb.Error as err:
            raise StoreError(
                f"{path} is a DuckDB database but not an msreboot store (no {META_TABLE} "
                "table); create one with `msreboot import`"
            ) from err
        if meta.get("store_format") != STORE_FORMAT:
            raise StoreError(
                f"store format must be {STORE_FORMAT}; got {meta.get('store_format')!r} in "
                f"{path}. Re-import the cohort with this version of msreboot."
            )
        unit: TimeUnit = "day" if meta.get("time_unit") == "day" else "date"
        tables = {
            name: _canonical(con.sql(f'SELECT * FROM "{name}" ORDER BY rowid').df(), spec, unit)
            for name, spec in SCHEMA.items()
        }
    finally:
        con.close()
    return Cohort.from_canonical(tables, unit)


def _canonical(frame: pd.DataFrame, spec: TableSpec, unit: TimeUnit) -> pd.DataFrame:
    out = {}
    for col in spec.columns:
        out[col.name] = frame[col.name].astype(pd.api.types.pandas_dtype(col.dtype(unit)))
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
