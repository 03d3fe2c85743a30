"""Gray's test (gray_test) against R cmprsk 2.2 cuminc (reference JSON only), hand-worked
cases and properties.

tests/reference/survival/competing_reference.R writes the JSON, datasets included.
Tolerance: 1e-6 relative, 1e-10 absolute near zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.stats import GrayTest, gray_test, log_rank_test

HERE = Path(__file__).resolve().parents[1] / "reference" / "survival"
REF = json.loads((HERE / "competing_reference.json").read_text(encoding="utf-8"))
RTOL = REF["tolerances"]["rtol"]
ATOL = REF["tolerances"]["atol"]


def _frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(REF["datasets"][name])


def _case_id(case: dict[str, Any]) -> str:
    c = case["case"]
    return f"{c['dataset']}-{c['group']}-{c['strata']}-rho{c.get('rho', 0)}"


@pytest.mark.parametrize("case", REF["gray"], ids=_case_id)
def test_gray_test_matches_cmprsk_cuminc(case: dict[str, Any]) -> None:
    spec = case["case"]
    data = _frame(spec["dataset"])
    result = gray_test(
        "time",
        "status",
        spec["group"],
        strata=spec["strata"],
        rho=spec.get("rho", 0),
        data=data,
    )
    assert list(result.causes) == [int(c) for c in case["causes"]]
    np.testing.assert_allclose(result.statistic, case["stat"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(result.pvalue, case["pvalue"], rtol=RTOL, atol=ATOL)
    assert result.df.tolist() == [int(d) for d in case["df"]]


def test_one_event_gives_the_hypergeometric_variance() -> None:
    # one event at t = 1 in group a (2 of 5 at risk): z = 1 - 2/5, V = 2 * 3 / 5^2
    result = gray_test([1, 2, 3, 4, 5], [1, 0, 0, 0, 0], ["a", "a", "b", "b", "b"])
    assert result.score[0].tolist() == pytest.approx([0.6, -0.6])
    assert result.variance[0, 0, 0] == pytest.approx(6 / 25)
    assert result.statistic[0] == pytest.approx(1.5)


def test_tied_events_take_the_finite_population_factor() -> None:
    # two tied events in a among 6 at risk: V = 2 * 9/36 * (6 - 2) / (6 - 1) = 2/5, z = 1
    result = gray_test([1, 1, 2, 1, 3, 4], [1, 1, 0, 0, 0, 0], ["a", "a", "a", "b", "b", "b"])
    assert result.variance[0, 0, 0] == pytest.approx(2 / 5)
    assert result.statistic[0] == pytest.approx(2.5)


def test_hand_worked_competing_case() -> None:
    # cause 2 has one event (t = 3, group a, R_a = R_b = 3): z = 1/2 and its own term is
    # 1/4. The competing events before it (t = 1 in a, t = 2 in b) each add
    # (C / (Y - 1))^2 = (1/8)^2 with C = (3/2)(1/6) = 1/4 the pooled jump they precede
    # (in Gray's units: b^2 dF2 / H = (3/8)^2 / 9 = 1/64): V = 1/4 + 2/64 = 9/32.
    result = gray_test([1, 2, 3, 4, 5, 6], [1, 1, 2, 1, 0, 1], list("ababab"), cause=2)
    assert result.score[0, 0] == pytest.approx(0.5)
    assert result.variance[0, 0, 0] == pytest.approx(9 / 32)
    assert result.statistic[0] == pytest.approx(8 / 9)


def test_without_competing_events_the_score_is_the_log_rank_score() -> None:
    rng = np.random.default_rng(3)
    time = np.round(rng.exponential(5, 60), 1) + 0.1
    event = rng.random(60) < 0.7
    group = rng.choice(["x", "y", "z"], 60)
    gray = gray_test(time, event.astype(int), group)
    lr = log_rank_test(time, event, group)
    np.testing.assert_allclose(gray.score[0], lr.observed - lr.expected, atol=1e-12)


def test_result_shape_and_texts() -> None:
    data = _frame("synth")
    result = gray_test("time", "status", "group", strata="stratum", data=data)
    assert isinstance(result, GrayTest)
    assert result.groups == ("a", "b", "c")
    assert result.strata == ("s1", "s2")
    assert result.score.shape == (2, 3)
    assert result.variance.shape == (2, 3, 3)
    np.testing.assert_allclose(result.score.sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(result.variance.sum(axis=2), 0.0, atol=1e-9)
    frame = result.to_frame()
    assert frame.columns.tolist() == ["cause", "statistic", "pvalue", "df"]
    assert "Stratified Gray" in result.summary()
    assert "<table" in result._repr_html_()
    one = gray_test("time", "status", "group", strata="stratum", cause=2, data=data)
    assert one.causes == (2,)
    assert one.statistic[0] == pytest.approx(result.statistic[1])


def test_a_group_that_never_contributes_lowers_df() -> None:
    time = [5, 6, 7, 8, 9, 10, 1, 1]
    status = [1, 0, 1, 1, 0, 2, 0, 0]
    group = ["a", "a", "b", "b", "a", "b", "c", "c"]  # c censored before any event
    result = gray_test(time, status, group, cause=1)
    assert result.df[0] == 1
    two = gray_test(time[:6], status[:6], group[:6], cause=1)
    assert result.statistic[0] == pytest.approx(two.statistic[0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group": ["a"] * 4}, "at least 2 distinct"),
        ({"cause": 3}, "cause must be one of"),
        ({"rho": -1}, "rho must be"),
        ({"rho": float("nan")}, "rho must be"),
        ({"group": ["a", "b"]}, "one value per patient"),
    ],
)
def test_invalid_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"time": [1, 2, 3, 4], "status": [1, 2, 0, 1]}
    args["group"] = kwargs.pop("group", ["a", "b", "a", "b"])
    with pytest.raises(ValueError, match=message):
        gray_test(args["time"], args["status"], args["group"], **kwargs)


@st.composite
def _datasets(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(6, 30))
    return pd.DataFrame(
        {
            "time": draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)),
            "status": draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
            "group": draw(st.lists(st.sampled_from("abc"), min_size=n, max_size=n)),
        }
    )


@settings(max_examples=60, deadline=None)
@given(_datasets(), st.randoms(use_true_random=False))
def test_row_order_and_time_scale_do_not_change_the_test(data: pd.DataFrame, rnd: Any) -> None:
    if data["group"].nunique() < 2 or not (data["status"] > 0).any():
        return
    result = gray_test("time", "status", "group", data=data)
    order = list(range(len(data)))
    rnd.shuffle(order)
    shuffled = data.iloc[order].set_axis(range(100, 100 + len(data)))
    again = gray_test("time", "status", "group", data=shuffled)
    scaled = gray_test(data["time"] * 2.5, data["status"], data["group"])
    for other in (again, scaled):
        np.testing.assert_allclose(other.statistic, result.statistic, rtol=1e-9, atol=1e-12)
        assert other.df.tolist() == result.df.tolist()
    assert np.all((result.statistic >= -1e-12) | np.isnan(result.statistic))
    np.testing.assert_allclose(result.score.sum(axis=1), 0.0, atol=1e-9)
