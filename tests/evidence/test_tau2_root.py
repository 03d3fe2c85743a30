"""The ML and REML tau^2 solve their score equations (root-finder, not a grid search)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.evidence import TruncatedTau2Warning, leave_one_out, pool
from msreboot.evidence._tau2 import _score, estimate_tau2

#: |score| at a positive estimate (the score is divided by the squared largest weight).
SCORE_TOL = 1e-10

study_sets = st.integers(min_value=2, max_value=30).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.001, 2.0, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0, 60, allow_nan=False), min_size=k, max_size=k),
    )
)


def _check_solves_score(y: np.ndarray, v: np.ndarray, x: np.ndarray, method: str) -> None:
    restricted = method == "REML"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        tau2, truncated = estimate_tau2(y, v, x, method)  # type: ignore[arg-type]
    assert tau2 >= 0.0
    assert truncated == (tau2 == 0.0)
    if tau2 > 0.0:
        assert abs(_score(y, v, x, tau2, restricted)) < SCORE_TOL
    else:
        assert _score(y, v, x, 0.0, restricted) <= 0.0


@settings(max_examples=80, deadline=None)
@given(data=study_sets, method=st.sampled_from(["REML", "ML"]))
def test_estimate_solves_the_score_equation(
    data: tuple[list[float], list[float], list[float]], method: str
) -> None:
    y, v, _ = (np.asarray(a, dtype=np.float64) for a in data)
    _check_solves_score(y, v, np.ones((y.size, 1)), method)


@settings(max_examples=40, deadline=None)
@given(data=study_sets)
def test_meta_regression_estimate_solves_the_score_equation(
    data: tuple[list[float], list[float], list[float]],
) -> None:
    y, v, mod = (np.asarray(a, dtype=np.float64) for a in data)
    if y.size < 3 or np.ptp(mod) < 1e-3:
        return  # no residual degree of freedom, or a moderator collinear with the intercept
    _check_solves_score(y, v, np.column_stack([np.ones(y.size), mod]), "REML")


@settings(max_examples=40, deadline=None)
@given(data=study_sets, method=st.sampled_from(["REML", "ML", "PM"]))
def test_warm_started_leave_one_out_solves_each_reduced_pool(
    data: tuple[list[float], list[float], list[float]], method: str
) -> None:
    y, v, _ = (np.asarray(a, dtype=np.float64) for a in data)
    if y.size < 3:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        loo = leave_one_out(pool(y, v, method=method))  # type: ignore[arg-type]
    for i, tau2 in enumerate(loo.tau2):
        keep = np.arange(y.size) != i
        yi, vi, x = y[keep], v[keep], np.ones((y.size - 1, 1))
        if method == "PM":
            cold, _ = estimate_tau2(yi, vi, x, "PM", warn=False)
            assert tau2 == pytest.approx(cold, rel=1e-9, abs=1e-14)
        elif tau2 > 0.0:
            assert abs(_score(yi, vi, x, tau2, method == "REML")) < SCORE_TOL
        else:
            assert _score(yi, vi, x, 0.0, method == "REML") <= 0.0


def test_warm_start_gives_the_cold_estimate() -> None:
    # log risk ratios and variances rounded from metafor's dat.bcg
    y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37])
    v = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.06, 0.07])
    x = np.ones((y.size, 1))
    cold, _ = estimate_tau2(y, v, x, "REML")
    for start in (0.0, 1e-6, cold / 3, cold * 5, 50.0):
        warm, _ = estimate_tau2(y, v, x, "REML", start=start)
        assert warm == pytest.approx(cold, rel=1e-13)


def test_boundary_is_zero_when_the_score_at_zero_is_negative() -> None:
    # identical effects: the likelihood falls from tau^2 = 0
    y = np.array([0.3, 0.3, 0.3, 0.3])
    v = np.array([0.1, 0.2, 0.05, 0.3])
    x = np.ones((4, 1))
    assert _score(y, v, x, 0.0, True) < 0
    with pytest.warns(TruncatedTau2Warning):
        assert estimate_tau2(y, v, x, "REML") == (0.0, True)
