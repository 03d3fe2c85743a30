"""Writers and the store under adversity: all or nothing, clear errors, no traceback.

Every case runs the command line and checks the exit code (1 data or store problems, 2 an
output that cannot be written or a usage error), the message, and that nothing was
half-written (the bytes of every file before and after).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import atomic_write_text, read_cohort, write_cohort
from msreboot.datasets import example_path, load_example
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
