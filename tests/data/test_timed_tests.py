"""The timed_walk (T25FW), peg_test (9HPT) and sdmt tables: ranges, the coding of a test not
completed, located errors, every reader and writer, the store and de-identification."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.data import (
    Cohort,
    deidentify,
    import_cohort,
    read_cohort,
    read_store,
    validate,
    write_cohort,
)
from msreboot.data._schema import (
    PEG_TEST_MAX_SECONDS,
    SCHEMA,
    SDMT_MAX_SCORE,
    T25FW_MAX_SECONDS,
)
from msreboot.data._store import META_TABLE
from msreboot.exceptions import StoreError
from tests.conftest import tiny_tables

NEW = ("timed_walk", "peg_test", "sdmt")


def with_tests() -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables["timed_walk"] = pd.DataFrame(
        {
            "patient_id": ["A1", "A1", "A2", "A3"],
            "date": ["2015-05-01", "2016-06-01", "2014-02-01", "2018-03-01"],
            "seconds": ["6.2", "5.85", "", "4.1"],
            "trials": ["2", "2", "", "1"],
            "walking_aid": ["no_aid", "No_Aid", "bilateral", ""],
            "unable_to_complete": ["", "false", "yes", ""],
        }
    )
    tables["peg_test"] = pd.DataFrame(
        {
            "patient_id": ["A1", "A1", "A2", "A2"],
            "date": ["2015-05-01", "2015-05-01", "2014-02-01", "2014-02-01"],
            "hand": ["dominant", "non_dominant", "dominant", "non_dominant"],
            "seconds": ["21.4", "23.0", "300", ""],
            "unable_to_complete": ["", "", "", "true"],
        }
    )
    tables["sdmt"] = pd.DataFrame(
        {
            "patient_id": ["A1", "A3", "A3"],
            "date": ["2015-05-01", "2018-03-01", "2018-09-01"],
            "score": ["52", "0", "110"],
            "version": ["oral", "written", "Oral"],
            "form": ["A", "B", ""],
        }
    )
    return tables


def errors_of(tables: dict[str, pd.DataFrame], table: str) -> list[tuple[int, str, str, str]]:
    return [
        (p.row or 0, p.patient_id or "", p.column or "", p.problem)
        for p in validate(tables).errors
        if p.table == table
    ]


def test_the_three_tables_read_with_canonical_types() -> None:
    cohort = Cohort.from_frames(with_tests())
    walk = cohort.timed_walk
    assert walk["seconds"].tolist()[:2] == [6.2, 5.85]
    assert pd.isna(walk["seconds"].iloc[2])
    assert walk["unable_to_complete"].tolist() == [pd.NA, False, True, pd.NA]
    assert walk["walking_aid"].tolist()[:3] == ["no_aid", "no_aid", "bilateral"]
    assert str(walk["trials"].dtype) == "Int64"
    assert cohort.peg_test["hand"].tolist() == ["dominant", "non_dominant"] * 2
    assert cohort.sdmt["score"].tolist() == [52, 0, 110]
    assert str(cohort.sdmt["score"].dtype) == "Int64"
    assert cohort.sdmt["version"].tolist() == ["oral", "written", "oral"]
    assert cohort.warnings == ()


def test_absent_tables_are_empty_without_warnings(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(tiny_tables())
    for name in NEW:
        assert cohort.table(name).empty
        assert list(cohort.table(name).columns) == list(SCHEMA[name].column_names)
    for name, frame in tiny_tables().items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    assert not any(w.table in NEW for w in read_cohort(tmp_path).warnings)


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "words"),
    [
        ("timed_walk", 1, "seconds", "0", "must be >0 to 180"),
        ("timed_walk", 1, "seconds", "-2", "must be >0 to 180"),
        ("timed_walk", 1, "seconds", "999", "unable_to_complete = true"),
        ("timed_walk", 1, "seconds", "180.01", "MSFC limit"),
        ("timed_walk", 1, "seconds", "fast", "number"),
        ("timed_walk", 1, "trials", "3", "must be 1 to 2"),
        ("timed_walk", 1, "walking_aid", "wheelchair", "must be one of no_aid"),
        ("timed_walk", 2, "date", "2016-13-01", "calendar date"),
        ("peg_test", 1, "seconds", "777", "unable_to_complete = true"),
        ("peg_test", 1, "seconds", "0", "must be >0 to 300"),
        ("peg_test", 1, "hand", "right", "must be one of dominant, non_dominant"),
        ("peg_test", 1, "hand", "", "required"),
        ("sdmt", 1, "score", "111", "must be 0 to 110"),
        ("sdmt", 1, "score", "-1", "must be 0 to 110"),
        ("sdmt", 1, "score", "52.5", "whole number"),
        ("sdmt", 1, "score", "", "required"),
        ("sdmt", 1, "version", "spoken", "must be one of oral, written"),
    ],
    ids=lambda v: v if isinstance(v, str) and v else None,
)
def test_bad_values_are_located(table: str, row: int, column: str, value: str, words: str) -> None:
    tables = with_tests()
    tables[table].loc[row - 1, column] = value
    errors = errors_of(tables, table)
    assert [(r, c) for r, _, c, _ in errors] == [(row, column)], errors
    assert words in errors[0][3], errors[0][3]
    assert errors[0][1] == tables[table].loc[row - 1, "patient_id"]


def test_limits_are_inclusive() -> None:
    tables = with_tests()
    tables["timed_walk"].loc[0, "seconds"] = f"{T25FW_MAX_SECONDS:g}"
    tables["peg_test"].loc[0, "seconds"] = f"{PEG_TEST_MAX_SECONDS:g}"
    tables["sdmt"].loc[0, "score"] = str(SDMT_MAX_SCORE)
    cohort = Cohort.from_frames(tables)
    assert cohort.timed_walk["seconds"].iloc[0] == 180.0
    assert cohort.peg_test["seconds"].iloc[0] == 300.0
    assert cohort.sdmt["score"].iloc[0] == 110


@pytest.mark.parametrize("table", ["timed_walk", "peg_test"])
def test_a_time_or_unable_to_complete_never_both_never_neither(table: str) -> None:
    tables = with_tests()
    tables[table].loc[0, "seconds"] = ""  # neither
    tables[table].loc[1, "unable_to_complete"] = "true"  # both
    errors = errors_of(tables, table)
    assert [(r, c) for r, _, c, _ in errors] == [(1, "seconds"), (2, "seconds")], errors
    assert "required unless unable_to_complete is true" in errors[0][3]
    assert "must be empty when unable_to_complete is true" in errors[1][3]


def test_a_code_for_not_completed_beside_unable_is_reported_once() -> None:
    tables = with_tests()
    tables["timed_walk"].loc[2, "seconds"] = "999"  # A2 is marked unable already
    errors = errors_of(tables, "timed_walk")
    assert len(errors) == 1, errors
    assert "MSFC limit" in errors[0][3]


def test_duplicates_and_cross_table_checks_apply() -> None:
    tables = with_tests()
    tables["peg_test"].loc[1, "hand"] = "dominant"  # the same hand twice on one day
    tables["sdmt"].loc[0, "patient_id"] = "Z9"
    tables["timed_walk"].loc[2, "date"] = "2015-01-01"  # A2 died on 2014-09-01
    peg = errors_of(tables, "peg_test")
    assert [(r, c) for r, _, c, _ in peg] == [(2, "hand")]
    assert "duplicate" in peg[0][3]
    sdmt = errors_of(tables, "sdmt")
    assert [(r, p, c) for r, p, c, _ in sdmt] == [(1, "Z9", "patient_id")]
    walk = errors_of(tables, "timed_walk")
    assert [(r, p, c) for r, p, c, _ in walk] == [(3, "A2", "date")]
    assert "death" in walk[0][3]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_and_read_back(tmp_path: Path, fmt: str) -> None:
    cohort = Cohort.from_frames(with_tests())
    written = write_cohort(cohort, tmp_path / "out", fmt)
    assert {p.name for p in written} >= {f"{n}.{fmt}" for n in NEW}
    assert read_cohort(tmp_path / "out").equals(cohort)


def test_excel_workbook_sheets(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    cohort = Cohort.from_frames(with_tests())
    book = tmp_path / "cohort.xlsx"
    with pd.ExcelWriter(book) as writer:
        for name, frame in with_tests().items():
            frame.to_excel(writer, sheet_name=name, index=False)
    assert read_cohort(book).equals(cohort)


def test_store_round_trip_and_a_format_2_store_is_refused(tmp_path: Path) -> None:
    cohort = Cohort.from_frames(with_tests())
    path = tmp_path / "cohort.duckdb"
    import_cohort(cohort, path)
    assert read_store(path).equals(cohort)
    with duckdb.connect(str(path), read_only=True) as con:
        checks = con.sql(
            "SELECT constraint_text FROM duckdb_constraints() WHERE table_name = 'sdmt'"
        ).fetchall()
    assert any("110" in str(c) for (c,) in checks)
    con = duckdb.connect(str(path))
    con.execute(f"UPDATE {META_TABLE} SET value = '2' WHERE key = 'store_format'")
    con.close()
    with pytest.raises(StoreError, match=r"store format must be 3; got '2'.*Re-import"):
        read_store(path)


def test_deidentification_shifts_dates_and_keeps_scores() -> None:
    cohort = Cohort.from_frames(with_tests())
    result = deidentify(cohort, b"test key: sixteen bytes or more")
    deid = result.cohort
    mapping = dict(zip(result.mapping["patient_id"], result.mapping["pseudonym"], strict=True))
    for name in NEW:
        before, after = cohort.table(name), deid.table(name)
        assert set(after["patient_id"]) == {mapping[p] for p in before["patient_id"]}
        assert set(after["date"]).isdisjoint(set(before["date"]))
    assert sorted(deid.sdmt["score"]) == sorted(cohort.sdmt["score"])
    assert sorted(deid.timed_walk["seconds"].dropna()) == sorted(
        cohort.timed_walk["seconds"].dropna()
    )
    assert sorted(deid.sdmt["form"].dropna()) == ["A", "B"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seconds=st.floats(min_value=-50, max_value=1000, allow_nan=False),
    score=st.integers(min_value=-20, max_value=200),
)
def test_exactly_the_values_in_range_are_accepted(seconds: float, score: int) -> None:
    tables = with_tests()
    tables["timed_walk"].loc[0, "seconds"] = repr(seconds)
    tables["peg_test"].loc[0, "seconds"] = repr(seconds)
    tables["sdmt"].loc[0, "score"] = str(score)
    report = validate(tables)
    located = {(p.table, p.row, p.column) for p in report.errors}
    assert (("timed_walk", 1, "seconds") in located) == (not 0 < seconds <= T25FW_MAX_SECONDS)
    assert (("peg_test", 1, "seconds") in located) == (not 0 < seconds <= PEG_TEST_MAX_SECONDS)
    assert (("sdmt", 1, "score") in located) == (not 0 <= score <= SDMT_MAX_SCORE)
    assert len(report.errors) == len(located)
