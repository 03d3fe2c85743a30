"""Property tests: invariants hold on any data; row order and the pandas index do not matter."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.stats import restricted_mean_survival_time
from msreboot.stats._competing import cumulative_incidence
from msreboot.stats._cox import cox_regression
from msreboot.stats._logrank import log_rank_test
from msreboot.stats._survival import kaplan_meier
from tests.stats.survival_checks import check_incidence_curve, check_survival_curve

# Integer times on a small grid give many ties of events, censorings and causes.
rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=15),
        st.integers(min_value=0, max_value=2),
        st.sampled_from(["a", "b"]),
        st.floats(min_value=-2, max_value=2, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=40,
)


def _frame(data: list[tuple[int, int, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(data, columns=["time", "status", "group", "x"])
    frame["event"] = frame["status"] > 0
    return frame


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows permuted, with an index that is neither sorted nor unique."""
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.permutation(len(frame))].copy()
    out.index = rng.integers(0, 5, size=len(out))
    return out


seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=150, deadline=None)
@given(rows, st.sampled_from(["log-log", "log", "plain"]))
def test_kaplan_meier_invariants(data: list[tuple[int, int, str, float]], conf_type: str) -> None:
    frame = _frame(data)
    check_survival_curve(kaplan_meier("time", "event", data=frame, conf_type=conf_type))  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(rows, seeds)
def test_kaplan_meier_ignores_row_order_and_index(
    data: list[tuple[int, int, str, float]], seed: int
) -> None:
    frame = _frame(data)
    a = kaplan_meier("time", "event", group="group", data=frame)
    b = kaplan_meier("time", "event", group="group", data=_shuffled(frame, seed))
    c = kaplan_meier(frame["time"], frame["event"], group=frame["group"])
    assert list(a) == list(b) == list(c)
    for label in a:
        for other in (b, c):
            pd.testing.assert_frame_equal(a[label].to_frame(), other[label].to_frame())


@settings(max_examples=100, deadline=None)
@given(rows, seeds)
def test_cumulative_incidence_invariants_and_row_order(
    data: list[tuple[int, int, str, float]], seed: int
) -> None:
    frame = _frame(data)
    causes = sorted(set(frame.loc[frame["status"] > 0, "status"]))
    km = kaplan_meier("time", "event", data=frame)
    total = np.zeros(km.times.size)
    for cause in causes:
        curve = cumulative_incidence("time", "status", cause=cause, data=frame)
        check_incidence_curve(curve)
        total += curve.estimate
        again = cumulative_incidence("time", "status", cause=cause, data=_shuffled(frame, seed))
        pd.testing.assert_frame_equal(curve.to_frame(), again.to_frame())
    np.testing.assert_allclose(total + km.survival, 1.0, rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(rows, seeds)
def test_log_rank_ignores_row_order_and_index(
    data: list[tuple[int, int, str, float]], seed: int
) -> None:
    frame = _frame(data)
    try:
        a = log_rank_test("time", "event", "group", data=frame)
    except ValueError as error:  # one group, or events in the follow-up of one group only
        with pytest.raises(ValueError, match=str(error).split(";")[0]):
            log_rank_test("time", "event", "group", data=_shuffled(frame, seed))
        return
    b = log_rank_test("time", "event", "group", data=_shuffled(frame, seed))
    assert a.groups == b.groups
    np.testing.assert_allclose([a.chisq, a.pvalue], [b.chisq, b.pvalue], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.expected, b.expected, rtol=1e-12)
    assert a.chisq >= -1e-12
    assert 0 <= a.pvalue <= 1


@settings(max_examples=100, deadline=None)
@given(rows, seeds, st.floats(min_value=0.5, max_value=15))
def test_restricted_mean_bounds_and_row_order(
    data: list[tuple[int, int, str, float]], seed: int, tau: float
) -> None:
    frame = _frame(data)
    curve = kaplan_meier("time", "event", data=frame)
    if tau > curve.times[-1] and curve.survival[-1] > 0:
        return
    a = restricted_mean_survival_time(curve, tau=tau)
    b = restricted_mean_survival_time("time", "event", data=_shuffled(frame, seed), tau=tau)
    assert 0 <= a.estimate <= tau + 1e-12
    assert a.std_err >= 0
    np.testing.assert_allclose([a.estimate, a.std_err], [b.estimate, b.std_err], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=30),
            st.booleans(),
            st.floats(min_value=-2, max_value=2, allow_nan=False).map(lambda x: round(x, 2)),
        ),
        min_size=12,
        max_size=40,
    ),
    seeds,
)
def test_cox_ignores_row_order_and_index(data: list[tuple[int, bool, float]], seed: int) -> None:
    frame = pd.DataFrame(data, columns=["time", "event", "x"])
    if frame["event"].sum() < 3 or frame["x"].nunique() < 3:
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = cox_regression(frame, "time", "event", ["x"])
        b = cox_regression(_shuffled(frame, seed), "time", "event", ["x"])
    if caught:
        # Monotone likelihood (an infinite coefficient, warned about): nothing to compare.
        return
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-8)
    np.testing.assert_allclose(a.concordance, b.concordance, rtol=1e-12)
