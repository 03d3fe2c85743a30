"""Cox regression with weights, strata and robust variance: hand-worked boundary cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.stats._cox import CoxModel, cox_regression


def _data(seed: int = 1, n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    arm = rng.integers(0, 2, size=n)
    hazard = 0.1 * np.exp(0.5 * x - 0.7 * arm)
    event_time = np.ceil(rng.exponential(1 / hazard))
    censor = np.ceil(rng.uniform(2, 25, size=n))
    return pd.DataFrame(
        {
            "time": np.minimum(event_time, censor),
            "event": (event_time <= censor).astype(int),
            "x": x,
            "arm": arm,
            "w": rng.uniform(0.3, 3.0, size=n).round(3),
            "pair": np.repeat(np.arange(n // 2), 2),
            "centre": rng.choice(["a", "b", "c"], size=n),
            "row": np.arange(n),
        }
    )


def _same(a: CoxModel, b: CoxModel, *, naive: bool = True, rtol: float = 1e-9) -> None:
    np.testing.assert_allclose(a.coef, b.coef, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=rtol)
    if naive:
        np.testing.assert_allclose(a.naive_std_err, b.naive_std_err, rtol=rtol)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_unit_weights_equal_unweighted(ties: str) -> None:
    frame = _data().assign(one=1.0)
    plain = cox_regression(frame, "time", "event", ["x", "arm"], ties=ties)  # type: ignore[arg-type]
    weighted = cox_regression(frame, "time", "event", ["x", "arm"], ties=ties, weights_col="one")  # type: ignore[arg-type]
    _same(plain, weighted)
    assert weighted.loglik == pytest.approx(plain.loglik, rel=1e-12)
    assert weighted.concordance == pytest.approx(plain.concordance, rel=1e-12)
    assert weighted.weighted
    assert not plain.weighted
    assert weighted.sum_weights == pytest.approx(len(frame))


def test_integer_weights_equal_duplicated_rows_with_breslow() -> None:
    # Efron's tie correction counts rows, so only Breslow is exactly a duplication.
    frame = _data().assign(k=lambda f: (f["row"] % 3) + 1)
    doubled = frame.loc[frame.index.repeat(frame["k"])]
    weighted = cox_regression(frame, "time", "event", ["x", "arm"], ties="breslow", weights_col="k")
    copies = cox_regression(doubled, "time", "event", ["x", "arm"], ties="breslow")
    _same(weighted, copies)
    assert weighted.loglik == pytest.approx(copies.loglik, rel=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_one_cluster_per_row_equals_robust(ties: str) -> None:
    frame = _data()
    robust = cox_regression(
        frame, "time", "event", ["x", "arm"], ties=ties, weights_col="w", robust=True
    )  # type: ignore[arg-type]
    clustered = cox_regression(
        frame,
        "time",
        "event",
        ["x", "arm"],
        ties=ties,
        weights_col="w",
        cluster_col="row",  # type: ignore[arg-type]
    )
    _same(robust, clustered)
    assert (robust.variance, clustered.variance) == ("robust", "cluster")
    assert robust.n_clusters == clustered.n_clusters == len(frame)
    assert not np.allclose(robust.std_err, robust.naive_std_err)


def test_a_stratum_without_events_changes_nothing() -> None:
    frame = _data()
    extra = frame.head(12).assign(centre="empty", event=0, pair=-1)
    both = pd.concat([frame, extra], ignore_index=True)
    with_empty = cox_regression(
        both, "time", "event", ["x", "arm"], strata="centre", weights_col="w", cluster_col="pair"
    )
    without = cox_regression(
        frame, "time", "event", ["x", "arm"], strata="centre", weights_col="w", cluster_col="pair"
    )
    _same(with_empty, without)
    assert with_empty.n_strata == 4
    assert without.n_strata == 3
    assert with_empty.concordance == pytest.approx(without.concordance, rel=1e-12)


def test_strata_on_two_columns_are_their_combinations() -> None:
    frame = _data().assign(half=lambda f: f["row"] % 2)
    two = cox_regression(frame, "time", "event", ["x"], strata=["centre", "half"])
    combined = cox_regression(
        frame.assign(cell=frame["centre"] + frame["half"].astype(str)),
        "time",
        "event",
        ["x"],
        strata="cell",
    )
    _same(two, combined)
    assert two.strata == ("centre", "half")
    assert two.n_strata == 6


def test_robust_summary_and_defaults() -> None:
    frame = _data()
    model = cox_regression(
        frame, "time", "event", ["x", "arm"], weights_col="w", cluster_col="pair", strata="centre"
    )
    text = model.summary()
    assert "stratified by centre (3 strata)" in text
    assert "cluster-robust standard errors (40 clusters)" in text
    assert "case weights (sum" in text
    plain = cox_regression(frame, "time", "event", ["x", "arm"])
    assert plain.variance == "model"
    assert plain.n_clusters is None
    np.testing.assert_array_equal(plain.std_err, plain.naive_std_err)
    np.testing.assert_array_equal(plain.covariance, plain.naive_covariance)


@pytest.mark.parametrize(
    ("kwargs", "change", "message"),
    [
        ({"weights_col": "w"}, {"w": -1.0}, "weights > 0; got -1 at position 3"),
        ({"weights_col": "w"}, {"w": 0.0}, "w must be finite case weights > 0"),
        ({"weights_col": "w"}, {"w": np.nan}, "missing values"),
        ({"cluster_col": "pair", "robust": False}, {}, "robust must be True"),
        ({"strata": "nope"}, {}, "unknown \\['nope'\\]"),
        ({"cluster_col": "nope"}, {}, "unknown \\['nope'\\]"),
    ],
)
def test_defined_failures(
    kwargs: dict[str, object], change: dict[str, float], message: str
) -> None:
    frame = _data()
    for col, value in change.items():
        frame.loc[3, col] = value
    with pytest.raises(ValueError, match=message):
        cox_regression(frame, "time", "event", ["x"], **kwargs)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), ties=st.sampled_from(["efron", "breslow"]))
def test_row_order_does_not_change_results(seed: int, ties: str) -> None:
    frame = _data(seed % 7, n=40)
    shuffled = frame.sample(frac=1.0, random_state=seed).set_index(pd.Index(np.arange(40) * 3))
    kwargs = {"ties": ties, "weights_col": "w", "strata": "centre", "cluster_col": "pair"}
    a = cox_regression(frame, "time", "event", ["x", "arm"], **kwargs)  # type: ignore[arg-type]
    b = cox_regression(shuffled, "time", "event", ["x", "arm"], **kwargs)  # type: ignore[arg-type]
    _same(a, b, rtol=1e-8)
    assert a.concordance == pytest.approx(b.concordance, rel=1e-12)
