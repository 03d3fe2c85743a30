"""The example's platelet engraftment and immune-reconstitution panels: valid analytes and
units, the documented kinetics, draws inside follow-up, and streams of their own."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from msreboot.analysis import RECONSTITUTION_ANALYTES, immune_reconstitution
from msreboot.data import ANALYTES, Cohort, days_between
from msreboot.datasets import EXAMPLE_SEED, generate_example, load_example
from msreboot.datasets import _example as example_module
from msreboot.datasets._immune import _ratio, immune_reconstitution_labs, platelet_engraftment


@pytest.fixture(scope="module")
def example() -> Cohort:
    return load_example()


@pytest.fixture(scope="module")
def medians(example: Cohort) -> pd.Series:
    table = immune_reconstitution(example).to_frame()
    return table.set_index(["analyte", "month"])["median"]


def _day0(cohort: Cohort) -> pd.Series:
    courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    return (
        courses.sort_values("start_date")
        .drop_duplicates("patient_id")
        .set_index("patient_id")["start_date"]
    )


def test_analytes_and_units_are_the_schema_vocabulary(example: Cohort) -> None:
    labs = example.labs
    assert len(labs) > 1000
    assert set(labs["analyte"]) == set(RECONSTITUTION_ANALYTES)
    for analyte, unit in zip(labs["analyte"], labs["unit"], strict=True):
        assert analyte in ANALYTES
        assert unit == ANALYTES[analyte].unit
    assert (labs["value"] > 0).all()
    assert example.warnings == ()
    Cohort.from_frames(generate_example(EXAMPLE_SEED + 3, n_patients=30))  # validates


def test_only_transplanted_patients_inside_their_follow_up(example: Cohort) -> None:
    labs = example.labs
    day0 = _day0(example)
    assert set(labs["patient_id"]) <= set(day0.index)
    assert 0.8 < labs["patient_id"].nunique() / len(day0) < 0.97  # some centres draw none
    last_visit = example.edss.groupby("patient_id")["date"].max()
    late = days_between(
        labs["date"].reset_index(drop=True),
        last_visit.reindex(labs["patient_id"]).reset_index(drop=True),
    )
    assert (late <= 0).all()
    death = example.deaths.set_index("patient_id")["date"]
    dead = labs[labs["patient_id"].isin(death.index)]
    after = days_between(
        dead["date"].reset_index(drop=True),
        death.reindex(dead["patient_id"]).reset_index(drop=True),
    )
    assert (after <= 0).all()
    courses = example.treatments[example.treatments["kind"] == "ahsct"].set_index("patient_id")
    day = days_between(
        labs["date"].reset_index(drop=True),
        day0.reindex(labs["patient_id"]).reset_index(drop=True),
    )
    mobilised = days_between(
        courses["mobilisation_date"].reindex(labs["patient_id"]).reset_index(drop=True),
        day0.reindex(labs["patient_id"]).reset_index(drop=True),
    )
    before = day < 0
    assert (day[before] <= mobilised[before] - 7).all()  # baseline before mobilisation
    assert day.min() >= mobilised.min() - 60
    assert (day[~before] >= 15).all()  # nothing during aplasia
    assert day.max() <= 48 * 30.4375 + 70


def test_missed_draws(example: Cohort) -> None:
    panels = example.labs.groupby(["patient_id", "date"]).size()
    assert (panels == 5).mean() > 0.7  # most panels complete
    assert (panels < 5).any()  # a few results missing from a panel
    result = immune_reconstitution(example).to_frame()
    cd4 = result[result["analyte"] == "cd4"].set_index("month")["n_patients"]
    drawn = example.labs["patient_id"].nunique()
    assert cd4[1.0] < drawn  # missed visits
    assert cd4[1.0] > 0.7 * drawn
    assert cd4[48.0] < cd4[12.0]  # shorter follow-up


def test_the_kinetics_have_the_documented_shape(medians: pd.Series) -> None:
    def ratio(analyte: str, month: float) -> float:
        return float(medians[(analyte, month)] / medians[(analyte, 0.0)])

    assert 0.85 < ratio("nk", 1.0) < 1.15  # NK cells back within a month
    assert ratio("cd8", 1.0) < 0.7
    assert 0.8 < ratio("cd8", 6.0) < 1.2  # CD8 back by 3-6 months
    assert ratio("cd19", 1.0) < 0.7
    assert ratio("cd19", 3.0) >= 0.9
    assert ratio("cd19", 6.0) > 1.1  # the B-cell overshoot
    assert ratio("cd19", 12.0) > 1.1
    assert ratio("cd19", 48.0) < ratio("cd19", 12.0)
    assert ratio("cd4", 1.0) < 0.25
    assert ratio("cd4", 12.0) < 0.6  # CD4 low for 1-2 years
    assert ratio("cd4", 24.0) < 0.85
    cd4 = [ratio("cd4", m) for m in (1.0, 3.0, 6.0, 12.0, 24.0, 36.0)]
    assert cd4 == sorted(cd4)  # recovering slowly
    assert ratio("lymphocytes", 1.0) < 0.5
    assert ratio("lymphocytes", 12.0) < 1.0


def test_lymphocytes_hold_the_subsets(example: Cohort) -> None:
    wide = example.labs.pivot_table(
        index=["patient_id", "date"], columns="analyte", values="value"
    ).dropna()
    subsets = wide["cd4"] + wide["cd8"] + wide["cd19"] + wide["nk"]
    assert (wide["lymphocytes"] >= subsets - 2).all()
    assert (wide["lymphocytes"] <= 1.06 * subsets + 2).all()


def test_younger_patients_and_plain_grafts_recover_cd4_faster(example: Cohort) -> None:
    labs = example.labs[example.labs["analyte"] == "cd4"]
    day0 = _day0(example)
    day = days_between(
        labs["date"].reset_index(drop=True),
        day0.reindex(labs["patient_id"]).reset_index(drop=True),
    ).to_numpy()
    base = labs[day < 0].set_index("patient_id")["value"]
    year = labs[(day > 300) & (day < 430)].set_index("patient_id")["value"]
    ratio = (year / base).dropna()
    birth = example.patients.set_index("patient_id")["birth_date"]
    age = days_between(day0, birth.reindex(day0.index)) / 365.25
    assert ratio.corr(age.reindex(ratio.index), method="spearman") < -0.2
    courses = example.treatments[example.treatments["kind"] == "ahsct"]
    selected = courses.drop_duplicates("patient_id").set_index("patient_id")["cd34_selected"]
    by = ratio.groupby(selected.reindex(ratio.index).astype(bool)).median()
    assert by[True] < by[False]


def test_platelet_engraftment_follows_neutrophil_engraftment(example: Cohort) -> None:
    treatments = example.treatments
    ahsct = treatments[treatments["kind"] == "ahsct"]
    assert treatments.loc[treatments["kind"] != "ahsct", "platelet_engraftment_date"].isna().all()
    platelets = days_between(ahsct["platelet_engraftment_date"], ahsct["start_date"])
    neutrophils = days_between(ahsct["engraftment_date"], ahsct["start_date"])
    assert platelets.notna().mean() > 0.95
    lag = (platelets - neutrophils).dropna()
    assert lag.between(1, 6).all()
    assert 10 <= platelets.median() <= 15


def test_no_platelet_date_after_death() -> None:
    day0 = dt.date(2020, 1, 1)
    tables = {
        "treatments": pd.DataFrame(
            {
                "patient_id": ["A", "B", "B"],
                "kind": ["ahsct", "ahsct", "dmt"],
                "engraftment_date": [day0 + dt.timedelta(days=10)] * 2 + [None],
            }
        ),
        "deaths": pd.DataFrame({"patient_id": ["A"], "date": [day0 + dt.timedelta(days=11)]}),
    }
    dates = platelet_engraftment(tables, seed=1)
    assert dates.isna().tolist() == [True, False, True]
    assert dates.iloc[1] > day0 + dt.timedelta(days=10)


def test_a_cohort_without_transplants_has_no_labs() -> None:
    tables = generate_example(EXAMPLE_SEED, n_patients=5)
    tables["treatments"] = tables["treatments"][tables["treatments"]["kind"] == "dmt"]
    labs = immune_reconstitution_labs(tables, EXAMPLE_SEED)
    assert labs.empty
    assert list(labs.columns) == ["patient_id", "date", "analyte", "value", "unit"]


def test_streams_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing the panels and platelet dates differently changes nothing else."""
    first = generate_example(EXAMPLE_SEED, n_patients=40)
    monkeypatch.setattr(
        example_module,
        "immune_reconstitution_labs",
        lambda tables, seed: immune_reconstitution_labs(tables, seed + 1),
    )
    monkeypatch.setattr(
        example_module,
        "platelet_engraftment",
        lambda tables, seed: platelet_engraftment(tables, seed + 1),
    )
    second = generate_example(EXAMPLE_SEED, n_patients=40)
    assert not first["labs"].equals(second["labs"])
    for name in first:
        if name != "labs":
            a = first[name].drop(columns="platelet_engraftment_date", errors="ignore")
            b = second[name].drop(columns="platelet_engraftment_date", errors="ignore")
            assert a.equals(b), name
    assert generate_example(EXAMPLE_SEED + 1, n_patients=40)["labs"].shape != (0, 5)


@pytest.mark.parametrize(
    ("analyte", "month", "tau", "expected"),
    [
        ("nk", 1.0, 18.0, 1 - 0.9 * np.exp(-1 / 0.3)),  # 0.9679
        ("cd8", 3.0, 18.0, 1 - 0.9 * np.exp(-2.0)),  # 0.8782
        ("cd19", 9.0, 18.0, (1 - np.exp(-4.5)) * 1.6),  # the peak, 1.5822
        ("cd4", 18.0, 18.0, 1 - 0.9 / np.e),  # one time constant: 0.6689
        ("cd4", 0.0, 18.0, 1.0),  # baseline
    ],
    ids=["nk-1", "cd8-3", "cd19-peak", "cd4-tau", "baseline"],
)
def test_ratio_by_hand(analyte: str, month: float, tau: float, expected: float) -> None:
    assert _ratio(analyte, month, tau, 1.0) == pytest.approx(expected, rel=1e-12)


@given(
    month=st.floats(0.01, 120),
    later=st.floats(0.01, 60),
    tau=st.floats(1, 80),
    longer=st.floats(0.01, 40),
)
def test_cd4_recovers_monotonically_and_slower_with_a_longer_time(
    month: float, later: float, tau: float, longer: float
) -> None:
    now = _ratio("cd4", month, tau, 1.0)
    assert 0.1 <= now <= 1.0  # from the nadir towards the baseline, never above
    assert _ratio("cd4", month + later, tau, 1.0) >= now
    assert _ratio("cd4", month, tau + longer, 1.0) <= now
    for analyte in ("nk", "cd8"):
        assert 0.1 <= _ratio(analyte, month, tau, 1.3) <= _ratio(analyte, month, tau, 1.0) <= 1
    assert 0 < _ratio("cd19", month, tau, 1.0) <= 1.6
