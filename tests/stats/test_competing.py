"""Cumulative incidence with competing risks: hand-worked values, identities and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.stats._competing import (
    CumulativeIncidence,
    CumulativeIncidenceCurves,
    cumulative_incidence,
)
from msreboot.stats._survival import kaplan_meier
from tests.stats.survival_checks import check_incidence_curve

TIME = [0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 6, 6, 6, 7, 8, 9, 9, 10, 11, 12, 12]
STATUS = [1, 1, 2, 0, 1, 1, 2, 2, 1, 0, 0, 1, 2, 1, 0, 0, 2, 1, 1, 3, 0, 2, 1, 0]


def test_hand_worked_values() -> None:
    ci = cumulative_incidence([1, 2, 2, 3, 4, 5], [1, 2, 1, 0, 1, 2])
    # S(t-) d1 / n: 1/6; then (5/6)(1/5); then (1/2)(1/2) at t = 4.
    assert ci.estimate.tolist() == pytest.approx([1 / 6, 1 / 3, 1 / 3, 7 / 12, 7 / 12])
    assert ci.n_at_risk.tolist() == [6, 5, 3, 2, 1]
    assert ci.n_events.tolist() == [1, 1, 0, 1, 0]
    assert ci.n_competing.tolist() == [0, 1, 0, 0, 1]
    assert ci.n_censored.tolist() == [0, 0, 1, 0, 0]
    check_incidence_curve(ci)


def test_without_competing_events_it_is_one_minus_kaplan_meier() -> None:
    time = [1, 2, 2, 3, 5, 8, 8, 9]
    event = [1, 1, 0, 1, 0, 1, 1, 0]
    ci = cumulative_incidence(time, event)
    km = kaplan_meier(time, event)
    np.testing.assert_allclose(ci.estimate, 1 - km.survival, rtol=1e-14)


def test_causes_and_survival_sum_to_one() -> None:
    km = kaplan_meier(TIME, [s > 0 for s in STATUS])
    total = sum(cumulative_incidence(TIME, STATUS, cause=k).estimate for k in (1, 2, 3))
    np.testing.assert_allclose(total + km.survival, 1.0, rtol=1e-14)


def test_all_causes_at_one_time_and_time_zero() -> None:
    ci = cumulative_incidence([0, 0, 0, 2], [1, 2, 0, 1])
    assert ci.estimate[0] == pytest.approx(0.25)
    assert ci.at(0).estimate[0] == pytest.approx(0.25)
    assert ci.estimate[-1] == pytest.approx(0.25 + 0.5)


def test_everyone_has_an_event_the_last_value_is_defined() -> None:
    ci = cumulative_incidence([1, 2, 3], [1, 2, 1])
    assert ci.estimate.tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3])
    assert np.all(np.isfinite(ci.variance))
    check_incidence_curve(ci)


def test_landmarks() -> None:
    ci = cumulative_incidence(TIME, STATUS)
    at = ci.at([0, 0.5, 3, 12, 13])
    assert at.estimate[0] == at.estimate[1] == ci.estimate[0]
    assert at.estimate[2] == ci.estimate[ci.times.tolist().index(3)]
    assert np.isnan(at.estimate[4])
    assert ci.at(13, extend=True).estimate[0] == ci.estimate[-1]
    before = cumulative_incidence([2, 3], [1, 0]).at(1)
    assert (before.estimate[0], before.std_err[0], before.ci_low[0]) == (0.0, 0.0, 0.0)
    assert at.measure == "cumulative_incidence"
    assert "cumulative_incidence" in at.to_frame().columns


@pytest.mark.parametrize("conf_type", ["log-log", "plain"])
def test_interval_types(conf_type: str) -> None:
    ci = cumulative_incidence(TIME, STATUS, conf_type=conf_type, conf_level=0.9)  # type: ignore[arg-type]
    check_incidence_curve(ci)
    assert ci.conf_type == conf_type
    wider = cumulative_incidence(TIME, STATUS, conf_type=conf_type, conf_level=0.99)  # type: ignore[arg-type]
    assert np.all(wider.ci_low <= ci.ci_low + 1e-15)
    assert np.all(wider.ci_high >= ci.ci_high - 1e-15)


def test_groups() -> None:
    frame = pd.DataFrame({"t": TIME, "s": STATUS, "g": ["x", "y"] * 12})
    curves = cumulative_incidence("t", "s", cause=2, group="g", data=frame)
    assert isinstance(curves, CumulativeIncidenceCurves)
    assert list(curves) == ["x", "y"]
    assert len(curves) == 2
    for label, curve in curves.items():
        assert isinstance(curve, CumulativeIncidence)
        assert curve.label == label
        assert curve.cause == 2
        check_incidence_curve(curve)
    assert set(curves.to_frame()["group"]) == {"x", "y"}
    assert curves.at([1, 5])["group"].tolist() == ["x", "x", "y", "y"]
    assert curves.summary().startswith("Cumulative incidence by g")
    assert "<li>" in curves._repr_html_()
    with pytest.raises(KeyError, match="group must be one of"):
        curves["z"]


def test_result_shape() -> None:
    ci = cumulative_incidence(TIME, STATUS)
    assert ci.total_events == STATUS.count(1)
    frame = ci.to_frame()
    assert list(frame.columns) == [
        "time",
        "n_at_risk",
        "n_events",
        "n_competing",
        "n_censored",
        "cumulative_incidence",
        "variance",
        "std_err",
        "ci_low",
        "ci_high",
    ]
    assert ci.summary().startswith("cumulative incidence of cause 1: n = 24")
    assert ci._repr_html_().startswith("<p>")


@pytest.mark.parametrize(
    ("status", "kwargs", "message"),
    [
        ([1, 2, 0], {"cause": 3}, "cause must be one of the observed causes \\[1, 2\\]; got 3"),
        ([0, 0, 0], {}, "cause must be one of the observed causes \\[\\]"),
        ([1, -1, 0], {}, "status must be an integer >= 0; got -1 at position 1"),
        ([1, 1.5, 0], {}, "status must be an integer >= 0; got 1.5"),
        ([1, None, 0], {}, "status must be an integer >= 0; got None"),
        (["a", "b", "c"], {}, "status must be integer codes"),
        ([1, 2, 0], {"conf_type": "log"}, "conf_type must be one of 'log-log', 'plain'"),
        ([1, 2, 0], {"conf_level": 1.5}, "conf_level must be in \\(0, 1\\)"),
    ],
)
def test_errors(status: list[object], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cumulative_incidence([1, 2, 3], status, **kwargs)  # type: ignore[arg-type]


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="one value per patient"):
        cumulative_incidence([1, 2, 3], [1, 0])
