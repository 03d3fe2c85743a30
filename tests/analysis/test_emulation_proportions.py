"""Binary outcomes of an emulated trial at a landmark: weighted proportions with CDI and
NEDA per arm, their risk difference, and the evaluability rule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.analysis import EmulatedTrial, EmulationSpec, emulate_trial
from msreboot.analysis._emulation_proportions import _cdi, _neda, weighted_proportions
from msreboot.data import Cohort
from msreboot.datasets import load_example

REFERENCE = Path(__file__).parents[1] / "reference" / "analysis"


def test_weighted_proportions_hand_worked() -> None:
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    t = np.array([True, True, False, False, False])
    w = np.array([2.0, 1.0, 1.0, 1.0, 2.0])
    out = weighted_proportions(y, t, w, np.arange(5))
    assert out.loc["treated", "estimate"] == pytest.approx(2 / 3)
    assert out.loc["control", "estimate"] == pytest.approx(0.5)
    assert out.loc["difference", "estimate"] == pytest.approx(1 / 6)
    # one row per cluster: var = G / (G - 1) * sum w^2 (y - p)^2 / (sum w)^2 per arm
    var1 = 5 / 4 * (4 * (1 / 3) ** 2 + (2 / 3) ** 2) / 9
    var0 = 5 / 4 * (0.25 + 0.25 + 4 * 0.25) / 16
    assert out.loc["treated", "std_err"] == pytest.approx(np.sqrt(var1))
    assert out.loc["control", "std_err"] == pytest.approx(np.sqrt(var0))
    assert out.loc["difference", "std_err"] == pytest.approx(np.sqrt(var1 + var0))
    assert (out["ci_high"].to_numpy(dtype=float)[:2] <= 1.0).all()  # clipped proportions
    assert pd.isna(out.loc["treated", "p_value"])


def test_weighted_proportions_boundaries() -> None:
    t = np.array([True, True, False, False])
    same = weighted_proportions(np.ones(4), t, np.ones(4), np.arange(4))
    assert same["estimate"].tolist() == [1.0, 1.0, 0.0]
    assert same["std_err"].tolist() == [0.0, 0.0, 0.0]
    assert pd.isna(same.loc["difference", "p_value"])
    empty = weighted_proportions(np.ones(4), t, np.array([1.0, 1.0, 0.0, 0.0]), np.arange(4))
    assert empty["estimate"].isna().all()


@pytest.mark.parametrize("case", ["weighted_cluster", "unweighted_rows"])
def test_weighted_proportions_match_r(case: str) -> None:
    ref = json.loads((REFERENCE / "proportion_reference.json").read_text())
    data = pd.read_csv(REFERENCE / "proportion_data.csv")
    weighted = case == "weighted_cluster"
    out = weighted_proportions(
        data["y"].to_numpy(dtype=float),
        data["treated"].to_numpy(dtype=bool),
        data["weight"].to_numpy(dtype=float) if weighted else np.ones(len(data)),
        data["cluster"].to_numpy() if weighted else np.arange(len(data)),
    )
    tol = ref["meta"]["tolerance"]
    r = ref[case]
    for arm in ("treated", "control"):
        assert out.loc[arm, "estimate"] == pytest.approx(r[f"proportion_{arm}"], abs=tol)
        assert out.loc[arm, "std_err"] == pytest.approx(r[f"std_err_{arm}"], abs=tol)
    assert out.loc["difference", "estimate"] == pytest.approx(r["difference"], abs=tol)
    assert out.loc["difference", "std_err"] == pytest.approx(r["std_err_difference"], abs=tol)
    assert out.loc["difference", "p_value"] == pytest.approx(r["p_value"], abs=tol)


@given(st.integers(0, 2**32 - 1), st.floats(0.1, 10.0))
@settings(max_examples=30, deadline=None)
def test_weighted_proportions_ignore_order_and_weight_scale(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    y = rng.integers(0, 2, n).astype(float)
    t = np.r_[np.ones(n // 2, bool), np.zeros(n - n // 2, bool)]
    w = rng.uniform(0.2, 2.0, n)
    cl = rng.integers(0, 10, n)
    base = weighted_proportions(y, t, w, cl)
    order = rng.permutation(n)
    shuffled = weighted_proportions(y[order], t[order], scale * w[order], cl[order])
    pd.testing.assert_frame_equal(base, shuffled, rtol=1e-9, atol=1e-12)


# --- the evaluability rule ------------------------------------------------------------------


def _cohort() -> Cohort:
    d = dt.date
    ids = ["improves", "stable", "lost", "early_cdi_then_lost"]
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "sex": ["F"] * 4,
            "birth_date": [d(1980, 1, 1)] * 4,
            "onset_date": [d(2010, 1, 1)] * 4,
            "phenotype": ["RRMS"] * 4,
        }
    )
    treatments = pd.DataFrame(
        [{"patient_id": p, "kind": "ahsct", "start_date": d(2016, 1, 1)} for p in ids]
    )
    months = [0, 6, 12, 18, 24, 30, 36]
    rows = []
    for p in ids:
        for m in months:
            if p == "lost" and m > 12:
                continue  # last seen at one year: not followed to the 2-year landmark
            if p == "early_cdi_then_lost" and m > 12:
                continue
            improved = p in ("improves", "early_cdi_then_lost") and m > 0
            rows.append(
                {
                    "patient_id": p,
                    "date": d(2016 + m // 12, 1 + m % 12, 1),
                    "edss": 2.0 if improved else 5.0,
                }
            )
    rows += [{"patient_id": p, "date": d(2015, 6, 1), "edss": 5.0} for p in ids]
    edss = pd.DataFrame(rows)
    return Cohort.from_frames({"patients": patients, "treatments": treatments, "edss": edss})


def _entries() -> pd.DataFrame:
    ids = ["improves", "stable", "lost", "early_cdi_then_lost"]
    return pd.DataFrame(
        {
            "patient_id": ids,
            "anchor_date": pd.to_datetime(["2016-01-01"] * 4),
            "entry_group": "1_1",
            "arm": "AHSCT",
            "treated": True,
            "weight": 1.0,
            "cluster": ids,
        },
        index=pd.Index([f"e{i}" for i in range(4)], name="entry_id"),
    )


def test_cdi_evaluable_when_followed_to_the_landmark_or_improved_before() -> None:
    spec = EmulationSpec(outcomes={"endpoints": ["relapse_free"], "times_years": (2.0,)})
    cdi, _ = spec.proportion_definitions()
    out = _cdi(_cohort(), spec, cdi, _entries())
    assert out["outcome"].tolist() == [1.0, 0.0, 0.0, 1.0]
    # "lost" was last seen at one year without improvement: not evaluable at 2 years;
    # "early_cdi_then_lost" improved before it was lost: evaluable, with the outcome
    assert out["evaluable"].tolist() == [True, True, False, True]
    later = spec.with_(outcomes={"endpoints": ["relapse_free"], "proportion_years": 0.25})
    early = _cdi(_cohort(), later, cdi, _entries())
    assert early["evaluable"].all()  # everyone followed past 3 months
    assert early["outcome"].sum() == 0  # no improvement confirmed by 3 months


def test_neda_is_not_evaluable_without_mri_or_relapse_assessment() -> None:
    spec = EmulationSpec()
    _, neda = spec.proportion_definitions()
    out = _neda(_cohort(), spec, neda, _entries())
    # no MRI at all: nobody is evaluable, and nobody is silently counted as NEDA
    assert not out["evaluable"].any()
    assert out["outcome"].sum() == 0


# --- in the emulated trial ----------------------------------------------------------------


@pytest.fixture(scope="module")
def trial() -> EmulatedTrial:
    return emulate_trial(load_example(), EmulationSpec(), warn=False)


def test_example_proportions(trial: EmulatedTrial) -> None:
    table = trial.to_frame("proportions")
    assert trial.proportions is not None
    assert trial.proportions.landmark_years == 2.0
    assert table["outcome"].tolist() == ["cdi"] * 3 + ["neda"] * 3
    assert table["arm"].tolist() == ["AHSCT", "High-efficacy DMT", "difference"] * 2
    for _, rows in table.groupby("outcome"):
        arms, diff = rows.iloc[:2], rows.iloc[2]
        assert diff["estimate"] == pytest.approx(
            arms["estimate"].iloc[0] - arms["estimate"].iloc[1]
        )
        assert diff["entries"] == arms["entries"].sum()
        assert diff["not_evaluable"] == arms["not_evaluable"].sum()
        assert (rows["evaluable"] + rows["not_evaluable"] == rows["entries"]).all()
        assert (rows["ci_low"] <= rows["estimate"]).all()
        assert (rows["estimate"] <= rows["ci_high"]).all()
    analysed = trial.data[trial.data["weight"] > 0]
    assert table["entries"].iloc[2] == len(analysed)
    assert "neda at 2 years" in trial.summary()
    assert "weighted linear probability model" in trial.methods()
    assert "evaluable at 2 years" in trial.methods()


def test_proportions_can_be_switched_off_and_names_are_checked() -> None:
    spec = EmulationSpec(outcomes={"proportions": False})
    assert spec.outcomes.landmark_years == 2.0
    with pytest.raises(ValueError, match=r"outcomes\.neda_endpoint must be a preset"):
        EmulationSpec.from_toml('[outcomes]\nneda_endpoint = "nope"')
    with pytest.raises(ValueError, match="table must be"):
        emulate_trial(load_example(), spec, warn=False).to_frame("nope")  # type: ignore[arg-type]
    burt = EmulationSpec(outcomes={"improvement_endpoint": "burt_2015_improvement"})
    cdi, _ = burt.proportion_definitions()
    assert cdi.death == "censor"
    assert [c.event for c in cdi.components] == ["cdi"]  # type: ignore[union-attr]
