"""Emulated trials: the spec, the population at time zero, effect measures and the result."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.analysis import (
    EmulatedTrial,
    EmulationSpec,
    EmulationWarning,
    e_value,
    emulate_trial,
    load_emulation_spec,
    trial_population,
)
from msreboot.analysis._emulation_effects import weighted_rate_ratio
from msreboot.data import Cohort
from msreboot.datasets import load_example

REFERENCE = Path(__file__).parents[1] / "reference" / "analysis"


# --- spec ----------------------------------------------------------------------------------


def test_bundled_specs_load() -> None:
    assert EmulationSpec.presets() == ["ahsct_vs_best_dmt", "ahsct_vs_natalizumab"]
    spec = EmulationSpec.preset("ahsct_vs_natalizumab")
    assert spec.control.drug_names() == {"natalizumab"}
    assert spec.primary == "relapse_free"
    best = load_emulation_spec("ahsct_vs_best_dmt")
    assert "ocrelizumab" in best.control.drug_names()
    assert best.time_zero == "all"


def test_spec_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[adjustment]\ncaliper_sd = -1\ncovariates = ["shoe_size"]\n'
        "[eligibility]\nedss_min = 6\nedss_max = 3\n"
    )
    with pytest.raises(ValueError, match=r"bad\.toml") as info:
        load_emulation_spec(path)
    text = str(info.value)
    assert str(path) in text
    assert "adjustment.caliper_sd" in text
    assert "adjustment.covariates" in text
    assert "shoe_size" in text
    assert "edss_min must be <= edss_max" in text


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[outcomes]\nendpoints = ["nope"]', "unknown: ['nope']"),
        ('[outcomes]\nprimary = "relapse_free"', "outcomes.primary must be one of"),
        ('[control]\nname = "AHSCT"\nkind = "dmt"', "must differ"),
        ('[treated]\nname = "A"\nkind = "ahsct"\ndrugs = ["natalizumab"]', "takes regimens"),
        ("[trial]\nunknown_key = 1", "Extra inputs are not permitted"),
    ],
    ids=["endpoint", "primary", "names", "ahsct-drugs", "extra"],
)
def test_spec_rejects(toml: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"<string>") as info:
        EmulationSpec.from_toml(toml)
    assert message in str(info.value)


def test_spec_in_python_equals_toml() -> None:
    text = '[control]\nname = "Ocrelizumab"\nkind = "dmt"\ndrugs = ["ocrelizumab"]\n'
    assert EmulationSpec.from_toml(text) == EmulationSpec(
        control={"name": "Ocrelizumab", "kind": "dmt", "drugs": ("ocrelizumab",)}  # type: ignore[arg-type]
    )


# --- E-value (hand-worked, VanderWeele & Ding 2017) ----------------------------------------


def test_e_value_hand_worked() -> None:
    ev = e_value(0.5, 0.3, 0.8)
    assert ev.point == pytest.approx(2 + math.sqrt(2))
    assert ev.limit == pytest.approx(1.25 + math.sqrt(1.25 * 0.25))
    assert e_value(2.0, 1.5, 3.0).point == pytest.approx(2 + math.sqrt(2))
    assert e_value(0.8, 0.5, 1.2).limit == 1.0
    common = e_value(2.0, 1.5, 3.0, rare=False)
    rr = (1 - 0.5 ** math.sqrt(2)) / (1 - 0.5 ** math.sqrt(0.5))
    assert common.risk_ratio == pytest.approx(rr)
    assert common.point == pytest.approx(rr + math.sqrt(rr * (rr - 1)))
    assert e_value(1.0, 0.9, 1.1).point == 1.0


@pytest.mark.parametrize("bad", [(0.0, 0.1, 1.0), (0.5, 0.6, 0.8), (math.nan, 0.1, 1.0)])
def test_e_value_refuses(bad: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="must be ratios > 0"):
        e_value(*bad)


@given(st.floats(0.05, 20.0))
@settings(max_examples=50, deadline=None)
def test_e_value_symmetric_in_direction(hr: float) -> None:
    assert e_value(hr, hr, hr).point == pytest.approx(e_value(1 / hr, 1 / hr, 1 / hr).point)
    assert e_value(hr, hr, hr).point >= 1


# --- weighted Poisson rate ratio against R ------------------------------------------------


@pytest.mark.parametrize("case", ["weighted_cluster", "unweighted_rows"])
def test_weighted_rate_ratio_matches_r(case: str) -> None:
    ref = json.loads((REFERENCE / "rate_ratio_reference.json").read_text())
    data = pd.read_csv(REFERENCE / "rate_ratio_data.csv")
    weighted = case == "weighted_cluster"
    rr, lo, hi, p = weighted_rate_ratio(
        data["count"].to_numpy(dtype=float),
        data["years"].to_numpy(dtype=float),
        data["treated"].to_numpy(dtype=bool),
        data["weight"].to_numpy(dtype=float) if weighted else np.ones(len(data)),
        data["cluster"].to_numpy() if weighted else np.arange(len(data)),
    )
    tol = ref["meta"]["tolerance"]
    expected = ref[case]
    assert rr == pytest.approx(expected["rate_ratio"], rel=tol)
    assert lo == pytest.approx(expected["ci_low"], rel=tol)
    assert hi == pytest.approx(expected["ci_high"], rel=tol)
    assert p == pytest.approx(expected["p_value"], rel=1e-6)


# --- population at time zero ---------------------------------------------------------------


def _tiny() -> Cohort:
    d = dt.date
    patients = pd.DataFrame(
        {
            "patient_id": ["A", "B", "C", "D"],
            "sex": ["F", "M", "F", "F"],
            "birth_date": [d(1980, 1, 1)] * 4,
            "onset_date": [d(2010, 1, 1)] * 4,
            "phenotype": ["RRMS", "RRMS", "RRMS", "SPMS"],
        }
    )
    treatments = pd.DataFrame(
        [
            # A: natalizumab, then AHSCT: enters the DMT arm first (time_zero = "first")
            {
                "patient_id": "A",
                "kind": "dmt",
                "drug": "natalizumab",
                "start_date": d(2015, 1, 1),
                "end_date": d(2016, 1, 1),
            },
            {"patient_id": "A", "kind": "ahsct", "start_date": d(2017, 1, 1)},
            # B: AHSCT only
            {"patient_id": "B", "kind": "ahsct", "start_date": d(2016, 6, 1)},
            # C: two natalizumab starts
            {
                "patient_id": "C",
                "kind": "dmt",
                "drug": "natalizumab",
                "start_date": d(2014, 1, 1),
                "end_date": d(2014, 6, 1),
            },
            {"patient_id": "C", "kind": "dmt", "drug": "natalizumab", "start_date": d(2016, 1, 1)},
            # D: SPMS, natalizumab: not eligible for an RRMS trial
            {"patient_id": "D", "kind": "dmt", "drug": "natalizumab", "start_date": d(2016, 1, 1)},
        ]
    )
    edss = pd.DataFrame(
        [
            {"patient_id": p, "date": d(y, 1, 1), "edss": 3.0}
            for p in "ABCD"
            for y in range(2013, 2021)
        ]
    )
    return Cohort.from_frames({"patients": patients, "treatments": treatments, "edss": edss})


def _natalizumab(**changes: object) -> EmulationSpec:
    base = {
        "control": {"name": "Natalizumab", "kind": "dmt", "drugs": ["natalizumab"]},
        "eligibility": {"phenotypes": ["RRMS"]},
        "adjustment": {"covariates": ["age_years"]},
        "outcomes": {"endpoints": ["relapse_free"]},
    }
    return EmulationSpec.model_validate(base | changes)


def test_first_eligible_time_and_repeated_entries() -> None:
    cohort = _tiny()
    first = trial_population(cohort, _natalizumab()).entries
    assert sorted(zip(first["patient_id"], first["arm"], strict=True)) == [
        ("A", "Natalizumab"),
        ("B", "AHSCT"),
        ("C", "Natalizumab"),
    ]
    every = trial_population(cohort, _natalizumab(time_zero="all")).entries
    assert sorted(zip(every["patient_id"], every["arm"], strict=True)) == [
        ("A", "AHSCT"),
        ("A", "Natalizumab"),
        ("B", "AHSCT"),
        ("C", "Natalizumab"),
        ("C", "Natalizumab"),
    ]


def test_deviation_days_per_protocol() -> None:
    entries = trial_population(_tiny(), _natalizumab(time_zero="all")).entries
    by = {
        (p, str(a.date())): s
        for p, a, s in entries[["patient_id", "anchor_date", "switch_days"]].itertuples(index=False)
    }
    # A's natalizumab stopped after 365 days: deviation at 365 + 90 days of grace
    assert by[("A", "2015-01-01")] == 365 + 90
    # C's first course stopped (151 days + 90) before the second started (730 days)
    assert by[("C", "2014-01-01")] == 151 + 90
    assert math.isnan(by[("C", "2016-01-01")])
    assert math.isnan(by[("B", "2016-06-01")])


def test_no_comparator_courses_is_an_error() -> None:
    spec = _natalizumab(control={"name": "Ocrelizumab", "kind": "dmt", "drugs": ["ocrelizumab"]})
    with pytest.raises(ValueError, match="at least 2 eligible entries"):
        emulate_trial(_tiny(), spec, warn=False)


# --- the result on the example cohort ------------------------------------------------------


@pytest.fixture(scope="module")
def example_trial() -> EmulatedTrial:
    return emulate_trial(load_example(), EmulationSpec.preset("ahsct_vs_best_dmt"), warn=False)


def test_example_trial_result(example_trial: EmulatedTrial) -> None:
    t = example_trial
    assert t.arms == ("AHSCT", "High-efficacy DMT")
    frame = t.to_frame()
    assert list(frame["endpoint"]) == ["halt_ms_efs", "relapse_free", "overall_survival"]
    for prefix in ("hr_crude", "hr_adjusted"):
        ok = frame[prefix].notna()
        assert (frame.loc[ok, f"{prefix}_ci_low"] <= frame.loc[ok, prefix]).all()
        assert (frame.loc[ok, prefix] <= frame.loc[ok, f"{prefix}_ci_high"]).all()
    assert t.e_value is not None
    assert t.e_value.point > 1
    assert t.relapse_rate is not None
    assert list(t.relapse_rate.table["analysis"]) == ["crude", "adjusted"]
    assert set(t.primary.curves.curves) == {"AHSCT", "High-efficacy DMT"}
    for curve in t.primary.curves.curves.values():
        assert np.all(np.diff(curve.survival) <= 1e-12)
    text = t.summary()
    assert "HR crude" in text
    assert "E-value" in text
    methods = t.methods()
    assert "inverse probability of treatment weights for the ATT" in methods
    assert "every eligible DMT start" in methods
    assert "<pre>" in t._repr_html_()


def test_warnings_are_emitted_when_asked() -> None:
    with pytest.warns(EmulationWarning):
        emulate_trial(load_example(), EmulationSpec.preset("ahsct_vs_natalizumab"))


def test_per_protocol_shortens_follow_up(example_trial: EmulatedTrial) -> None:
    spec = example_trial.spec.with_(follow_up={"analysis": "per_protocol"})
    pp = emulate_trial(load_example(), spec, warn=False)
    itt_years = example_trial.primary.data["time_years"].sum()
    assert pp.primary.data["time_years"].sum() <= itt_years
    assert "per protocol" in pp.methods()


def test_row_order_does_not_change_the_result(example_trial: EmulatedTrial) -> None:
    cohort = load_example()
    shuffled = Cohort.from_frames(
        {
            name: getattr(cohort, name).sample(frac=1.0, random_state=3)
            for name in (
                "patients",
                "treatments",
                "edss",
                "relapses",
                "mri",
                "adverse_events",
                "deaths",
            )
        }
    )
    again = emulate_trial(shuffled, example_trial.spec, warn=False)
    pd.testing.assert_frame_equal(again.to_frame(), example_trial.to_frame(), rtol=1e-9)


def test_comparator_example_crude_and_adjusted_differ() -> None:
    from msreboot.analysis import DEFAULT_EMULATION

    trial = emulate_trial(load_example(comparator=True), DEFAULT_EMULATION, warn=False)
    assert not trial.balance.failing
    row = trial.outcomes.iloc[0]
    assert row["hr_adjusted"] < row["hr_crude"] - 0.02  # confounding by indication
    assert np.all(np.abs(trial.balance.smd_before) >= np.abs(trial.balance.smd_after) - 0.05)


def test_a_fit_without_events_in_an_arm_is_a_caveat_not_an_error() -> None:
    spec = EmulationSpec.preset("ahsct_vs_natalizumab")
    trial = emulate_trial(load_example(comparator=True), spec, warn=False)
    assert any("overall_survival" in w and "infinite" in w for w in trial.warnings)


def test_competing_death_gives_gray_and_fine_gray(tmp_path: Path) -> None:
    from msreboot.analysis import DEFAULT_EMULATION
    from msreboot.stats import fine_gray, gray_test

    definitions = tmp_path / "definitions.toml"
    definitions.write_text(
        '[[endpoint]]\nname = "relapse_competing"\nbased_on = "relapse_free"\n'
        'death = "competing"\nmeasure = "cumulative_incidence"\n'
    )
    spec = DEFAULT_EMULATION.with_(
        outcomes={"endpoints": ["relapse_competing"], "definitions_file": str(definitions)}
    )
    trial = emulate_trial(load_example(comparator=True), spec, warn=False)
    contrast = trial.primary
    assert contrast.gray is not None
    assert contrast.fine_gray is not None
    assert contrast.proportional_hazards is not None
    every = trial.data.reset_index().merge(
        contrast.data[["entry_id", "time_years", "status"]], on="entry_id"
    )
    direct = gray_test(every["time_years"], every["status"], every["treated"].astype(int), cause=1)
    assert contrast.gray.pvalue[0] == pytest.approx(direct.pvalue[0])
    row = trial.outcomes.iloc[0]
    assert row["gray_p"] == pytest.approx(float(direct.pvalue[0]))
    model = fine_gray(
        every.assign(arm_treated=every["treated"].astype(int)),
        "time_years",
        "status",
        ["arm_treated"],
    )
    assert row["shr_crude"] == pytest.approx(float(model.hazard_ratio[0]))
