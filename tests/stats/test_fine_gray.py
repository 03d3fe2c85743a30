"""Fine-Gray model: boundary cases, defined failures, invariances and the result's shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msreboot.stats._cox import cox_regression
from msreboot.stats._fine_gray import FineGrayModel, fine_gray


def _data(n: int = 120, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).round(3)
    arm = rng.choice(["ahsct", "dmt"], size=n)
    t1 = rng.exponential(1 / (0.1 * np.exp(0.4 * x + 0.5 * (arm == "dmt"))))
    t2 = rng.exponential(1 / 0.05, size=n)
    censor = rng.uniform(2, 30, size=n)
    time = np.minimum(np.minimum(t1, t2), censor)
    status = np.where(time == t1, 1, np.where(time == t2, 2, 0))
    return pd.DataFrame({"time": np.ceil(time), "status": status, "x": x, "arm": arm})


def test_without_competing_events_it_is_the_breslow_cox_model() -> None:
    data = _data().assign(status=lambda f: np.where(f["status"] == 2, 0, f["status"]))
    fg = fine_gray(data, "time", "status", ["x", "arm"])
    cox = cox_regression(
        data.assign(event=data["status"]), "time", "event", ["x", "arm"], ties="breslow"
    )
    np.testing.assert_allclose(fg.coef, cox.coef, rtol=1e-9)
    np.testing.assert_allclose(fg.naive_std_err, cox.naive_std_err, rtol=1e-9)
    assert fg.loglik == pytest.approx(cox.loglik, rel=1e-10)
    assert fg.n_competing == 0


def test_result_shape_and_prediction() -> None:
    model = fine_gray(_data(), "time", "status", ["x", "arm"], conf_level=0.9)
    assert isinstance(model, FineGrayModel)
    assert model.terms == ("x", "arm[dmt]")
    assert model.reference_levels == {"arm": "ahsct"}
    assert list(model.to_frame()["term"]) == ["x", "arm[dmt]"]
    assert np.all(model.ci_low < model.hazard_ratio)
    assert np.all(model.hazard_ratio < model.ci_high)
    assert (model.n_events + model.n_competing + model.n_censored) == model.n
    text = model.summary()
    assert text.startswith("Fine-Gray model for cause 1: n = 120")
    assert "90% CI" in text
    assert "<table" in model._repr_html_()
    profiles = pd.DataFrame({"x": [0.0, 1.0], "arm": ["ahsct", "dmt"]})
    pred = model.predict(profiles)
    assert list(pred.columns) == ["profile", "time", "cumulative_incidence"]
    for _, curve in pred.groupby("profile"):
        values = curve["cumulative_incidence"].to_numpy()
        assert np.all(np.diff(values) >= 0)
        assert 0 < values[0] <= values[-1] < 1
    higher = pred[pred["profile"] == 1]["cumulative_incidence"].to_numpy()
    lower = pred[pred["profile"] == 0]["cumulative_incidence"].to_numpy()
    assert np.all((higher > lower) == (model.coef.sum() > 0))


def test_the_other_cause_can_be_modelled() -> None:
    model = fine_gray(_data(), "time", "status", ["x"], cause=2)
    assert model.cause == 2
    assert model.n_events == int((_data()["status"] == 2).sum())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cause": 3}, "cause must be one of the observed causes \\[1, 2\\]; got 3"),
        ({"covariates": ["nope"]}, "unknown \\['nope'\\]"),
        ({"covariates": []}, "covariates must name at least one column"),
        ({"conf_level": 95}, "Did you mean 0.95"),
    ],
)
def test_defined_failures(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"covariates": ["x"], **kwargs}
    with pytest.raises(ValueError, match=message):
        fine_gray(_data(), "time", "status", **args)  # type: ignore[arg-type]


def test_prediction_needs_known_levels_and_columns() -> None:
    model = fine_gray(_data(), "time", "status", ["x", "arm"])
    with pytest.raises(ValueError, match="arm must hold levels seen in the fit; got \\['msc'\\]"):
        model.predict(pd.DataFrame({"x": [0.0], "arm": ["msc"]}))
    with pytest.raises(ValueError, match="frame must hold the model's covariates"):
        model.predict(pd.DataFrame({"x": [0.0]}))


def test_missing_values_fail() -> None:
    data = _data()
    data.loc[5, "x"] = np.nan
    with pytest.raises(ValueError, match="missing values; got 1 row"):
        fine_gray(data, "time", "status", ["x"])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_does_not_change_results(seed: int) -> None:
    data = _data(n=50, seed=seed % 6)
    shuffled = data.sample(frac=1.0, random_state=seed).set_index(pd.Index(np.arange(50) * 5))
    a = fine_gray(data, "time", "status", ["x", "arm"])
    b = fine_gray(shuffled, "time", "status", ["x", "arm"])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-8)
