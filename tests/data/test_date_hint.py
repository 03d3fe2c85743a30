"""dd/mm/yyyy and alike: one first error naming the --date-format, never a guess."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.data import validate
from msreboot.data._date_hint import FailedDates, date_format_hint
from msreboot.exceptions import DataValidationError
from tests.conftest import tiny_tables

Tables = dict[str, pd.DataFrame]


def _rewrite(tables: Tables, fmt: str, keep: Callable[[str], bool] = lambda c: False) -> Tables:
    for name, frame in tables.items():
        for col in frame.columns:
            if "date" in col and not keep(f"{name}.{col}"):
                frame[col] = pd.to_datetime(frame[col]).dt.strftime(fmt).fillna("")
    return tables


def _days_above_12(tables: Tables) -> bool:
    return any(
        (pd.to_datetime(f[c].replace("", None)).dt.day > 12).any()
        for f in tables.values()
        for c in f.columns
        if "date" in c
    )


def test_day_first_dates_give_one_first_error_naming_the_format() -> None:
    tables = tiny_tables()
    assert _days_above_12(tables)  # some day > 12: month-first cannot read them
    report = validate(_rewrite(tables, "%d/%m/%Y"))
    first = report.errors[0]
    assert first.row is None
    assert "all read as dd/mm/yyyy" in first.problem
    assert "Pass --date-format %d/%m/%Y (date_format='%d/%m/%Y')" in first.problem
    row_level = [p for p in report.errors[1:] if "must be a calendar date" in p.problem]
    given = sum((f[c] != "").sum() for f in tables.values() for c in f.columns if "date" in c)
    assert len(row_level) == given  # every row is still in the problem list
    assert f"got {given:,} value(s)" in first.problem
    assert sum("--date-format %d/%m/%Y" in p.problem for p in report.errors) == 1
    assert validate(tables, date_format="%d/%m/%Y").ok


@pytest.mark.parametrize(
    ("fmt", "words"),
    [("%m/%d/%Y", "mm/dd/yyyy"), ("%d.%m.%Y", "dd.mm.yyyy"), ("%d-%m-%Y", "dd-mm-yyyy")],
)
def test_other_common_formats_are_named(fmt: str, words: str) -> None:
    report = validate(_rewrite(tiny_tables(), fmt))
    assert f"all read as {words}" in report.errors[0].problem
    assert f"--date-format {fmt} " in report.errors[0].problem


def test_ambiguous_day_and_month_are_refused_never_guessed() -> None:
    failed = pd.Series(["03/04/2015", "01/02/2016", "12/11/2017"])
    hint = date_format_hint([FailedDates("edss", "date", 3, failed)])
    assert hint is not None
    assert "read both as dd/mm/yyyy and as mm/dd/yyyy" in hint.problem
    assert "not guessed" in hint.problem
    assert "--date-format %d/%m/%Y or --date-format %m/%d/%Y" in hint.problem
    assert hint.column == "date"


def test_a_few_bad_dates_among_iso_ones_give_no_hint() -> None:
    tables = tiny_tables()
    tables["edss"].loc[0, "date"] = "31/12/2015"
    report = validate(tables)
    assert [p.problem for p in report.errors if "--date-format" in p.problem] == []
    assert report.errors[0].row == 1  # the row-level error, as before


def test_dates_that_read_under_no_format_give_no_hint() -> None:
    failed = pd.Series(["yesterday", "31/31/2015", "2015/99/01"])
    assert date_format_hint([FailedDates("edss", "date", 3, failed)]) is None
    bad = pd.Series(["32/13/2015", "45/13/2016"])
    assert date_format_hint([FailedDates("mri", "date", 2, bad)]) is None


def test_many_columns_are_named_and_the_cli_shows_the_hint_first(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from msreboot.cli import app
    from msreboot.data import read_cohort

    tables = _rewrite(tiny_tables(), "%d/%m/%Y")
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    with pytest.raises(DataValidationError) as info:
        read_cohort(tmp_path)
    first = str(info.value).splitlines()[1]
    assert (
        "patients.birth_date, patients.onset_date, treatments.start_date, 11 more columns" in first
    )
    assert "--date-format %d/%m/%Y" in first
    expected = len(validate(tmp_path).problems)
    result = CliRunner().invoke(app, ["validate", str(tmp_path), "--no-progress"])
    assert result.exit_code == 1
    assert "all read as dd/mm/yyyy" in result.stdout.split("error:")[1]
    listed = pd.read_csv(tmp_path / "msreboot-problems.csv")
    assert len(listed) == expected
    ok = CliRunner().invoke(
        app, ["validate", str(tmp_path), "--date-format", "%d/%m/%Y", "--no-progress"]
    )
    assert ok.exit_code == 0, ok.stdout


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.dates(
            min_value=pd.Timestamp("1950-01-01").date(), max_value=pd.Timestamp("2020-12-31").date()
        ),
        min_size=1,
        max_size=30,
    )
)
def test_hint_names_a_format_that_reads_every_value(dates: list[object]) -> None:
    failed = pd.Series([pd.Timestamp(d).strftime("%d/%m/%Y") for d in dates])
    hint = date_format_hint([FailedDates("edss", "date", len(failed), failed)])
    assert hint is not None
    if any(pd.Timestamp(d).day > 12 for d in dates):
        assert "--date-format %d/%m/%Y (" in hint.problem
    else:  # every value reads both ways: refused
        assert "not guessed" in hint.problem
