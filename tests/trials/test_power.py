"""Power and sample size a trialist can trust: Monte Carlo intervals, the fitted power
curve checked against R's glm, Schoenfeld's formula (hand-worked, and matched by a
simulation where it holds), and the sizing search with alpha, seed and dropout."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.stats import log_rank_test
from msreboot.trials import ArmSpec, TrialSpec, sample_size
from msreboot.trials._sample_size import fit_power_curve, schoenfeld_n_per_arm
from msreboot.trials._spec import AnalysisSpec

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference/trials/power_curve_reference.json").read_text()
)


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: f"n{len(c['n'])}")
def test_the_power_curve_matches_r_glm(case: dict[str, object]) -> None:
    n = np.asarray(case["n"], dtype=float)
    k = np.asarray(case["significant"], dtype=float)
    m = np.full(len(n), float(case["replicates"]))  # type: ignore[arg-type]
    fit = fit_power_curve(n, k, m)
    tol = REFERENCE["tolerance_rel"]
    assert fit.converged
    assert fit.intercept == pytest.approx(case["intercept"], rel=tol)
    assert fit.slope == pytest.approx(case["slope"], rel=tol)
    assert fit.covariance == pytest.approx(np.asarray(case["covariance"]), rel=tol)
    assert fit.power(n) == pytest.approx(np.asarray(case["fitted"]), rel=tol)
    size, low, high = fit.n_for(float(case["target"]))  # type: ignore[arg-type]
    assert (size, low, high) == pytest.approx(
        (case["n_target"], case["n_low"], case["n_high"]), rel=tol
    )


@pytest.mark.parametrize(
    ("k", "m"),
    [
        pytest.param([0, 0, 0], [10, 10, 10], id="never-significant"),
        pytest.param([10, 10, 10], [10, 10, 10], id="always-significant"),
        pytest.param([0, 0, 10], [10, 10, 10], id="separated"),
    ],
)
def test_a_curve_that_cannot_be_fitted_is_not_estimable(k: list[int], m: list[int]) -> None:
    fit = fit_power_curve(np.array([10.0, 20.0, 40.0]), np.array(k), np.array(m))
    assert not fit.converged
    assert all(math.isnan(v) for v in fit.n_for(0.8))
    assert not fit_power_curve(np.array([10.0]), np.array([5]), np.array([10])).converged


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=3, max_size=6),
    st.floats(0.55, 0.95),
)
def test_the_fitted_curve_is_monotone_and_reaches_its_target(
    counts: list[int], target: float
) -> None:
    sizes = np.arange(1, len(counts) + 1) * 25.0
    fit = fit_power_curve(sizes, np.sort(np.array(counts)), np.full(len(counts), 20.0))
    if not fit.converged:
        return
    grid = np.linspace(1, 400, 200)
    curve = fit.power(grid)
    assert np.all(np.diff(curve) >= 0) or np.all(np.diff(curve) <= 0)
    size, low, high = fit.n_for(target)
    if not math.isnan(size):
        assert fit.power(size) == pytest.approx(target, abs=1e-9)
        assert low <= size <= high


def test_schoenfeld_by_hand() -> None:
    # HR 0.5, alpha 0.05 two-sided, 80% power: (1.959964 + 0.841621)^2 / (0.25 ln(0.5)^2)
    # = 7.848879 / 0.120113 = 65.346 events; half the patients with an event: 65.35 per arm.
    assert schoenfeld_n_per_arm(0.5, 0.5) == pytest.approx(65.346, abs=1e-3)
    assert schoenfeld_n_per_arm(2.0, 0.5) == pytest.approx(65.346, abs=1e-3)  # symmetric
    for hr, share in ((1.0, 0.5), (float("inf"), 0.5), (0.0, 0.5), (0.5, 0.0)):
        assert math.isnan(schoenfeld_n_per_arm(hr, share))


def test_simulated_power_agrees_with_the_formula_where_it_holds() -> None:
    # Exponential survival with proportional hazards (HR 0.6), 1:1, no censoring: the
    # log-rank power is Phi(sqrt(D / 4) |log HR| - z_{0.975}) with D = 2n events.
    # 1,000 replicates give a Monte Carlo SE of about 0.015; tolerance 3 SE + 0.02 for
    # the formula's approximation.
    rng = np.random.default_rng(20261204)
    n, hr, replicates = 60, 0.6, 1000
    group = np.repeat([0, 1], n)
    significant = 0
    for _ in range(replicates):
        time = rng.exponential(1.0, 2 * n) / np.where(group == 1, hr, 1.0)
        test = log_rank_test(time, np.ones(2 * n, dtype=bool), group)
        significant += test.pvalue < 0.05
    simulated = significant / replicates
    analytic = stats.norm.cdf(math.sqrt(2 * n / 4) * abs(math.log(hr)) - 1.959964)
    se = math.sqrt(analytic * (1 - analytic) / replicates)
    assert abs(simulated - analytic) < 3 * se + 0.02, (simulated, analytic)
    # and the formula's size for that power is the n simulated
    assert schoenfeld_n_per_arm(hr, 1.0, power=analytic) == pytest.approx(n, rel=1e-6)


def _two_arms(n: int = 20) -> TrialSpec:
    return TrialSpec(
        name="two_arms",
        seed=7,
        follow_up_years=1.0,
        population={
            "age_median": 30,
            "age_range": [18, 50],
            "edss_median": 2.5,
            "edss_range": [0, 5.5],
            "duration_median_years": 3.0,
        },
        arms=(
            ArmSpec(name="placebo", n=n),
            ArmSpec(name="natalizumab", n=n, treatment={"kind": "dmt", "drug": "natalizumab"}),
        ),
        analysis=AnalysisSpec(endpoints=("relapse_free",), reference_arm="placebo"),
    )


def test_sample_size_reports_intervals_a_fit_and_the_formula() -> None:
    calls: list[tuple[int, int]] = []
    table = sample_size(
        _two_arms(),
        n_range=(10, 120),
        replicates=6,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert list(table.columns) == [
        "n_per_arm",
        "replicates",
        "significant",
        "power",
        "power_low",
        "power_high",
        "power_fitted",
    ]
    assert (table["power_low"] <= table["power"]).all()
    assert (table["power"] <= table["power_high"]).all()
    assert table["n_per_arm"].is_monotonic_increasing
    fitted = table["power_fitted"].dropna()
    assert fitted.is_monotonic_increasing
    attrs = table.attrs
    assert attrs["replicates"] == 6
    assert attrs["alpha"] == 0.05
    if not math.isnan(attrs["n_per_arm_fitted"]):
        assert attrs["n_per_arm_low"] <= attrs["n_per_arm_fitted"] <= attrs["n_per_arm_high"]
    assert attrs["hazard_ratio"] < 1
    assert 0 < attrs["event_share"] < 1
    assert calls[-1][0] == calls[-1][1] == 6 * len(table)
    assert all(done <= total for done, total in calls)


def test_alpha_seed_and_dropout_change_the_runs() -> None:
    base = sample_size(_two_arms(), n_range=(10, 40), replicates=4)
    strict = sample_size(_two_arms(), n_range=(10, 40), replicates=4, alpha=0.001)
    assert strict.attrs["alpha"] == 0.001
    merged = base.merge(strict, on="n_per_arm", suffixes=("", "_strict"))
    assert (merged["power_strict"] <= merged["power"]).all()
    other = sample_size(_two_arms(), n_range=(10, 40), replicates=4, seed=99, dropout=0.3)
    assert not other["n_per_arm"].empty
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\); got 5\. Did you mean 0\.05"):
        sample_size(_two_arms(), alpha=5)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\); got 1"):
        sample_size(_two_arms(), dropout=1)


def test_cli_size_prints_intervals_and_writes_the_table(tmp_path: Path) -> None:
    spec = tmp_path / "two.toml"
    spec.write_text(
        "[trial]\nname = 'two'\nseed = 7\nfollow_up_years = 1\nreplicates = 4\n"
        "[population]\nage_median = 30\nedss_median = 2.5\nedss_range = [0, 5.5]\n"
        "duration_median_years = 3\n"
        "[[arm]]\nname = 'placebo'\nn = 10\n"
        "[[arm]]\nname = 'nat'\nn = 10\ntreatment = {kind = 'dmt', drug = 'natalizumab'}\n"
        "[analysis]\nendpoints = ['relapse_free']\nreference_arm = 'placebo'\n",
        encoding="utf-8",
    )
    out = tmp_path / "power.csv"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "size",
            str(spec),
            "--low",
            "10",
            "--high",
            "40",
            "--alpha",
            "0.05",
            "--seed",
            "3",
            "--dropout",
            "0.1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "power (95% MC interval)" in result.output
    assert "fitted power curve" in result.output
    assert "Schoenfeld's formula" in result.output
    written = pd.read_csv(out)
    assert {"n_per_arm", "power_low", "power_high", "n_per_arm_schoenfeld"} <= set(written)
    assert written["n_per_arm"].is_unique  # the sizes tried, not the answer repeated
    assert written["n_per_arm_found"].nunique(dropna=False) == 1
    bad = CliRunner().invoke(app, ["simulate", "size", str(spec), "--alpha", "5"])
    assert bad.exit_code == 2
    assert "alpha must be in (0, 1)" in bad.output


def test_an_arm_without_events_gives_not_estimable_never_a_huge_ratio() -> None:
    spec = TrialSpec(
        name="no_deaths",
        seed=1,
        follow_up_years=1.0,
        arms=(ArmSpec(name="a", n=10), ArmSpec(name="b", n=10, protocol="halt_ms")),
        analysis=AnalysisSpec(endpoints=("overall_survival",), reference_arm="a"),
    )
    from msreboot.trials import run_trial

    result = run_trial(spec, replicates=2)
    assert not result.hazard_ratios["hr_reliable"].any()  # too few deaths in a year
    summary = result.summary()
    assert "median HR b vs reference not estimable" in summary
    assert "e+" not in summary
