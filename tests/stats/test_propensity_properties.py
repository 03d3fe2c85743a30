"""Hypothesis properties of matching and weighting, checked on random small cohorts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msreboot.stats import (
    MatchingWarning,
    balance_table,
    effective_sample_size,
    match_nearest,
    propensity_weights,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cohorts(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(4, 60))
    treated = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if all(treated) or not any(treated):
        treated[0] = not treated[0]
    # a coarse grid makes ties in distance common
    grid = draw(st.sampled_from([4, 20, 1000]))
    distance = draw(st.lists(st.integers(0, grid), min_size=n, max_size=n))
    stratum = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return pd.DataFrame(
        {"t": np.asarray(treated, dtype=int), "d": np.asarray(distance) / grid, "s": stratum}
    )


def _match(frame: pd.DataFrame, **kwargs: object) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MatchingWarning)
        try:
            return match_nearest(frame, "t", "d", **kwargs)  # type: ignore[arg-type]
        except ValueError as exc:
            if "matching must pair at least one treated" not in str(exc):
                raise
            return None


@SETTINGS
@given(
    frame=cohorts(),
    ratio=st.integers(1, 3),
    replace=st.booleans(),
    caliper=st.sampled_from([None, 0.05, 0.3]),
    exact=st.booleans(),
)
def test_matching_invariants(
    frame: pd.DataFrame, ratio: int, replace: bool, caliper: float | None, exact: bool
) -> None:
    m = _match(
        frame,
        ratio=ratio,
        replace=replace,
        caliper=caliper,
        std_caliper=False,
        exact=["s"] if exact else [],
    )
    if m is None:
        return
    t = frame["t"].to_numpy() == 1
    d = frame["d"].to_numpy()
    s = frame["s"].to_numpy()
    mm = m.match_matrix  # type: ignore[attr-defined]
    rows_t = np.flatnonzero(t)
    used = mm[mm >= 0]
    assert not t[used].any(), "a treated patient was used as a control"
    for j, row in enumerate(mm):
        got = row[row >= 0]
        assert len(set(got.tolist())) == got.size, "a control twice for one treated patient"
        # matches fill from the first column, none after a gap
        assert np.all(row[got.size :] == -1)
        if caliper is not None:
            assert np.all(np.abs(d[got] - d[rows_t[j]]) <= caliper + 1e-12)
        if exact:
            assert np.all(s[got] == s[rows_t[j]])
    if not replace:
        assert len(set(used.tolist())) == used.size, "a control reused without replacement"
    w = m.weights  # type: ignore[attr-defined]
    assert np.all(w >= 0)
    has = (mm >= 0).any(axis=1)
    np.testing.assert_array_equal(w[rows_t], has.astype(float))
    controls = w[~t]
    assert controls.sum() == np.count_nonzero(controls) or np.isclose(
        controls.sum(), np.count_nonzero(controls)
    )
    np.testing.assert_array_equal(np.flatnonzero(~m.matched), m.unmatched)  # type: ignore[attr-defined]
    if ratio == 1 and not replace:
        assert set(np.unique(w).tolist()) <= {0.0, 1.0}


@SETTINGS
@given(frame=cohorts(), ratio=st.integers(1, 3), caliper=st.sampled_from([None, 0.2]))
def test_with_replacement_each_treated_gets_its_nearest_controls(
    frame: pd.DataFrame, ratio: int, caliper: float | None
) -> None:
    m = _match(frame, ratio=ratio, replace=True, caliper=caliper, std_caliper=False)
    if m is None:
        return
    t = frame["t"].to_numpy() == 1
    d = frame["d"].to_numpy()
    controls = np.flatnonzero(~t)
    for j, row in enumerate(np.flatnonzero(t)):
        diff = np.sort(np.abs(d[controls] - d[row]))
        if caliper is not None:
            diff = diff[diff <= caliper]
        want = diff[:ratio]
        got = m.match_matrix[j]  # type: ignore[attr-defined]
        got = got[got >= 0]
        np.testing.assert_allclose(np.abs(d[got] - d[row]), want, atol=1e-12)


@SETTINGS
@given(frame=cohorts(), seed=st.integers(0, 2**32 - 1))
def test_row_order_and_index_do_not_change_matched_pairs(frame: pd.DataFrame, seed: int) -> None:
    """With distinct distances the pairs do not depend on row order or the index."""
    frame = frame.drop_duplicates("d").reset_index(drop=True)
    if frame["t"].nunique() < 2:
        return
    a = _match(frame, caliper=0.3, std_caliper=False)
    perm = np.random.default_rng(seed).permutation(len(frame))
    shuffled = frame.iloc[perm].set_axis(np.arange(len(frame))[::-1] + 7)
    b = _match(shuffled, caliper=0.3, std_caliper=False)
    if a is None or b is None:
        assert a is None
        assert b is None
        return
    pa = a.pairs()  # type: ignore[attr-defined]
    pb = b.pairs()  # type: ignore[attr-defined]
    got = {(int(perm[r.treated_row]), int(perm[r.control_row])) for r in pb.itertuples()}
    assert got == {(int(r.treated_row), int(r.control_row)) for r in pa.itertuples()}


@SETTINGS
@given(
    scores=st.lists(st.floats(0.01, 0.99), min_size=4, max_size=50),
    data=st.data(),
)
def test_weight_formulas_and_sum_rules(scores: list[float], data: st.DataObject) -> None:
    n = len(scores)
    treated = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if all(treated) or not any(treated):
        treated[0] = not treated[0]
    e = np.asarray(scores)
    t = np.asarray(treated)
    ate = propensity_weights(e, t).weights
    assert np.all(ate >= 1.0)
    stab = propensity_weights(e, t, stabilize=True).weights
    np.testing.assert_allclose(stab, ate * np.where(t, t.mean(), 1 - t.mean()))
    att = propensity_weights(e, t, estimand="att").weights
    assert np.all(att[t] == 1.0)
    assert np.all(att[~t] > 0)
    ato = propensity_weights(e, t, estimand="overlap")
    assert np.all((ato.weights > 0) & (ato.weights < 1))
    np.testing.assert_allclose(ato.weights, np.where(t, 1 - e, e))
    assert 0 < ato.ess_treated <= t.sum() + 1e-9
    q = data.draw(st.sampled_from([0.5, 0.9, 0.99]))
    capped = propensity_weights(e, t, trim_quantile=q)
    assert capped.weights.max() <= np.quantile(ate, q) + 1e-9
    assert np.all(capped.weights <= ate + 1e-12)
    assert effective_sample_size(ate) <= n + 1e-9


@SETTINGS
@given(frame=cohorts(), seed=st.integers(0, 1000))
def test_balance_ignores_index_and_row_order(frame: pd.DataFrame, seed: int) -> None:
    w = np.random.default_rng(seed).uniform(0.5, 2.0, len(frame))
    a = balance_table(frame, "t", ["d", "s"], w, warn=False)
    perm = np.random.default_rng(seed + 1).permutation(len(frame))
    b = balance_table(frame.iloc[perm], "t", ["d", "s"], w[perm], warn=False)
    np.testing.assert_allclose(a.smd_after, b.smd_after, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.smd_before, b.smd_before, rtol=1e-10, atol=1e-12)
