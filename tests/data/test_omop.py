"""The OMOP CDM reader: round trips through CSV, Parquet and DuckDB, hand-worked course and
phenotype rules, located errors and counted rows not read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.data import OMOP_CONCEPT_FILE, Cohort, read_omop
from msreboot.exceptions import DataValidationError, Problem
from tests.data.foreign_sets import omop_project, omop_tables, synthetic_cohort, write_omop

Tables = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def original() -> Cohort:
    return omop_project(synthetic_cohort(n_patients=12))


def errors_of(call: Callable[[], object]) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        call()
    return list(info.value.errors)


def write_csv(tables: Tables, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_round_trip(original: Cohort, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / ("omop.duckdb" if fmt == "duckdb" else "omop")
    back = read_omop(write_omop(original, target, fmt))
    assert back.equals(original)
    assert len(back.treatments) > 0
    assert len(back.labs) > 0
    assert len(back.relapses) > 0
    merged = [p for p in back.warnings if p.table == "drug_exposure"]
    assert merged
    assert "DMT course(s)" in merged[0].problem


def test_round_trip_through_a_database_url(original: Cohort, tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy", reason="SQLAlchemy is not installed (msreboot[sql])")
    target = write_omop(original, tmp_path / "omop.sqlite", "sqlite")
    back = read_omop(f"sqlite:///{target}")
    assert back.equals(original)
    assert len(back.labs) > 0


def test_a_database_url_without_the_cdm_names_the_schema(tmp_path: Path) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as con:
        pd.DataFrame({"x": [1]}).to_sql("other", con, index=False)
    engine.dispose()
    problems = errors_of(lambda: read_omop(url))
    assert [p.table for p in problems] == ["person"]
    assert "the default schema" in problems[0].problem
    assert "--omop-schema" in problems[0].problem


def test_a_bad_database_url_is_refused_without_its_password() -> None:
    pytest.importorskip("sqlalchemy")
    with pytest.raises(ValueError, match="driver is installed") as info:
        read_omop("nosuchdialect://reader:secret@host/cdm")
    assert "secret" not in str(info.value)
    assert "reader:***@host" in str(info.value)


# a tiny hand-made database: concept ids 1001.. stand for the shipped map's entries
def tiny() -> Tables:
    concept = pd.DataFrame(
        [
            (1001, "Relapsing remitting multiple sclerosis", "SNOMED", "426373005"),
            (1002, "Secondary progressive multiple sclerosis", "SNOMED", "425500002"),
            (1003, "natalizumab", "RxNorm", "R1"),
            (1004, "Expanded disability status scale", "SNOMED", "E1"),
            (1005, "Relapse of multiple sclerosis", "SNOMED", "X1"),
            (1006, "Multiple sclerosis", "SNOMED", "24700007"),
        ],
        columns=["concept_id", "concept_name", "vocabulary_id", "concept_code"],
    )
    person = pd.DataFrame(
        {
            "person_id": [1, 2],
            "gender_concept_id": [8532, 8507],
            "year_of_birth": [1980, 1975],
            "month_of_birth": [5, 2],
            "day_of_birth": [1, 11],
        }
    )
    condition = pd.DataFrame(
        {
            "condition_occurrence_id": [1, 2, 3, 4],
            "person_id": [1, 1, 2, 2],
            "condition_concept_id": [1002, 1001, 1001, 1005],
            "condition_start_date": ["2018-06-01", "2010-01-01", "2012-03-01", "2013-04-04"],
            "condition_end_date": ["", "", "", "2013-05-01"],
        }
    )
    drug = pd.DataFrame(
        {
            "drug_exposure_id": [1, 2, 3, 4],
            "person_id": [1, 1, 1, 2],
            "drug_concept_id": [1003, 1003, 1003, 1003],
            "drug_exposure_start_date": ["2015-01-01", "2015-02-27", "2015-05-01", "2016-01-01"],
            "drug_exposure_end_date": ["2015-01-28", "2015-03-26", "2015-05-28", ""],
        }
    )
    measurement = pd.DataFrame(
        {
            "measurement_id": [1, 2],
            "person_id": [1, 2],
            "measurement_concept_id": [1004, 1004],
            "measurement_date": ["2016-01-01", "2016-02-02"],
            "value_as_number": [2.5, 4.0],
        }
    )
    death = pd.DataFrame(
        {"person_id": [2], "death_date": ["2020-01-01"], "cause_concept_id": [1006]}
    )
    return {
        "person": person,
        "condition_occurrence": condition,
        "drug_exposure": drug,
        "measurement": measurement,
        "death": death,
        "concept": concept,
    }


def test_hand_worked_rules(tmp_path: Path) -> None:
    cohort = read_omop(write_csv(tiny(), tmp_path))
    p = cohort.patients.set_index("patient_id")
    # the earliest phenotype record gives the phenotype and the diagnosis date; a later
    # SPMS record after RRMS the conversion date
    assert p.loc["1", "phenotype"] == "RRMS"
    assert p.loc["1", "diagnosis_date"] == pd.Timestamp("2010-01-01")
    assert p.loc["1", "spms_conversion_date"] == pd.Timestamp("2018-06-01")
    assert p.loc["2", "sex"] == "M"
    assert p.loc["2", "birth_date"] == pd.Timestamp("1975-02-11")
    # exposures 1 and 2 are 30 days apart (2015-01-28 to 2015-02-27): one course; exposure
    # 3 starts 36 days after exposure 2 ends: a second course; an exposure without an end
    # date is an ongoing course
    t = cohort.treatments[["patient_id", "start_date", "end_date", "drug"]]
    assert t.astype(str).values.tolist() == [
        ["1", "2015-01-01", "2015-03-26", "natalizumab"],
        ["1", "2015-05-01", "2015-05-28", "natalizumab"],
        ["2", "2016-01-01", "NaT", "natalizumab"],
    ]
    assert cohort.relapses["onset_date"].tolist() == [pd.Timestamp("2013-04-04")]
    assert cohort.edss["edss"].tolist() == [2.5, 4.0]
    assert cohort.deaths["cause"].tolist() == ["ms"]


def test_merge_gap_is_editable(tmp_path: Path) -> None:
    concepts = tmp_path / "concepts.toml"
    text = Path(str(OMOP_CONCEPT_FILE)).read_text(encoding="utf-8")
    concepts.write_text(text.replace("merge_gap_days = 30", "merge_gap_days = 29"))
    cohort = read_omop(write_csv(tiny(), tmp_path / "db"), concepts=concepts)
    assert len(cohort.treatments) == 4  # 30 days apart is now two courses


@pytest.fixture(scope="module")
def tiny_treatments(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return read_omop(write_csv(tiny(), tmp_path_factory.mktemp("tiny"))).treatments


@settings(max_examples=8, deadline=None)
@given(order=st.permutations(range(4)))
def test_exposure_order_does_not_change_courses(
    tiny_treatments: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory, order: list[int]
) -> None:
    tables = tiny()
    tables["drug_exposure"] = tables["drug_exposure"].iloc[list(order)]
    cohort = read_omop(write_csv(tables, tmp_path_factory.mktemp("order")))
    assert cohort.treatments.equals(tiny_treatments)


def test_unmapped_gender_is_located(tmp_path: Path) -> None:
    tables = tiny()
    tables["person"].loc[1, "gender_concept_id"] = 9999
    [p] = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert (p.table, p.row, p.patient_id, p.column, p.value) == (
        "person",
        2,
        "2",
        "gender_concept_id",
        "9999",
    )


def test_bad_and_partial_dates_are_located(tmp_path: Path) -> None:
    tables = tiny()
    tables["measurement"].loc[1, "measurement_date"] = "2016-02"
    [p] = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert (p.table, p.row, p.patient_id, p.column) == ("measurement", 2, "2", "measurement_date")


def test_schema_problem_is_moved_to_its_row(tmp_path: Path) -> None:
    tables = tiny()
    tables["measurement"].loc[0, "value_as_number"] = 3.3
    [p] = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert (p.table, p.row, p.patient_id, p.column) == (
        "measurement",
        1,
        "1",
        "value_as_number",
    )
    assert "(read into edss.edss)" in p.problem


def test_rows_not_read_and_causes_left_missing_are_counted(tmp_path: Path) -> None:
    tables = tiny()
    extra = pd.DataFrame(
        {
            "condition_occurrence_id": [5, 6],
            "person_id": [1, 2],
            "condition_concept_id": [4242, 4242],
            "condition_start_date": ["2011-01-01", "2011-01-02"],
        }
    )
    tables["condition_occurrence"] = pd.concat([tables["condition_occurrence"], extra])
    tables["death"].loc[0, "cause_concept_id"] = 4343
    cohort = read_omop(write_csv(tables, tmp_path))
    [conditions] = [p for p in cohort.warnings if p.table == "condition_occurrence"]
    assert conditions.problem.startswith("2 record(s) of 2 subject(s) not read")
    assert (conditions.row, conditions.value) == (5, "4242")
    [death] = [p for p in cohort.warnings if p.table == "death"]
    assert "left missing" in death.problem
    assert cohort.deaths["cause"].isna().all()


def test_birth_month_without_day(tmp_path: Path) -> None:
    tables = tiny()
    tables["person"]["day_of_birth"] = [None, 11]
    p = read_omop(write_csv(tables, tmp_path / "a")).patients.set_index("patient_id")
    assert pd.isna(p.loc["1", "birth_date"])
    assert p.loc["1", "birth_year"] == 1980
    completed = read_omop(write_csv(tables, tmp_path / "b"), partial_dates="mid")
    assert completed.patients["birth_date"].iloc[0] == pd.Timestamp("1980-05-15")


def test_concept_in_two_sets_is_an_error(tmp_path: Path) -> None:
    concepts = tmp_path / "concepts.toml"
    text = Path(str(OMOP_CONCEPT_FILE)).read_text(encoding="utf-8")
    concepts.write_text(text.replace('codes = ["SNOMED:425500002"]', "concept_ids = [1001]"))
    problems = errors_of(lambda: read_omop(write_csv(tiny(), tmp_path / "db"), concepts=concepts))
    assert any(p.table == "concept" and p.value == "1001" for p in problems)


def test_codes_need_the_concept_table(tmp_path: Path) -> None:
    tables = tiny()
    del tables["concept"]
    problems = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert problems[0].table == "concept"
    assert "concept table must be present" in problems[0].problem


def test_duckdb_schema_must_be_named_when_ambiguous(original: Cohort, tmp_path: Path) -> None:
    import duckdb

    target = write_omop(original, tmp_path / "omop.duckdb", "duckdb")
    con = duckdb.connect(str(target))
    con.sql("create schema other")
    con.sql("create table other.person as select * from cdm.person")
    con.close()
    [p] = errors_of(lambda: read_omop(target))
    assert p.table == "person"
    assert "schema must name" in p.problem
    assert read_omop(target, schema="cdm").equals(original)


def test_missing_person_and_missing_source(tmp_path: Path) -> None:
    tables = omop_tables(omop_project(synthetic_cohort(n_patients=4)))
    del tables["person"]
    problems = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert [p.table for p in problems] == ["person"]
    with pytest.raises(FileNotFoundError, match="OMOP source must exist"):
        read_omop(tmp_path / "nothing")


def test_bad_concept_map_names_the_key(tmp_path: Path) -> None:
    folder = write_csv(tiny(), tmp_path / "db")
    text = Path(str(OMOP_CONCEPT_FILE)).read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('"SNOMED:426373005"', '"426373005"'), encoding="utf-8")
    [p] = errors_of(lambda: read_omop(folder, concepts=bad))
    assert (p.table, p.column, p.value) == ("bad.toml", "phenotypes.RRMS", "426373005")
    bad.write_text(text.replace("[dmt.natalizumab]", "[dmt.natalizumabb]"), encoding="utf-8")
    [p] = errors_of(lambda: read_omop(folder, concepts=bad))
    assert "dmt.natalizumabb" in p.problem
    with pytest.raises(FileNotFoundError, match="concept map must be an existing TOML file"):
        read_omop(folder, concepts=tmp_path / "none.toml")


@pytest.mark.parametrize(
    ("table", "column", "row", "value"),
    [
        ("drug_exposure", "drug_exposure_start_date", 1, "2015-02-30"),
        ("drug_exposure", "drug_exposure_start_date", 2, ""),
        ("condition_occurrence", "condition_start_date", 2, ""),
        ("drug_exposure", "person_id", 3, ""),
    ],
    ids=["impossible-date", "missing-start", "missing-diagnosis-date", "missing-person"],
)
def test_rows_are_never_dropped_silently(
    tmp_path: Path, table: str, column: str, row: int, value: str
) -> None:
    tables = tiny()
    tables[table] = tables[table].astype(object)
    tables[table].loc[row - 1, column] = value
    problems = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert any((p.table, p.row, p.column) == (table, row, column) for p in problems), problems


def test_phenotype_of_an_unknown_person(tmp_path: Path) -> None:
    tables = tiny()
    tables["condition_occurrence"].loc[2, "person_id"] = 7
    problems = errors_of(lambda: read_omop(write_csv(tables, tmp_path)))
    assert any(
        (p.table, p.row, p.patient_id, p.column) == ("condition_occurrence", 3, "7", "person_id")
        for p in problems
    ), problems
