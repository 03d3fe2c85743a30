"""Transplant outcomes of the first AHSCT course: hand-worked cohorts, edge cases, example data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from msreboot.data import Cohort
from msreboot.data._summary import DAYS_PER_YEAR
from msreboot.datasets import load_example
from msreboot.endpoints._transplant import exact_binomial_ci, transplant_mortality
from msreboot.endpoints._transplant_adverse_events import PHASES
from msreboot.endpoints._transplant_outcomes import (
    DaysSummary,
    TransplantOutcomes,
    transplant_outcomes,
)
from msreboot.stats._survival import kaplan_meier

DAY0 = pd.Timestamp("2015-01-01")
NA = None

# (patient, onset day from day 0, category, grade, pathogen, serious); D1 had no AHSCT.
EVENTS = [
    ("T1", -30, "infection", 2, NA, NA),  # mobilisation: before reinfusion
    ("T1", 0, "febrile_neutropenia", 3, NA, True),  # day 0 is early
    ("T1", 100, "viral_reactivation", 2, "CMV", False),  # day 100 is still early
    ("T1", 101, "viral_reactivation", 1, " ebv", False),  # late; label normalised to EBV
    ("T1", 400, "secondary_autoimmunity", 2, NA, False),
    ("T2", 5, "febrile_neutropenia", 3, NA, NA),
    ("T2", 6, "infection", 4, NA, True),
    ("T2", 30, "infection", 5, NA, True),
    ("T3", -3, "mucositis", 2, NA, NA),  # T3 has no course start date: not counted
    ("T3", 200, "viral_reactivation", NA, "HHV-6", NA),
    ("T3", 700, "secondary_autoimmunity", 2, NA, NA),
    ("T4", -100, "other", 1, NA, NA),  # before T4's mobilisation (day -60): not counted
    ("T4", 600, "infection", 3, NA, NA),  # after T4's second course: still the first's late
    ("D1", 10, "infection", 3, NA, NA),  # no AHSCT: not counted
]


def _tables(when: Callable[[str, float | None], Any], events: list[Any] = EVENTS) -> dict[str, Any]:
    """Four transplanted patients (T1-T4, T4 twice) and one on a DMT (D1).

    ``when(patient, day)`` turns days from day 0 into the cohort's dates.
    """
    courses = [
        # patient, start, mobilisation, conditioning, admission, engraftment, discharge
        ("T1", 0, -40, -6, -7, 10, 20),
        ("T2", 0, NA, NA, -5, 12, NA),  # died in hospital on day 30
        ("T3", 0, NA, NA, NA, NA, 15),  # no admission date, engraftment not recorded
        ("T4", 0, -60, NA, -10, 11, 18),
        ("T4", 500, NA, NA, 495, 510, 520),  # second course: not an origin
    ]
    treatments = pd.DataFrame(
        [
            {
                "patient_id": p,
                "kind": "ahsct",
                "start_date": when(p, s),
                "mobilisation_date": when(p, m),
                "conditioning_start_date": when(p, c),
                "admission_date": when(p, a),
                "engraftment_date": when(p, e),
                "discharge_date": when(p, d),
            }
            for p, s, m, c, a, e, d in courses
        ]
        + [{"patient_id": "D1", "kind": "dmt", "start_date": when("D1", 0)}]
    )
    alive = ["T1", "T3", "T4", "D1"]
    return {
        "patients": pd.DataFrame(
            {"patient_id": ["T1", "T2", "T3", "T4", "D1"], "phenotype": "RRMS"}
        ),
        "treatments": treatments,
        "edss": pd.DataFrame(
            {"patient_id": alive, "date": [when(p, 800) for p in alive], "edss": 3.0}
        ),
        "adverse_events": pd.DataFrame(
            [
                {
                    "patient_id": p,
                    "onset_date": when(p, d),
                    "category": cat,
                    "grade": g,
                    "pathogen": path,
                    "serious": ser,
                }
                for p, d, cat, g, path, ser in events
            ],
            columns=["patient_id", "onset_date", "category", "grade", "pathogen", "serious"],
        ),
        "deaths": pd.DataFrame(
            {
                "patient_id": ["T2"],
                "date": [when("T2", 30)],
                "cause": ["infection"],
                "transplant_related": [True],
            }
        ),
    }


def _as_date(patient: str, day: float | None) -> pd.Timestamp | None:
    return None if day is None else DAY0 + pd.Timedelta(days=day)


# Day-based cohort: each patient's own origin, day 0 falling on a different number.
_ORIGIN = {"T1": 1000, "T2": 0, "T3": 37, "T4": 400, "D1": 5}


def _as_day(patient: str, day: float | None) -> float | None:
    return None if day is None else _ORIGIN[patient] + day


def _cohort(events: list[Any] = EVENTS) -> Cohort:
    return Cohort.from_frames(_tables(_as_date, events))


@pytest.fixture(scope="module")
def hand() -> TransplantOutcomes:
    return transplant_outcomes(_cohort())


def _row(table: pd.DataFrame, outcome: str, phase: str) -> dict[str, Any]:
    rows = table[(table["outcome"] == outcome) & (table["phase"] == phase)]
    assert len(rows) == 1, (outcome, phase)
    return dict(rows.iloc[0])


def _counts(table: pd.DataFrame, outcome: str) -> list[tuple[int, int]]:
    """(events, patients) in phase order: pre, early, late, post."""
    return [
        (int(_row(table, outcome, ph)["events"]), int(_row(table, outcome, ph)["patients"]))
        for ph in PHASES
    ]


def test_engraftment_days_with_a_missing_date(hand: TransplantOutcomes) -> None:
    assert hand.per_patient["engraftment_days"].tolist()[:2] == [10.0, 12.0]
    assert np.isnan(hand.per_patient["engraftment_days"].iloc[2])
    assert hand.engraftment == DaysSummary(
        n=3, n_missing=1, median=11.0, q1=10.5, q3=11.5, minimum=10.0, maximum=12.0
    )


def test_platelet_engraftment_beside_neutrophil_engraftment() -> None:
    tables = _tables(_as_date)
    # T1 day 14, T2 none (died on day 30), T3 day 25, T4 day 9; T4's second course not used
    tables["treatments"]["platelet_engraftment_date"] = [
        _as_date(p, d)
        for p, d in zip(
            tables["treatments"]["patient_id"], [14, None, 25, 9, 530, None], strict=True
        )
    ]
    result = transplant_outcomes(Cohort.from_frames(tables))
    days = result.per_patient.set_index("patient_id")["platelet_engraftment_days"]
    assert days[["T1", "T3", "T4"]].tolist() == [14.0, 25.0, 9.0]
    assert np.isnan(days["T2"])
    assert result.platelet_engraftment == DaysSummary(
        n=3, n_missing=1, median=14.0, q1=11.5, q3=19.5, minimum=9.0, maximum=25.0
    )
    frame = result.to_frame()
    rows = frame[frame["outcome"] == "platelet engraftment, days"].set_index("statistic")
    assert rows.at["median", "value"] == 14.0
    assert rows.at["missing", "value"] == 1
    assert "Platelet engraftment, days after day 0: median 14" in result.summary()


def test_no_platelet_dates_give_an_empty_summary(hand: TransplantOutcomes) -> None:
    assert hand.platelet_engraftment.n == 0
    assert hand.platelet_engraftment.n_missing == hand.n_transplanted
    assert np.isnan(hand.platelet_engraftment.median)


def test_days_in_hospital_count_admission_and_discharge_days(hand: TransplantOutcomes) -> None:
    # T1: day -7 to 20 -> 28 days; T4: day -10 to 18 -> 29; T2 died in hospital, T3 no admission
    days = hand.per_patient.set_index("patient_id")["hospital_days"]
    assert days["T1"] == 28
    assert days["T4"] == 29
    assert days[["T2", "T3"]].isna().all()
    assert hand.hospital_stay == DaysSummary(2, 2, 28.5, 28.25, 28.75, 28.0, 29.0)


def test_one_patient_per_first_course(hand: TransplantOutcomes) -> None:
    assert hand.n_transplanted == 4
    assert hand.per_patient["patient_id"].tolist() == ["T1", "T2", "T3", "T4"]
    assert (hand.per_patient["reinfusion_date"] == DAY0).all()
    assert hand.per_patient["course_start_day"].tolist()[:2] == [-40.0, -5.0]
    assert np.isnan(hand.per_patient["course_start_day"].iloc[2])


def test_any_adverse_event_by_phase(hand: TransplantOutcomes) -> None:
    table = hand.adverse_events
    assert _counts(table, "any") == [(1, 1), (5, 2), (5, 3), (10, 4)]
    assert _counts(table, "grade >= 3") == [(0, 0), (4, 2), (1, 1), (5, 3)]
    assert _counts(table, "serious") == [(0, 0), (3, 2), (0, 0), (3, 2)]
    early = _row(table, "any", "early")
    assert (early["n"], early["proportion"]) == (4, 0.5)
    assert (early["ci_low"], early["ci_high"]) == exact_binomial_ci(2, 4)
    any_post = _row(table, "any", "post_reinfusion")
    assert (any_post["grade_3_plus_events"], any_post["grade_3_plus_patients"]) == (5, 3)


def test_phase_follow_up(hand: TransplantOutcomes) -> None:
    followed = hand.adverse_events.set_index("phase").loc[lambda f: f["outcome"] == "any"]
    # course start known for T1, T2, T4; T2 died on day 30, before the late phase
    assert followed["n_followed"].to_dict() == {
        "pre_reinfusion": 3,
        "early": 4,
        "late": 3,
        "post_reinfusion": 4,
    }


def test_by_category_shows_named_categories_and_those_counted(hand: TransplantOutcomes) -> None:
    table = hand.adverse_events_by_category
    assert table["outcome"].unique().tolist() == [
        "infection",
        "febrile_neutropenia",
        "viral_reactivation",
        "secondary_autoimmunity",
    ]  # mucositis and other were not counted in any phase
    assert _counts(table, "infection") == [(1, 1), (2, 1), (1, 1), (3, 2)]
    assert _counts(table, "febrile_neutropenia") == [(0, 0), (2, 2), (0, 0), (2, 2)]
    assert _counts(table, "viral_reactivation") == [(0, 0), (1, 1), (2, 2), (3, 2)]
    assert _counts(table, "secondary_autoimmunity") == [(0, 0), (0, 0), (2, 2), (2, 2)]
    infection = _row(table, "infection", "post_reinfusion")
    assert (infection["grade_3_plus_events"], infection["grade_3_plus_patients"]) == (3, 2)


def test_by_grade(hand: TransplantOutcomes) -> None:
    table = hand.adverse_events_by_grade
    assert table["outcome"].unique().tolist() == [
        *(f"grade {g}" for g in range(1, 6)),
        "grade missing",
    ]
    post = table[table["phase"] == "post_reinfusion"].set_index("outcome")["events"]
    assert post.to_dict() == {
        "grade 1": 1,
        "grade 2": 3,
        "grade 3": 3,
        "grade 4": 1,
        "grade 5": 1,
        "grade missing": 1,
    }
    assert _counts(table, "grade 2")[0] == (1, 1)  # the mobilisation infection


def test_viral_reactivation_by_pathogen(hand: TransplantOutcomes) -> None:
    table = hand.viral_reactivations
    assert table["outcome"].unique().tolist() == [
        "viral_reactivation: EBV",
        "viral_reactivation: CMV",
        "viral_reactivation: VZV",
        "viral_reactivation: HHV-6",
    ]
    assert _counts(table, "viral_reactivation: EBV") == [(0, 0), (0, 0), (1, 1), (1, 1)]
    assert _counts(table, "viral_reactivation: CMV") == [(0, 0), (1, 1), (0, 0), (1, 1)]
    assert _counts(table, "viral_reactivation: VZV") == [(0, 0)] * 4


def test_infections_by_grade(hand: TransplantOutcomes) -> None:
    table = hand.infections_by_grade
    assert "infection: grade missing" not in set(table["outcome"])  # only HHV-6 lacks one
    assert _counts(table, "infection: grade 2") == [(1, 1), (0, 0), (0, 0), (0, 0)]
    assert _counts(table, "infection: grade >= 3") == [(0, 0), (2, 1), (1, 1), (3, 2)]
    assert _counts(table, "infection: grade 1") == [(0, 0)] * 4


def test_secondary_autoimmunity_onset(hand: TransplantOutcomes) -> None:
    onset = hand.per_patient.set_index("patient_id")["secondary_autoimmunity_onset_days"]
    assert onset[["T1", "T3"]].tolist() == [400.0, 700.0]
    assert onset[["T2", "T4"]].isna().all()
    assert hand.secondary_autoimmunity_onset == DaysSummary(2, 0, 550.0, 475.0, 625.0, 400.0, 700.0)


def test_per_patient_event_counts(hand: TransplantOutcomes) -> None:
    pp = hand.per_patient.set_index("patient_id")
    assert pp["ae_pre_reinfusion"].tolist() == [1, 0, 0, 0]
    assert pp["ae_early"].tolist() == [2, 3, 0, 0]
    assert pp["ae_late"].tolist() == [2, 0, 2, 1]
    assert pp["ae_grade_3_plus_early"].tolist() == [1, 3, 0, 0]
    assert pp["ae_grade_3_plus_late"].tolist() == [0, 0, 0, 1]


def test_excluded_events_are_listed_with_the_reason(hand: TransplantOutcomes) -> None:
    excluded = hand.excluded_adverse_events.set_index("reason")["events"]
    assert len(excluded) == 3
    assert excluded.sum() == 3
    assert any("without an AHSCT course" in r for r in excluded.index)
    assert any("no mobilisation, conditioning or admission date" in r for r in excluded.index)
    assert "Adverse events not counted" in hand.summary()


def test_overall_survival_is_kaplan_meier_from_day_0(hand: TransplantOutcomes) -> None:
    pp = hand.per_patient
    assert pp["follow_up_days"].tolist() == [800.0, 30.0, 800.0, 800.0]
    assert pp["died"].tolist() == [False, True, False, False]
    expected = kaplan_meier(np.array([800, 30, 800, 800]) / DAYS_PER_YEAR, [0, 1, 0, 0])
    curve = hand.overall_survival
    np.testing.assert_array_equal(curve.times, expected.times)
    np.testing.assert_array_equal(curve.survival, expected.survival)
    np.testing.assert_array_equal(curve.ci_low, expected.ci_low)
    np.testing.assert_array_equal(curve.ci_high, expected.ci_high)
    at = hand.survival_at
    np.testing.assert_array_equal(at.times, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(at.estimate[:2], [0.75, 0.75])
    assert np.isnan(at.estimate[2:]).all()  # 800 days is under 3 years
    np.testing.assert_array_equal(at.n_at_risk, [3, 3, 0, 0, 0])


def test_trm_is_transplant_mortality(hand: TransplantOutcomes) -> None:
    assert hand.mortality == transplant_mortality(_cohort())
    assert (hand.mortality.deaths_within_window, hand.mortality.n_transplanted) == (1, 4)


def test_day_based_cohort_gives_the_same_numbers(hand: TransplantOutcomes) -> None:
    cohort = Cohort.from_frames(_tables(_as_day), time_unit="day")
    assert cohort.time_unit == "day"
    result = transplant_outcomes(cohort)
    assert result.per_patient["reinfusion_date"].tolist() == [1000, 0, 37, 400]
    pd.testing.assert_frame_equal(
        result.per_patient.drop(columns="reinfusion_date"),
        hand.per_patient.drop(columns="reinfusion_date"),
    )
    pd.testing.assert_frame_equal(result.to_frame(), hand.to_frame())


def test_early_days_moves_the_boundary_and_the_trm_window() -> None:
    result = transplant_outcomes(_cohort(), early_days=0)
    # only T1's day-0 febrile neutropenia is early; T2 died on day 30: outside a 0-day window
    assert _counts(result.adverse_events, "any")[1:3] == [(1, 1), (9, 4)]
    assert result.mortality.deaths_within_window == 0
    assert result.mortality.window_days == 0
    assert "day 0-0" in result.summary()


def test_patients_without_adverse_events_are_zero_in_the_denominator() -> None:
    result = transplant_outcomes(_cohort(events=[]))
    for table, _ in result._ae_tables():
        assert (table["events"] == 0).all()
        assert (table["patients"] == 0).all()
        assert (table["n"] == 4).all()
        assert (table["ci_low"] == 0).all()
    assert result.viral_reactivations["outcome"].nunique() == 3
    assert result.adverse_events_by_category["outcome"].nunique() == 4
    assert result.secondary_autoimmunity_onset.n == 0
    assert np.isnan(result.secondary_autoimmunity_onset.median)
    assert result.excluded_adverse_events.empty
    assert (result.per_patient.filter(like="ae_") == 0).all().all()
    assert "no values" not in result.summary()  # the onset line is left out


def test_missing_pathogen_is_unspecified() -> None:
    events = [("T1", 50, "viral_reactivation", 2, NA, NA)]
    result = transplant_outcomes(_cohort(events))
    row = _row(result.viral_reactivations, "viral_reactivation: unspecified", "early")
    assert (row["events"], row["patients"]) == (1, 1)


def test_no_ahsct_course_is_an_error() -> None:
    cohort = Cohort.from_frames(
        {
            "patients": pd.DataFrame({"patient_id": ["A"], "phenotype": ["RRMS"]}),
            "treatments": pd.DataFrame(
                {"patient_id": ["A"], "kind": ["dmt"], "start_date": [DAY0]}
            ),
        }
    )
    with pytest.raises(ValueError, match="AHSCT courses"):
        transplant_outcomes(cohort)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"early_days": -1}, "early_days must be >= 0"),
        ({"early_days": 1.5}, "early_days must be a whole number"),
        ({"early_days": True}, "early_days must be a whole number"),
        ({"conf_level": 95}, "Did you mean 0.95"),
        ({"times_years": (1, -2)}, "times_years must be finite and >= 0"),
    ],
    ids=["negative-early", "fractional-early", "bool-early", "percent-level", "negative-time"],
)
def test_argument_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        transplant_outcomes(_cohort(), **kwargs)


def test_conf_level_reaches_every_interval() -> None:
    result = transplant_outcomes(_cohort(), conf_level=0.9, times_years=[0.5])
    row = _row(result.adverse_events, "any", "early")
    assert (row["ci_low"], row["ci_high"]) == exact_binomial_ci(2, 4, 0.9)
    assert result.overall_survival.conf_level == 0.9
    assert result.mortality.conf_level == 0.9
    assert result.survival_at.times.tolist() == [0.5]


def test_to_frame_is_tidy(hand: TransplantOutcomes) -> None:
    frame = hand.to_frame()
    assert frame.columns.tolist() == [
        "outcome",
        "phase",
        "statistic",
        "value",
        "ci_low",
        "ci_high",
        "n",
    ]
    assert not frame.duplicated(["outcome", "phase", "statistic"]).any()
    by = frame.set_index(["outcome", "phase", "statistic"])
    assert by.loc[("neutrophil engraftment, days", "course", "median"), "value"] == 11
    assert by.loc[("neutrophil engraftment, days", "course", "missing"), "value"] == 1
    assert by.loc[("febrile_neutropenia", "early", "patients"), "value"] == 2
    assert by.loc[("any", "early", "grade_3_plus_events"), "value"] == 4
    survival = by.loc[("overall survival", "post_reinfusion", "survival_1y")]
    assert (survival["value"], survival["n"]) == (0.75, 3)
    trm = by.loc[("transplant-related mortality", "early", "proportion")]
    assert (trm["value"], trm["n"]) == (0.25, 4)
    with_ci = frame[frame["ci_low"].notna() & frame["value"].notna()]  # median OS not reached
    assert (with_ci["ci_low"] <= with_ci["value"]).all()
    assert (with_ci["value"] <= with_ci["ci_high"]).all()


def test_summary_and_html(hand: TransplantOutcomes) -> None:
    text = hand.summary()
    assert text.splitlines()[0] == (
        "AHSCT outcomes of the first course: 4 patients (day 0 = reinfusion)"
    )
    assert "median 11 (IQR 10.5-11.5, range 10-12), 3 patients, 1 missing" in text
    assert "both days counted" in text
    assert "viral_reactivation: HHV-6" in text
    assert "1 y 75.0%" in text
    assert "TRM (death from any cause within 100 days of AHSCT): 1/4" in text
    page = hand._repr_html_()
    assert page.startswith("<pre>")
    assert "grade &gt;= 3" in page


# --- the bundled example cohort -------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> tuple[Cohort, TransplantOutcomes]:
    cohort = load_example()
    return cohort, transplant_outcomes(cohort)


def test_example_days_match_the_first_courses(example: tuple[Cohort, TransplantOutcomes]) -> None:
    cohort, result = example
    courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    first = courses.sort_values("start_date").drop_duplicates("patient_id")
    engraft = (first["engraftment_date"] - first["start_date"]).dt.days
    assert result.n_transplanted == first["patient_id"].nunique()
    assert result.engraftment.median == pytest.approx(float(engraft.median()))
    assert result.engraftment.n + result.engraftment.n_missing == result.n_transplanted
    assert (result.per_patient["hospital_days"].dropna() >= 1).all()


def test_example_counts_are_consistent(example: tuple[Cohort, TransplantOutcomes]) -> None:
    _, result = example
    for table, _ in result._ae_tables():
        wide = table.pivot(index="outcome", columns="phase", values="events")
        assert (wide["post_reinfusion"] == wide["early"] + wide["late"]).all()
        pats = table.pivot(index="outcome", columns="phase", values="patients")
        assert (pats["post_reinfusion"] <= pats["early"] + pats["late"]).all()
        assert (pats["post_reinfusion"] >= pats[["early", "late"]].max(axis=1)).all()
        assert (table["ci_low"] <= table["proportion"]).all()
        assert (table["proportion"] <= table["ci_high"]).all()
    anyae = result.adverse_events.set_index(["outcome", "phase"])["events"]
    by_category = result.adverse_events_by_category.groupby("phase")["events"].sum()
    by_grade = result.adverse_events_by_grade.groupby("phase")["events"].sum()
    for phase in PHASES:
        assert by_category[phase] == anyae[("any", phase)]
        assert by_grade[phase] == anyae[("any", phase)]
    pp = result.per_patient
    for phase in ("pre_reinfusion", "early", "late"):
        assert pp[f"ae_{phase}"].sum() == anyae[("any", phase)]
    counted = int(anyae[("any", "pre_reinfusion")] + anyae[("any", "post_reinfusion")])
    excluded = int(result.excluded_adverse_events["events"].sum())
    assert counted + excluded == len(load_example().adverse_events)


def test_example_survival_and_trm(example: tuple[Cohort, TransplantOutcomes]) -> None:
    cohort, result = example
    pp = result.per_patient
    expected = kaplan_meier(pp["follow_up_days"] / DAYS_PER_YEAR, pp["died"])
    np.testing.assert_array_equal(result.overall_survival.survival, expected.survival)
    assert result.overall_survival.total_events == int(pp["died"].sum())
    assert result.mortality == transplant_mortality(cohort)
    estimate = result.survival_at.estimate
    assert np.all(np.diff(estimate[np.isfinite(estimate)]) <= 0)
