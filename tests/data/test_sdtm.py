"""The CDISC SDTM reader: round trips through XPT and Dataset-JSON, located errors, counted
records not read, and the ISO 8601 date rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.data import SDTM_MAPPING_FILE, Cohort, read_sdtm
from msreboot.data._foreign import parse_iso_dates
from msreboot.exceptions import DataValidationError, Problem
from tests.data.foreign_sets import project, sdtm_domains, synthetic_cohort, write_domain

Domains = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def original() -> Cohort:
    return project(synthetic_cohort(n_patients=12))


@pytest.fixture
def domains(original: Cohort) -> Domains:
    return {name: frame.copy() for name, frame in sdtm_domains(original).items()}


def write(domains: Domains, folder: Path, fmt: str = "json") -> Path:
    for name, frame in domains.items():
        write_domain(frame, folder, name, fmt)
    return folder


def errors_of(call: Callable[[], object]) -> list[Problem]:
    with pytest.raises(DataValidationError) as info:
        call()
    return list(info.value.errors)


def first_row(domains: Domains, domain: str, **where: str) -> int:
    frame = domains[domain]
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    return int(frame.index[mask.to_numpy()][0])


@pytest.mark.parametrize("fmt", ["xpt", "json"], ids=["xpt", "dataset-json"])
def test_round_trip(original: Cohort, domains: Domains, tmp_path: Path, fmt: str) -> None:
    back = read_sdtm(write(domains, tmp_path, fmt))
    assert back.equals(original)
    assert len(back.labs) > 0
    assert len(back.mri) > 0
    assert len(back.deaths) > 0
    assert not [p for p in back.warnings if "not read" in p.problem]


def test_record_order_does_not_matter(original: Cohort, domains: Domains, tmp_path: Path) -> None:
    shuffled = {n: f.sample(frac=1.0, random_state=7) for n, f in domains.items()}
    assert read_sdtm(write(shuffled, tmp_path)).equals(original)


def test_partial_date_is_a_located_error(domains: Domains, tmp_path: Path) -> None:
    ae = domains["AE"]
    ae.loc[0, "AESTDTC"] = ae.loc[0, "AESTDTC"][:7]
    problems = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert len(problems) == 1
    p = problems[0]
    assert (p.table, p.row, p.patient_id, p.column) == ("AE", 1, ae.loc[0, "USUBJID"], "AESTDTC")
    assert "partial date" in p.problem
    assert "partial_dates" in p.problem


@pytest.mark.parametrize(
    ("policy", "given_", "expected"),
    [
        ("first", "2016-02", "2016-02-01"),
        ("mid", "2016-02", "2016-02-15"),
        ("first", "2016", "2016-01-01"),
        ("mid", "2016", "2016-07-01"),
    ],
)
def test_partial_dates_completed_only_under_a_policy(
    domains: Domains, tmp_path: Path, policy: str, given_: str, expected: str
) -> None:
    domains["CE"].loc[0, "CESTDTC"] = given_
    domains["CE"].loc[0, "CEENDTC"] = ""
    subject = domains["CE"].loc[0, "USUBJID"]
    cohort = read_sdtm(write(domains, tmp_path), partial_dates=policy)  # type: ignore[arg-type]
    relapses = cohort.relapses[cohort.relapses["patient_id"] == subject]
    assert pd.Timestamp(expected) in set(relapses["onset_date"])
    assert cohort.partial_dates == policy
    notes = [p for p in cohort.warnings if p.table == "CE" and p.column == "CESTDTC"]
    assert notes
    assert notes[0].problem.startswith("1 CESTDTC value(s) are partial dates completed")


def test_date_time_keeps_its_date_with_a_count(
    original: Cohort, domains: Domains, tmp_path: Path
) -> None:
    domains["RS"].loc[0, "RSDTC"] = domains["RS"].loc[0, "RSDTC"] + "T09:30"
    cohort = read_sdtm(write(domains, tmp_path))
    assert cohort.edss.equals(original.edss)
    assert any(p.table == "RS" and p.problem.startswith("1 RSDTC") for p in cohort.warnings)


@pytest.mark.parametrize("bad", ["2016/02/03", "2016---03", "--02-03", "2016-02-03/2016-03-01"])
def test_malformed_dates_are_errors(domains: Domains, tmp_path: Path, bad: str) -> None:
    domains["LB"].loc[2, "LBDTC"] = bad
    [p] = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert (p.table, p.row, p.column, p.value) == ("LB", 3, "LBDTC", bad)
    assert p.patient_id == domains["LB"].loc[2, "USUBJID"]


def test_impossible_calendar_date_is_located_by_validation(
    domains: Domains, tmp_path: Path
) -> None:
    domains["AE"].loc[1, "AESTDTC"] = "2016-02-30"
    problems = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    p = next(p for p in problems if p.column == "AESTDTC")
    assert (p.table, p.row, p.patient_id) == ("AE", 2, domains["AE"].loc[1, "USUBJID"])
    assert "adverse_events.onset_date" in p.problem


def test_schema_problem_names_domain_record_subject_and_variable(
    domains: Domains, tmp_path: Path
) -> None:
    domains["RS"].loc[4, "RSSTRESN"] = 3.3
    [p] = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert (p.table, p.row, p.column) == ("RS", 5, "RSSTRESN")
    assert p.patient_id == domains["RS"].loc[4, "USUBJID"]
    assert "(read into edss.edss)" in p.problem


def test_subject_not_in_dm_is_located(domains: Domains, tmp_path: Path) -> None:
    domains["CE"].loc[3, "USUBJID"] = "NOBODY"
    problems = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert any((p.table, p.row, p.patient_id) == ("CE", 4, "NOBODY") for p in problems), problems


def test_unmapped_sex_code(domains: Domains, tmp_path: Path) -> None:
    domains["DM"].loc[0, "SEX"] = "Q"
    [p] = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert (p.table, p.row, p.column, p.value) == ("DM", 1, "SEX", "Q")
    assert "[dm] sex" in p.problem


def test_year_of_birth_alone_is_birth_year(domains: Domains, tmp_path: Path) -> None:
    domains["DM"].loc[0, "BRTHDTC"] = "1971"
    subject = domains["DM"].loc[0, "USUBJID"]
    cohort = read_sdtm(write(domains, tmp_path))
    row = cohort.patients.set_index("patient_id").loc[subject]
    assert pd.isna(row["birth_date"])
    assert row["birth_year"] == 1971
    assert any(p.column == "BRTHDTC" and "birth_year" in p.problem for p in cohort.warnings)


def test_records_not_read_are_counted(domains: Domains, tmp_path: Path) -> None:
    lb = domains["LB"]
    extra = lb.iloc[:3].copy()
    extra["LBTESTCD"], extra["LBLOINC"] = "HGB", ""
    domains["LB"] = pd.concat([lb, extra], ignore_index=True)
    domains["VS"] = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["VS"], "USUBJID": ["X"]})
    cohort = read_sdtm(write(domains, tmp_path))
    [lb_note] = [p for p in cohort.warnings if p.table == "LB"]
    assert lb_note.problem.startswith("3 record(s) of ")
    assert lb_note.row == len(lb) + 1
    assert lb_note.value == "HGB"
    assert any(p.table == "VS" and "is not read" in p.problem for p in cohort.warnings)


def test_ae_without_fallback_category_is_an_error(domains: Domains, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.toml"
    text = Path(str(SDTM_MAPPING_FILE)).read_text(encoding="utf-8")
    mapping.write_text(text.replace('otherwise = "other"\n', ""), encoding="utf-8")
    domains["AE"].loc[0, ["AEDECOD", "AEBODSYS"]] = ["SOMETHING NEW", ""]
    folder = write(domains, tmp_path / "sdtm")
    [p] = errors_of(lambda: read_sdtm(folder, mapping=mapping))
    assert (p.table, p.row, p.column, p.value) == ("AE", 1, "AEDECOD", "SOMETHING NEW")
    with_fallback = read_sdtm(folder)  # the shipped mapping: category other, counted
    assert any(p.table == "AE" and "'other'" in p.problem for p in with_fallback.warnings)


def test_death_flag_without_date(domains: Domains, tmp_path: Path) -> None:
    alive = first_row(domains, "DM", DTHFL="")
    domains["DM"].loc[alive, "DTHFL"] = "Y"
    [p] = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert (p.table, p.row, p.column) == ("DM", alive + 1, "DTHFL")


def test_death_dates_must_agree(domains: Domains, tmp_path: Path) -> None:
    domains["DS"].loc[0, "DSSTDTC"] = "2001-01-01"
    [p] = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert (p.table, p.row, p.column) == ("DS", 1, "DSSTDTC")


def test_missing_dm_and_duplicate_files(domains: Domains, tmp_path: Path) -> None:
    del domains["DM"]
    problems = errors_of(lambda: read_sdtm(write(domains, tmp_path / "a")))
    assert [p.table for p in problems] == ["DM"]
    folder = tmp_path / "b"
    write_domain(sdtm_domains(project(synthetic_cohort(n_patients=4)))["DM"], folder, "DM", "xpt")
    write_domain(sdtm_domains(project(synthetic_cohort(n_patients=4)))["DM"], folder, "DM", "json")
    problems = errors_of(lambda: read_sdtm(folder))
    assert "must come from one file" in problems[0].problem


def test_dataset_json_v1_0_layout_is_refused(domains: Domains, tmp_path: Path) -> None:
    folder = write(domains, tmp_path)
    (folder / "ae.json").write_text(
        json.dumps({"clinicalData": {"itemGroupData": {}}}), encoding="utf-8"
    )
    [p] = errors_of(lambda: read_sdtm(folder))
    assert p.table == "AE"
    assert "Dataset-JSON v1.1" in p.problem


def test_missing_folder() -> None:
    with pytest.raises(FileNotFoundError, match="SDTM folder must be an existing folder"):
        read_sdtm("/nonexistent/sdtm")


_DATES = st.dates(min_value=pd.Timestamp("1900-01-01").date())


@settings(max_examples=60, deadline=None)
@given(day=_DATES, policy=st.sampled_from([None, "first", "mid"]))
def test_iso_dates_property(day: object, policy: str | None) -> None:
    text = str(day)
    values = pd.Series([text, text + "T23:59:59", text[:7], text[:4]])
    parts = parse_iso_dates(values, policy)  # type: ignore[arg-type]
    assert list(parts.kind) == ["full", "time", "month", "year"]
    assert parts.text[0] == text
    assert parts.text[1] == text
    assert set(parts.year) == {int(text[:4])}
    if policy is None:
        assert parts.text[2:].isna().all()
    else:
        assert parts.text[2][:7] == text[:7]
        assert parts.text[3][:4] == text[:4]


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=12))
def test_iso_dates_never_raise(text: str) -> None:
    parts = parse_iso_dates(pd.Series([text]), None)
    assert parts.kind[0] in (None, "full", "time", "month", "year", "bad")


def test_bad_mapping_names_the_key(domains: Domains, tmp_path: Path) -> None:
    folder = write(domains, tmp_path / "sdtm")
    text = Path(str(SDTM_MAPPING_FILE)).read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('LYM = "lymphocytes"', 'LYM = "lymphs"'), encoding="utf-8")
    [p] = errors_of(lambda: read_sdtm(folder, mapping=bad))
    assert (p.table, p.column, p.value) == ("bad.toml", "labs.tests.LYM", "lymphs")
    bad.write_text(text.replace('kind = "dmt", drug = "natalizumab"', 'kind = "dmt"'))
    [p] = errors_of(lambda: read_sdtm(folder, mapping=bad))
    assert p.column == "treatments.terms.NATALIZUMAB"
    bad.write_text(text.replace("[edss]", "[edss]\nunknown_key = 1"))
    [p] = errors_of(lambda: read_sdtm(folder, mapping=bad))
    assert "edss.unknown_key" in p.problem
    with pytest.raises(FileNotFoundError, match="SDTM mapping must be an existing TOML file"):
        read_sdtm(folder, mapping=tmp_path / "none.toml")


def test_xpt_without_pyreadstat_names_the_extra(
    domains: Domains, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from msreboot.exceptions import MissingDependencyError

    folder = write(domains, tmp_path, "xpt")
    monkeypatch.setitem(sys.modules, "pyreadstat", None)
    with pytest.raises(MissingDependencyError, match=r"msreboot\[sdtm\]"):
        read_sdtm(folder)


def test_broken_xpt_is_located(domains: Domains, tmp_path: Path) -> None:
    folder = write(domains, tmp_path, "xpt")
    (folder / "ae.xpt").write_bytes(b"not an xport file")
    [p] = errors_of(lambda: read_sdtm(folder))
    assert p.table == "AE"
    assert "must be a SAS XPORT file" in p.problem


def test_phenotype_of_a_subject_not_in_dm(domains: Domains, tmp_path: Path) -> None:
    domains["MH"].loc[0, "USUBJID"] = "NOBODY"
    problems = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    assert any((p.table, p.row, p.patient_id) == ("MH", 1, "NOBODY") for p in problems)


def test_subject_without_phenotype_is_located_at_dm(domains: Domains, tmp_path: Path) -> None:
    subject = domains["MH"].loc[2, "USUBJID"]
    domains["MH"] = domains["MH"].drop(index=2)
    problems = errors_of(lambda: read_sdtm(write(domains, tmp_path)))
    [p] = [p for p in problems if p.column == "MHDECOD"]
    assert (p.table, p.patient_id) == ("DM", subject)
    assert "patients.phenotype" in p.problem


def test_two_death_records_or_causes(domains: Domains, tmp_path: Path) -> None:
    twice = dict(domains)
    twice["DM"] = domains["DM"].assign(DTHDTC="")
    twice["DS"] = pd.concat([domains["DS"], domains["DS"].iloc[:1]], ignore_index=True)
    problems = errors_of(lambda: read_sdtm(write(twice, tmp_path / "a")))
    assert [(p.table, p.row, p.column) for p in problems] == [
        ("DS", len(domains["DS"]) + 1, "DSDECOD")
    ]
    causes = dict(domains)
    cause = "ACCIDENT" if domains["DD"].iloc[0]["DDSTRESC"] != "ACCIDENT" else "SUICIDE"
    other = domains["DD"].iloc[:1].assign(DDSTRESC=cause, DDORRES=cause)
    causes["DD"] = pd.concat([domains["DD"], other], ignore_index=True)
    problems = errors_of(lambda: read_sdtm(write(causes, tmp_path / "b")))
    assert [(p.table, p.row, p.column) for p in problems] == [
        ("DD", len(domains["DD"]) + 1, "DDSTRESC")
    ]
