"""Writers and the store under adversity: all or nothing, clear errors, no traceback.

Every case runs the command line and checks the exit code (1 data or store problems, 2 an
output that cannot be written or a usage error), the message, and that nothing was
half-written (the bytes of every file before and after).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import (
    atomic_write_text,
    import_cohort,
    read_cohort,
    read_store,
    write_cohort,
)
from msreboot.datasets import example_path, load_example
from msreboot.exceptions import StoreError
from tests.conftest import tiny_tables

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--no-progress", *args], env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _cohort_folder(tmp_path: Path, name: str = "cohort") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for table, frame in tiny_tables().items():
        frame.to_csv(folder / f"{table}.csv", index=False)
    return folder


def _broken_folder(tmp_path: Path) -> Path:
    folder = _cohort_folder(tmp_path)
    (folder / "edss.csv").write_text("patient_id,date,edss\nA1,2015-05-01,44\n")
    return folder


def _fail_on_call(n: int, error: OSError, real: Callable[..., object]) -> Callable[..., object]:
    calls = {"n": 0}

    def patched(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == n:
            raise error
        return real(*args, **kwargs)

    return patched


NO_SPACE = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
READ_ONLY = OSError(errno.EROFS, os.strerror(errno.EROFS))


# --- export: all or nothing ------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """An earlier export of the tiny cohort, to be replaced by the example cohort."""
    target = tmp_path / "out"
    write_cohort(read_cohort(_cohort_folder(tmp_path, "tiny")), target, "csv")
    return target


def test_export_with_a_folder_in_the_way_changes_nothing(exported: Path) -> None:
    (exported / "edss.csv").unlink()
    (exported / "edss.csv").mkdir()
    before = _snapshot(exported)
    code, output = _run("export", str(example_path()), "--out", str(exported))
    assert code == 2
    assert "--out must be writable" in output
    assert "a folder named edss.csv is where the file must go" in output
    assert "nothing was changed" in output
    assert _snapshot(exported) == before
    assert sorted(p.name for p in exported.parent.iterdir()) == ["out", "tiny"]


def test_export_failing_halfway_through_the_moves_puts_everything_back(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(exported)
    # the first moves succeed (patients, treatments set aside and replaced), then a failure
    monkeypatch.setattr(os, "replace", _fail_on_call(5, NO_SPACE, os.replace))
    code, output = _run("export", str(example_path()), "--out", str(exported))
    assert code == 2
    assert "No space left on device" in output
    assert "Free some disk space and run again; nothing was changed" in output
    assert _snapshot(exported) == before
    assert sorted(p.name for p in exported.iterdir()) == sorted(before)
    assert sorted(p.name for p in exported.parent.iterdir()) == ["out", "tiny"]


def test_export_on_a_full_disk_changes_nothing(
    exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import msreboot.data._files as files

    before = _snapshot(exported)
    monkeypatch.setattr(files, "_write_parquet", _fail_on_call(3, NO_SPACE, files._write_parquet))
    code, output = _run(
        "export", str(example_path()), "--out", str(exported), "--format", "parquet"
    )
    assert code == 2
    assert "No space left on device" in output
    assert _snapshot(exported) == before
    assert sorted(p.name for p in exported.parent.iterdir()) == ["out", "tiny"]


def test_export_to_a_read_only_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "mkdtemp", _fail_on_call(1, READ_ONLY, tempfile.mkdtemp))
    code, output = _run("export", str(example_path()), "--out", str(tmp_path / "out"))
    assert code == 2
    assert "Read-only file system" in output
    assert "in a folder you can write to" in output
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_to_write_into_its_source(tmp_path: Path) -> None:
    folder = _cohort_folder(tmp_path)
    before = _snapshot(folder)
    code, output = _run("export", str(folder), "--out", str(folder))
    assert code == 2
    assert "--out must not overwrite the cohort it reads" in output
    assert "is the source itself" in output
    # the same folder by another spelling
    code, output = _run("export", str(folder), "--out", str(folder / ".." / "cohort"))
    assert code == 2
    assert _snapshot(folder) == before


def test_export_is_written_through_a_symlinked_folder(tmp_path: Path) -> None:
    real = tmp_path / "real"
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    code, output = _run("export", str(example_path()), "--out", str(link))
    assert code == 0, output
    assert link.is_symlink()
    assert read_cohort(real).equals(load_example())


# --- the problem CSV of validate -------------------------------------------------------------


def test_problem_csv_refuses_to_replace_a_table_of_the_source(tmp_path: Path) -> None:
    folder = _broken_folder(tmp_path)
    before = _snapshot(folder)
    code, output = _run("validate", str(folder), "--problems", str(folder / "edss.csv"))
    assert code == 2
    assert "--problems must not overwrite the cohort it reads" in output
    assert _snapshot(folder) == before


def test_problem_csv_where_a_folder_stands(tmp_path: Path) -> None:
    folder = _broken_folder(tmp_path)
    (tmp_path / "problems.csv").mkdir()
    code, output = _run("validate", str(folder), "--problems", str(tmp_path / "problems.csv"))
    assert code == 2
    assert "a folder named problems.csv is where the file must go" in output
    assert list((tmp_path / "problems.csv").iterdir()) == []


def test_problem_csv_on_a_full_disk_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _broken_folder(tmp_path)
    target = tmp_path / "problems.csv"
    target.write_text("an earlier list\n")
    monkeypatch.setattr(os, "fsync", _fail_on_call(1, NO_SPACE, os.fsync))
    code, output = _run("validate", str(folder), "--problems", str(target))
    assert code == 2
    assert "--problems must be writable" in output
    assert "No space left on device" in output
    assert target.read_text() == "an earlier list\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort", "problems.csv"]


def test_atomic_write_goes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    atomic_write_text(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"


# --- the store: verified when read, re-validated by validate -------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "cohort.duckdb"
    import_cohort(read_cohort(_cohort_folder(tmp_path)), db)
    return db


def _edit(db: Path, *statements: str) -> None:
    """Change a store as someone with a DuckDB shell would (constraints dropped first)."""
    with duckdb.connect(str(db)) as con:
        for statement in statements:
            con.execute(statement)


def _unconstrained(table: str) -> tuple[str, ...]:
    return (
        f"CREATE TABLE loose AS SELECT * FROM {table} ORDER BY rowid",
        f"DROP TABLE {table}",
        f"ALTER TABLE loose RENAME TO {table}",
    )


def test_a_store_missing_a_table(store: Path) -> None:
    _edit(store, "DROP TABLE relapses")
    before = store.read_bytes()
    for command in ("summary", "validate", "export"):
        extra = ["--out", str(store.parent / "out")] if command == "export" else []
        code, output = _run(command, str(store), *extra)
        assert code == 1, (command, output)
        assert "relapses: the store has no relapses table" in output
    assert store.read_bytes() == before
    assert not (store.parent / "out").exists()


def test_a_store_column_of_another_type(store: Path) -> None:
    _edit(store, *_unconstrained("edss"), "ALTER TABLE edss ALTER edss TYPE VARCHAR")
    with pytest.raises(StoreError, match="column edss of the store must be DOUBLE; got VARCHAR"):
        read_store(store)
    code, output = _run("summary", str(store))
    assert code == 1
    assert "edss column edss: column edss of the store must be DOUBLE; got VARCHAR" in output
    assert "msreboot validate" in output


def test_a_store_edited_outside_msreboot_is_revalidated(store: Path) -> None:
    _edit(
        store,
        *_unconstrained("patients"),
        *_unconstrained("edss"),
        "UPDATE patients SET phenotype = 'XXMS' WHERE patient_id = 'A2'",
        "UPDATE patients SET hct_ci = 99 WHERE patient_id = 'A3'",
        "INSERT INTO edss (patient_id, date, edss) SELECT 'P404', date, edss FROM edss LIMIT 1",
        "INSERT INTO edss SELECT * FROM edss WHERE rowid = 1",
        "INSERT INTO deaths (patient_id, date) VALUES ('A3', DATE '2017-01-01')",
    )
    before = store.read_bytes()
    problems = store.parent / "problems.csv"
    code, output = _run("validate", str(store), "--problems", str(problems))
    assert code == 1, output
    assert "0 error(s)" not in output
    found = pd.read_csv(problems, dtype=str, keep_default_na=False)
    errors = found[found["severity"] == "error"]
    located = set(zip(errors["table"], errors["column"], errors["patient_id"], strict=True))
    assert ("patients", "phenotype", "A2") in located
    assert ("patients", "hct_ci", "A3") in located
    assert any(t == "edss" and p == "P404" for t, _, p in located)  # unknown patient
    assert "duplicate" in " ".join(errors["problem"]).lower()
    assert "death" in " ".join(errors[errors["patient_id"] == "A3"]["problem"]).lower()
    # and nothing reads it as a cohort
    code, output = _run("summary", str(store))
    assert code == 1
    assert "changed outside msreboot" in output
    assert store.read_bytes() == before


def test_a_plausible_edit_is_caught_by_the_checksum(store: Path) -> None:
    _edit(store, "UPDATE edss SET edss = 4.5 WHERE rowid = 0")
    with pytest.raises(StoreError, match=r"differs from what msreboot imported \(tables edss\)"):
        read_store(store)
    code, output = _run("validate", str(store))
    assert code == 1
    assert "1 error(s)" in output
    assert "changed outside msreboot" in output
    code, output = _run("report", str(store), "--out", str(store.parent / "r.html"))
    assert code == 1, output
    assert "changed outside msreboot" in output
    assert not (store.parent / "r.html").exists()


def test_validate_of_an_intact_store(store: Path) -> None:
    code, output = _run("validate", str(store))
    assert code == 0, output
    assert "0 error(s)" in output
    assert "cohort is valid" in output


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zeros"])
def test_a_damaged_store(store: Path, damage: str) -> None:
    data = bytearray(store.read_bytes())
    if damage == "garbage":
        data[: len(data) // 2] = os.urandom(len(data) // 2)
    elif damage == "truncated":
        data = data[: len(data) // 3]
    else:
        data[4096:] = bytes(len(data) - 4096)
    store.write_bytes(bytes(data))
    for command in ("summary", "validate"):
        code, output = _run(command, str(store))
        assert code == 1, (command, output)
        assert str(store.name) in output
        assert "Re-import the cohort" in output or "not an msreboot store" in output


def test_an_unreadable_store(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise duckdb.IOException(f'IO Error: Cannot open file "{store}": Permission denied')

    monkeypatch.setattr(duckdb, "connect", refuse)
    code, output = _run("summary", str(store))
    assert code == 1
    assert "store must be a readable DuckDB database" in output
    assert "Permission denied" in output


# --- import: symlinks, locking, read-only and full disks ------------------------------------


def test_import_writes_through_a_symlinked_db(tmp_path: Path, store: Path) -> None:
    link = tmp_path / "link.duckdb"
    link.symlink_to(store)
    code, output = _run("import", str(example_path()), "--db", str(link))
    assert code == 0, output
    assert link.is_symlink()
    assert link.resolve() == store.resolve()
    assert read_store(store).equals(load_example())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort", "cohort.duckdb", "link.duckdb"]


def test_a_second_import_while_one_runs_fails_clearly(tmp_path: Path, store: Path) -> None:
    before = store.read_bytes()
    started, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hang(table: str, rows: int) -> None:
        if table == "edss":
            started.set()
            release.wait(30)

    def first() -> None:
        outcome["result"] = import_cohort(load_example(), store, on_table=hang)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(30)
        code, output = _run("import", str(tmp_path / "cohort"), "--db", str(store))
        assert code == 1
        assert "one import at a time; another msreboot import is writing" in output
        assert store.read_bytes() == before
    finally:
        release.set()
        thread.join(30)
    assert read_store(store).equals(load_example())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort", "cohort.duckdb"]


def test_two_processes_importing_at_once(tmp_path: Path, store: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from msreboot.data import import_cohort
        from msreboot.datasets import load_example

        def hang(table, rows):
            if table == "mri":
                print("writing", flush=True)
                sys.stdin.readline()

        import_cohort(load_example(), {str(store)!r}, on_table=hang)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdin is not None
        assert proc.stdout.readline().strip() == "writing"
        code, output = _run("import", str(tmp_path / "cohort"), "--db", str(store))
        assert code == 1
        assert "another msreboot import is writing" in output
        proc.stdin.write("go\n")
        proc.stdin.flush()
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert read_store(store).equals(load_example())
    # once it has finished, the next import runs
    code, output = _run("import", str(tmp_path / "cohort"), "--db", str(store))
    assert code == 0, output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort", "cohort.duckdb"]


def test_import_into_a_read_only_place(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    before = store.read_bytes()
    monkeypatch.setattr(tempfile, "mkstemp", _fail_on_call(1, READ_ONLY, tempfile.mkstemp))
    code, output = _run("import", str(example_path()), "--db", str(store))
    assert code == 2
    assert "--db must be writable" in output
    assert "Read-only file system" in output
    assert store.read_bytes() == before
    assert sorted(p.name for p in store.parent.iterdir()) == ["cohort", "cohort.duckdb"]


@pytest.mark.parametrize("where", ["duckdb", "fsync"])
def test_import_on_a_full_disk(store: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    import msreboot.data._store as store_module

    before = store.read_bytes()
    if where == "duckdb":

        def full(*args: object, **kwargs: object) -> None:
            raise duckdb.IOException(
                'IO Error: Could not write file "x.duckdb": No space left on device'
            )

        monkeypatch.setattr(store_module, "_build", full)
    else:
        monkeypatch.setattr(os, "fsync", _fail_on_call(1, NO_SPACE, os.fsync))
    code, output = _run("import", str(example_path()), "--db", str(store))
    assert code == 2, output
    assert "No space left on device" in output
    assert "Free some disk space and run again; nothing was changed" in output
    assert store.read_bytes() == before
    assert sorted(p.name for p in store.parent.iterdir()) == ["cohort", "cohort.duckdb"]


def test_import_db_that_is_a_folder_or_the_source(tmp_path: Path, store: Path) -> None:
    folder = tmp_path / "c.duckdb"
    folder.mkdir()
    code, output = _run("import", str(example_path()), "--db", str(folder))
    assert code == 2
    assert "a folder named c.duckdb is where the store must go" in output
    assert list(folder.iterdir()) == []
    before = store.read_bytes()
    code, output = _run("import", str(store), "--db", str(store))
    assert code == 2
    assert "--db must not overwrite the cohort it reads" in output
    assert store.read_bytes() == before


def test_key_file_that_is_a_folder(tmp_path: Path) -> None:
    key = tmp_path / "secret.key"
    key.mkdir()
    code, output = _run(
        "deidentify",
        str(_cohort_folder(tmp_path)),
        "--out",
        str(tmp_path / "shared"),
        "--key-file",
        str(key),
    )
    assert code == 2
    assert "secret.key" in output
    assert not (tmp_path / "shared").exists()
