"""Weighted Kaplan-Meier and cumulative incidence against R survfit(weights=) (reference JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.stats._competing import cumulative_incidence
from msreboot.stats._survival import SurvivalCurve, kaplan_meier
from tests.stats.survival_checks import check_incidence_curve, check_survival_curve

HERE = Path(__file__).resolve().parents[1] / "reference" / "survival"
REF = json.loads((HERE / "weighted_survival_reference.json").read_text(encoding="utf-8"))
RTOL = REF["tolerances"]["rtol"]
ATOL = REF["tolerances"]["atol"]


def _vec(values: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    return np.array([np.nan if v is None else float(v) for v in arr], dtype=float)


def _ours(values: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=float)).copy()
    arr[np.isinf(arr)] = np.nan
    return arr


def assert_matches_r(ours: Any, theirs: Any, what: str) -> None:
    np.testing.assert_allclose(
        _ours(ours), _vec(theirs), rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what
    )


def _cases() -> list[Any]:
    out = []
    for entry in REF["kaplan_meier"]:
        case = entry["case"]
        for curve in entry["curves"]:
            name = (
                f"{case['dataset']}-{case['weights']}-robust={case['robust']}-"
                f"{curve.get('label') or 'all'}"
            )
            out.append(pytest.param(entry, curve, id=name))
    return out


def _interval(ours: Any, theirs: Any, survival: Any, conf_type: str, what: str) -> None:
    ref = _vec(theirs)
    if conf_type == "log-log":  # R's NA where S = 1 is [1, 1] here by design
        ref[np.isnan(ref) & (_ours(survival) == 1.0)] = 1.0
    np.testing.assert_allclose(_ours(ours), ref, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


@pytest.mark.parametrize(("entry", "ref"), _cases())
def test_weighted_kaplan_meier_matches_survfit(entry: dict[str, Any], ref: dict[str, Any]) -> None:
    case = entry["case"]
    data = pd.DataFrame(REF["datasets"][case["dataset"]])
    if ref.get("label") is not None:
        data = data[data[case["group"]] == ref["label"]]
    for interval in ref["intervals"]:
        conf_type, level = interval["conf_type"], interval["conf_level"]
        curve = kaplan_meier(
            "time",
            "event",
            data=data,
            weights=case["weights"],
            robust=case["robust"],
            conf_type=conf_type,
            conf_level=level,
        )
        check_survival_curve(curve)
        assert curve.n == ref["n"]
        assert_matches_r(curve.times, ref["time"], "time")
        assert_matches_r(curve.weighted_at_risk, ref["n_risk"], "n.risk (weighted)")
        assert_matches_r(curve.weighted_events, ref["n_event"], "n.event (weighted)")
        assert_matches_r(curve.weighted_censored, ref["n_censor"], "n.censor (weighted)")
        assert_matches_r(curve.survival, ref["surv"], "surv")
        # survfit's std.err is se(log S) with Greenwood but se(S) with the robust variance.
        r_std_err = curve.std_err if curve.variance == "robust" else curve.std_err_log
        assert_matches_r(r_std_err, ref["std_err"], "std.err")
        tag = f"{conf_type} {level}"
        _interval(curve.ci_low, interval["lower"], curve.survival, conf_type, f"lower {tag}")
        _interval(curve.ci_high, interval["upper"], curve.survival, conf_type, f"upper {tag}")
        at = curve.at(entry["landmarks"], extend=True)
        assert_matches_r(at.estimate, ref["landmarks"]["surv"], "landmark surv")
        assert_matches_r(at.std_err, ref["landmarks"]["std_err"], "landmark std.err")
        _interval(at.ci_low, interval["landmark_lower"], at.estimate, conf_type, "lm lower")
        _interval(at.ci_high, interval["landmark_upper"], at.estimate, conf_type, "lm upper")
        assert_matches_r(curve.median().estimate, ref["median"], "median")


def test_default_variance_follows_r() -> None:
    data = pd.DataFrame(REF["datasets"]["small"])
    assert kaplan_meier("time", "event", data=data, weights="w").variance == "robust"
    assert kaplan_meier("time", "event", data=data, weights="int_w").variance == "greenwood"
    assert kaplan_meier("time", "event", data=data).variance == "greenwood"


def _fields(curve: SurvivalCurve) -> list[np.ndarray]:
    return [curve.times, curve.survival, curve.std_err_log, curve.ci_low, curve.ci_high]


def test_unit_weights_give_the_unweighted_curve() -> None:
    data = pd.DataFrame(REF["datasets"]["lung"]).assign(one=1.0)
    plain = kaplan_meier("time", "event", data=data)
    weighted = kaplan_meier("time", "event", data=data, weights="one")
    for a, b in zip(_fields(plain), _fields(weighted), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.n_at_risk, weighted.n_at_risk)
    assert plain.weighted_at_risk is None
    assert "weighted" in weighted.summary()
    assert "weighted_at_risk" in weighted.to_frame().columns
    assert "weighted_at_risk" not in plain.to_frame().columns


def test_integer_weights_with_greenwood_equal_repeated_rows() -> None:
    data = pd.DataFrame(REF["datasets"]["small"])
    repeated = data.loc[data.index.repeat(data["int_w"])]
    weighted = kaplan_meier("time", "event", data=data, weights="int_w")
    copies = kaplan_meier("time", "event", data=repeated)
    for a, b in zip(_fields(weighted), _fields(copies), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(weighted.weighted_at_risk, copies.n_at_risk)  # type: ignore[arg-type]
    assert weighted.n == len(data)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0] * 11 + [0.0], "weights must be finite and > 0; got 0.0 at position 11"),
        ([1.0] * 11 + [-2.0], "weights must be finite and > 0"),
        ([1.0] * 11 + [np.nan], "weights must be finite and > 0"),
        ([1.0] * 11, "one value per patient"),
    ],
)
def test_bad_weights_fail(weights: list[float], message: str) -> None:
    data = pd.DataFrame(REF["datasets"]["small"])
    with pytest.raises(ValueError, match=message):
        kaplan_meier(data["time"], data["event"], weights=weights)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 1000))
def test_robust_curve_does_not_depend_on_the_scale_of_the_weights(scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    time = rng.integers(1, 15, size=n).astype(float)
    event = rng.integers(0, 2, size=n)
    w = rng.uniform(0.2, 3.0, size=n)
    a = kaplan_meier(time, event, weights=w, robust=True)
    b = kaplan_meier(time, event, weights=w * scale, robust=True)
    np.testing.assert_allclose(a.survival, b.survival, rtol=1e-9)
    np.testing.assert_allclose(a.std_err_log, b.std_err_log, rtol=1e-7)
    order = rng.permutation(n)
    c = kaplan_meier(time[order], event[order], weights=w[order], robust=True)
    np.testing.assert_allclose(a.std_err_log, c.std_err_log, rtol=1e-9)


# --- weighted cumulative incidence --------------------------------------------------------


def _incidence_cases() -> list[Any]:
    out = []
    for entry in REF["cumulative_incidence"]:
        case = entry["case"]
        for curve in entry["curves"]:
            name = f"{case['dataset']}-{case['weights']}-{curve.get('label') or 'all'}-cause"
            out.append(pytest.param(entry, curve, id=f"{name}{curve['cause']}"))
    return out


@pytest.mark.parametrize(("entry", "ref"), _incidence_cases())
def test_weighted_incidence_matches_multistate_survfit(
    entry: dict[str, Any], ref: dict[str, Any]
) -> None:
    case = entry["case"]
    data = pd.DataFrame(REF["datasets"][case["dataset"]])
    if ref.get("label") is not None:
        data = data[data[case["group"]] == ref["label"]]
    curve = cumulative_incidence(
        "time", "status", cause=ref["cause"], data=data, weights=case["weights"], robust=True
    )
    check_incidence_curve(curve)
    assert curve.variance_method == "robust"
    assert_matches_r(curve.times, ref["time"], "time")
    assert_matches_r(curve.n_at_risk, ref["n_risk"], "n.risk (patients)")
    assert_matches_r(curve.estimate, ref["est"], "pstate")
    assert_matches_r(curve.std_err, ref["std_err"], "std.err (infinitesimal jackknife)")


def test_incidence_with_unit_or_whole_weights_keeps_the_delta_method() -> None:
    data = pd.DataFrame(REF["datasets"]["crties"])
    plain = cumulative_incidence("time", "status", data=data)
    unit = cumulative_incidence("time", "status", data=data, weights="one")
    assert unit.variance_method == "delta"
    np.testing.assert_array_equal(plain.estimate, unit.estimate)
    np.testing.assert_array_equal(plain.variance, unit.variance)
    data["k"] = np.arange(len(data)) % 3 + 1
    repeated = data.loc[data.index.repeat(data["k"])]
    weighted = cumulative_incidence("time", "status", data=data, weights="k")
    copies = cumulative_incidence("time", "status", data=repeated)
    np.testing.assert_allclose(weighted.estimate, copies.estimate, rtol=1e-12)
    np.testing.assert_allclose(weighted.variance, copies.variance, rtol=1e-10)
    np.testing.assert_allclose(weighted.weighted_at_risk, copies.n_at_risk)  # type: ignore[arg-type]
    assert "weighted_at_risk" in weighted.to_frame().columns
    assert "weighted_at_risk" not in plain.to_frame().columns


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 1000))
def test_robust_incidence_does_not_depend_on_the_scale_of_the_weights(
    scale: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    time = rng.integers(1, 12, size=n).astype(float)
    status = rng.integers(0, 3, size=n)
    status[0] = 1
    w = rng.uniform(0.2, 3.0, size=n)
    a = cumulative_incidence(time, status, weights=w, robust=True)
    b = cumulative_incidence(time, status, weights=w * scale, robust=True)
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-7, atol=1e-12)
    check_incidence_curve(a)
