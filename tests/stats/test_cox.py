"""Cox regression: coding of covariates, defined failures and the result's shape."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from msreboot.stats._cox import CoxModel, cox_regression

MAINTAINED_WEEKS = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
MAINTAINED_RELAPSE = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
NOT_MAINTAINED_WEEKS = [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
NOT_MAINTAINED_RELAPSE = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]
# Made-up ages, to have a continuous covariate.
AGES = [42, 55, 61, 38, 47, 52, 66, 59, 44, 50, 36, 63, 58, 49, 71, 40, 57, 45, 62, 53, 68, 39, 48]


def _aml() -> pd.DataFrame:
    """R's survival::aml: weeks to relapse, maintenance chemotherapy or not."""
    return pd.DataFrame(
        {
            "weeks": [*MAINTAINED_WEEKS, *NOT_MAINTAINED_WEEKS],
            "relapse": [*MAINTAINED_RELAPSE, *NOT_MAINTAINED_RELAPSE],
            "arm": ["maintained"] * 11 + ["not maintained"] * 12,
            "age": AGES,
        }
    )


def test_reference_level_sorted_first_by_default_and_chosen_on_request() -> None:
    default = cox_regression(_aml(), "weeks", "relapse", ["arm"])
    assert default.terms == ("arm[not maintained]",)
    assert default.reference_levels == {"arm": "maintained"}
    flipped = cox_regression(
        _aml(), "weeks", "relapse", ["arm"], reference={"arm": "not maintained"}
    )
    assert flipped.terms == ("arm[maintained]",)
    assert flipped.coef[0] == pytest.approx(-default.coef[0], rel=1e-9)
    assert flipped.std_err[0] == pytest.approx(default.std_err[0], rel=1e-9)


def test_categorical_keeps_its_category_order() -> None:
    frame = _aml()
    frame["arm"] = pd.Categorical(frame["arm"], categories=["not maintained", "maintained"])
    model = cox_regression(frame, "weeks", "relapse", ["arm"])
    assert model.terms == ("arm[maintained]",)


def test_bool_covariate_is_zero_one() -> None:
    frame = _aml()
    frame["maintained"] = frame["arm"] == "maintained"
    as_bool = cox_regression(frame, "weeks", "relapse", ["maintained"])
    as_int = cox_regression(
        frame.assign(maintained=frame["maintained"].astype(int)), "weeks", "relapse", ["maintained"]
    )
    assert as_bool.terms == ("maintained",)
    np.testing.assert_allclose(as_bool.coef, as_int.coef, rtol=1e-12)


def test_a_single_covariate_name_is_accepted() -> None:
    model = cox_regression(_aml(), "weeks", "relapse", "age")
    assert model.terms == ("age",)


def test_breslow_differs_from_efron_with_ties() -> None:
    efron = cox_regression(_aml(), "weeks", "relapse", ["arm", "age"])
    breslow = cox_regression(_aml(), "weeks", "relapse", ["arm", "age"], ties="breslow")
    assert efron.ties == "efron"
    assert not np.allclose(efron.coef, breslow.coef)


def test_index_is_ignored() -> None:
    frame = _aml()
    shuffled = frame.set_index(pd.Index(np.arange(len(frame))[::-1] * 7))
    a = cox_regression(frame, "weeks", "relapse", ["arm", "age"])
    b = cox_regression(shuffled, "weeks", "relapse", ["arm", "age"])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)


def test_result_shape() -> None:
    model = cox_regression(_aml(), "weeks", "relapse", ["arm", "age"], conf_level=0.9)
    assert isinstance(model, CoxModel)
    frame = model.to_frame()
    assert frame["term"].tolist() == ["arm[not maintained]", "age"]
    assert list(frame.columns) == [
        "term",
        "coef",
        "std_err",
        "z",
        "pvalue",
        "hazard_ratio",
        "ci_low",
        "ci_high",
        "conf_level",
    ]
    assert np.all(model.ci_low < model.hazard_ratio)
    assert np.all(model.hazard_ratio < model.ci_high)
    assert model.covariance.shape == (2, 2)
    assert model.lr_df == 2
    assert 0.5 < model.concordance < 1
    text = model.summary()
    assert text.startswith("Cox model (efron ties): n = 23, 18 events")
    assert "90% CI" in text
    assert "reference levels: arm = maintained" in text
    assert "<table" in model._repr_html_()


def test_monotone_likelihood_warns() -> None:
    frame = pd.DataFrame(
        {
            "time": [6, 6, 7, 10, 13, 1, 1, 2, 3, 4],
            "event": [1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
            "arm": ["a"] * 5 + ["b"] * 5,
        }
    )
    with pytest.warns(RuntimeWarning, match=r"\['arm\[b\]'\] may be infinite"):
        model = cox_regression(frame, "time", "event", ["arm"])
    assert model.coef[0] > 10
    assert np.isinf(model.ci_high[0]) or model.ci_high[0] > 1e10


def test_well_posed_model_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cox_regression(_aml(), "weeks", "relapse", ["arm", "age"])


@pytest.mark.parametrize(
    ("change", "covariates", "kwargs", "message"),
    [
        ({}, ["nope"], {}, "columns must exist in frame; got unknown \\['nope'\\]"),
        ({"age": [np.nan] + [50] * 22}, ["age"], {}, "missing values; got 1 row.*dropna"),
        ({"relapse": [0] * 23}, ["age"], {}, "relapse must hold at least one event"),
        ({"const": [1.0] * 23}, ["const"], {}, "covariates must vary; got constant"),
        ({"age2": "age"}, ["age", "age2"], {}, "covariates must not be collinear"),
        ({}, [], {}, "covariates must name at least one column"),
        ({}, ["arm"], {"ties": "exact"}, "ties must be 'efron' or 'breslow'"),
        ({}, ["arm"], {"conf_level": 95}, "Did you mean 0.95"),
        ({}, ["arm"], {"reference": {"arm": "x"}}, "reference level of 'arm' must be one of"),
        ({}, ["age"], {"reference": {"age": 40}}, "reference must name categorical covariates"),
        ({"when": "dates"}, ["when"], {}, "covariate 'when' must be numeric, bool or categorical"),
    ],
)
def test_defined_failures(
    change: dict[str, object], covariates: list[str], kwargs: dict[str, object], message: str
) -> None:
    frame = _aml()
    for col, values in change.items():
        if values == "age":
            frame[col] = frame["age"] * 2.0
        elif values == "dates":
            frame[col] = pd.Timestamp("2020-01-01")
        else:
            frame[col] = values
    with pytest.raises(ValueError, match=message):
        cox_regression(frame, "weeks", "relapse", covariates, **kwargs)  # type: ignore[arg-type]
