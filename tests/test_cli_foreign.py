"""``msreboot import --sdtm DIR``, ``--omop PATH`` and ``--omop-url URL``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import Cohort, read_store
from tests.data.foreign_sets import (
    omop_project,
    project,
    sdtm_domains,
    synthetic_cohort,
    write_domain,
    write_omop,
    write_sdtm,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return synthetic_cohort(n_patients=8)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--no-progress", "import", *args])
    return result.exit_code, result.output


def test_import_sdtm(cohort: Cohort, tmp_path: Path) -> None:
    expected = project(cohort)
    folder = write_sdtm(expected, tmp_path / "sdtm", "json")
    code, output = run("--sdtm", str(folder), "--db", str(tmp_path / "store.duckdb"))
    assert code == 0, output
    assert "imported into" in output
    assert read_store(tmp_path / "store.duckdb").equals(expected)


def test_import_omop(cohort: Cohort, tmp_path: Path) -> None:
    expected = omop_project(cohort)
    folder = write_omop(expected, tmp_path / "omop", "csv")
    code, output = run("--omop", str(folder), "--db", str(tmp_path / "store.duckdb"))
    assert code == 0, output
    assert "DMT course(s)" in output  # the merge warning is shown
    assert read_store(tmp_path / "store.duckdb").equals(expected)


def test_import_omop_from_a_database_url(cohort: Cohort, tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed (msreboot[sql])")
    expected = omop_project(cohort)
    target = write_omop(expected, tmp_path / "omop.sqlite", "sqlite")
    db = tmp_path / "store.duckdb"
    code, output = run("--omop-url", f"sqlite:///{target}", "--db", str(db))
    assert code == 0, output
    assert read_store(db).equals(expected)


def test_a_password_in_the_url_is_refused() -> None:
    code, output = run("--omop-url", "postgresql://reader:secret@host/cdm", "--db", "x.duckdb")
    assert code == 2
    assert "must not hold a password" in output
    assert "secret" not in output


def test_bad_sdtm_exits_1_naming_the_record(cohort: Cohort, tmp_path: Path) -> None:
    domains = sdtm_domains(project(cohort))
    domains["AE"].loc[0, "AESTDTC"] = "2016-12"
    for name, frame in domains.items():
        write_domain(frame, tmp_path / "sdtm", name, "json")
    db = tmp_path / "store.duckdb"
    code, output = run("--sdtm", str(tmp_path / "sdtm"), "--db", str(db))
    assert code == 1
    assert "AE row 1" in output
    assert "AESTDTC" in output
    assert not db.exists()
    code, output = run(
        "--sdtm", str(tmp_path / "sdtm"), "--db", str(db), "--partial-dates", "first"
    )
    assert code == 0, output


@pytest.mark.parametrize(
    "args",
    [
        ["--db", "x.duckdb"],
        ["--sdtm", ".", "--omop", ".", "--db", "x.duckdb"],
        ["--omop", ".", "--omop-url", "sqlite:///x.sqlite", "--db", "x.duckdb"],
        [".", "--sdtm", ".", "--db", "x.duckdb"],
        ["--sdtm", "/nonexistent/sdtm", "--db", "x.duckdb"],
    ],
    ids=["no-source", "both-foreign", "path-and-url", "source-and-foreign", "missing-folder"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    code, _ = run(*args)
    assert code == 2
