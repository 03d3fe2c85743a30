"""Hostile inputs to the readers: each ends in exit 1 or 2 with a located problem, or is
accepted correctly and said so."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import read_cohort, validate
from tests.conftest import tiny_tables

runner = CliRunner()


def _folder(tmp_path: Path, **tables: pd.DataFrame) -> Path:
    folder = tmp_path / "cohort"
    folder.mkdir(exist_ok=True)
    frames = tiny_tables()
    frames.update(tables)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def _validate(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", *args, "--no-progress"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def _edss(**changes: str) -> pd.DataFrame:
    edss = tiny_tables()["edss"]
    for column, value in changes.items():
        edss.loc[1, column] = value
    return edss


# --- 1. time zones ------------------------------------------------------------------------


def test_zoned_date_time_is_a_located_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, edss=_edss(date="2015-12-01T10:00:00Z"))
    code, output = _validate(str(folder))
    assert code == 1
    assert "edss row 2 (patient A1) column date" in output
    assert "without a time zone" in output
    assert "2015-12-01" in output


def test_midnight_utc_is_read_as_its_date(tmp_path: Path) -> None:
    folder = _folder(tmp_path, edss=_edss(date="2015-12-01T00:00:00Z"))
    cohort = read_cohort(folder)
    assert pd.Timestamp("2015-12-01") in set(cohort.edss["date"])


# --- 2. dates out of range ------------------------------------------------------------------


def _day_folder(tmp_path: Path, bad: str) -> Path:
    folder = tmp_path / "days"
    folder.mkdir()
    pd.DataFrame(
        {"patient_id": ["V1", "V2"], "birth_date": ["-12000", "-9000"], "phenotype": "RRMS"}
    ).to_csv(folder / "patients.csv", index=False)
    pd.DataFrame(
        {"patient_id": ["V1", "V1", "V2"], "date": ["0", bad, "30"], "edss": ["3.0", "3.5", "2.0"]}
    ).to_csv(folder / "edss.csv", index=False)
    return folder


@pytest.mark.parametrize("bad", ["3000000000", "1e20"], ids=["3e9", "1e20"])
def test_huge_day_numbers_are_refused(tmp_path: Path, bad: str) -> None:
    code, output = _validate(str(_day_folder(tmp_path, bad)))
    assert code == 1
    assert "edss row 2 (patient V1) column date" in output
    assert "within 73,050 days (200 years)" in output


def test_parquet_date_out_of_pandas_range_is_located(tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = _folder(tmp_path)
    (folder / "deaths.csv").unlink()
    table = pa.table(
        {
            "patient_id": ["A2"],
            "date": pa.array([dt.date(9999, 12, 31)], pa.date32()),
            "cause": ["ms"],
        }
    )
    pq.write_table(table, folder / "deaths.parquet")
    code, output = _validate(str(folder))
    assert code == 1
    assert "deaths row 1 (patient A2) column date: must be a calendar date" in output
    assert "9999-12-31" in output


# --- 3. partial dates -----------------------------------------------------------------------


def test_partial_dates_are_refused_by_default(tmp_path: Path) -> None:
    folder = _folder(tmp_path, edss=_edss(date="2015-11"))
    code, output = _validate(str(folder))
    assert code == 1
    assert "edss row 2 (patient A1) column date: must be a full calendar date" in output
    assert "--partial-dates first" in output


@pytest.mark.parametrize(
    ("policy", "month", "year"),
    [("first", "2015-11-01", "2015-01-01"), ("mid", "2015-11-15", "2015-07-01")],
)
def test_partial_dates_policy(tmp_path: Path, policy: str, month: str, year: str) -> None:
    edss = _edss(date="2015-11")
    edss.loc[2, "date"] = "2016"
    folder = _folder(tmp_path, edss=edss)
    code, output = _validate(str(folder), "--partial-dates", policy)
    assert code == 0, output
    assert "2 partial date(s) completed" in output
    cohort = read_cohort(folder, partial_dates=policy)  # type: ignore[arg-type]
    assert cohort.partial_dates == policy
    assert {pd.Timestamp(month), pd.Timestamp(year.replace("2015", "2016"))} <= set(
        cohort.edss["date"]
    )
    assert "partial dates completed" in cohort.summary()
    result = runner.invoke(app, ["summary", str(folder), "--partial-dates", policy])
    assert result.exit_code == 0
    assert "partial dates completed" in result.output


def test_partial_dates_policy_in_the_provenance(tmp_path: Path) -> None:
    from datetime import datetime

    from msreboot.report._content import KeyValues
    from msreboot.report._methods import methods_section

    folder = _folder(tmp_path, edss=_edss(date="2015-11"))
    cohort = read_cohort(folder, partial_dates="first")
    section = methods_section(
        (),
        cohort,
        anchor_label="AHSCT",
        source=None,
        command=None,
        trial=None,
        citations=(),
        generated=datetime(2026, 1, 1),
    )
    items = dict(next(b for b in section.blocks if isinstance(b, KeyValues)).items)
    assert items["Dates"] == (
        "calendar dates; partial dates completed to the first day of the month or year "
        "(--partial-dates first)"
    )


# --- 4. integer dates -----------------------------------------------------------------------


def _integer_folder(tmp_path: Path, to_int: str) -> Path:
    folder = tmp_path / "ints"
    folder.mkdir()
    tables = tiny_tables()
    for name in ("patients", "edss"):
        frame = tables[name]
        for col in [c for c in frame.columns if c.endswith("date")]:
            stamps = pd.to_datetime(frame[col].replace("", None))
            if to_int == "ymd":
                frame[col] = stamps.dt.strftime("%Y%m%d")
            else:
                frame[col] = (stamps - pd.Timestamp("1899-12-30")).dt.days.astype("Int64")
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.mark.parametrize(
    ("kind", "fix"), [("ymd", "--date-format %Y%m%d"), ("excel", "--date-format excel")]
)
def test_integer_calendar_dates_are_recognised(tmp_path: Path, kind: str, fix: str) -> None:
    folder = _integer_folder(tmp_path, kind)
    code, output = _validate(str(folder))
    assert code == 1
    assert "every date of the cohort is an integer" in output
    assert fix in output
    code, output = _validate(str(folder), "--date-format", fix.split()[1])
    assert code == 0, output
    cohort = read_cohort(folder, date_format=fix.split()[1])
    assert cohort.time_unit == "date"
    assert cohort.patients["birth_date"].iloc[0] == pd.Timestamp("1980-05-01")
    assert "time unit" in cohort.summary()
    assert "calendar dates" in cohort.summary()


def test_summary_says_the_time_unit_for_day_cohorts(tmp_path: Path) -> None:
    cohort = read_cohort(_day_folder(tmp_path, "60"))
    assert "whole days from each patient's origin" in cohort.summary()


# --- 5. headers and rows --------------------------------------------------------------------


def test_exact_duplicate_header_is_an_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "edss.csv").write_text(
        "patient_id,date,edss,date\nA1,2015-05-01,4.0,2015-05-02\n", encoding="utf-8"
    )
    code, output = _validate(str(folder))
    assert code == 1
    assert "edss column date: edss.csv has the column 'date' 2 times in its header" in output


def test_duplicate_header_after_accented_names_is_an_error(tmp_path: Path) -> None:
    # the header line is cut at its own end however many bytes its characters take
    folder = _folder(tmp_path)
    (folder / "edss.csv").write_text(
        "patient_id,date,edss,sévérité,sévérité\nA1,2015-05-01,4.0,x,y\n", encoding="utf-8"
    )
    messages = [p.problem for p in validate(folder).problems]
    assert "edss.csv has the column 'sévérité' 2 times in its header; keep one" in messages


def test_truncated_row_is_an_error_naming_the_row(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    text = (folder / "treatments.csv").read_text(encoding="utf-8").splitlines()
    text[2] = ",".join(text[2].split(",")[:5])
    (folder / "treatments.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    code, output = _validate(str(folder))
    assert code == 1
    assert "treatments row 2: treatments.csv row 2" in output
    assert "cut short" in output


# --- 6. encodings ---------------------------------------------------------------------------


def test_mixed_utf8_and_cp1252_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    data = (
        b"patient_id,sex,birth_date,phenotype,notes\n"
        + "A1,F,1980-05-01,RRMS,Zürich\n".encode()
        + "A2,M,1975-02-11,SPMS,Zürich\n".encode("cp1252")
        + b"A3,F,1990-12-31,RRMS,\n"
    )
    (folder / "patients.csv").write_bytes(data)
    code, output = _validate(str(folder))
    assert code == 1
    assert "patients.csv could not be read as a table: it mixes UTF-8" in output
    assert "line 3" in output


def test_pure_cp1252_is_still_read(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    data = (
        "patient_id,sex,birth_date,phenotype,notes\nA1,F,1980-05-01,RRMS,Zürich\n"
        "A2,M,1975-02-11,SPMS,\nA3,F,1990-12-31,RRMS,\n"
    )
    (folder / "patients.csv").write_bytes(data.encode("cp1252"))
    cohort = read_cohort(folder)
    assert cohort.patients["notes"].iloc[0] == "Zürich"


# --- 7. patient ids -------------------------------------------------------------------------


def test_ids_are_normalised_with_a_warning(tmp_path: Path) -> None:
    nfc, nfd = "Jos\u00e9", "Jose\u0301"
    tables = tiny_tables()
    for frame in tables.values():
        frame["patient_id"] = frame["patient_id"].replace("A1", nfc)
    tables["edss"].loc[0, "patient_id"] = nfd
    tables["edss"].loc[1, "patient_id"] = nfc + "\u200b"
    folder = _folder(tmp_path, **tables)
    code, output = _validate(str(folder))
    assert code == 0, output
    report = validate(folder)
    warning = next(p for p in report.warnings if "normalised" in p.problem)
    assert warning.table == "edss"
    assert "\\u200b" in warning.problem
    cohort = read_cohort(folder)
    assert set(cohort.edss["patient_id"]) == {nfc, "A2", "A3"}


def test_distinct_ids_colliding_after_normalisation_are_an_error(tmp_path: Path) -> None:
    patients = tiny_tables()["patients"]
    patients.loc[1, "patient_id"] = "A1\u200b"
    folder = _folder(tmp_path, patients=patients)
    code, output = _validate(str(folder))
    assert code == 1
    assert "patients row 2 (patient A1) column patient_id" in output
    assert "distinct ids that read the same once normalised" in output


# --- 8. typed cells -------------------------------------------------------------------------


def test_boolean_parquet_edss_is_an_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "edss.csv").unlink()
    pd.DataFrame(
        {"patient_id": ["A1", "A2"], "date": ["2015-05-01", "2014-02-01"], "edss": [True, False]}
    ).to_parquet(folder / "edss.parquet")
    code, output = _validate(str(folder))
    assert code == 1
    assert "edss row 1 (patient A1) column edss: edss must be a number" in output


def _workbook(tmp_path: Path, edss: pd.DataFrame, extra: str | None = None) -> Path:
    path = tmp_path / "cohort.xlsx"
    tables = tiny_tables()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name in ("patients", "treatments"):
            tables[name].to_excel(writer, sheet_name=name, index=False)
        edss.to_excel(writer, sheet_name="edss", index=False)
        if extra is not None:
            edss.to_excel(writer, sheet_name=extra, index=False)
    return path


def test_excel_true_in_edss_is_an_error(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    edss = pd.DataFrame(
        {"patient_id": ["A1", "A2"], "date": ["2015-05-01", "2014-02-01"], "edss": [True, 3.0]},
        dtype=object,
    )
    code, output = _validate(str(_workbook(tmp_path, edss)))
    assert code == 1
    assert "edss row 1 (patient A1) column edss: edss must be a number" in output


def test_excel_formula_without_saved_value_is_an_error(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    edss = pd.DataFrame(
        {"patient_id": ["A1", "A2"], "date": ["2015-05-01", "2014-02-01"], "edss": [4.0, 3.0]}
    )
    path = _workbook(tmp_path, edss)
    book = openpyxl.load_workbook(path)
    book["edss"]["C3"] = "=C2-1"  # saved by openpyxl: no cached value
    book.save(path)
    code, output = _validate(str(path))
    assert code == 1
    assert (
        "edss row 2 column edss: sheet 'edss' of cohort.xlsx: the formula has no saved value"
        in output
    )


def test_two_sheets_for_one_table_are_an_error(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    edss = pd.DataFrame({"patient_id": ["A1"], "date": ["2015-05-01"], "edss": [4.0]})
    code, output = _validate(str(_workbook(tmp_path, edss, extra="EDSS ")))
    assert code == 1
    assert "two sheets of cohort.xlsx name the edss table ('edss' and 'EDSS ')" in output


# --- 9. REDCap ------------------------------------------------------------------------------


def test_redcap_edss_on_a_non_repeating_row_is_reported(tmp_path: Path) -> None:
    from tests.data.test_redcap import SMALL_EXPORT, SMALL_MAPPING

    export = SMALL_EXPORT.replace("1,,,2,1,,,,,0,0\n", "1,,,2,1,2019-05-05,4.0,,,0,0\n")
    (tmp_path / "export.csv").write_text(export, encoding="utf-8")
    (tmp_path / "map.toml").write_text(SMALL_MAPPING, encoding="utf-8")
    code, output = _validate(
        str(tmp_path / "export.csv"), "--redcap-mapping", str(tmp_path / "map.toml")
    )
    assert code == 1
    assert "edss row 1 (patient 1): field(s) edss_date, edss_score" in output
    assert "non-repeating row" in output


def test_redcap_value_on_a_row_of_another_instrument_is_reported(tmp_path: Path) -> None:
    """An EDSS score typed on an adverse-event row, or a sex on an EDSS row, is located."""
    from tests.data.test_redcap import SMALL_EXPORT, SMALL_MAPPING

    export = SMALL_EXPORT.replace(
        "1,adverse_event,1,,,,,2020-02-01", "1,adverse_event,1,,,,4.5,2020-02-01"
    ).replace("1,edss_assessment,2,,,", "1,edss_assessment,2,1,,")
    (tmp_path / "export.csv").write_text(export, encoding="utf-8")
    (tmp_path / "map.toml").write_text(SMALL_MAPPING, encoding="utf-8")
    code, output = _validate(
        str(tmp_path / "export.csv"), "--redcap-mapping", str(tmp_path / "map.toml")
    )
    assert code == 1
    assert (
        "edss row 4 (patient 1): field(s) edss_score belong to 'edss_assessment' but hold "
        "values on a row of the repeating instrument 'adverse_event'" in " ".join(output.split())
    )
    assert (
        "patients row 3 (patient 1): field(s) sex belong to the non-repeating row but hold "
        "values on a row of the repeating instrument 'edss_assessment'" in " ".join(output.split())
    )


def test_redcap_zoned_date_is_located(tmp_path: Path) -> None:
    from tests.data.test_redcap import SMALL_EXPORT, SMALL_MAPPING

    export = SMALL_EXPORT.replace("2020-01-10", "2020-01-10T10:00:00Z")
    (tmp_path / "export.csv").write_text(export, encoding="utf-8")
    (tmp_path / "map.toml").write_text(SMALL_MAPPING, encoding="utf-8")
    code, output = _validate(
        str(tmp_path / "export.csv"), "--redcap-mapping", str(tmp_path / "map.toml")
    )
    assert code == 1
    assert "edss row 2 (patient 1) column date" in output
    assert "time zone" in output


# --- 10. not a file -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["symlink", "folder"])
def test_table_path_that_is_not_a_file_is_an_error(tmp_path: Path, kind: str) -> None:
    folder = _folder(tmp_path)
    (folder / "edss.csv").unlink()
    if kind == "symlink":
        os.symlink(tmp_path / "nowhere.csv", folder / "edss.csv")
    else:
        (folder / "edss.csv").mkdir()
    code, output = _validate(str(folder))
    assert code == 1
    what = "a broken symbolic link" if kind == "symlink" else "a folder"
    assert f"edss: edss.csv in {folder} must be a table file; it is {what}" in output


# --- 11. cell size --------------------------------------------------------------------------


def test_cell_size_limit(tmp_path: Path) -> None:
    patients = tiny_tables()["patients"]
    patients.loc[1, "notes"] = "x" * 500
    folder = _folder(tmp_path, patients=patients)
    code, output = _validate(str(folder), "--max-cell-chars", "100")
    assert code == 1
    assert "patients row 2 (patient A2) column notes: notes holds 500 characters" in output
    assert "at most 100 (max_cell_chars, CLI --max-cell-chars)" in output
    code, output = _validate(str(folder))  # the default (65,536) accepts it
    assert code == 0, output


def test_the_cli_default_cell_limit_is_the_readers(tmp_path: Path) -> None:
    from msreboot.data import MAX_CELL_CHARS

    patients = tiny_tables()["patients"]
    patients.loc[1, "notes"] = "x" * (MAX_CELL_CHARS + 1)
    code, output = _validate(str(_folder(tmp_path, patients=patients)))
    assert code == 1
    assert f"at most {MAX_CELL_CHARS:,} (max_cell_chars" in output


def test_a_line_too_long_for_any_row_is_refused_before_reading(tmp_path: Path) -> None:
    """A 30 MB line in a 5-column file cannot hold cells of at most 1,000 characters: it is
    located by a block scan, and the file is not read into memory."""
    import resource

    patients = tiny_tables()["patients"]
    folder = _folder(tmp_path, patients=patients)
    text = (folder / "patients.csv").read_text(encoding="utf-8").splitlines()
    text[2] = text[2] + "x" * 30_000_000
    (folder / "patients.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = validate(folder, max_cell_chars=1_000)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    problem = next(p for p in report.errors if p.table == "patients")
    assert problem.row == 2
    assert problem.problem.startswith("line 3 of patients.csv is ")
    assert "bytes or longer: more than a row of 6 cells of at most 1,000" in problem.problem
    assert "so the file was not read" in problem.problem
    assert grown_mb < 60  # one 16 MiB block and its line ends, not the file


def test_a_raised_cell_limit_reads_the_long_line(tmp_path: Path) -> None:
    patients = tiny_tables()["patients"]
    patients.loc[1, "notes"] = "x" * 5_000
    folder = _folder(tmp_path, patients=patients)
    assert validate(folder, max_cell_chars=10_000).ok
    report = validate(folder, max_cell_chars=100)
    assert any("line 3 of patients.csv" in p.problem for p in report.errors)


def test_report_provenance_names_the_partial_dates_policy(tmp_path: Path) -> None:
    folder = _folder(tmp_path, edss=_edss(date="2015-11"))
    target = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", str(folder), "--out", str(target), "--partial-dates", "mid"]
    )
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert "completed to the 15th of the month or 1 July (--partial-dates mid)" in html


def test_zoned_parquet_timestamps_follow_the_same_rule(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "edss.csv").unlink()
    stamps = pd.to_datetime(["2015-05-01T00:00:00Z", "2014-02-01T10:00:00Z"], utc=True)
    pd.DataFrame({"patient_id": ["A1", "A2"], "date": stamps, "edss": [4.0, 6.0]}).to_parquet(
        folder / "edss.parquet"
    )
    code, output = _validate(str(folder))
    assert code == 1
    assert (
        "edss row 2 (patient A2) column date: must be a calendar date without a time zone" in output
    )
    assert "edss row 1 " not in output


def test_trailing_separators_do_not_shift_columns(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    lines = (folder / "edss.csv").read_text(encoding="utf-8").splitlines()
    (folder / "edss.csv").write_text(
        "\n".join([lines[0], *(line + "," for line in lines[1:])]) + "\n", encoding="utf-8"
    )
    code, output = _validate(str(folder))
    assert code == 0, output
    cohort = read_cohort(folder)
    assert list(cohort.edss["patient_id"]) == ["A1", "A1", "A1", "A2", "A2", "A3"]
    assert cohort.edss["edss"].iloc[0] == 4.0


def test_values_beyond_the_last_column_are_an_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    lines = (folder / "edss.csv").read_text(encoding="utf-8").splitlines()
    one = [*lines[:3], lines[3] + ",oops", *lines[4:]]
    (folder / "edss.csv").write_text("\n".join(one) + "\n", encoding="utf-8")
    code, output = _validate(str(folder))
    assert code == 1
    assert "Expected 4 fields in line 4, saw 5" in output
    # every row one value longer: pandas would take the first column as an index
    every = [lines[0], *(line + ",oops" for line in lines[1:])]
    (folder / "edss.csv").write_text("\n".join(every) + "\n", encoding="utf-8")
    code, output = _validate(str(folder))
    assert code == 1
    assert "edss row 1: edss.csv row 1 (line 2 if no cell spans lines) has 5 fields" in output


def test_the_store_keeps_the_partial_dates_policy(tmp_path: Path) -> None:
    from msreboot.data import import_cohort, read_store

    folder = _folder(tmp_path, edss=_edss(date="2015-11"))
    cohort = read_cohort(folder, partial_dates="mid")
    db = tmp_path / "cohort.duckdb"
    import_cohort(cohort, db)
    assert read_store(db).partial_dates == "mid"
    (tmp_path / "plain").mkdir()
    plain = read_cohort(_folder(tmp_path / "plain", edss=_edss()))
    import_cohort(plain, tmp_path / "plain.duckdb")
    assert read_store(tmp_path / "plain.duckdb").partial_dates is None


# --- control characters and times of day ------------------------------------------------


def test_header_with_a_replacement_character_is_an_error(tmp_path: Path) -> None:
    edss = tiny_tables()["edss"].rename(columns={"edss": "edss\ufffd"})
    code, output = _validate(str(_folder(tmp_path, edss=edss)))
    assert code == 1
    assert "column header 'edss\ufffd' must hold only visible characters" in output
    assert "U+FFFD REPLACEMENT CHARACTER" in output


def test_line_separator_is_not_trimmed_from_a_number(tmp_path: Path) -> None:
    """Python's str.strip() would remove U+2028 and read 3.0 without a word."""
    code, output = _validate(str(_folder(tmp_path, edss=_edss(edss="3.0\u2028"))))
    assert code == 1
    assert "edss row 2 (patient A1) column edss" in output


def test_spaces_tabs_and_no_break_spaces_are_trimmed(tmp_path: Path) -> None:
    cohort = read_cohort(_folder(tmp_path, edss=_edss(edss="\t3.0\xa0 ")))
    assert cohort.edss["edss"].iloc[1] == 3.0


def test_time_of_day_dropped_from_a_date_is_a_warning(tmp_path: Path) -> None:
    folder = _folder(tmp_path, edss=_edss(date="2015-12-01T10:30:00"))
    cohort = read_cohort(folder)
    assert pd.Timestamp("2015-12-01") in set(cohort.edss["date"])
    messages = [w.problem for w in cohort.warnings]
    assert any(
        "1 date value(s) hold a time of day (e.g. '2015-12-01T10:30:00')" in m for m in messages
    ), messages
