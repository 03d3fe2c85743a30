"""The embedded DuckDB store: one validated cohort per database file.

Import is all-or-nothing: the new database is built in a temporary file beside the target
and renamed over it only when complete, so a failed or killed import leaves an existing
store exactly as it was (byte for byte). Importing a cohort whose content equals the
store's leaves the file untouched. One import at a time: an import takes an exclusive lock
(a lock file beside the store) and a second one fails with a clear message. A store given as
a symbolic link is written through (the file it points to is replaced, the link kept).

Reading verifies the store: its format, every table and column with its type, and the
content checksum recorded at import, so a store changed outside msreboot is refused with
the tables that changed (:func:`read_store`) and re-validated with every rule by
:func:`validate_store`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
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
from msreboot.data._atomic import fsync_dir, write_target
from msreboot.data._coerce import PartialDates
from msreboot.data._cohort import Cohort, ValidationReport
from msreboot.data._schema import SCHEMA, ColumnSpec, TableSpec, TimeUnit
from msreboot.data._validate import prepare_tables
from msreboot.exceptions import Problem, StoreError

__all__ = [
    "STORE_FORMAT",
    "ImportResult",
    "cohort_checksum",
    "import_cohort",
    "read_store",
    "validate_store",
]

STORE_FORMAT = "3"
"""Version of the store layout; bumped when tables or metadata change incompatibly.

``"3"``: the ``timed_walk``, ``peg_test`` and ``sdmt`` tables (T25FW, 9HPT, SDMT).
``"2"``: the ``labs`` and ``proms`` tables and the transplant, MRI, relapse and patient
columns of msreboot 2026-12 (platelet engraftment, apheresis yield, ATG, G-CSF, CMV, weight,
performance status, brain and lesion volumes, relapse severity and steroids, SPMS
conversion, oligoclonal bands). A store of an older format is refused with the fix
(re-import it)."""

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
    return _checksums(cohort)[0]


def _checksums(cohort: Cohort) -> tuple[str, dict[str, str]]:
    """The cohort checksum and one SHA-256 per table (to say which tables changed)."""
    digest = hashlib.sha256(f"msreboot-store-{STORE_FORMAT}:{cohort.time_unit}".encode())
    per_table: dict[str, str] = {}
    for name, frame in cohort.tables.items():
        header = f"|{name}|{','.join(frame.columns)}|{frame.dtypes.to_dict()}".encode()
        table_digest = hashlib.sha256(header)
        digest.update(header)
        if len(frame):
            hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
            digest.update(hashed.tobytes())
            table_digest.update(hashed.tobytes())
        per_table[name] = table_digest.hexdigest()
    return digest.hexdigest(), per_table


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
            f"({_first_line(err)}). Choose another --db path or remove the file."
        ) from err


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


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
def _import_lock(path: Path, shown: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for one import; refuse when another holds it.

    The lock is :func:`fcntl.flock` on ``.<name>.lock`` beside the store, released by the
    system if the process dies, and removed when the import ends. A lock file removed by
    the holder between our open and our lock is detected (its inode is no longer the one
    at the path) and taken again.
    """
    lock = path.parent / f".{path.name}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"the store must be written by one import at a time; another msreboot import "
                f"is writing {shown} now (lock {lock}). Run this one again when it has "
                "finished; nothing was changed."
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


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


def _write_error(err: duckdb.Error, shown: Path) -> OSError:
    """A DuckDB failure while building the new store, as the error it is."""
    text = _first_line(err)
    if isinstance(err, duckdb.IOException):
        code = errno.ENOSPC if "space left" in text.lower() else errno.EIO
        return OSError(code, f"{os.strerror(code)} ({text})", str(shown))
    return StoreError(
        f"the cohort could not be stored in {shown} ({text}); nothing was changed. Run "
        "`msreboot validate` on the source."
    )


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
        The database file; created if missing (with its folder). A symbolic link is
        written through: the file it points to is replaced and the link kept.
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
        ``path`` exists and is not an msreboot store, or another import is writing it
        now; nothing is changed.
    OSError
        The store could not be written (a read-only folder, a full disk, a folder at
        ``path``); nothing is changed.

    Notes
    -----
    The store holds the twelve canonical tables with their types, NOT NULL and CHECK
    constraints, and a ``msreboot_meta`` key/value table (store format, msreboot version,
    time unit, checksum and per-table checksums, source, import time). One cohort per file;
    one import at a time (an exclusive lock on ``.<name>.lock`` beside the store).
    """
    shown = Path(path)
    path = write_target(shown)
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR,
            f"a folder named {path.name} is where the store must go; remove or rename it",
            str(shown),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with _import_lock(path, shown):
        _clean_stale(path)
        checksum, per_table = _checksums(cohort)
        rows = {name: len(frame) for name, frame in cohort.tables.items()}
        if _existing_checksum(path) == checksum:
            return ImportResult(shown, rows, checksum, changed=False)
        unit = cohort.time_unit
        meta = {
            "store_format": STORE_FORMAT,
            "msreboot_version": __version__,
            "time_unit": unit,
            "partial_dates": cohort.partial_dates or "",
            "checksum": checksum,
            "table_checksums": json.dumps(per_table),
            "source": source or "",
            "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rows": json.dumps(rows),
        }
        with _staging_file(path) as staging:
            try:
                _build(staging, cohort, meta, on_table)
            except duckdb.Error as err:
                raise _write_error(err, shown) from err
            with staging.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(staging, path)
            fsync_dir(path.parent)
    return ImportResult(shown, rows, checksum, changed=True)


def _build(
    staging: Path,
    cohort: Cohort,
    meta: dict[str, str],
    on_table: Callable[[str, int], None] | None,
) -> None:
    unit = cohort.time_unit
    con = duckdb.connect(str(staging))
    try:
        con.execute("BEGIN TRANSACTION")
        for name, spec in SCHEMA.items():
            con.execute(_ddl(spec, unit))
            frame = cohort.table(name)
            if len(frame):
                con.register("incoming", frame)
                con.execute(f'INSERT INTO "{name}" SELECT {_select_list(spec, unit)} FROM incoming')
                con.unregister("incoming")
            if on_table is not None:
                on_table(name, len(frame))
        con.execute(f"CREATE TABLE {META_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?)", list(meta.items()))
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()


# --- reading -------------------------------------------------------------------------------


@contextlib.contextmanager
def _open_store(path: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, str]]]:
    """A read-only connection to an msreboot store of this format, and its metadata."""
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not found"
        raise StoreError(f"store must be an existing DuckDB file; got {path} ({what})")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as err:
        raise StoreError(
            f"store must be a readable DuckDB database; {path} is not one or is damaged "
            f"({_first_line(err)}). Re-import the cohort from its source."
        ) from err
    try:
        try:
            meta = _read_meta(con)
        except duckdb.CatalogException as err:
            raise StoreError(
                f"{path} is a DuckDB database but not an msreboot store (no {META_TABLE} "
                "table); create one with `msreboot import`"
            ) from err
        if meta.get("store_format") != STORE_FORMAT:
            raise StoreError(
                f"store format must be {STORE_FORMAT}; got {meta.get('store_format')!r} in "
                f"{path}. Re-import the cohort with this version of msreboot."
            )
        yield con, meta
    except duckdb.Error as err:  # a damaged file can fail on any later read
        raise StoreError(
            f"store {path} could not be read ({_first_line(err)}); it is damaged. Re-import "
            "the cohort from its source."
        ) from err
    finally:
        con.close()


def _time_unit(meta: dict[str, str]) -> TimeUnit:
    return "day" if meta.get("time_unit") == "day" else "date"


def _schema_problems(con: duckdb.DuckDBPyConnection, unit: TimeUnit) -> list[Problem]:
    """Every table, column and type of the store that differs from the schema."""
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in con.sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall():
        found.setdefault(str(table), {})[str(column)] = str(kind)
    problems: list[Problem] = []
    for name, spec in SCHEMA.items():
        if name not in found:
            problems.append(Problem.table_level(name, f"the store has no {name} table"))
            continue
        columns = found[name]
        for col in spec.columns:
            expected = _sql_type(col, unit)
            if col.name not in columns:
                problems.append(
                    Problem.table_level(
                        name,
                        f"the store's {name} table has no {col.name} column",
                        column=col.name,
                    )
                )
            elif columns[col.name] != expected:
                problems.append(
                    Problem.table_level(
                        name,
                        f"column {col.name} of the store must be {expected}; got "
                        f"{columns[col.name]}",
                        column=col.name,
                        value=columns[col.name],
                    )
                )
        known = {col.name for col in spec.columns}
        for extra in (c for c in columns if c not in known):
            problems.append(
                Problem.table_level(
                    name,
                    f"the store's {name} table has a column {extra} the schema does not have",
                    column=extra,
                )
            )
    return problems


def _changed_tables(meta: dict[str, str], per_table: dict[str, str]) -> list[str]:
    try:
        recorded = json.loads(meta.get("table_checksums", ""))
    except ValueError:
        return []
    if not isinstance(recorded, dict):
        return []
    return [name for name, digest in per_table.items() if recorded.get(name) != digest]


def _checksum_problem(path: Path, meta: dict[str, str], cohort: Cohort) -> Problem | None:
    checksum, per_table = _checksums(cohort)
    if meta.get("checksum") == checksum:
        return None
    changed = _changed_tables(meta, per_table)
    where = f" (tables {', '.join(changed)})" if changed else ""
    return Problem.table_level(
        changed[0] if len(changed) == 1 else "store",
        f"the content of {path} differs from what msreboot imported{where}: it was changed "
        "outside msreboot. Re-import the cohort from its source",
        value=f"checksum {checksum[:12]}, recorded {meta.get('checksum', '')[:12]}",
    )


def _store_error(path: Path, problems: list[Problem], shown: int = 5) -> StoreError:
    lines = [f"store {path} does not match the msreboot schema:"]
    lines += [f"  - {p.describe()}" for p in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"  ... and {len(problems) - shown} more")
    lines.append(
        f"Run `msreboot validate {path}` to see every problem, then re-import the cohort "
        "from its source."
    )
    return StoreError("\n".join(lines))


def read_store(path: str | Path) -> Cohort:
    """Read the cohort held in a DuckDB store; tables equal those imported.

    The store is verified first: its format, every table and column with its type, and
    the content checksum recorded at import (so a store edited outside msreboot is
    refused, naming the tables that changed).

    Raises
    ------
    StoreError
        The file is missing, is not a readable msreboot store of a supported format, its
        tables or columns differ from the schema, or its content differs from what was
        imported. The message names the table and column.

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
    with _open_store(path) as (con, meta):
        unit = _time_unit(meta)
        problems = _schema_problems(con, unit)
        if problems:
            raise _store_error(path, problems)
        tables = {
            name: _canonical(con.sql(f'SELECT * FROM "{name}" ORDER BY rowid').df(), spec, unit)
            for name, spec in SCHEMA.items()
        }
    policies: dict[str, PartialDates] = {"first": "first", "mid": "mid"}
    policy = policies.get(meta.get("partial_dates", ""))
    cohort = Cohort.from_canonical(tables, unit, partial_dates=policy)
    changed = _checksum_problem(path, meta, cohort)
    if changed is not None:
        raise _store_error(path, [changed])
    return cohort


def validate_store(path: str | Path) -> ValidationReport:
    """Re-validate a store with every rule, as if its tables were read from files.

    A store edited outside msreboot (unknown patients, duplicate rows, values out of range,
    events after death) is reported with each problem located by table, row (in stored
    order), patient and column, as :func:`~msreboot.data.validate` reports files; tables or
    columns that differ from the schema and a content checksum that differs from the one
    recorded at import are errors too.

    Raises
    ------
    StoreError
        The file is missing or is not a readable msreboot store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from msreboot.datasets import load_example
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "cohort.duckdb"
    >>> _ = import_cohort(load_example(), db)
    >>> validate_store(db).ok
    True
    """
    path = Path(path)
    with _open_store(path) as (con, meta):
        unit = _time_unit(meta)
        problems = _schema_problems(con, unit)
        present = {
            str(t)
            for (t,) in con.sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        raw = {
            name: con.sql(f'SELECT * FROM "{name}" ORDER BY rowid').df()
            for name in SCHEMA
            if name in present
        }
    prepared = prepare_tables(raw, time_unit=unit, problems=problems)
    found = list(prepared.problems)
    if prepared.ok:
        changed = _checksum_problem(
            path, meta, Cohort.from_canonical(prepared.tables, prepared.time_unit)
        )
        if changed is not None:
            found.append(changed)
    rows = {name: len(frame) for name, frame in raw.items()}
    return ValidationReport(str(path), tuple(found), rows, prepared.time_unit)


def _canonical(frame: pd.DataFrame, spec: TableSpec, unit: TimeUnit) -> pd.DataFrame:
    out = {}
    for col in spec.columns:
        out[col.name] = frame[col.name].astype(pd.api.types.pandas_dtype(col.dtype(unit)))
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
