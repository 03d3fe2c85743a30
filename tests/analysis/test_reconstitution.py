"""Immune reconstitution by months since AHSCT: against R, hand-worked windows and ties,
no data, and invariance to row order."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.analysis import (
    RECONSTITUTION_ANALYTES,
    ImmuneReconstitution,
    immune_reconstitution,
)
from msreboot.data import Cohort

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "analysis"


@functools.cache
def reference_cohort() -> Cohort:
    courses = pd.read_csv(
        REFERENCE / "reconstitution_courses.csv", dtype=str, keep_default_na=False
    )
    labs = pd.read_csv(REFERENCE / "reconstitution_labs.csv", dtype=str, keep_default_na=False)
    labs["unit"] = "cells/uL"
    ids = sorted(set(courses["patient_id"]))
    patients = pd.DataFrame({"patient_id": ids, "phenotype": "RRMS"})
    return Cohort.from_frames({"patients": patients, "treatments": courses, "labs": labs})


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        (REFERENCE / "reconstitution_reference.json").read_text(encoding="utf-8")
    )
    return doc


def test_agrees_with_r(reference: dict[str, object]) -> None:
    result = immune_reconstitution(reference_cohort(), months=reference["months"])  # type: ignore[arg-type]
    tol = float(reference["tolerance"])  # type: ignore[arg-type]
    got = result.to_frame().set_index(["analyte", "month"])
    expected = reference["results"]
    assert isinstance(expected, list)
    assert len(got) == len(expected) == 45
    assert result.n_transplanted == reference["n_transplanted"]
    for row in expected:
        mine = got.loc[(row["analyte"], float(row["month"]))]
        assert mine["n_patients"] == row["n"], row
        for stat in ("median", "q1", "q3"):
            if row[stat] is None:
                assert math.isnan(mine[stat]), row
            else:
                assert mine[stat] == pytest.approx(row[stat], abs=tol, rel=tol), (row, stat)
    assert got["n_patients"].sum() > 200  # the reference exercises real data


def one_patient(days: list[int], analyte: str = "cd4") -> Cohort:
    """One patient: reinfusion 2020-01-01, conditioning from day -6; results on ``days``."""
    day0 = pd.Timestamp("2020-01-01")
    dates = [(day0 + pd.Timedelta(days=d)).date().isoformat() for d in days]
    return Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["T1"], "phenotype": ["RRMS"]}),
            "treatments": pd.DataFrame(
                {
                    "patient_id": ["T1"],
                    "kind": ["ahsct"],
                    "start_date": ["2020-01-01"],
                    "conditioning_start_date": ["2019-12-26"],
                }
            ),
            "labs": pd.DataFrame(
                {
                    "patient_id": "T1",
                    "date": dates,
                    "analyte": analyte,
                    "value": [float(100 + i) for i in range(len(days))],
                    "unit": "cells/uL",
                }
            ),
        }
    )


def values_at(result: ImmuneReconstitution, analyte: str = "cd4") -> dict[float, float]:
    table = result.to_frame()
    rows = table[(table["analyte"] == analyte) & (table["n_patients"] > 0)]
    return dict(zip(rows["month"], rows["median"], strict=True))


def test_window_edges_by_hand() -> None:
    # month 1 is [15.22, 60.875) days, month 3 [60.875, 136.97): days 10 and 15 are in no
    # window (aplasia); days 16 and 60 are month 1, 16 the closer to day 30.44 (14.4 days
    # against 29.6); day 61 is month 3
    result = immune_reconstitution(one_patient([10, 15, 16, 60, 61]))
    assert values_at(result) == {1.0: 102.0, 3.0: 104.0}


def test_the_closest_result_wins_and_the_earlier_on_a_tie() -> None:
    # month 24 is day 730.5: days 730 and 731 are equally close; 700 is farther
    assert values_at(immune_reconstitution(one_patient([700, 731, 730]))) == {24.0: 102.0}
    assert values_at(immune_reconstitution(one_patient([700, 731]))) == {24.0: 101.0}


def test_baseline_is_the_last_result_within_a_year_before_the_course() -> None:
    # the course starts on day -6 (conditioning): day -371 is 365 days before it
    assert values_at(immune_reconstitution(one_patient([-372, -371]))) == {0.0: 101.0}
    assert values_at(immune_reconstitution(one_patient([-372]))) == {}
    assert values_at(immune_reconstitution(one_patient([-6]))) == {}  # the course's first day
    assert values_at(immune_reconstitution(one_patient([-200, -7]))) == {0.0: 101.0}


def test_after_the_last_window_nothing_is_counted() -> None:
    # month 60 ends at 66 months (2008.875 days)
    assert values_at(immune_reconstitution(one_patient([2008, 2009]))) == {60.0: 100.0}


def test_quartiles_are_type_7() -> None:
    tables = {
        "patients": pd.DataFrame({"patient_id": [f"T{i}" for i in range(4)], "phenotype": "RRMS"}),
        "treatments": pd.DataFrame(
            {"patient_id": [f"T{i}" for i in range(4)], "kind": "ahsct", "start_date": "2020-01-01"}
        ),
        "labs": pd.DataFrame(
            {
                "patient_id": [f"T{i}" for i in range(4)],
                "date": "2020-07-01",  # month 6
                "analyte": "nk",
                "value": [10.0, 20.0, 40.0, 80.0],
                "unit": "cells/uL",
            }
        ),
    }
    table = immune_reconstitution(Cohort.from_frames(tables)).to_frame()
    row = table[(table["analyte"] == "nk") & (table["month"] == 6)].iloc[0]
    assert (row["n_patients"], row["median"], row["q1"], row["q3"]) == (4, 30.0, 17.5, 50.0)


def test_no_labs_or_no_transplant_is_no_data() -> None:
    empty = one_patient([])
    result = immune_reconstitution(empty)
    assert not result.available
    assert result.n_results == 0
    assert (result.to_frame()["n_patients"] == 0).all()
    assert result.to_frame()["median"].isna().all()
    assert "no lymphocyte-subset results" in result.summary()
    assert list(result.to_frame()["analyte"].unique()) == list(RECONSTITUTION_ANALYTES)
    dmt_only = Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["D1"], "phenotype": ["RRMS"]}),
            "treatments": pd.DataFrame(
                {"patient_id": ["D1"], "kind": ["dmt"], "start_date": ["2020-01-01"]}
            ),
            "labs": pd.DataFrame(
                {
                    "patient_id": ["D1"],
                    "date": ["2020-06-01"],
                    "analyte": ["cd4"],
                    "value": [500],
                    "unit": ["cells/uL"],
                }
            ),
        }
    )
    none = immune_reconstitution(dmt_only)
    assert none.n_transplanted == 0
    assert not none.available
    assert "0 transplanted patients" in none.summary()


def test_other_analytes_are_ignored() -> None:
    assert not immune_reconstitution(one_patient([180], analyte="platelets")).available


def test_summary_and_html_show_the_numbers() -> None:
    result = immune_reconstitution(one_patient([180, 365]))
    text = result.summary()
    assert "cd4: month 6 100 [100, 100] (1); month 12 101 [101, 101] (1)" in text
    assert "lymphocytes: no results" in text
    assert "<pre>" in result._repr_html_()


@pytest.mark.parametrize("months", [[], [0, 3], [3, 1], [1, 1], [float("nan")]])
def test_bad_months_are_refused(months: list[float]) -> None:
    with pytest.raises(ValueError, match="months must be increasing months > 0"):
        immune_reconstitution(one_patient([30]), months=months)


def test_a_day_based_cohort_gives_the_same_table() -> None:
    dated = reference_cohort()
    origin = pd.Timestamp("2000-01-01")
    tables = {}
    for name in ("patients", "treatments", "labs"):
        frame = dated.table(name).copy()
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]):
                frame[col] = (frame[col] - origin).dt.days.astype("Int64")
        tables[name] = frame
    days = Cohort.from_frames(tables, time_unit="day")
    pd.testing.assert_frame_equal(
        immune_reconstitution(days).to_frame(), immune_reconstitution(dated).to_frame()
    )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_row_order_does_not_change_the_result(seed: int) -> None:
    cohort = reference_cohort()
    order = np.random.default_rng(seed).permutation(len(cohort.labs))
    shuffled = Cohort.from_canonical(
        {**cohort.tables, "labs": cohort.labs.iloc[order].reset_index(drop=True)}, "date"
    )
    pd.testing.assert_frame_equal(
        immune_reconstitution(shuffled).to_frame(), immune_reconstitution(cohort).to_frame()
    )
