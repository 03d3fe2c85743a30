"""Negative-binomial relapse rate ratios: R's MASS::glm.nb reference, hand-worked edges."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import special

import msreboot.stats._rate_ratio as rate_ratio_module
from msreboot.datasets import load_example
from msreboot.endpoints import relapse_rates
from msreboot.endpoints._rate_ratio import (
    RateRatio,
    negative_binomial_rate_ratio,
    relapse_rate_ratio,
)
from msreboot.stats._negative_binomial import (
    NegativeBinomialFit,
    alpha_score,
    theta_information,
)

HERE = Path(__file__).resolve().parents[1] / "reference" / "endpoints"
REFERENCE = json.loads((HERE / "nb_rate_ratio_reference.json").read_text())
TOL = REFERENCE["tolerance_rel"]
EXAMPLE = pd.read_csv(HERE / "example_cohort_relapses.csv")
COLUMNS = ("estimate", "std_error", "rate_ratio", "ci_low", "ci_high", "p_value")


def _dataset(name: str) -> pd.DataFrame:
    if name.startswith("example_"):
        return EXAMPLE[EXAMPLE["period"] == name.removeprefix("example_")]
    return pd.DataFrame(REFERENCE["datasets"][name])


def _fit(case: dict[str, Any]) -> RateRatio:
    data = _dataset(case["dataset"])
    with warnings.catch_warnings():
        if "excluded_level" in case:
            warnings.filterwarnings("ignore", "phenotype = PPMS|group = z", RuntimeWarning)
        return negative_binomial_rate_ratio(
            data,
            group_col=case["group_col"],
            reference=case["reference"],
            covariates=case["covariates"],
            conf_level=case["conf_level"],
        )


def _compare(
    fit: RateRatio, r: dict[str, Any], tol: float, *, theta_tol: float | None = None
) -> None:
    """Every coefficient R reports (intercept first) against ours, and loglik and theta."""
    table = fit.table.set_index("term")
    assert r["term"][0] == "(Intercept)"
    assert fit.intercept == pytest.approx(r["estimate"][0], rel=tol)
    assert fit.intercept_std_error == pytest.approx(r["std_error"][0], rel=tol)
    for i, term in enumerate(r["term"][1:], start=1):
        for col in COLUMNS:
            assert table.loc[term, col] == pytest.approx(r[col][i], rel=tol, abs=1e-300), (
                term,
                col,
            )
    assert fit.loglik == pytest.approx(r["loglik"], rel=tol)
    if "theta" in r and fit.model == "negative_binomial":
        assert fit.theta == pytest.approx(r["theta"], rel=tol)
        assert fit.theta_std_error == pytest.approx(r["theta_std_error"], rel=theta_tol or tol)


# --- against R ----------------------------------------------------------------------------


def test_reference_records_versions_and_tolerances() -> None:
    assert REFERENCE["r_version"].startswith("R version 4.")
    assert REFERENCE["mass_version"].startswith("7.3")
    assert TOL == 1e-6
    assert "theta.ml" in REFERENCE["tolerance_glm_nb_theta_std_error_reason"]
    assert "iteration limit" in REFERENCE["tolerance_poisson_vs_glm_nb_reason"]


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["name"])
def test_matches_glm_nb_at_its_maximum(case: dict[str, Any]) -> None:
    fit = _fit(case)
    assert fit.model == "negative_binomial"
    assert fit.n == case["n"]
    assert fit.conf_level == case["conf_level"]
    r = case["glm_nb_converged"]
    assert not r["warnings"]
    _compare(fit, r, TOL)
    # every R term is ours, and ours has nothing else but the level R left out
    ours = set(fit.table["term"])
    assert set(r["term"][1:]) <= ours
    extra = ours - set(r["term"][1:])
    assert extra == ({f"{case['group_col']}[{case['excluded_level']}]"} if extra else set())


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["name"])
def test_matches_glm_nb_with_its_defaults(case: dict[str, Any]) -> None:
    fit = _fit(case)
    r = dict(case["glm_nb"])
    excluded = case.get("excluded_level")
    if excluded is not None:
        # R stops at a large negative coefficient with a huge SE; ours is the limit, -inf
        term = f"{case['group_col']}[{excluded}]"
        i = r["term"].index(term)
        assert r["estimate"][i] < -20
        assert r["std_error"][i] > 1e3
        row = fit.table.set_index("term").loc[term]
        assert row["estimate"] == -np.inf
        assert (row["rate_ratio"], row["ci_low"]) == (0.0, 0.0)
        assert np.isnan([row["std_error"], row["ci_high"], row["p_value"]]).all()
        for key in ("term", *COLUMNS):
            r[key] = [x for j, x in enumerate(r[key]) if j != i]
    _compare(fit, r, TOL, theta_tol=REFERENCE["tolerance_rel_glm_nb_theta_std_error"])


@pytest.mark.parametrize("case", REFERENCE["poisson_cases"], ids=lambda c: c["name"])
def test_no_overdispersion_is_the_poisson_model(case: dict[str, Any]) -> None:
    fit = _fit(case)
    assert case["overdispersion_score"] < 0
    assert fit.model == "poisson"
    assert fit.theta == np.inf
    assert np.isnan(fit.theta_std_error)
    assert any("Poisson model" in note for note in fit.notes)
    assert "Poisson model" in fit.summary()
    _compare(fit, case["glm_poisson"], TOL)
    # glm.nb heads for the same limit and stops at a large theta
    nb = case["glm_nb"]
    assert nb["theta"] > 1e3
    assert "iteration limit reached" in nb["warnings"]
    loose = REFERENCE["tolerance_rel_poisson_vs_glm_nb"]
    table = fit.table.set_index("term")
    for i, term in enumerate(nb["term"][1:], start=1):
        if term in case["glm_poisson"]["term"]:
            for col in COLUMNS:
                assert table.loc[term, col] == pytest.approx(nb[col][i], rel=loose)
    assert fit.loglik == pytest.approx(nb["loglik"], rel=loose)


def test_example_cohort_csv_matches_its_derivation() -> None:
    spec = importlib.util.spec_from_file_location(
        "example_cohort_relapses", HERE / "example_cohort_relapses.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    derived = module.example_cohort_relapses()
    pd.testing.assert_frame_equal(
        derived.reset_index(drop=True), EXAMPLE, check_dtype=False, rtol=1e-15
    )


def _case(name: str, group: str = "cases") -> dict[str, Any]:
    return next(c for c in REFERENCE[group] if c["name"] == name)


@pytest.mark.parametrize(
    ("kwargs", "case"),
    [
        (
            {"by": "phenotype", "anchor": None, "period": "all", "reference": "PPMS"},
            "example_all_phenotype",
        ),
        (
            {"by": "treatment", "anchor": None, "period": "all", "reference": "no_ahsct"},
            "example_all_treatment",
        ),
    ],
    ids=["phenotype-all", "treatment-all"],
)
def test_cohort_convenience_matches_r(kwargs: dict[str, Any], case: str) -> None:
    fit = relapse_rate_ratio(load_example(), **kwargs)
    _compare(fit, _case(case)["glm_nb_converged"], TOL)


def test_cohort_after_ahsct_by_phenotype() -> None:
    cohort = load_example()
    with pytest.raises(ValueError, match=r"reference group must have at least one relapse.*PPMS"):
        relapse_rate_ratio(cohort, by="phenotype", reference="PPMS")  # none after AHSCT
    with pytest.warns(RuntimeWarning, match="phenotype = PPMS has no relapses"):
        fit = relapse_rate_ratio(cohort, by="phenotype")  # the largest group, RRMS
    assert fit.model == "poisson"
    _compare(fit, _case("example_after_phenotype", "poisson_cases")["glm_poisson"], TOL)
    rates = fit.rates.set_index("group")
    assert rates.loc["PPMS", "relapses"] == 0
    assert bool(rates.loc["RRMS", "reference"])


# --- hand-worked --------------------------------------------------------------------------


def test_equal_follow_up_gives_the_ratio_of_group_means() -> None:
    # with equal years the NB2 maximum-likelihood mean of each group is its sample mean
    data = pd.DataFrame(
        {
            "group": ["a"] * 4 + ["b"] * 5,
            "relapses": [0, 1, 5, 2, 0, 0, 1, 3, 6],
            "years": 2.0,
        }
    )
    fit = negative_binomial_rate_ratio(data)
    assert fit.model == "negative_binomial"
    assert fit.table.loc[0, "rate_ratio"] == pytest.approx((10 / 5) / (8 / 4), rel=1e-10)
    assert fit.intercept == pytest.approx(np.log(8 / 4 / 2.0), rel=1e-10)
    # theta solves R's theta.ml score equation (digamma form) at the fitted means
    mu = np.where(data["group"] == "a", 2.0, 2.0)
    y = data["relapses"].to_numpy(float)
    th = fit.theta
    score = np.sum(
        special.digamma(th + y)
        - special.digamma(th)
        + np.log(th)
        + 1
        - np.log(th + mu)
        - (y + th) / (mu + th)
    )
    assert abs(score) < 1e-9
    info = np.sum(
        -special.polygamma(1, th + y)
        + special.polygamma(1, th)
        - 1 / th
        + 2 / (mu + th)
        - (y + th) / (mu + th) ** 2
    )
    assert fit.theta_std_error == pytest.approx(1 / np.sqrt(info), rel=1e-10)


def test_poisson_fallback_by_hand() -> None:
    # each group's counts are exactly rate x years: sum((y - mu)^2 - y) = -8 < 0
    data = pd.DataFrame(
        {
            "group": ["a", "a", "a", "b", "b"],
            "relapses": [1, 2, 3, 1, 1],
            "years": [1.0, 2.0, 3.0, 2.0, 2.0],
        }
    )
    fit = negative_binomial_rate_ratio(data)
    assert fit.model == "poisson"
    row = fit.table.iloc[0]
    assert row["rate_ratio"] == pytest.approx(0.5, rel=1e-12)
    assert row["std_error"] == pytest.approx(np.sqrt(1 / 6 + 1 / 2), rel=1e-10)
    y = data["relapses"].to_numpy(float)
    loglik = np.sum(y * np.log(y) - y - special.gammaln(y + 1))  # mu == y
    assert fit.loglik == pytest.approx(loglik, rel=1e-12)


def test_level_without_relapses_is_rate_ratio_zero_and_the_rest_its_limit() -> None:
    data = pd.DataFrame(REFERENCE["datasets"]["simulated"])
    zero = pd.DataFrame({"group": "z", "relapses": 0, "years": [1.0, 2.0, 3.5]})
    with pytest.warns(RuntimeWarning, match=r"group = z has no relapses.*3 patient"):
        fit = negative_binomial_rate_ratio(pd.concat([data, zero]), reference="a")
    without = negative_binomial_rate_ratio(data, reference="a")
    row = fit.table.set_index("term").loc["group[z]"]
    assert (row["rate_ratio"], row["ci_low"], row["estimate"]) == (0.0, 0.0, -np.inf)
    assert np.isnan([row["std_error"], row["ci_high"], row["p_value"]]).all()
    pd.testing.assert_frame_equal(fit.table.iloc[:2], without.table, rtol=1e-12)
    assert fit.theta == pytest.approx(without.theta, rel=1e-12)
    assert fit.loglik == pytest.approx(without.loglik, rel=1e-12)  # their likelihood is 1
    assert fit.n == without.n + 3
    assert "not estimable" in fit.summary()
    assert any("group = z" in note for note in fit.notes)


def test_categorical_covariate_level_without_relapses() -> None:
    data = pd.DataFrame(REFERENCE["datasets"]["covariate"])
    data.loc[data["age"] > 50, "sex"] = "X"
    data.loc[data["sex"] == "X", "relapses"] = 0
    with pytest.warns(RuntimeWarning, match="sex = X has no relapses"):
        fit = negative_binomial_rate_ratio(data, covariates=["age", "sex"])
    assert fit.table.set_index("term").loc["sex[X]", "rate_ratio"] == 0.0


def test_row_order_and_index_do_not_matter() -> None:
    data = pd.DataFrame(REFERENCE["datasets"]["covariate"])
    shuffled = data.sample(frac=1.0, random_state=np.random.default_rng(7).integers(1 << 31))
    shuffled.index = np.arange(len(data))[::-1] * 3
    a = negative_binomial_rate_ratio(data, covariates=["age", "sex"])
    b = negative_binomial_rate_ratio(shuffled, covariates=["age", "sex"])
    pd.testing.assert_frame_equal(a.table, b.table, rtol=1e-9)
    assert a.theta == pytest.approx(b.theta, rel=1e-9)


def test_reference_follows_categorical_order() -> None:
    data = pd.DataFrame(REFERENCE["datasets"]["hand"])
    data["group"] = pd.Categorical(data["group"], categories=["dmt", "ahsct"])
    fit = negative_binomial_rate_ratio(data)
    assert fit.reference == "dmt"
    assert fit.table["term"].tolist() == ["group[ahsct]"]
    _compare(fit, _case("hand")["glm_nb_converged"], TOL)


def test_stable_scores_agree_with_the_digamma_forms() -> None:
    rng = np.random.default_rng(11)
    y = rng.poisson(2.0, 50).astype(float)
    mu = rng.uniform(0.5, 4.0, 50)
    for theta in (0.3, 2.0, 40.0):
        alpha = 1 / theta
        digamma_form = np.sum(
            special.digamma(theta + y)
            - special.digamma(theta)
            + np.log(theta)
            + 1
            - np.log(theta + mu)
            - (y + theta) / (mu + theta)
        )
        assert alpha_score(y, mu, alpha) == pytest.approx(-(theta**2) * digamma_form, rel=1e-9)
        info = np.sum(
            special.polygamma(1, theta)
            - special.polygamma(1, theta + y)
            - 1 / theta
            + 2 / (mu + theta)
            - (y + theta) / (mu + theta) ** 2
        )
        assert theta_information(y, mu, theta) == pytest.approx(info, rel=1e-9)
    # at alpha -> 0 the score tends to sum((y - mu)^2 - y) / 2
    limit = np.sum((y - mu) ** 2 - y) / 2
    assert alpha_score(y, mu, 1e-12) == pytest.approx(limit, rel=1e-9)


# --- errors and warnings -----------------------------------------------------------------


def _hand() -> pd.DataFrame:
    return pd.DataFrame(REFERENCE["datasets"]["hand"])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.assign(group="a"), r"group must have at least two levels.*got only 'a'"),
        (
            lambda d: d.assign(years=d["years"].where(d.index != 4, 0.0)),
            r"years must be > 0.*got 0 at row 4 \(patient_id H05\)",
        ),
        (
            lambda d: d.assign(years=d["years"].where(d.index < 10, -1.0)),
            r"years must be > 0.*got -1 at row 10 \(patient_id H11\), row 11 \(patient_id H12\)",
        ),
        (
            lambda d: d.assign(relapses=d["relapses"].where(d.index != 2, np.nan)),
            r"no missing values; got 1 row\(s\) missing \['relapses'\]: row 2 \(patient_id H03\)",
        ),
        (
            lambda d: d.assign(group=d["group"].where(d.index != 7, None)),
            r"missing \['group'\]: row 7 \(patient_id H08\)",
        ),
        (
            lambda d: d.assign(relapses=d["relapses"] + 0.5),
            r"relapses must be whole numbers >= 0; got 0.5 at row 0",
        ),
        (
            lambda d: d.assign(relapses=d["relapses"] - 1),
            r"relapses must be whole numbers >= 0; got -1 at row 0",
        ),
        (lambda d: d.drop(columns="years"), r"columns must exist in data; got unknown \['years'\]"),
        (lambda d: d.iloc[:0], "at least one row"),
    ],
    ids=[
        "single-group",
        "zero-years",
        "negative-years",
        "missing-count",
        "missing-group",
        "fractional-count",
        "negative-count",
        "unknown-column",
        "empty",
    ],
)
def test_input_errors(change: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        negative_binomial_rate_ratio(change(_hand()))


def test_years_error_without_patient_id_names_the_row() -> None:
    data = _hand().drop(columns="patient_id")
    data.loc[3, "years"] = 0.0
    with pytest.raises(ValueError, match=r"got 0 at row 3\. Drop patients"):
        negative_binomial_rate_ratio(data)


def test_argument_errors() -> None:
    data = _hand()
    with pytest.raises(ValueError, match=r"reference must be one of the levels.*got 'msc'"):
        negative_binomial_rate_ratio(data, reference="msc")
    with pytest.raises(ValueError, match=r"Did you mean 0\.95"):
        negative_binomial_rate_ratio(data, conf_level=95)
    with pytest.raises(ValueError, match="distinct"):
        negative_binomial_rate_ratio(data, covariates=["group"])
    with pytest.raises(ValueError, match="collinear"):
        negative_binomial_rate_ratio(data.assign(x=1.0), covariates=["x"])
    with pytest.raises(ValueError, match=r"must be numeric, bool or categorical.*Convert dates"):
        negative_binomial_rate_ratio(
            data.assign(when=pd.Timestamp("2020-01-01")), covariates=["when"]
        )
    with pytest.raises(
        ValueError,
        match=r"reference group must have at least one relapse.*"
        r"'ahsct' \(6 patients\).*reference='dmt'",
    ):
        negative_binomial_rate_ratio(data.assign(relapses=np.where(data.index < 6, 0, 2)))
    with pytest.raises(TypeError, match="DataFrame"):
        negative_binomial_rate_ratio(data.to_dict())  # type: ignore[arg-type]


def test_non_convergence_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = rate_ratio_module.fit_negative_binomial

    def unconverged(*args: Any) -> tuple[NegativeBinomialFit, bool]:
        return real(*args)[0], False

    monkeypatch.setattr(rate_ratio_module, "fit_negative_binomial", unconverged)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        negative_binomial_rate_ratio(_hand())


def test_cohort_convenience_errors() -> None:
    cohort = load_example()
    with pytest.raises(ValueError, match=r"anchor must not be 'ahsct' when by='treatment'"):
        relapse_rate_ratio(cohort, by="treatment")
    with pytest.raises(
        ValueError,
        match=r"period must be 'all' when anchor is None.*"
        r"Pass period='all'",
    ):
        relapse_rate_ratio(cohort, by="sex", anchor=None)
    with pytest.raises(ValueError, match="Pass period='after' or 'before'"):
        relapse_rate_ratio(cohort, by="sex", period="all")
    with pytest.raises(ValueError, match=r"period must be 'before', 'after' or 'all'"):
        relapse_rate_ratio(cohort, by="sex", period="during")  # type: ignore[arg-type]
    for by in ("eye_colour", "patient_id"):
        with pytest.raises(ValueError, match=r"by must be 'treatment' or a column.*phenotype"):
            relapse_rate_ratio(cohort, by=by)


def test_cohort_by_sex_before_and_after() -> None:
    cohort = load_example()
    before = relapse_rate_ratio(cohort, by="sex", period="before")
    after = relapse_rate_ratio(cohort, by="sex")
    sexes = cohort.patients.set_index("patient_id")["sex"]
    per_patient = relapse_rates(cohort).per_patient
    for fit, period in ((before, "before"), (after, "after")):
        rows = per_patient[per_patient["period"] == period]
        sex = sexes.reindex(rows["patient_id"]).to_numpy()
        for group in ("F", "M"):
            inside = sex == group
            row = fit.rates.set_index("group").loc[group]
            assert row["relapses"] == rows["relapses"][inside].sum()
            assert row["person_years"] == pytest.approx(rows["years"][inside].sum())
            # the pooled rate, not the mean of individual rates
            assert row["arr"] == pytest.approx(row["relapses"] / row["person_years"])
        assert fit.n == len(rows)


# --- the result -------------------------------------------------------------------------


def test_result_shape_and_rendering() -> None:
    fit = negative_binomial_rate_ratio(_hand(), reference="dmt")
    assert list(fit.table.columns) == [
        "term",
        "rate_ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "estimate",
        "std_error",
    ]
    frame = fit.to_frame()
    assert frame["model"].tolist() == ["negative_binomial"]
    assert frame["conf_level"].tolist() == [0.95]
    assert list(fit.rates.columns) == [
        "group",
        "patients",
        "relapses",
        "person_years",
        "arr",
        "ci_low",
        "ci_high",
        "reference",
    ]
    assert fit.rates["reference"].tolist() == [False, True]
    text = fit.summary()
    assert "theta 2.116" in text
    assert "group[ahsct]: RR 0.215" in text
    page = fit._repr_html_()
    assert page.count("<table") == 2
    assert "theta 2.116" in page
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.theta = 1.0  # type: ignore[misc]
    # the exact interval of each observed rate
    assert fit.rates.loc[0, "ci_low"] < fit.rates.loc[0, "arr"] < fit.rates.loc[0, "ci_high"]
