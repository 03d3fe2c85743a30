"""Invariants of the pooling functions and their input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.evidence import (
    EvidenceError,
    HeterogeneityWarning,
    PooledEstimate,
    TruncatedTau2Warning,
    pool,
    pool_proportions,
    pool_rates,
)

METHODS = ["FE", "DL", "PM", "REML", "ML"]


def check_invariants(res: PooledEstimate) -> None:
    """Checks every pooled result must pass."""
    assert sum(res.weights) == pytest.approx(1.0, abs=1e-12)
    assert all(w >= 0 for w in res.weights)
    assert res.ci_low <= res.estimate <= res.ci_high
    assert res.pi_low <= res.ci_low + 1e-12
    assert res.pi_high >= res.ci_high - 1e-12
    assert res.tau2 >= 0
    assert 0 <= res.i2 <= 1
    assert res.h2 >= 1 or res.method == "FE"
    if np.isfinite(res.tau2_ci_low):
        assert res.tau2_ci_low <= res.tau2_ci_high


studies = st.integers(min_value=2, max_value=12).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.005, 2.0, allow_nan=False), min_size=k, max_size=k),
        st.permutations(list(range(k))),
    )
)


def _quiet_pool(yi: list[float], vi: list[float], **kw: object) -> PooledEstimate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        warnings.simplefilter("ignore", HeterogeneityWarning)  # random pairs may disagree
        # identical studies with Hartung-Knapp: SE 0, warned about (tested elsewhere)
        warnings.filterwarnings("ignore", "Hartung-Knapp variance factor", RuntimeWarning)
        return pool(yi, vi, **kw)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(data=studies, method=st.sampled_from(METHODS), test=st.sampled_from(["z", "knha"]))
def test_permuting_studies_does_not_change_the_pool(
    data: tuple[list[float], list[float], list[int]], method: str, test: str
) -> None:
    yi, vi, order = data
    a = _quiet_pool(yi, vi, method=method, test=test)
    b = _quiet_pool([yi[i] for i in order], [vi[i] for i in order], method=method, test=test)
    check_invariants(a)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-7, abs=1e-9)
    assert b.se == pytest.approx(a.se, rel=1e-7, abs=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(
        [b.weights[order.index(i)] for i in range(len(yi))], a.weights, rtol=1e-6, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 300)), min_size=1, max_size=10),
    measure=st.sampled_from(["PLO", "PR", "PFT"]),
)
def test_proportion_pools_are_proportions(counts: list[tuple[int, int]], measure: str) -> None:
    events = [min(x, n) for x, n in counts]
    n = [n for _, n in counts]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        warnings.simplefilter("ignore", HeterogeneityWarning)
        res = pool_proportions(events, n, measure=measure)  # type: ignore[arg-type]
    check_invariants(res)
    if measure != "PR":
        assert 0 <= res.ci_low_natural <= res.estimate_natural <= res.ci_high_natural <= 1


def test_pandas_index_is_ignored() -> None:
    yi = pd.Series([0.1, 0.5, -0.2, 0.9], index=[10, 3, 7, 1])
    vi = pd.Series([0.04, 0.09, 0.05, 0.1], index=[1, 2, 3, 4])
    a = pool(yi, vi)
    b = pool(yi.to_numpy(), vi.to_numpy())
    assert a.estimate == b.estimate


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param(
            {"conf_level": 95},
            r"conf_level must be in \(0, 1\); got 95\. Did you mean 0\.95\?",
            id="percent",
        ),
        pytest.param({"conf_level": 1.0}, "conf_level must be in", id="one"),
        pytest.param({"method": "HS"}, "method must be one of", id="method"),
        pytest.param({"test": "t"}, "test must be 'z'", id="test"),
    ],
)
def test_bad_options_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(EvidenceError, match=match):
        pool([0.1, 0.2], [0.1, 0.1], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("yi", "vi", "match"),
    [
        pytest.param([0.1, 0.2], [0.1], "one value per study", id="lengths"),
        pytest.param([0.1, float("nan")], [0.1, 0.1], "yi must be finite", id="nan"),
        pytest.param([0.1, 0.2], [0.1, 0.0], "vi must be positive", id="zero-variance"),
        pytest.param([], [], "at least one study", id="empty"),
    ],
)
def test_bad_inputs_raise(yi: list[float], vi: list[float], match: str) -> None:
    with pytest.raises(EvidenceError, match=match):
        pool(yi, vi)


def test_events_above_n_raise() -> None:
    with pytest.raises(EvidenceError, match="events must be <= n"):
        pool_proportions([3, 12], [10, 11])
    with pytest.raises(EvidenceError, match="events must be non-negative"):
        pool_rates([-1, 2], [10.0, 11.0])


def test_evidence_error_is_a_value_error() -> None:
    assert issubclass(EvidenceError, ValueError)


def test_results_have_frame_summary_and_html() -> None:
    res = pool_proportions([0, 1, 2, 8], [24, 151, 281, 110], labels=list("abcd"))
    frame = res.to_frame()
    assert list(frame["row_type"]) == ["study"] * 4 + ["pooled"]
    assert {"events", "total", "weight", "estimate_natural"} <= set(frame.columns)
    assert "meta-analysis of 4 studies" in res.summary()
    assert res._repr_html_().startswith("<pre>")
    assert "I\u00b2" in res.heterogeneity_text()
    with pytest.raises(AttributeError):
        res.estimate = 1.0  # type: ignore[misc]


def test_conf_level_changes_width() -> None:
    yi, vi = [0.1, 0.5, -0.2, 0.9], [0.04, 0.09, 0.05, 0.1]
    narrow = pool(yi, vi, conf_level=0.90)
    wide = pool(yi, vi, conf_level=0.99)
    assert wide.ci_high - wide.ci_low > narrow.ci_high - narrow.ci_low
    assert narrow.conf_level == 0.90


def test_glmm_edge_cases() -> None:
    with pytest.raises(EvidenceError, match="at least one event and one non-event"):
        pool_proportions([0, 0, 0], [40, 20, 30], method="GLMM")
    with pytest.warns(TruncatedTau2Warning, match="GLMM"):
        res = pool_proportions([1, 2, 3], [40, 20, 30], method="GLMM")
    assert res.tau2 == 0.0
    assert res.estimate_natural == pytest.approx(6 / 90, rel=1e-5)
    single = pool_proportions([3], [40], method="GLMM")
    assert single.estimate_natural == pytest.approx(3 / 40, rel=1e-5)
    assert not single.tau2_truncated
