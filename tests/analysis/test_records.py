"""What the transplant courses and relapses record: only fields with a value, counts and
medians as tableone gives them, booleans as yes / no, and the report's tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from msreboot.analysis import recorded_characteristics
from msreboot.data import Cohort


def cohort() -> Cohort:
    """Three transplanted patients (P1 twice: the first course counts) and one relapse
    with a severity."""
    ids = ["P1", "P2", "P3"]
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame(
                {
                    "patient_id": ids,
                    "phenotype": "RRMS",
                    "oligoclonal_bands": ["positive", "positive", None],
                    "spms_conversion_date": ["2021-03-01", None, None],
                }
            ),
            "treatments": pd.DataFrame(
                {
                    "patient_id": ["P1", "P1", "P2", "P3"],
                    "kind": "ahsct",
                    "start_date": ["2015-01-01", "2019-01-01", "2016-01-01", "2017-01-01"],
                    "cmv_serostatus": ["positive", "negative", "negative", None],
                    "atg_dose_mg_per_kg": [7.5, 99.0, 5.0, 6.0],
                    "cd34_selected": [True, False, False, None],
                }
            ),
            "relapses": pd.DataFrame(
                {"patient_id": ["P1", "P2"], "onset_date": ["2014-01-01", "2014-06-01"]}
                | {"severity": ["severe", None]}
            ),
        }
    )


def test_first_courses_and_only_recorded_fields() -> None:
    result = recorded_characteristics(cohort())
    assert result.n_courses == 3
    table = result.courses
    assert table is not None
    names = list(dict.fromkeys(k[0] for k in table.index))
    assert names == [
        "CD34+ selected graft, n (%)",
        "ATG dose, mg/kg, median [Q1,Q3]",
        "CMV serostatus, n (%)",
    ]
    # the first courses' doses 7.5, 5, 6: median 6 [5.5, 6.8] (tableone, R's type 7)
    assert table.loc[("ATG dose, mg/kg, median [Q1,Q3]", ""), "Overall"] == "6.0 [5.5,6.8]"
    assert table.loc[("CMV serostatus, n (%)", "positive"), "Overall"] == "1 (33.3)"
    assert table.loc[("CMV serostatus, n (%)", "not recorded"), "Overall"] == "1 (33.3)"
    assert table.loc[("CD34+ selected graft, n (%)", "yes"), "Overall"] == "1 (33.3)"
    assert "Weight, kg" in result.not_recorded
    assert "Treated with high-dose steroids" in result.not_recorded
    relapses = result.relapses
    assert relapses is not None
    assert relapses.loc[("Severity, n (%)", "severe"), "Overall"] == "1 (50.0)"
    patients = result.patients
    assert patients is not None
    assert result.n_patients == 3
    bands = "Oligoclonal bands at diagnosis, n (%)"
    assert patients.loc[(bands, "positive"), "Overall"] == "2 (66.7)"
    assert patients.loc[("Conversion to SPMS dated, n (%)", "yes"), "Overall"] == "1 (33.3)"


def test_nothing_recorded_gives_no_tables() -> None:
    bare = Cohort.from_frames(
        {"patients": pd.DataFrame({"patient_id": ["P1"], "phenotype": ["RRMS"]})}
    )
    result = recorded_characteristics(bare)
    assert result.courses is None
    assert result.relapses is None
    assert result.patients is None
    assert not result.available
    assert result.n_courses == 0


def test_the_report_shows_both_tables(tmp_path: Path) -> None:
    from msreboot.analysis import analyse_cohort
    from msreboot.report import build_report

    build_report(analyse_cohort(cohort(), definitions=["relapse_free"]), out=tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The first AHSCT courses (n = 3)" in page
    assert "CMV serostatus" in page
    assert "Relapses as recorded (n = 2)" in page
    assert "Patients as recorded (n = 3)" in page
    assert "Not recorded for any course:" in page
