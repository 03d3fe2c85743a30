"""Validation: every kind of problem is found, located and reported together."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pandas as pd
import pytest

from msreboot.data import Cohort, validate
from msreboot.exceptions import DataValidationError
from tests.conftest import tiny_tables

Tables = dict[str, pd.DataFrame]


def test_tiny_cohort_is_valid(tables: Tables) -> None:
    report = validate(tables)
    assert report.ok, report.summary()
    assert report.problems == ()
    cohort = Cohort.from_frames(tables)
    assert cohort.n_patients == 3
    assert cohort.edss["edss"].dtype == "float64"
    assert cohort.edss["date"].dtype == "datetime64[ns]"
    assert cohort.treatments["cd34_selected"].dtype == "boolean"
    assert cohort.mri["gd_lesions"].dtype == "Int64"
    assert cohort.patients["patient_id"].dtype == "string"
    # valid_for_confirmation: explicit values kept, missing stays missing
    assert cohort.edss["valid_for_confirmation"].tolist() == [
        pd.NA,
        True,
        pd.NA,
        pd.NA,
        False,
        pd.NA,
    ]
    assert bool(cohort.deaths["transplant_related"].iloc[0]) is True


class Case(NamedTuple):
    mutate: Callable[[Tables], None]
    table: str
    row: int | None
    patient_id: str | None
    column: str | None
    message: str


def _set(table: str, row: int, column: str, value: str) -> Callable[[Tables], None]:
    """Set a value by 1-based data row."""

    def mutate(t: Tables) -> None:
        t[table].loc[row - 1, column] = value

    return mutate


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = t[table].drop(columns=[column])

    return mutate


def _rename(table: str, old: str, new: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = t[table].rename(columns={old: new})

    return mutate


def _append(table: str, **values: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = pd.concat([t[table], pd.DataFrame([values])], ignore_index=True).fillna("")

    return mutate


CASES = {
    "edss above 10": Case(
        _set("edss", 2, "edss", "10.5"),
        "edss",
        2,
        "A1",
        "edss",
        "edss must be 0 to 10, multiple of 0.5",
    ),
    "edss off the grid": Case(
        _set("edss", 4, "edss", "4.25"), "edss", 4, "A2", "edss", "multiple of 0.5"
    ),
    "edss negative": Case(_set("edss", 1, "edss", "-1"), "edss", 1, "A1", "edss", "0 to 10"),
    "edss not a number": Case(
        _set("edss", 6, "edss", "four"), "edss", 6, "A3", "edss", "edss must be a number"
    ),
    "edss decimal comma": Case(
        _set("edss", 6, "edss", "4,5"), "edss", 6, "A3", "edss", "decimal mark"
    ),
    "edss missing": Case(_set("edss", 3, "edss", ""), "edss", 3, "A1", "edss", "edss is required"),
    "unparseable date": Case(
        _set("edss", 5, "date", "2014-13-01"), "edss", 5, "A2", "date", "must be a calendar date"
    ),
    "day-first date": Case(
        _set("relapses", 1, "onset_date", "11/11/2014"),
        "relapses",
        1,
        "A1",
        "onset_date",
        "YYYY-MM-DD",
    ),
    "future date": Case(
        _set("mri", 3, "date", "2999-01-01"), "mri", 3, "A3", "date", "between 1900-01-01 and today"
    ),
    "unknown patient": Case(
        _set("mri", 2, "patient_id", "ZZ9"), "mri", 2, "ZZ9", "patient_id", "unknown patient_id"
    ),
    "duplicate assessment": Case(
        _append("edss", patient_id="A3", date="2018-03-01", edss="2.5"),
        "edss",
        7,
        "A3",
        "date",
        "duplicate: same patient_id, date as row 6",
    ),
    "duplicate patient": Case(
        _append("patients", patient_id="A2", phenotype="SPMS"),
        "patients",
        4,
        "A2",
        "patient_id",
        "duplicate",
    ),
    "second death": Case(
        _append("deaths", patient_id="A2", date="2014-09-01"),
        "deaths",
        2,
        "A2",
        "patient_id",
        "duplicate",
    ),
    "negative lesions": Case(
        _set("mri", 1, "gd_lesions", "-2"),
        "mri",
        1,
        "A1",
        "gd_lesions",
        "gd_lesions must be 0 to 1000",
    ),
    "fractional lesions": Case(
        _set("mri", 3, "new_t2_lesions", "1.5"), "mri", 3, "A3", "new_t2_lesions", "whole number"
    ),
    "event before birth": Case(
        _set("edss", 6, "date", "1989-01-01"), "edss", 6, "A3", "date", "before the patient's birth"
    ),
    "relapse before onset": Case(
        _set("relapses", 2, "onset_date", "2011-01-01"),
        "relapses",
        2,
        "A3",
        "onset_date",
        "before MS onset",
    ),
    "visit after death": Case(
        _set("edss", 5, "date", "2014-10-01"), "edss", 5, "A2", "date", "after the patient's death"
    ),
    "adverse event after death": Case(
        _set("adverse_events", 2, "onset_date", "2015-01-01"),
        "adverse_events",
        2,
        "A2",
        "onset_date",
        "after the patient's death",
    ),
    "engraftment before reinfusion": Case(
        _set("treatments", 2, "engraftment_date", "2015-06-08"),
        "treatments",
        2,
        "A1",
        "engraftment_date",
        "engraftment_date must be after start_date",
    ),
    "engraftment on day 0": Case(
        _set("treatments", 3, "engraftment_date", "2014-03-03"),
        "treatments",
        3,
        "A2",
        "engraftment_date",
        "day 0",
    ),
    "conditioning after reinfusion": Case(
        _set("treatments", 2, "conditioning_start_date", "2015-06-11"),
        "treatments",
        2,
        "A1",
        "start_date",
        "conditioning precedes reinfusion",
    ),
    "impossible CD34 dose": Case(
        _set("treatments", 2, "cd34_dose_1e6_per_kg", "520"),
        "treatments",
        2,
        "A1",
        "cd34_dose_1e6_per_kg",
        ">0 to 50",
    ),
    "zero CD34 dose": Case(
        _set("treatments", 3, "cd34_dose_1e6_per_kg", "0"),
        "treatments",
        3,
        "A2",
        "cd34_dose_1e6_per_kg",
        ">0 to 50",
    ),
    "CD34 dose on a DMT course": Case(
        _set("treatments", 1, "cd34_dose_1e6_per_kg", "4"),
        "treatments",
        1,
        "A1",
        "cd34_dose_1e6_per_kg",
        "applies to ahsct courses only; this row is a dmt course",
    ),
    "unknown phenotype": Case(
        _set("patients", 1, "phenotype", "RRSM"),
        "patients",
        1,
        "A1",
        "phenotype",
        "Did you mean RRMS?",
    ),
    "unknown treatment kind": Case(
        _set("treatments", 4, "kind", "mesenchymal"),
        "treatments",
        4,
        "A3",
        "kind",
        "one of ahsct, msc, dmt",
    ),
    "bad boolean": Case(
        _set("treatments", 2, "cd34_selected", "maybe"),
        "treatments",
        2,
        "A1",
        "cd34_selected",
        "true or false",
    ),
    "grade 6": Case(
        _set("adverse_events", 1, "grade", "6"),
        "adverse_events",
        1,
        "A1",
        "grade",
        "grade must be 1 to 5",
    ),
    "relapse ends before it begins": Case(
        _set("relapses", 1, "end_date", "2014-11-01"),
        "relapses",
        1,
        "A1",
        "end_date",
        "end_date must be on or after onset_date",
    ),
    "missing required column": Case(
        _drop_column("edss", "edss"), "edss", None, None, "edss", "required column edss is missing"
    ),
    "misspelt required column": Case(
        _rename("edss", "edss", "edss_score"),
        "edss",
        None,
        None,
        "edss",
        "Did you mean 'edss_score'?",
    ),
    "missing patients table": Case(
        lambda t: t.pop("patients"), "patients", None, None, None, "patients table is required"
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_each_problem_is_located(case: Case) -> None:
    tables = tiny_tables()
    case.mutate(tables)
    report = validate(tables)
    assert not report.ok
    matches = [
        p
        for p in report.errors
        if (p.table, p.row, p.patient_id, p.column)
        == (case.table, case.row, case.patient_id, case.column)
        and case.message in p.problem
    ]
    assert matches, report.summary(shown=20)
    with pytest.raises(DataValidationError) as excinfo:
        Cohort.from_frames(tables)
    assert excinfo.value.problems == report.problems


def test_every_problem_reported_together() -> None:
    tables = tiny_tables()
    for case in CASES.values():
        if case.row is not None and case.mutate.__name__ == "mutate":
            try:
                case.mutate(tables)
            except KeyError:
                continue
    report = validate(tables)
    assert len(report.errors) >= 15
    frame = report.to_frame()
    assert list(frame.columns) == [
        "severity",
        "table",
        "row",
        "patient_id",
        "column",
        "value",
        "problem",
    ]
    assert frame["row"].dtype == "Int64"


def test_error_message_lists_first_problems_and_total() -> None:
    tables = tiny_tables()
    tables["edss"]["edss"] = "12"
    with pytest.raises(DataValidationError) as excinfo:
        Cohort.from_frames(tables)
    text = str(excinfo.value)
    assert text.startswith("cohort has 6 data problem(s)")
    assert "edss row 1 (patient A1) column edss: edss must be 0 to 10" in text
    assert isinstance(excinfo.value, ValueError)
    assert len(excinfo.value.to_frame()) == 6


def test_message_truncates_long_lists() -> None:
    tables = tiny_tables()
    tables["edss"] = pd.concat([tables["edss"]] * 5, ignore_index=True)
    tables["edss"]["patient_id"] = "A1"
    tables["edss"]["date"] = [f"2016-01-{i + 1:02d}" for i in range(len(tables["edss"]))]
    tables["edss"]["edss"] = "11"
    with pytest.raises(DataValidationError) as excinfo:
        Cohort.from_frames(tables)
    assert "... and 20 more" in str(excinfo.value)
    assert len(excinfo.value.errors) == 30


def test_unknown_columns_are_warnings_and_dropped(tables: Tables) -> None:
    tables["edss"]["rater"] = "Dr X"
    tables["edss"]["edss_date"] = ""
    report = validate(tables)
    assert report.ok
    warned = {p.column: p.problem for p in report.warnings}
    assert "rater" in warned
    assert "did you mean date" in warned["edss_date"] or "did you mean edss" in warned["edss_date"]
    cohort = Cohort.from_frames(tables)
    assert "rater" not in cohort.edss.columns
    assert len(cohort.warnings) == 2


def test_column_order_case_and_index_do_not_matter(tables: Tables) -> None:
    reference = Cohort.from_frames(tiny_tables())
    shuffled = {name: frame[frame.columns[::-1]] for name, frame in tables.items()}
    shuffled["edss"] = shuffled["edss"].rename(columns={"patient_id": "Patient ID", "edss": "EDSS"})
    shuffled["edss"].index = [10, 3, 7, 1, 99, 5]
    shuffled["mri"] = shuffled["mri"].iloc[::-1]
    assert Cohort.from_frames(shuffled).equals(reference)


def test_typed_input_is_accepted(tables: Tables) -> None:
    typed = {name: frame.copy() for name, frame in tables.items()}
    typed["edss"]["edss"] = typed["edss"]["edss"].astype(float)
    typed["edss"]["date"] = pd.to_datetime(typed["edss"]["date"])
    typed["mri"]["gd_lesions"] = typed["mri"]["gd_lesions"].astype(int)
    typed["deaths"]["transplant_related"] = [True]
    assert Cohort.from_frames(typed).equals(Cohort.from_frames(tables))


def test_case_insensitive_codes(tables: Tables) -> None:
    tables["patients"]["phenotype"] = ["rrms", "Spms", "RRMS"]
    tables["treatments"]["kind"] = ["DMT", "AHSCT", "ahsct", "Msc"]
    cohort = Cohort.from_frames(tables)
    assert set(cohort.patients["phenotype"]) == {"RRMS", "SPMS"}
    assert set(cohort.treatments["kind"]) == {"dmt", "ahsct", "msc"}


def test_missing_value_spellings(tables: Tables) -> None:
    tables["treatments"]["end_date"] = ["2015-04-01", "NA", "  ", "2018-05-04"]
    cohort = Cohort.from_frames(tables)
    assert cohort.treatments["end_date"].isna().sum() == 2


def test_day_based_cohort(tables: Tables) -> None:
    days = {
        "patients": pd.DataFrame(
            {
                "patient_id": ["V1", "V2"],
                "phenotype": ["RRMS", "RRMS"],
                "birth_date": [-12000, -9000],
                "onset_date": [-2000, -500],
            }
        ),
        "treatments": pd.DataFrame(
            {"patient_id": ["V1"], "kind": ["ahsct"], "start_date": [0], "engraftment_date": [11]}
        ),
        "edss": pd.DataFrame(
            {"patient_id": ["V1", "V1", "V2"], "date": [-30, 180, 0], "edss": [3.5, 3.0, 2.0]}
        ),
    }
    cohort = Cohort.from_frames(days)
    assert cohort.time_unit == "day"
    assert cohort.edss["date"].dtype == "Int64"
    days["edss"]["date"] = days["edss"]["date"].astype(float)
    days["edss"].loc[1, "date"] = 12.5
    report = validate(days)
    assert [p.problem.split(",")[0] for p in report.errors] == [
        "must be a whole number of days from the patient's origin"
    ]
    days["edss"].loc[1, "date"] = 1000
    days["treatments"].loc[0, "engraftment_date"] = -3
    report = validate(days)
    assert [(p.table, p.column) for p in report.errors] == [("treatments", "engraftment_date")]


def test_mixed_time_units_are_reported(tables: Tables) -> None:
    tables["relapses"].loc[0, "onset_date"] = "4000"
    report = validate(tables)
    assert [(p.table, p.row, p.column) for p in report.errors] == [("relapses", 1, "onset_date")]


def test_date_format_option(tables: Tables) -> None:
    for frame in tables.values():
        for col in frame.columns:
            if "date" in col:
                frame[col] = pd.to_datetime(frame[col]).dt.strftime("%d/%m/%Y").fillna("")
    assert not validate(tables).ok
    cohort = Cohort.from_frames(tables, date_format="%d/%m/%Y")
    assert cohort.equals(Cohort.from_frames(tiny_tables()))


def test_unknown_table_name_is_rejected(tables: Tables) -> None:
    with pytest.raises(ValueError, match="table names must be among"):
        Cohort.from_frames({**tables, "visits": tables["edss"]})


def test_empty_optional_tables(tables: Tables) -> None:
    only = {"patients": tables["patients"]}
    cohort = Cohort.from_frames(only)
    assert len(cohort.edss) == 0
    assert list(cohort.edss.columns)[:3] == ["patient_id", "date", "edss"]
    assert cohort.edss["edss"].dtype == "float64"


def test_rows_are_sorted_canonically(tables: Tables) -> None:
    cohort = Cohort.from_frames(tables)
    assert cohort.edss["patient_id"].is_monotonic_increasing
    assert list(cohort.edss.index) == list(range(len(cohort.edss)))


def test_derived_values_are_computed_once_per_cohort() -> None:
    import dataclasses

    from msreboot.datasets import load_example

    cohort = load_example()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return 41 + len(calls)

    assert cohort.derived(("k", 1), compute) == 42
    assert cohort.derived(("k", 1), compute) == 42
    assert cohort.derived(("k", 2), compute) == 43
    copy = dataclasses.replace(cohort, warnings=())
    assert copy.derived(("k", 1), compute) == 44  # a new cohort starts with nothing derived
    assert len(calls) == 3


def test_endpoints_share_component_work_within_a_cohort() -> None:
    from msreboot.datasets import load_example
    from msreboot.endpoints import EndpointDefinition, endpoint_times

    cohort = load_example()
    first = endpoint_times(cohort, EndpointDefinition.halt_ms_efs())
    keys = {k[:3] for k in cohort._derived if isinstance(k, tuple) and len(k) > 2}
    assert ("endpoint_component", "ahsct", "disability") in keys
    again = endpoint_times(cohort, EndpointDefinition.halt_ms_efs())
    pd.testing.assert_frame_equal(first.patients, again.patients)
    table = cohort.treatments.query("kind == 'ahsct'")[["patient_id", "start_date"]]
    anchored = endpoint_times(
        cohort,
        EndpointDefinition.halt_ms_efs(),
        anchor=table.rename(columns={"start_date": "anchor_date"}),
    )
    pd.testing.assert_frame_equal(first.patients, anchored.patients)
