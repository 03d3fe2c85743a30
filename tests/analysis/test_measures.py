"""Other measures after AHSCT (timed tests, SDMT, NfL, MRI volumes, questionnaires):
hand-worked windows, tests not completed, which scans and patients count, no data, and the
report section."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from msreboot.analysis import MeasuresAfterAHSCT, measures_after_ahsct
from msreboot.data import Cohort

DAY0 = pd.Timestamp("2020-01-01")


def _date(day: int) -> str:
    return (DAY0 + pd.Timedelta(days=day)).date().isoformat()


def cohort(**tables: pd.DataFrame) -> Cohort:
    """T1 transplanted (reinfusion 2020-01-01, conditioning from day -6) and D1 on DMT."""
    base = {
        "patients": pd.DataFrame({"patient_id": ["T1", "D1"], "phenotype": ["RRMS", "RRMS"]}),
        "treatments": pd.DataFrame(
            {
                "patient_id": ["T1", "D1"],
                "kind": ["ahsct", "dmt"],
                "start_date": ["2020-01-01", "2019-01-01"],
                "conditioning_start_date": ["2019-12-26", None],
                "drug": [None, "natalizumab"],
            }
        ),
    }
    return Cohort.from_frames({**base, **tables})


def walk(rows: list[tuple[str, int, float | None, bool]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": [r[0] for r in rows],
            "date": [_date(r[1]) for r in rows],
            "seconds": [r[2] for r in rows],
            "unable_to_complete": [r[3] for r in rows],
        }
    )


def cell(result: MeasuresAfterAHSCT, measure: str, month: float) -> dict[str, object]:
    table = result.table.set_index(["measure", "month"])
    row: dict[str, object] = table.loc[(measure, month)].to_dict()
    return row


def test_hand_worked_walk_with_a_test_not_completed() -> None:
    # baseline: the last test in the year before conditioning (day -6): day -30, not -400;
    # month 6 (window 91.3-273.9 days): day 200 is closer to 182.6 than day 100;
    # month 12 (273.9-547.9): the only test there was not completed
    data = cohort(
        timed_walk=walk(
            [
                ("T1", -400, 12.0, False),
                ("T1", -30, 8.0, False),
                ("T1", 100, 9.0, False),
                ("T1", 200, 7.5, False),
                ("T1", 365, None, True),
                ("D1", 180, 5.0, False),  # not transplanted: not counted
            ]
        )
    )
    result = measures_after_ahsct(data, months=[6, 12])
    assert list(result.measures["measure"]) == ["t25fw"]
    assert result.n_transplanted == 1
    assert cell(result, "t25fw", 0.0)["median"] == 8.0
    six = cell(result, "t25fw", 6.0)
    assert six["median"] == 7.5
    assert six["n_patients"] == 1
    assert six["n_not_completed"] == 0
    twelve = cell(result, "t25fw", 12.0)
    assert twelve["n_patients"] == 1
    assert twelve["n_not_completed"] == 1
    assert math.isnan(float(str(twelve["median"])))
    assert "1 not completed" in result.summary()


def test_window_edges_are_half_open() -> None:
    # month 6 and 12: the boundary is day 9 months * 30.4375 = 273.9375; day 274 is month 12
    data = cohort(sdmt=pd.DataFrame({"patient_id": ["T1"], "date": [_date(274)], "score": [50]}))
    result = measures_after_ahsct(data, months=[6, 12])
    assert cell(result, "sdmt", 6.0)["n_patients"] == 0
    assert cell(result, "sdmt", 12.0)["n_patients"] == 1


def test_quartiles_are_r_type_7() -> None:
    ids = [f"T{i}" for i in range(1, 5)]
    patients = pd.DataFrame({"patient_id": ids, "phenotype": "RRMS"})
    treatments = pd.DataFrame({"patient_id": ids, "kind": "ahsct", "start_date": "2020-01-01"})
    sdmt = pd.DataFrame({"patient_id": ids, "date": _date(365), "score": [40, 44, 50, 60]})
    data = Cohort.from_frames({"patients": patients, "treatments": treatments, "sdmt": sdmt})
    row = cell(measures_after_ahsct(data, months=[12]), "sdmt", 12.0)
    # R: quantile(c(40, 44, 50, 60)) -> 43, 47, 52.5
    assert (row["q1"], row["median"], row["q3"]) == (43.0, 47.0, 52.5)


def test_mri_volumes_come_from_brain_scans_and_peg_test_per_hand() -> None:
    mri = pd.DataFrame(
        {
            "patient_id": ["T1", "T1", "T1"],
            "date": [_date(360), _date(365), _date(370)],
            "region": ["spine", None, "brain"],
            "brain_volume_ml": [None, 1400.0, None],
            "t2_lesion_volume_ml": [9.0, None, 4.0],
        }
    )
    peg = pd.DataFrame(
        {
            "patient_id": ["T1", "T1"],
            "date": [_date(365), _date(365)],
            "hand": ["dominant", "non_dominant"],
            "seconds": [20.0, 24.0],
            "unable_to_complete": [False, False],
        }
    )
    result = measures_after_ahsct(cohort(mri=mri, peg_test=peg), months=[12])
    assert list(result.measures["measure"]) == [
        "9hpt_dominant",
        "9hpt_non_dominant",
        "brain_volume_ml",
        "t2_lesion_volume_ml",
    ]
    assert cell(result, "brain_volume_ml", 12.0)["median"] == 1400.0
    assert cell(result, "t2_lesion_volume_ml", 12.0)["median"] == 4.0  # the spine scan is not
    assert cell(result, "9hpt_non_dominant", 12.0)["median"] == 24.0


def test_each_questionnaire_item_is_its_own_measure() -> None:
    proms = pd.DataFrame(
        {
            "patient_id": ["T1"] * 3,
            "date": [_date(365)] * 3,
            "instrument": ["eq_5d_5l", "eq_5d_5l", "msis_29"],
            "item": ["index", "vas", "physical"],
            "value": [0.8, 70.0, 35.0],
        }
    )
    result = measures_after_ahsct(cohort(proms=proms), months=[12])
    labels = dict(zip(result.measures["measure"], result.measures["label"], strict=True))
    assert labels == {
        "eq_5d_5l:index": "EQ-5D-5L index",
        "eq_5d_5l:vas": "EQ-5D-5L vas",
        "msis_29:physical": "MSIS-29 physical",
    }
    assert cell(result, "eq_5d_5l:vas", 12.0)["median"] == 70.0


def test_no_measures_is_a_result_without_patients() -> None:
    result = measures_after_ahsct(cohort())
    assert not result.available
    assert result.measures.empty
    assert result.table.empty
    assert "no functional test" in result.summary()
    assert list(result.to_frame().columns)[:5] == [
        "measure",
        "month",
        "from_day",
        "to_day",
        "n_patients",
    ]


@pytest.mark.parametrize("months", [[], [0, 6], [12, 6], [6, 6], [float("nan")]])
def test_bad_months_are_refused(months: list[float]) -> None:
    with pytest.raises(ValueError, match="months must be increasing"):
        measures_after_ahsct(cohort(), months=months)


def test_the_report_shows_the_section(tmp_path: Path) -> None:
    from msreboot.analysis import analyse_cohort
    from msreboot.report import build_report

    data = cohort(
        timed_walk=walk([("T1", -30, 8.0, False), ("T1", 365, 7.0, False)]),
    )
    report = build_report(
        analyse_cohort(data, definitions=["relapse_free"]), out=tmp_path / "r.html"
    )
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "measures" in [s.id for s in report.sections]
    assert "Other measures after AHSCT" in page
    assert "Timed 25-foot walk (s, lower is better)" in page
    empty = build_report(
        analyse_cohort(cohort(), definitions=["relapse_free"]), out=tmp_path / "e.html"
    )
    assert "measures" in [s.id for s in empty.sections]
    assert "No timed 25-foot walk" in (tmp_path / "e.html").read_text(encoding="utf-8")
