"""Properties of the two-group effect sizes, Mantel-Haenszel pools, small-study tests and
influence diagnostics: study order does not matter, weights sum to 1, boundaries hold."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.evidence import (
    HeterogeneityWarning,
    PooledEstimate,
    TruncatedTau2Warning,
    binary_effect_sizes,
    cumulative_meta_analysis,
    egger_test,
    influence_diagnostics,
    pool,
    pool_mantel_haenszel,
    pool_peto,
    rank_correlation_test,
    trim_and_fill,
)

tables = st.integers(3, 8).flatmap(
    lambda k: st.tuples(
        st.lists(
            st.tuples(
                st.integers(1, 30), st.integers(1, 60), st.integers(1, 30), st.integers(1, 60)
            ),
            min_size=k,
            max_size=k,
        ),
        st.permutations(list(range(k))),
    )
)


def _cells(rows: list[tuple[int, int, int, int]]) -> tuple[list[int], ...]:
    return tuple([r[j] for r in rows] for j in range(4))


@settings(max_examples=40, deadline=None)
@given(data=tables, measure=st.sampled_from(["OR", "RR", "RD"]))
def test_mantel_haenszel_ignores_study_order(
    data: tuple[list[tuple[int, int, int, int]], list[int]], measure: str
) -> None:
    rows, order = data
    a = pool_mantel_haenszel(*_cells(rows), measure=measure)  # type: ignore[arg-type]
    b = pool_mantel_haenszel(*_cells([rows[i] for i in order]), measure=measure)  # type: ignore[arg-type]
    assert b.estimate == pytest.approx(a.estimate, rel=1e-10, abs=1e-12)
    assert b.se == pytest.approx(a.se, rel=1e-10)
    assert b.q == pytest.approx(a.q, rel=1e-8, abs=1e-10)
    assert sum(a.weights) == pytest.approx(1.0, rel=1e-12)
    assert a.ci_low <= a.estimate <= a.ci_high
    p = pool_peto(*_cells(rows))
    assert sum(p.weights) == pytest.approx(1.0, rel=1e-12)


def _quiet(rows: list[tuple[float, float]], method: str = "DL") -> PooledEstimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        warnings.simplefilter("ignore", HeterogeneityWarning)
        return pool([r[0] for r in rows], [r[1] for r in rows], method=method)  # type: ignore[arg-type]


studies = st.integers(4, 10).flatmap(
    lambda k: st.tuples(
        st.lists(
            st.tuples(st.floats(-2, 2, allow_nan=False), st.floats(0.01, 1.0, allow_nan=False)),
            min_size=k,
            max_size=k,
            unique_by=lambda t: t[1],
        ),
        st.permutations(list(range(k))),
    )
)


@settings(max_examples=30, deadline=None)
@given(data=studies, method=st.sampled_from(["FE", "DL", "REML"]))
def test_small_study_tools_ignore_study_order(
    data: tuple[list[tuple[float, float]], list[int]], method: str
) -> None:
    rows, order = data
    a = _quiet(rows, method)
    b = _quiet([rows[i] for i in order], method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        warnings.filterwarnings("ignore", "Hartung-Knapp variance factor", RuntimeWarning)
        ea, eb = egger_test(a), egger_test(b)
        assert eb.statistic == pytest.approx(ea.statistic, rel=1e-6, abs=1e-8)
        ta, tb = trim_and_fill(a), trim_and_fill(b)
        assert ta.k0 == tb.k0
        assert 0 <= ta.k0 <= len(rows) - 1
        ia, ib = influence_diagnostics(a), influence_diagnostics(b)
    assert rank_correlation_test(b).tau == pytest.approx(rank_correlation_test(a).tau)
    np.testing.assert_allclose(
        [ib.cook_d[order.index(i)] for i in range(len(rows))], ia.cook_d, rtol=1e-5, atol=1e-9
    )
    assert sum(ia.weight) == pytest.approx(1.0, rel=1e-12)
    assert all(c >= 0 for c in ia.cook_d)


@settings(max_examples=30, deadline=None)
@given(data=studies)
def test_cumulative_ends_at_the_pool(data: tuple[list[tuple[float, float]], list[int]]) -> None:
    rows, order = data
    res = _quiet(rows, "DL")
    cm = cumulative_meta_analysis(res, order=order)
    assert cm.estimate[-1] == pytest.approx(res.estimate, rel=1e-9, abs=1e-12)
    assert cm.estimate[0] == pytest.approx(res.yi[int(np.argmin(order))], rel=1e-12)
    assert cm.q[0] == 0.0


def test_mantel_haenszel_of_one_table_is_its_own_estimate() -> None:
    res = pool_mantel_haenszel([3], [17], [6], [14], measure="OR")
    assert res.estimate == pytest.approx(np.log(3 * 14 / (17 * 6)), rel=1e-12)
    assert res.q == 0.0
    assert res.i2 == 0.0
    assert res.h2 == 1.0


def test_risk_difference_of_identical_arms_is_zero() -> None:
    es = binary_effect_sizes([5, 3], [15, 27], [5, 3], [15, 27], measure="RD")
    assert es.yi == (0.0, 0.0)
    res = pool_mantel_haenszel([5, 3], [15, 27], [5, 3], [15, 27], measure="RD")
    assert res.estimate == pytest.approx(0.0, abs=1e-15)
