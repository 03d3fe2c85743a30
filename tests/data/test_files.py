"""Readers and writers: folders of CSV / Parquet / Excel files, exact round trips, bad files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from msreboot.data import Cohort, read_cohort, validate, write_cohort
from msreboot.datasets import example_path, load_example
from msreboot.exceptions import DataValidationError
from tests.conftest import tiny_tables


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def example() -> Cohort:
    return load_example()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_is_exact(tmp_path: Path, example: Cohort, fmt: str) -> None:
    written = write_cohort(example, tmp_path / "out", fmt)  # type: ignore[arg-type]
    assert [p.name for p in written] == [f"{n}.{fmt}" for n in example.tables]
    back = read_cohort(tmp_path / "out")
    for name, frame in example.tables.items():
        pd.testing.assert_frame_equal(back.table(name), frame, check_exact=True, obj=name)
    assert back.equals(example)


def test_day_based_round_trip(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(
        {
            "patients": pd.DataFrame(
                {"patient_id": ["V1"], "phenotype": ["RRMS"], "birth_date": [-9000]}
            ),
            "edss": pd.DataFrame({"patient_id": ["V1", "V1"], "date": [-10, 90], "edss": [2, 2.5]}),
        }
    )
    for fmt in ("csv", "parquet"):
        write_cohort(cohort, tmp_path / fmt, fmt)  # type: ignore[arg-type]
        back = read_cohort(tmp_path / fmt)
        assert back.time_unit == "day"
        assert back.equals(cohort)


def test_floats_survive_csv_exactly(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["treatments"]["cd34_dose_1e6_per_kg"] = ["", "0.1", "3.3333333333333335", ""]
    cohort = Cohort.from_frames(tables)
    write_cohort(cohort, tmp_path, "csv")
    assert read_cohort(tmp_path).equals(cohort)


def test_the_bundled_files_are_canonical(tmp_path: Path, example: Cohort) -> None:
    write_cohort(example, tmp_path, "csv")
    bundled = {k: v for k, v in _snapshot(example_path()).items() if k.endswith(".csv")}
    assert _snapshot(tmp_path) == bundled


def test_excel_workbook_and_excel_files(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    cohort = Cohort.from_frames(tiny_tables())
    book = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(book) as writer:
        for name, frame in cohort.tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    assert read_cohort(book).equals(cohort)
    folder = tmp_path / "files"
    folder.mkdir()
    for name, frame in cohort.tables.items():
        frame.to_excel(folder / f"{name}.xlsx", index=False)
    assert read_cohort(folder).equals(cohort)


def test_semicolon_csv_and_cp1252(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["patients"]["notes"] = ["", "contrôle", ""]
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", sep=";", index=False, encoding="cp1252")
    cohort = read_cohort(tmp_path)
    assert cohort.patients["notes"].tolist()[1] == "contrôle"
    assert cohort.equals(Cohort.from_frames(tables))


def _write_tiny(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for name, frame in tiny_tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def test_missing_optional_table_is_a_warning(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    (tmp_path / "mri.csv").unlink()
    report = validate(tmp_path)
    assert report.ok
    assert any(p.table == "mri" and "no mri file" in p.problem for p in report.warnings)


def test_missing_patients_table_is_an_error(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    (tmp_path / "patients.csv").unlink()
    report = validate(tmp_path)
    assert not report.ok
    assert any("patients table is required" in p.problem for p in report.errors)
    # every row of every other table now names an unknown patient, all reported
    assert sum("unknown patient_id" in p.problem for p in report.errors) == 18


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        (b"just one line of prose, not a table\n", "required column"),
        (b'patient_id,date,edss\n"A1,2015-05-01,4.0\n', "could not be read"),
    ],
    ids=["empty", "binary", "prose", "unterminated quote"],
)
def test_broken_files_are_reported(tmp_path: Path, content: bytes, message: str) -> None:
    _write_tiny(tmp_path)
    (tmp_path / "edss.csv").write_bytes(content)
    report = validate(tmp_path)
    assert not report.ok
    assert any(p.table == "edss" and message in p.problem for p in report.errors), report.summary()


def test_not_a_parquet_file(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    (tmp_path / "edss.csv").unlink()
    (tmp_path / "edss.parquet").write_text("patient_id,date\n")
    report = validate(tmp_path)
    assert any("not a Parquet file" in p.problem for p in report.errors)


def test_two_files_for_one_table(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    tiny_tables()["edss"].to_parquet(tmp_path / "edss.parquet")
    report = validate(tmp_path)
    assert any("two files for the edss table" in p.problem for p in report.errors)


def test_unrecognised_files_are_warned_about(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    (tmp_path / "relapse.csv").write_text("x\n1\n")
    (tmp_path / "README.md").write_text("notes")
    report = validate(tmp_path)
    assert report.ok
    [warning] = [p for p in report.warnings if p.table == "relapse.csv"]
    assert "did you mean relapses.csv?" in warning.problem


def test_read_cohort_raises_with_everything(tmp_path: Path) -> None:
    _write_tiny(tmp_path)
    (tmp_path / "mri.csv").write_text("patient_id,date,gd_lesions\nA1,2015-04-01,-1\nQ,x,1\n")
    with pytest.raises(DataValidationError) as excinfo:
        read_cohort(tmp_path)
    located = {(p.table, p.row, p.column) for p in excinfo.value.errors}
    assert located == {("mri", 1, "gd_lesions"), ("mri", 2, "date"), ("mri", 2, "patient_id")}


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="must exist"):
        read_cohort(tmp_path / "nowhere")
    stray = tmp_path / "edss.csv"
    stray.write_text("a\n")
    with pytest.raises(ValueError, match="REDCap export with a mapping"):
        read_cohort(stray)


def test_failed_write_leaves_folder_untouched(
    tmp_path: Path, example: Cohort, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    write_cohort(Cohort.from_frames(tiny_tables()), target, "csv")
    before = _snapshot(target)
    calls = {"n": 0}
    original = pd.DataFrame.to_csv

    def failing(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        return original(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(OSError, match="disk full"):
        write_cohort(example, target, "csv")
    assert _snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
