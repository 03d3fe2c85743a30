"""Fuzz the statistics on degenerate inputs: a defined result or a located ValueError, never
another exception."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.evidence import pool, pool_proportions
from msreboot.stats import (
    cox_regression,
    cumulative_incidence,
    kaplan_meier,
    log_rank_test,
    restricted_mean_survival_time,
)

FUZZ = settings(max_examples=60, deadline=None)
times = st.lists(
    st.sampled_from([0.0, 0.0, 1.0, 1.0, 2.5, 1e-12, 1e-300, 5e-324, 1e6, 1e300]),
    min_size=1,
    max_size=12,
)


def _defined(call: Any) -> Any:
    """The result, or None for a ValueError with a message (msreboot's errors included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call()
        except ValueError as error:
            message = str(error).strip()
    assert message, "a ValueError without a message"
    return None


@FUZZ
@given(times, st.data())
def test_kaplan_meier_and_log_rank(time: list[float], data: st.DataObject) -> None:
    event = data.draw(st.lists(st.sampled_from([0, 1]), min_size=len(time), max_size=len(time)))
    group = data.draw(st.lists(st.sampled_from("ab"), min_size=len(time), max_size=len(time)))
    curve = _defined(lambda: kaplan_meier(time, event))
    if curve is not None:
        s = np.asarray(curve.survival, dtype=float)
        assert np.all((s >= 0) & (s <= 1))
        assert np.all(np.diff(s) <= 1e-12)
    test = _defined(lambda: log_rank_test(time, event, group))
    if test is not None:
        assert math.isnan(test.pvalue) or 0 <= test.pvalue <= 1
    tau = data.draw(st.sampled_from([0.0, 1e-12, 1.0, 1e300, -1.0, float("nan")]))
    _defined(lambda: restricted_mean_survival_time(time, event, tau=tau))


@FUZZ
@given(times, st.data())
def test_cox_and_cumulative_incidence(time: list[float], data: st.DataObject) -> None:
    n = len(time)
    event = data.draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    x = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 1e8]), min_size=n, max_size=n))
    frame = pd.DataFrame({"t": time, "e": event, "x": x})
    model = _defined(lambda: cox_regression(frame, "t", "e", ["x"]))
    if model is not None:
        assert math.isnan(model.concordance) or 0 <= model.concordance <= 1
    status = data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n))
    _defined(lambda: cumulative_incidence(time, status))


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.5, 0.5, 0.7, 0.0, -1e6, 1e120]),
            st.sampled_from([1e-300, 0.1, 0.1, 1e-320, 1e100, 0.0, 1e5]),
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["REML", "DL", "PM", "ML", "FE"]),
    st.sampled_from(["z", "knha"]),
)
def test_pool(studies: list[tuple[float, float]], method: str, test: str) -> None:
    yi, vi = zip(*studies, strict=True)
    res = _defined(lambda: pool(list(yi), list(vi), method=method, test=test))  # type: ignore[arg-type]
    if res is not None:
        assert abs(sum(res.weights) - 1) < 1e-9
        assert res.tau2 >= 0
        assert res.ci_low <= res.estimate <= res.ci_high


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 1, 1.5, 3, 10, -1]), st.sampled_from([1, 10, 10.5, 0])),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["PLO", "PR", "PFT"]),
    st.sampled_from(["REML", "DL", "GLMM"]),
)
def test_pool_proportions(studies: list[tuple[float, float]], measure: str, method: str) -> None:
    events, n = zip(*studies, strict=True)
    res = _defined(
        lambda: pool_proportions(list(events), list(n), measure=measure, method=method)  # type: ignore[arg-type]
    )
    if res is not None:
        assert all(float(e).is_integer() for e in events)
        assert abs(sum(res.weights) - 1) < 1e-9
