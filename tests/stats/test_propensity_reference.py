"""Propensity scores, nearest-neighbour matching, weights and balance against R.

The reference JSON and the two CSV files come from tests/reference/stats/matchit_reference.R
(R glm, MatchIt 4.5.1 and base-R formulas); this test never runs R.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from msreboot.stats import (
    balance_table,
    match_nearest,
    propensity_score,
    propensity_weights,
)

HERE = Path(__file__).resolve().parents[1] / "reference" / "stats"
REF: dict[str, Any] = json.loads((HERE / "matchit_reference.json").read_text())
TOL = REF["tolerances"]
FRAMES = {
    "synthetic": pd.read_csv(HERE / "synthetic.csv"),
    "lalonde": pd.read_csv(HERE / "lalonde.csv"),
    "ties": pd.read_csv(HERE / "ties.csv"),
}
FITTED = sorted(k for k, c in REF["matching"].items() if c["distance_kind"] != "given")


def _dataset(name: str) -> tuple[pd.DataFrame, str, list[str]]:
    if name == "ties":  # distances given on an integer grid: frequent ties
        return FRAMES[name], "treat", ["g"]
    ds = REF["datasets"][name]
    return FRAMES[name], ds["treatment"], list(ds["covariates"])


def _nan(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def test_tie_cases_exercise_the_tie_rules() -> None:
    """The integer-grid cases contain equal distances and equally far neighbours."""
    d = FRAMES["ties"]["distance"].to_numpy()
    t = FRAMES["ties"]["treat"].to_numpy() == 1
    assert len(np.unique(d)) < d.size / 3
    both_sides = [(d[~t] == v - k).any() and (d[~t] == v + k).any() for v in d[t] for k in (1, 2)]
    assert any(both_sides)


def test_reference_records_versions() -> None:
    assert REF["packages"]["MatchIt"].startswith("4.5")
    assert REF["r_version"].startswith("R version")


@pytest.mark.parametrize("name", sorted(REF["propensity"]))
def test_propensity_score_matches_glm(name: str) -> None:
    frame, treat, covariates = _dataset(name)
    ref = REF["propensity"][name]
    ps = propensity_score(frame, treat, covariates)
    assert ps.terms == tuple(ref["terms"])
    assert ps.converged
    assert ref["converged"]
    np.testing.assert_allclose(ps.scores, ref["scores"], rtol=0, atol=TOL["scores"])
    np.testing.assert_allclose(ps.logit, ref["logit"], rtol=0, atol=TOL["scores"])
    scale = np.maximum(1.0, np.abs(ref["coef"]))
    np.testing.assert_allclose(ps.coef / scale, np.array(ref["coef"]) / scale, atol=TOL["coef"])
    np.testing.assert_allclose(ps.std_err, ref["std_err"], rtol=TOL["coef"])
    assert ps.deviance == pytest.approx(ref["deviance"], rel=1e-10)


def _anchor(subclass: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """The row of each patient's treated patient in its matched set (-1 unmatched)."""
    anchor = np.full(subclass.size, -1)
    for s in np.unique(subclass[subclass > 0]):
        members = np.flatnonzero(subclass == s)
        anchor[members] = members[treated[members]][0]
    return anchor


def _match(case: dict[str, Any], distance: np.ndarray) -> Any:
    frame, treat, _ = _dataset(case["data"])
    return match_nearest(
        frame,
        treat,
        distance,
        ratio=case["ratio"],
        replace=case["replace"],
        caliper=case["caliper"],
        exact=list(case["exact"]),
        m_order=case["m_order"],
    )


def _check_same(case: dict[str, Any], m: Any) -> None:
    expected = np.array(case["match_matrix"], dtype=np.int64).reshape(m.match_matrix.shape)
    np.testing.assert_array_equal(m.match_matrix, expected)
    np.testing.assert_allclose(m.weights, case["weights"], rtol=0, atol=1e-12)
    assert m.n_matched_treated == case["n_matched_treated"]
    assert m.n_matched_control == case["n_matched_control"]
    if not case["replace"]:
        np.testing.assert_array_equal(_anchor(m.subclass, m.treated), case["subclass_anchor"])


# the 1:2 cases have fewer than 2 controls per treated patient: MatchIt warns too
@pytest.mark.filterwarnings("ignore::msreboot.stats.MatchingWarning")
@pytest.mark.parametrize("case_id", sorted(REF["matching"]))
def test_matching_on_r_distance_is_identical(case_id: str) -> None:
    case = REF["matching"][case_id]
    distance = np.array([float(x) for x in case["distance"]])
    m = _match(case, distance)
    if case["caliper_abs"] is not None:
        assert m.caliper == pytest.approx(case["caliper_abs"], rel=1e-12)
    _check_same(case, m)


@pytest.mark.filterwarnings("ignore::msreboot.stats.MatchingWarning")
@pytest.mark.parametrize("case_id", FITTED)
def test_matching_on_own_propensity_model_is_identical(case_id: str) -> None:
    """Our own glm fit (scores within 1e-13 of R's) meets no near-tie in these cases."""
    case = REF["matching"][case_id]
    frame, treat, covariates = _dataset(case["data"])
    ps = propensity_score(frame, treat, covariates)
    distance = ps.logit if case["distance_kind"] == "logit" else ps.scores
    _check_same(case, _match(case, np.asarray(distance)))


@pytest.mark.parametrize("case_id", sorted(REF["weights"]))
def test_weights_and_weighted_balance_match_base_r(case_id: str) -> None:
    case = REF["weights"][case_id]
    frame, treat, covariates = _dataset(case["data"])
    scores = np.array(REF["propensity"][case["data"]]["scores"])
    bounds = case["ps_bounds"]
    w = propensity_weights(
        scores,
        frame[treat],
        estimand=case["estimand"],
        stabilize=case["stabilize"],
        ps_bounds=None if bounds is None else (bounds[0], bounds[1]),
        trim_quantile=case["quantile"],
    )
    np.testing.assert_allclose(w.weights, case["weights"], rtol=TOL["weights"], atol=0)
    ref = case["balance"]
    b = balance_table(
        frame,
        treat,
        covariates,
        w.weights,
        estimand="att" if case["estimand"] == "att" else "ate",
        warn=False,
    )
    _check_balance(b, ref)


def _check_balance(b: Any, ref: dict[str, Any]) -> None:
    terms = ref["terms"]
    assert b.terms == tuple(t["term"] for t in terms)
    np.testing.assert_array_equal(b.binary, [t["binary"] for t in terms])
    for ours, key, tol in (
        (b.smd_before, "smd_before", TOL["smd"]),
        (b.smd_after, "smd_after", TOL["smd"]),
        (b.var_ratio_before, "var_ratio_before", TOL["var_ratio"]),
        (b.var_ratio_after, "var_ratio_after", TOL["var_ratio"]),
        (b.mean_treated_after, "mean_treated_after", TOL["smd"]),
        (b.mean_control_after, "mean_control_after", TOL["smd"]),
    ):
        np.testing.assert_allclose(ours, _nan([t[key] for t in terms]), rtol=tol, atol=tol)
    assert b.ess_treated == pytest.approx(ref["ess_treated"], rel=TOL["ess"])
    assert b.ess_control == pytest.approx(ref["ess_control"], rel=TOL["ess"])


@pytest.mark.filterwarnings("ignore::msreboot.stats.MatchingWarning")
@pytest.mark.parametrize("case_id", sorted(REF["matched_balance"]))
def test_balance_after_matching_matches_base_r(case_id: str) -> None:
    case = REF["matching"][case_id]
    frame, treat, covariates = _dataset(case["data"])
    m = _match(case, np.array([float(x) for x in case["distance"]]))
    b = balance_table(frame, treat, covariates, m.weights, estimand="att", warn=False)
    _check_balance(b, REF["matched_balance"][case_id])
