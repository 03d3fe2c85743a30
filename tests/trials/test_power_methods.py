"""The test a trial's power counts (``analysis.method``, ``analysis.sides``): each method's
p-value checked against an independent computation, one-sided counting by hand, and
runs of a small two-arm trial by each method."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from msreboot.trials import load_trial_spec, run_trial, sample_size
from msreboot.trials._power_tests import POWER_METHODS, _neda_test, significant

SPEC = (
    "[trial]\nname = 'two'\nseed = 5\nreplicates = 3\nfollow_up_years = 2\n"
    "[[arm]]\nname = 'dmt'\nn = 40\ntreatment = {kind = 'dmt', drug = 'natalizumab'}\n"
    "[[arm]]\nname = 'hsct'\nn = 40\nprotocol = 'mist_ahsct'\n"
    "[population]\nage_median = 36\nedss_median = 3.0\nedss_range = [2.0, 5.5]\n"
    "duration_median_years = 8\nphenotype_shares = {RRMS = 1.0}\n"
    "[analysis]\nendpoints = ['relapse_free']\ntimes_years = [1, 2]\nreference_arm = 'dmt'\n"
)


def test_the_neda_test_is_the_pooled_two_proportion_z_test() -> None:
    # arm: 15 NEDA of 20 evaluable (2 not evaluable left out); reference: 8 of 20
    status = pd.Series(
        ["NEDA"] * 15 + ["activity"] * 5 + ["not evaluable"] * 2 + ["NEDA"] * 8 + ["activity"] * 12
    )
    arms = pd.Series(["b"] * 22 + ["a"] * 20)
    row = _neda_test(status, arms, "b", "a")
    _, p = proportions_ztest([15, 8], [20, 20])  # pooled variance, no continuity correction
    assert row["p_value"] == pytest.approx(p, rel=1e-12)
    assert row["effect"] == pytest.approx(15 / 20 - 8 / 20)
    assert row["favours_arm"]


def test_one_sided_counts_only_estimates_in_the_arms_favour() -> None:
    tests = pd.DataFrame(
        {"p_value": [0.04, 0.04, 0.08, np.nan], "favours_arm": [True, False, True, True]}
    )
    assert significant(tests, 0.05, 2).tolist() == [True, True, False, False]
    # one-sided at 0.05: half the two-sided p below alpha, and in the arm's favour
    assert significant(tests, 0.05, 1).tolist() == [True, False, True, False]


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "two.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.mark.parametrize("method", POWER_METHODS)
def test_every_method_gives_one_test_per_replicate_and_its_power(
    method: str, spec_path: Path
) -> None:
    spec = load_trial_spec(spec_path)
    spec = spec.with_(analysis=spec.analysis.model_copy(update={"method": method, "sides": 1}))
    result = run_trial(spec)
    tests = result.tests
    assert list(tests["replicate"]) == [1, 2, 3]
    assert set(tests["method"]) == {method}
    assert set(tests["arm"]) == {"hsct"}
    expected = significant(tests, 0.05, 1).mean()
    assert result.power() == pytest.approx(expected)
    if method == "log_rank":  # two arms: the replicate's log-rank p of the endpoint
        p = result.hazard_ratios.groupby("replicate")["log_rank_p"].first().to_numpy()
        assert tests["p_value"].to_numpy() == pytest.approx(p)
    if method in ("log_rank", "cox", "rate_ratio"):  # ratios: below 1 favours the arm
        effect = tests["effect"].to_numpy(dtype=float)
        finite = np.isfinite(effect)
        assert (tests["favours_arm"].to_numpy()[finite] == (effect[finite] < 1)).all()


def test_power_by_another_method_is_of_the_primary_endpoint(spec_path: Path) -> None:
    spec = load_trial_spec(spec_path)
    spec = spec.with_(analysis=spec.analysis.model_copy(update={"method": "rmst"}))
    result = run_trial(spec, replicates=1)
    with pytest.raises(ValueError, match="must be the primary endpoint"):
        result.power("overall_survival")


def test_an_unknown_method_or_side_is_refused(spec_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SPEC + "method = 'wilcoxon'\n", encoding="utf-8")
    with pytest.raises(ValueError, match="method"):
        load_trial_spec(bad)
    with pytest.raises(ValueError, match="sides"):
        sample_size(spec_path, sides=3, n_range=(10, 20), replicates=2)


def test_schoenfeld_is_given_for_hazard_methods_only(spec_path: Path) -> None:
    table = sample_size(spec_path, n_range=(20, 24), replicates=2, method="neda", sides=1)
    assert (table.attrs["method"], table.attrs["sides"]) == ("neda", 1)
    assert math.isnan(table.attrs["n_per_arm_schoenfeld"])


def test_schoenfeld_one_sided_at_half_alpha_is_two_sided() -> None:
    from msreboot.trials._sample_size import schoenfeld_n_per_arm

    one = schoenfeld_n_per_arm(0.6, 0.5, alpha=0.025, sides=1)
    assert one == pytest.approx(schoenfeld_n_per_arm(0.6, 0.5, alpha=0.05, sides=2))
    with pytest.raises(ValueError, match="sides must be 1 or 2"):
        schoenfeld_n_per_arm(0.6, 0.5, sides=3)


def _three_groups() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 40
    return pd.DataFrame(
        {
            "time_years": np.r_[
                rng.exponential(2, n), rng.exponential(2, n), rng.exponential(6, n)
            ],
            "event": np.ones(3 * n, int),
            "group": ["ref"] * n + ["same"] * n + ["better"] * n,
        }
    )


def _comparison(data: pd.DataFrame) -> object:
    from msreboot.endpoints import EndpointComparison, EndpointDefinition

    return EndpointComparison(
        EndpointDefinition.presets()["relapse_free"],
        dict.fromkeys(dict.fromkeys(data["group"])),  # type: ignore[misc]
        "ref",
        pd.DataFrame(),
        None,
        None,
        data=data,
    )


def test_each_arm_is_tested_against_the_reference_alone() -> None:
    """With three arms, an arm's log-rank and likelihood-ratio p-values are those of the arm
    and the reference without the third arm (lifelines, an independent implementation)."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import logrank_test

    data = _three_groups()
    comparison = _comparison(data)
    for arm in ("same", "better"):
        pair = data[data["group"].isin(["ref", arm])]
        log_rank, ratio = comparison.against_reference(arm)  # type: ignore[attr-defined]
        a, b = pair[pair["group"] == arm], pair[pair["group"] == "ref"]
        expected = logrank_test(a["time_years"], b["time_years"], a["event"], b["event"])
        assert log_rank == pytest.approx(expected.p_value, rel=1e-8)
        fitter = CoxPHFitter().fit(
            pair.assign(x=(pair["group"] == arm).astype(float))[["time_years", "event", "x"]],
            "time_years",
            "event",
        )
        assert ratio == pytest.approx(fitter.log_likelihood_ratio_test().p_value, rel=1e-6)
    # the arm like the reference is not significant although the three-arm test is
    from msreboot.stats import log_rank_test

    assert log_rank_test(data["time_years"], data["event"], data["group"]).pvalue < 0.01
    assert comparison.against_reference("same")[0] > 0.05  # type: ignore[attr-defined]


def test_an_arm_without_events_is_significant_by_likelihood_ratio() -> None:
    """The Wald p-value of an arm without events is near 1 (infinite log hazard ratio);
    the likelihood-ratio test still sees 40 events against none."""
    rng = np.random.default_rng(1)
    n = 30
    data = pd.DataFrame(
        {
            "time_years": np.r_[rng.exponential(1, n), rng.exponential(1, n)],
            "event": np.r_[np.ones(n, int), np.zeros(n, int)],
            "group": ["ref"] * n + ["none"] * n,
        }
    )
    _, ratio = _comparison(data).against_reference("none")  # type: ignore[attr-defined]
    assert ratio < 1e-6


def test_rate_ratio_without_relapses_in_an_arm_uses_the_exact_poisson_test() -> None:
    from statsmodels.stats.rates import test_poisson_2indep

    from msreboot.trials._power_tests import _exact_poisson

    frame = pd.DataFrame(
        {
            "group": ["a"] * 3 + ["ref"] * 3,
            "relapses": [0, 0, 0, 4, 2, 3],
            "years": [2.0, 1.5, 2.0, 2.0, 1.0, 2.0],
        }
    )
    ratio, p = _exact_poisson(frame, "a", "ref")
    assert ratio == 0.0
    expected = test_poisson_2indep(0, 5.5, 9, 5.0, method="exact-cond").pvalue
    assert p == pytest.approx(expected, rel=1e-9)
    assert math.isnan(_exact_poisson(frame.assign(relapses=0), "a", "ref")[1])


def test_an_rmst_horizon_past_follow_up_gives_no_p_value() -> None:
    """An early analysis can end an arm's follow-up before the RMST horizon: the replicate
    has no p-value (not significant) instead of stopping the run."""
    from msreboot.datasets import load_example
    from msreboot.endpoints import compare_endpoint
    from msreboot.trials._power_tests import _survival_test

    comparison = compare_endpoint(load_example(), "relapse_free", "sex", times_years=[2])
    inside = _survival_test("rmst", comparison, "M", "F", 2.0)
    assert np.isfinite(inside["p_value"])
    past = _survival_test("rmst", comparison, "M", "F", 100.0)
    assert math.isnan(past["p_value"])
    assert not past["favours_arm"]
