"""Kaplan-Meier, restricted mean and log-rank: hand-worked values, edge cases and errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from msreboot.stats import RestrictedMean, restricted_mean_survival_time
from msreboot.stats._logrank import LogRankTest, log_rank_test
from msreboot.stats._survival import (
    LandmarkEstimates,
    MedianSurvival,
    SurvivalCurve,
    SurvivalCurves,
    kaplan_meier,
)
from tests.stats.survival_checks import check_survival_curve

# Freireich et al. (1963), 6-MP arm: the textbook Kaplan-Meier example.
SIX_MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
CONF_TYPES = ["log-log", "log", "plain"]


def test_textbook_values() -> None:
    curve = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT)
    check_survival_curve(curve)
    expected = {6: 0.857143, 7: 0.806723, 10: 0.752941, 13: 0.690196, 16: 0.627451}
    estimates = curve.at(list(expected)).estimate
    np.testing.assert_allclose(estimates, list(expected.values()), atol=5e-7)
    assert curve.n == 21
    assert curve.total_events == 9
    assert curve.median().estimate == 23.0


def test_events_come_before_censorings_at_the_same_time() -> None:
    curve = kaplan_meier([1, 1, 2], [1, 0, 1])
    assert curve.n_at_risk.tolist() == [3, 1]
    assert curve.survival.tolist() == pytest.approx([2 / 3, 0.0])
    assert (curve.n_events.tolist(), curve.n_censored.tolist()) == ([1, 1], [1, 0])


def test_events_at_time_zero_lower_the_curve_at_zero() -> None:
    curve = kaplan_meier([0, 0, 1, 2], [1, 0, 1, 0])
    assert curve.at(0).estimate[0] == pytest.approx(0.75)
    assert curve.survival[0] == pytest.approx(0.75)


@pytest.mark.parametrize("conf_type", CONF_TYPES)
def test_everyone_censored(conf_type: str) -> None:
    curve = kaplan_meier([1, 2, 2, 3], [0, 0, 0, 0], conf_type=conf_type)  # type: ignore[arg-type]
    check_survival_curve(curve)
    assert np.all(curve.survival == 1.0)
    assert np.all(curve.std_err == 0.0)
    assert np.all(curve.ci_low == 1.0)
    assert np.all(curve.ci_high == 1.0)
    median = curve.median()
    assert not median.reached
    assert np.isnan(median.estimate)
    assert np.isnan(median.ci_low)
    assert median.summary() == "median not reached"
    assert "median not reached" in curve.summary()
    rmst = curve.restricted_mean(2.5)
    assert (rmst.estimate, rmst.std_err) == (2.5, 0.0)


def test_single_patient_with_event() -> None:
    curve = kaplan_meier([5.0], [True])
    assert curve.survival.tolist() == [0.0]
    assert np.isnan(curve.std_err[0])
    assert np.isinf(curve.std_err_log[0])
    assert np.isnan(curve.ci_low[0])
    assert np.isnan(curve.ci_high[0])
    assert curve.median().estimate == 5.0
    rmst = restricted_mean_survival_time(curve, tau=10)
    assert (rmst.estimate, rmst.std_err) == (5.0, 0.0)


def test_single_patient_censored() -> None:
    curve = kaplan_meier([5.0], [False])
    assert curve.survival.tolist() == [1.0]
    assert not curve.median().reached


def test_bool_and_integer_events_agree() -> None:
    a = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT)
    b = kaplan_meier(SIX_MP_TIME, [bool(e) for e in SIX_MP_EVENT])
    c = kaplan_meier(pd.Series(SIX_MP_TIME), pd.Series(SIX_MP_EVENT, dtype="boolean"))
    for other in (b, c):
        np.testing.assert_array_equal(a.survival, other.survival)
        np.testing.assert_array_equal(a.ci_low, other.ci_low)


def test_columns_by_name() -> None:
    frame = pd.DataFrame({"t": SIX_MP_TIME, "e": SIX_MP_EVENT}, index=range(100, 121))
    curve = kaplan_meier("t", "e", data=frame)
    np.testing.assert_array_equal(curve.survival, kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT).survival)


def test_conf_level_changes_only_the_interval() -> None:
    wide = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT, conf_level=0.99)
    narrow = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT, conf_level=0.80)
    np.testing.assert_array_equal(wide.survival, narrow.survival)
    assert np.all(wide.ci_low <= narrow.ci_low)
    assert np.all(wide.ci_high >= narrow.ci_high)


# --- landmarks ----------------------------------------------------------------------------


def test_landmarks_are_right_continuous() -> None:
    curve = kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    at = curve.at([0, 1.999, 2, 2.5, 3, 8])
    assert at.estimate.tolist() == pytest.approx([1, 1, 0.8, 0.8, 0.6, 0.3])
    assert at.n_at_risk.tolist() == [5, 5, 5, 4, 4, 1]
    assert at.std_err[0] == 0.0
    assert (at.ci_low[0], at.ci_high[0]) == (1.0, 1.0)


def test_landmarks_after_follow_up_are_nan_unless_extended() -> None:
    curve = kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
    beyond = curve.at([9, 100])
    assert np.all(np.isnan(beyond.estimate))
    assert beyond.n_at_risk.tolist() == [0, 0]
    extended = curve.at([9, 100], extend=True)
    assert extended.estimate.tolist() == pytest.approx([0.3, 0.3])
    assert curve.number_at_risk([0, 3, 9]).tolist() == [5, 4, 0]


def test_landmark_result_shape() -> None:
    at = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT).at(10)
    assert isinstance(at, LandmarkEstimates)
    frame = at.to_frame()
    assert list(frame.columns) == ["time", "n_at_risk", "survival", "std_err", "ci_low", "ci_high"]
    assert "t=10" in at.summary()
    assert "<table" in at._repr_html_()


@pytest.mark.parametrize("bad", [-1, np.nan, np.inf])
def test_landmarks_must_be_non_negative_and_finite(bad: float) -> None:
    curve = kaplan_meier([1, 2], [1, 0])
    with pytest.raises(ValueError, match="times must be finite and >= 0"):
        curve.at([1, bad])


# --- results ------------------------------------------------------------------------------


def test_curve_is_frozen_and_read_only() -> None:
    curve = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        curve.conf_level = 0.9  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        curve.survival[0] = 0.5


def test_curve_frame_summary_and_html() -> None:
    curve = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT, conf_type="log")
    frame = curve.to_frame()
    assert list(frame.columns) == [
        "time",
        "n_at_risk",
        "n_events",
        "n_censored",
        "survival",
        "std_err",
        "ci_low",
        "ci_high",
    ]
    assert len(frame) == curve.times.size
    assert curve.summary().startswith("Kaplan-Meier: n = 21, 9 events; median 23")
    assert "log)" in curve.summary()
    assert curve._repr_html_().startswith("<p>")
    median = curve.median()
    assert isinstance(median, MedianSurvival)
    assert list(median.to_frame().columns) == [
        "median",
        "ci_low",
        "ci_high",
        "conf_level",
        "conf_type",
    ]
    assert "<p>" in median._repr_html_()


def test_median_on_a_flat_stretch_at_one_half_is_its_midpoint() -> None:
    # S = 1/2 from t = 2 until the next event at t = 4: R takes the midpoint, 3.
    curve = kaplan_meier([2, 2, 4, 6], [1, 1, 1, 0])
    assert curve.survival[0] == 0.5
    assert curve.median().estimate == 3.0


# --- groups -------------------------------------------------------------------------------


def _grouped_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "event": [1, 0, 1, 1, 0, 1, 0, 1, 1, 0],
            "arm": ["b", "a", "b", "a", "b", "a", "b", "a", "b", "a"],
        }
    )


def test_groups_give_a_mapping_of_curves() -> None:
    curves = kaplan_meier("time", "event", group="arm", data=_grouped_frame())
    assert isinstance(curves, SurvivalCurves)
    assert list(curves) == ["a", "b"]
    assert len(curves) == 2
    assert curves.group_name == "arm"
    for label, curve in curves.items():
        check_survival_curve(curve)
        assert curve.label == label
        assert curve.n == 5
    with pytest.raises(KeyError, match="group must be one of"):
        curves["c"]


def test_group_order_follows_categories() -> None:
    frame = _grouped_frame()
    frame["arm"] = pd.Categorical(frame["arm"], categories=["b", "a", "unused"])
    curves = kaplan_meier("time", "event", group="arm", data=frame)
    assert list(curves) == ["b", "a"]


def test_group_tables() -> None:
    curves = kaplan_meier("time", "event", group="arm", data=_grouped_frame())
    frame = curves.to_frame()
    assert frame["group"].tolist()[:1] == ["a"]
    assert set(frame["group"]) == {"a", "b"}
    at = curves.at([2, 5])
    assert at["group"].tolist() == ["a", "a", "b", "b"]
    medians = curves.median()
    assert medians.columns[0] == "group"
    assert len(medians) == 2
    rmst = curves.restricted_mean(8)
    assert rmst["group"].tolist() == ["a", "b"]
    assert "Kaplan-Meier by arm" in curves.summary()
    assert "<li>" in curves._repr_html_()


def test_integer_group_labels_are_plain_ints() -> None:
    curves = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 1], group=np.array([2, 1, 2, 1]))
    assert list(curves) == [1, 2]
    assert type(next(iter(curves))) is int
    assert curves[1].n == 2


# --- input errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "event", "message"),
    [
        ([], [], "time must hold at least one observation; got none"),
        ([1, -2], [1, 0], r"time must be >= 0; got -2.0 at position 1"),
        ([1, np.nan], [1, 0], "time must be finite; got nan at position 1"),
        ([1, np.inf], [1, 0], "time must be finite"),
        ([1, 2], [1, 2], "event must be 0/1 or bool; got 2 at position 1.*cumulative_incidence"),
        ([1, 2], [1, None], "event must be 0/1 or bool; got None at position 1"),
        ([1, 2], ["yes", "no"], "event must be 0/1 or bool"),
        (["a", "b"], [1, 0], "time must be numeric durations"),
        ([1, 2, 3], [1, 0], "inputs must have one value per patient; got lengths time=3, event=2"),
    ],
)
def test_input_errors(time: list[object], event: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier(time, event)  # type: ignore[arg-type]


def test_dates_are_refused_as_times() -> None:
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2021-01-01"]))
    with pytest.raises(ValueError, match="Subtract the origin date"):
        kaplan_meier(dates, [1, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conf_level": 95}, "conf_level must be in \\(0, 1\\); got 95. Did you mean 0.95"),
        ({"conf_level": 0}, "conf_level must be in \\(0, 1\\)"),
        ({"conf_type": "log_log"}, "conf_type must be one of .*Did you mean 'log-log'"),
        ({"conf_type": "arcsin"}, "conf_type must be one of"),
    ],
)
def test_argument_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaplan_meier([1, 2], [1, 0], **kwargs)  # type: ignore[arg-type]


def test_column_names_need_data_and_must_exist() -> None:
    with pytest.raises(ValueError, match="time must be an array when no data frame is given"):
        kaplan_meier("t", "e")
    with pytest.raises(ValueError, match="event must name a column of data; got 'x'"):
        kaplan_meier("t", "x", data=pd.DataFrame({"t": [1], "e": [1]}))


def test_missing_group_is_an_error() -> None:
    with pytest.raises(ValueError, match="group must be non-missing"):
        kaplan_meier([1, 2], [1, 0], group=["a", None])


# --- restricted mean ----------------------------------------------------------------------


def test_restricted_mean_by_hand() -> None:
    # S = 1 on [0, 2), 0.8 on [2, 3), 0.6 on [3, 5), 0.3 on [5, 8]; area to 6 = 4.3.
    rmst = restricted_mean_survival_time([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], tau=6)
    assert isinstance(rmst, RestrictedMean)
    assert rmst.estimate == pytest.approx(4.3)
    assert rmst.tau == 6.0
    assert rmst.conf_level == 0.95
    assert rmst.ci_low == pytest.approx(rmst.estimate - 1.959964 * rmst.std_err, rel=1e-6)
    assert list(rmst.to_frame().columns)[:2] == ["tau", "rmst"]
    assert rmst.summary().startswith("RMST up to 6: 4.3")
    assert rmst._repr_html_().startswith("<p>")


def test_restricted_mean_before_the_first_time_is_tau() -> None:
    rmst = restricted_mean_survival_time([2, 3], [1, 1], tau=1.5)
    assert (rmst.estimate, rmst.std_err) == (1.5, 0.0)


def test_restricted_mean_keeps_the_curve_level_unless_given() -> None:
    curve = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT, conf_level=0.9)
    assert restricted_mean_survival_time(curve, tau=20).conf_level == 0.9
    assert restricted_mean_survival_time(curve, tau=20, conf_level=0.8).conf_level == 0.8


@pytest.mark.parametrize(
    ("tau", "message"),
    [
        (0, "tau must be finite and > 0"),
        (np.nan, "tau must be finite and > 0"),
        (40, "tau must be <= the last follow-up time \\(35\\) while the curve is above 0"),
    ],
)
def test_restricted_mean_horizon_errors(tau: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        restricted_mean_survival_time(SIX_MP_TIME, SIX_MP_EVENT, tau=tau)


def test_restricted_mean_argument_errors() -> None:
    curve = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT)
    with pytest.raises(ValueError, match="event must be omitted when a SurvivalCurve is given"):
        restricted_mean_survival_time(curve, SIX_MP_EVENT, tau=10)
    with pytest.raises(ValueError, match="event must be given with follow-up times"):
        restricted_mean_survival_time(SIX_MP_TIME, tau=10)


# --- log-rank -----------------------------------------------------------------------------


def test_log_rank_result_shape() -> None:
    test = log_rank_test("time", "event", "arm", data=_grouped_frame())
    assert isinstance(test, LogRankTest)
    assert test.groups == ("a", "b")
    assert test.n.tolist() == [5, 5]
    assert test.observed.sum() == pytest.approx(test.expected.sum())
    assert test.variance.shape == (2, 2)
    assert test.df == 1
    assert 0 <= test.pvalue <= 1
    frame = test.to_frame()
    assert list(frame.columns) == [
        "group",
        "n",
        "observed",
        "expected",
        "o_minus_e_sq_over_e",
        "o_minus_e_sq_over_v",
    ]
    assert test.summary().startswith("Log-rank test: chi-square")
    assert "<table" in test._repr_html_()


def test_stratified_log_rank_with_one_stratum_equals_the_plain_test() -> None:
    frame = _grouped_frame().assign(centre="C01")
    plain = log_rank_test("time", "event", "arm", data=frame)
    stratified = log_rank_test("time", "event", "arm", strata="centre", data=frame)
    assert stratified.chisq == pytest.approx(plain.chisq, rel=1e-12)
    assert stratified.strata == ("C01",)
    assert stratified.summary().startswith("Stratified log-rank test")


def test_log_rank_needs_two_groups_and_events() -> None:
    with pytest.raises(ValueError, match="group must have at least two levels"):
        log_rank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(ValueError, match="groups with expected events must number at least two"):
        log_rank_test([1, 2, 3], [0, 0, 0], ["a", "b", "a"])
    with pytest.raises(ValueError, match="one value per patient"):
        log_rank_test([1, 2, 3], [1, 0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="one value per patient"):
        log_rank_test([1, 2, 3], [1, 0, 1], ["a", "b", "a"], strata=["x"])


def test_log_rank_of_identical_groups_is_zero() -> None:
    test = log_rank_test([1, 2, 3, 1, 2, 3], [1, 1, 0, 1, 1, 0], ["a"] * 3 + ["b"] * 3)
    assert test.chisq == pytest.approx(0.0, abs=1e-15)
    assert test.pvalue == pytest.approx(1.0)


def test_curve_types_are_exposed() -> None:
    assert isinstance(kaplan_meier([1], [1]), SurvivalCurve)
