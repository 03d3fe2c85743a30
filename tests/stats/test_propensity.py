"""Propensity methods: hand-worked cases, boundary cases and defined edge behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.stats import (
    BalanceRule,
    BalanceWarning,
    MatchingWarning,
    SeparationWarning,
    balance_table,
    effective_sample_size,
    love_plot,
    match_nearest,
    overlap_plot,
    propensity_overlap,
    propensity_score,
    propensity_weights,
)


def _cohort(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "edss": rng.integers(0, 14, n) / 2,
            "female": rng.integers(0, 2, n),
            "centre": rng.choice(["north", "south", "west"], n),
        }
    )
    lp = -0.8 + 0.05 * (frame["age"] - 40) + 0.3 * (frame["edss"] - 3)
    frame["treated"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    frame.index = rng.permutation(n) + 1000  # an index that must be ignored
    return frame


COVS = ["age", "edss", "female", "centre"]


# ------------------------------------------------------------------ propensity model


def test_propensity_score_dummy_codes_categories_and_reports() -> None:
    ps = propensity_score(_cohort(), "treated", COVS)
    assert ps.terms == (
        "(Intercept)",
        "age",
        "edss",
        "female",
        "centre[south]",
        "centre[west]",
    )
    assert ps.reference_levels == {"centre": "north"}
    assert ps.converged
    assert not ps.separation
    np.testing.assert_allclose(ps.logit, np.log(ps.scores / (1 - ps.scores)), atol=1e-10)
    assert list(ps.to_frame().columns) == ["row", "treated", "score", "logit"]
    assert "Propensity score" in ps.summary()
    assert ps.coefficients()["odds_ratio"].iloc[1] == pytest.approx(np.exp(ps.coef[1]))
    with pytest.raises(ValueError, match="read-only"):
        ps.scores[0] = 0.5


def test_units_of_a_covariate_do_not_change_scores_or_convergence() -> None:
    frame = _cohort()
    a = propensity_score(frame, "treated", COVS)
    frame["age"] = frame["age"] * 1e-6  # age in mega-years: a coefficient near 1e5
    b = propensity_score(frame, "treated", COVS)
    assert b.converged
    assert not b.separation
    np.testing.assert_allclose(b.scores, a.scores, rtol=1e-10)
    assert b.coef[1] == pytest.approx(a.coef[1] * 1e6, rel=1e-8)
    assert b.std_err[1] == pytest.approx(a.std_err[1] * 1e6, rel=1e-8)


def test_propensity_score_reference_level() -> None:
    ps = propensity_score(_cohort(), "treated", COVS, reference={"centre": "west"})
    assert "centre[north]" in ps.terms
    assert "centre[west]" not in ps.terms


def test_bool_treatment_is_accepted() -> None:
    frame = _cohort()
    a = propensity_score(frame, "treated", COVS)
    frame["treated"] = frame["treated"].astype(bool)
    b = propensity_score(frame, "treated", COVS)
    np.testing.assert_array_equal(a.scores, b.scores)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treated": 1}, "no control patient"),
        ({"treated": 0}, "no treated patient"),
        ({"treated": 2}, "0/1 or bool"),
        ({"age": np.nan}, "missing values"),
        ({"female": 1}, "constant"),
    ],
    ids=["all-treated", "no-treated", "not-binary", "missing-covariate", "constant"],
)
def test_propensity_score_rejects_bad_input(change: dict[str, float], message: str) -> None:
    frame = _cohort()
    for col, value in change.items():
        frame[col] = value
    with pytest.raises(ValueError, match=message):
        propensity_score(frame, "treated", COVS)


def test_collinear_and_unknown_covariates_are_errors() -> None:
    frame = _cohort()
    frame["age2"] = 2 * frame["age"] + 1
    with pytest.raises(ValueError, match="collinear"):
        propensity_score(frame, "treated", ["age", "age2"])
    with pytest.raises(ValueError, match="must name columns"):
        propensity_score(frame, "treated", ["weight"])
    with pytest.raises(ValueError, match="treatment column"):
        propensity_score(frame, "treated", ["age", "treated"])
    with pytest.raises(TypeError, match="list of column names"):
        propensity_score(frame, "treated", "age")


def test_perfectly_separating_covariate_is_an_error() -> None:
    frame = _cohort()
    frame["dose"] = frame["treated"] * 10.0 + np.arange(len(frame)) / 1000
    with pytest.raises(ValueError, match="complete separation by dose"):
        propensity_score(frame, "treated", ["age", "dose"])


def test_level_in_one_group_only_warns_of_separation() -> None:
    frame = _cohort()
    frame.loc[frame["treated"].to_numpy() == 0, "centre"] = "north"
    first = frame.index[:5]
    frame.loc[first, "centre"] = "only_treated"
    frame.loc[first, "treated"] = 1
    with pytest.warns(SeparationWarning, match=r"centre\[only_treated\]"):
        ps = propensity_score(frame, "treated", ["age", "centre"])
    assert ps.separation
    assert "centre[only_treated]" in ps.separating_terms
    assert "WARNING: separation" in ps.summary()


# ------------------------------------------------------------------ matching


def _frame(t: list[int], d: list[float], **extra: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"t": t, "d": d, **extra})


def test_hand_worked_greedy_order_largest_first() -> None:
    # treated at 0.9 and 0.6; controls at 0.7 and 0.4. Largest first: 0.9 takes 0.7, then
    # 0.6 takes 0.4 (0.7 is gone) although 0.7 is nearer to it.
    frame = _frame([1, 1, 0, 0], [0.9, 0.6, 0.7, 0.4])
    m = match_nearest(frame, "t", "d")
    assert m.match_matrix.tolist() == [[2], [3]]
    m = match_nearest(frame, "t", "d", m_order="smallest")
    assert m.match_matrix.tolist() == [[3], [2]]  # 0.6 first takes 0.7; 0.9 gets 0.4


def test_equidistant_neighbours_take_the_lower_one() -> None:
    frame = _frame([0, 1, 0], [0.25, 0.5, 0.75])
    assert match_nearest(frame, "t", "d").match_matrix.tolist() == [[0]]
    # tied distances keep row order: the lower one nearest in that order (row 1) wins
    frame = _frame([0, 0, 1, 0], [0.25, 0.25, 0.5, 0.75])
    assert match_nearest(frame, "t", "d").match_matrix.tolist() == [[1]]


def test_caliper_leaves_far_treated_unmatched() -> None:
    frame = _frame([1, 1, 0, 0, 0], [0.1, 0.9, 0.12, 0.5, 0.55])
    m = match_nearest(frame, "t", "d", caliper=0.05, std_caliper=False)
    assert m.match_matrix.tolist() == [[2], [-1]]
    assert m.unmatched.tolist() == [1, 3, 4]
    assert m.weights.tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert m.subclass.tolist() == [1, -1, 1, -1, -1]
    assert "unmatched" in m.summary()
    sd = float(np.std(frame["d"], ddof=1))
    assert match_nearest(frame, "t", "d", caliper=0.1).caliper == pytest.approx(0.1 * sd)


def test_no_control_within_caliper_is_an_error() -> None:
    frame = _frame([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])
    with pytest.raises(ValueError, match="no control within the caliper"):
        match_nearest(frame, "t", "d", caliper=0.1, std_caliper=False)


def test_all_treated_cannot_be_matched() -> None:
    with pytest.raises(ValueError, match="no control patient"):
        match_nearest(_frame([1, 1], [0.1, 0.2]), "t", "d")


def test_ratio_two_weights_and_rounds() -> None:
    # rounds: both treated take their first control before either takes a second
    frame = _frame([1, 1, 0, 0, 0, 0], [0.5, 0.52, 0.51, 0.49, 0.6, 0.3])
    m = match_nearest(frame, "t", "d", ratio=2)
    # largest first: 0.52 takes 0.51; 0.5 takes 0.49; then 0.52 takes 0.6, 0.5 takes 0.3
    assert m.match_matrix.tolist() == [[3, 5], [2, 4]]
    assert m.weights.tolist() == [1.0] * 6


def test_replacement_weights_follow_matchit() -> None:
    # both treated want control 2; with replacement it is used twice
    frame = _frame([1, 1, 0, 0], [0.5, 0.52, 0.51, 0.9])
    m = match_nearest(frame, "t", "d", replace=True)
    assert m.match_matrix.tolist() == [[2], [2]]
    assert m.m_order == "data"
    # control weight: 1 + 1 = 2, rescaled by (1 matched control) / 2 -> 1
    assert m.weights.tolist() == [1.0, 1.0, 1.0, 0.0]
    assert m.subclass.tolist() == [-1, -1, -1, -1]
    m = match_nearest(frame, "t", "d", replace=True, ratio=2)
    # each treated: 2 controls with weight 1/2 -> control 2: 1, control 3: 1; rescaled by 2/2
    assert m.weights.tolist() == [1.0, 1.0, 1.0, 1.0]
    pairs = m.pairs()
    assert list(pairs.columns) == ["treated_row", "control_row", "match", "distance_diff"]
    assert len(pairs) == 4


def test_exact_matching_stays_within_strata_and_warns() -> None:
    frame = _frame([1, 1, 0, 0, 0], [0.5, 0.5, 0.49, 0.1, 0.9], sex=["f", "m", "m", "f", "f"])
    m = match_nearest(frame, "t", "d", exact=["sex"])
    # the f patient skips the nearer m control; its f controls are equally far: the lower wins
    assert m.match_matrix.tolist() == [[3], [2]]
    frame = _frame([1, 1, 0], [0.5, 0.6, 0.4], sex=["f", "m", "m"])
    with pytest.warns(MatchingWarning, match="exact strata"):
        m = match_nearest(frame, "t", "d", exact=["sex"])
    assert m.match_matrix.tolist() == [[-1], [2]]


def test_fewer_controls_warns() -> None:
    frame = _frame([1, 1, 0], [0.5, 0.6, 0.4])
    with pytest.warns(MatchingWarning, match="fewer controls than treated"):
        m = match_nearest(frame, "t", "d")
    assert m.n_matched_treated == 1
    frame = _frame([1, 1, 0, 0, 0], [0.5, 0.6, 0.4, 0.3, 0.2])
    with pytest.warns(MatchingWarning, match="2 matches"):
        match_nearest(frame, "t", "d", ratio=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": 0}, "ratio must be"),
        ({"ratio": 1.5}, "ratio must be"),
        ({"caliper": 0.0}, "caliper must be"),
        ({"m_order": "closest"}, "m_order must be"),
        ({"exact": ["nope"]}, "exact must name"),
    ],
    ids=["ratio-0", "ratio-float", "caliper-0", "m-order", "exact-column"],
)
def test_match_nearest_rejects_bad_options(kwargs: dict[str, object], message: str) -> None:
    frame = _frame([1, 0, 0], [0.5, 0.4, 0.6])
    with pytest.raises(ValueError, match=message):
        match_nearest(frame, "t", "d", **kwargs)  # type: ignore[arg-type]


def test_score_must_align_and_be_finite() -> None:
    frame = _frame([1, 0, 0], [0.5, 0.4, 0.6])
    with pytest.raises(ValueError, match="one value per row"):
        match_nearest(frame, "t", [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        match_nearest(frame, "t", [0.1, np.inf, 0.2])


def test_random_order_is_reproducible_with_rng() -> None:
    frame = _cohort()
    ps = propensity_score(frame, "treated", COVS)
    a = match_nearest(frame, "treated", ps, m_order="random", rng=np.random.default_rng(5))
    b = match_nearest(frame, "treated", ps, m_order="random", rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.match_matrix, b.match_matrix)


def test_matching_on_fitted_model_uses_logit() -> None:
    frame = _cohort()
    ps = propensity_score(frame, "treated", COVS)
    a = match_nearest(frame, "treated", ps, caliper=0.2)
    b = match_nearest(frame, "treated", np.asarray(ps.logit), caliper=0.2)
    np.testing.assert_array_equal(a.match_matrix, b.match_matrix)
    np.testing.assert_array_equal(a.distance, ps.logit)


# ------------------------------------------------------------------ weights


def test_weights_by_hand() -> None:
    e, t = [0.5, 0.25, 0.5, 0.75], [1, 1, 0, 0]
    assert propensity_weights(e, t).weights.tolist() == [2.0, 4.0, 2.0, 4.0]
    assert propensity_weights(e, t, stabilize=True).weights.tolist() == [1.0, 2.0, 1.0, 2.0]
    assert propensity_weights(e, t, estimand="att").weights.tolist() == [1.0, 1.0, 1.0, 3.0]
    w = propensity_weights(e, t, estimand="overlap").weights
    assert w.tolist() == [0.5, 0.75, 0.5, 0.75]
    trimmed = propensity_weights(e, t, ps_bounds=(0.3, 0.7))
    assert trimmed.weights.tolist() == [2.0, 0.0, 2.0, 0.0]
    assert trimmed.trimmed.tolist() == [False, True, False, True]
    capped = propensity_weights(e, t, trim_quantile=0.5)
    assert capped.weights.tolist() == [2.0, 3.0, 2.0, 3.0]  # median of (2, 4, 2, 4) is 3
    assert capped.truncated.tolist() == [False, True, False, True]
    assert "IPTW (ATE)" in capped.summary()
    assert list(capped.to_frame().columns)[:4] == ["row", "treated", "score", "weight"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimand": "atc"}, "estimand must be"),
        ({"estimand": "att", "stabilize": True}, "stabilize must be False"),
        ({"ps_bounds": (0.9, 0.1)}, "ps_bounds must satisfy"),
        ({"ps_bounds": (0.6, 0.7)}, "keep patients of both groups"),
        ({"trim_quantile": 1.0}, "trim_quantile must be"),
    ],
    ids=["estimand", "stabilize-att", "bounds-order", "bounds-empty", "quantile"],
)
def test_weights_reject_bad_options(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        propensity_weights([0.5, 0.25, 0.5, 0.75], [1, 1, 0, 0], **kwargs)  # type: ignore[arg-type]


def test_scores_of_zero_or_one_need_trimming() -> None:
    with pytest.raises(ValueError, match=r"must be in \(0, 1\)"):
        propensity_weights([1.0, 0.5, 0.5], [1, 1, 0])
    w = propensity_weights([1.0, 0.5, 0.5], [1, 1, 0], ps_bounds=(0.01, 0.99))
    assert w.weights.tolist() == [0.0, 2.0, 2.0]


def test_effective_sample_size() -> None:
    assert effective_sample_size([2.0, 2.0, 2.0]) == pytest.approx(3.0)
    assert effective_sample_size([0.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="weights must be"):
        effective_sample_size([-1.0])


# ------------------------------------------------------------------ balance and overlap


def test_binary_and_continuous_smd_by_hand() -> None:
    frame = pd.DataFrame({"t": [1, 1, 0, 0], "x": [1, 1, 1, 0], "age": [30.0, 40, 30, 50]})
    b = balance_table(frame, "t", ["x", "age"], estimand="att")
    # x: p1 = 1, p0 = 0.5; treated SD of a binary term is sqrt(p1 (1 - p1)) = 0 -> inf
    assert b.binary.tolist() == [True, False]
    assert np.isinf(b.smd_before[0])
    # age: treated SD sqrt(50), difference -5
    assert b.smd_before[1] == pytest.approx(-5 / np.sqrt(50))
    b = balance_table(frame, "t", ["x", "age"])  # pooled: sqrt((0 + 0.25) / 2)
    assert b.smd_before[0] == pytest.approx(0.5 / np.sqrt(0.125))
    assert np.isnan(b.var_ratio_before[0])
    assert b.var_ratio_before[1] == pytest.approx(50 / 200)
    assert not b.adjusted
    assert b.failing == ()


def test_balance_warns_listing_failing_covariates() -> None:
    frame = _cohort()
    with pytest.warns(BalanceWarning, match=r"age \("):
        b = balance_table(frame, "treated", COVS, np.ones(len(frame)))
    assert "age" in b.failing
    assert "NOT BALANCED" in b.summary()
    assert list(b.to_frame().columns)[:3] == ["term", "type", "mean_treated_before"]
    quiet = balance_table(frame, "treated", COVS, np.ones(len(frame)), warn=False)
    assert quiet.failing == b.failing
    lax = balance_table(
        frame, "treated", COVS, np.ones(len(frame)), rule=BalanceRule(max_abs_smd=5.0)
    )
    assert lax.failing == ()
    assert "balanced" in lax.summary()


def test_balance_rejects_bad_weights() -> None:
    frame = _cohort()
    with pytest.raises(ValueError, match="one per row"):
        balance_table(frame, "treated", COVS, [1.0, 2.0])
    w = np.where(frame["treated"] == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="all zero in one group"):
        balance_table(frame, "treated", COVS, w)
    with pytest.raises(ValueError, match="estimand must be"):
        balance_table(frame, "treated", COVS, estimand="atc")  # type: ignore[arg-type]


def test_overlap_weights_balance_model_covariates_exactly() -> None:
    """Li, Morgan & Zaslavsky (2018): overlap weights from a logistic model with an intercept
    give weighted means equal across groups for every covariate of the model."""
    frame = _cohort()
    ps = propensity_score(frame, "treated", COVS)
    w = propensity_weights(ps, estimand="overlap")
    b = balance_table(frame, "treated", COVS, w.weights, estimand="overlap")
    np.testing.assert_allclose(b.smd_after, 0.0, atol=1e-8)
    assert b.failing == ()


def test_overlap_and_poor_overlap_warning() -> None:
    ov = propensity_overlap([0.2, 0.6, 0.3, 0.5], [1, 1, 0, 0], warn=False)
    assert ov.poor
    assert ov.outside_treated == 1.0
    assert ov.outside_control == 0.0
    assert "POOR" in ov.summary()
    with pytest.warns(BalanceWarning, match="overlap poorly"):
        propensity_overlap([0.2, 0.6, 0.3, 0.5], [1, 1, 0, 0])
    good = propensity_overlap([0.3, 0.5, 0.3, 0.5], [1, 1, 0, 0])
    assert not good.poor
    assert good.to_frame()["outside_support"].tolist() == [0.0, 0.0]


def test_plots_write_svg(tmp_path: pytest.TempPathFactory) -> None:
    frame = _cohort()
    ps = propensity_score(frame, "treated", COVS)
    w = propensity_weights(ps, estimand="overlap")
    b = balance_table(frame, "treated", COVS, w.weights)
    path = tmp_path / "love.svg"  # type: ignore[operator]
    fig = love_plot(b, path)
    assert path.read_text().lstrip().startswith("<?xml")
    assert "centre[south]" in path.read_text()
    assert len(fig.axes) == 1
    ov = propensity_overlap(ps, warn=False)
    path2 = tmp_path / "overlap.svg"  # type: ignore[operator]
    overlap_plot(ov, path2)
    assert "Propensity score" in path2.read_text()
    assert b.love_plot() is not None
    assert ov.plot() is not None
