"""Calibration: targets from the evidence dataset, their standard errors, the ABC-SMC
pieces (prior, proposal density, weights), a miniature calibration end to end, resuming,
local-process and Spark parity, leave-one-study-out, the report and the CLI."""

from __future__ import annotations

import math
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from msreboot.calibration import (
    CalibrationResult,
    CalibrationSettings,
    CalibrationTarget,
    Prior,
    SerialExecutor,
    calibrate,
    load_priors,
    load_targets,
    resume_calibration,
)
from msreboot.calibration._report import write_calibration_report
from msreboot.calibration._run import Task
from msreboot.calibration._smc import (
    Box,
    Proposal,
    effective_sample_size,
    simulation_seed,
    weighted_quantile,
)
from msreboot.calibration._targets import Z_CAP
from msreboot.cli import app
from msreboot.evidence import load_outcomes
from msreboot.simulate import SimulationParameters
from msreboot.trials import TrialSpec

# A miniature calibration: two small studies, three parameters, few particles.
MINI_STUDIES = ("halt_ms", "mesems_2021")
MINI_PRIORS = (
    Prior(name="regulation_per_day", distribution="log_uniform", low=0.004, high=0.1),
    Prior(name="gd_activity_ratio", distribution="log_uniform", low=0.1, high=1.0),
    Prior(name="msc_max_effect_ratio", distribution="uniform", low=0.0, high=0.7),
)
MINI = CalibrationSettings(population_size=6, generations=2, seed=11)


def mini_targets() -> tuple[CalibrationTarget, ...]:
    return tuple(t for t in load_targets() if t.study in MINI_STUDIES)


def mini_run(folder: Path, settings: CalibrationSettings = MINI, **kwargs: object) -> object:
    return calibrate(
        folder,
        targets=mini_targets(),
        priors=MINI_PRIORS,
        settings=settings,
        executor=kwargs.pop("executor", SerialExecutor()),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


# --- targets ---------------------------------------------------------------------------


def test_bundled_targets_cover_the_seed_studies_and_come_from_the_evidence_dataset() -> None:
    targets = load_targets()
    studies = {t.study for t in targets}
    assert {
        "halt_ms",
        "burt_2015",
        "muraro_2017",
        "atkins_2016",
        "mist_2019",
        "sormani_2017",
        "mesems_2021",
    } <= studies
    assert studies <= set(TrialSpec.presets())
    outcomes = load_outcomes()
    for target in targets:
        study_id = target.source.split(":")[0]
        rows = outcomes[outcomes["study_id"] == study_id]
        assert len(rows), target.id
        # the published value is one of that study's outcomes, as held
        assert np.isclose(rows["estimate"].to_numpy(dtype=float), target.value, atol=5e-4).any(), (
            target.id
        )


def test_standard_errors_from_an_asymmetric_interval_a_binomial_n_and_a_ratio() -> None:
    survival = CalibrationTarget(
        id="s",
        study="halt_ms",
        statistic="landmark",
        endpoint="halt_ms_efs",
        time_years=5,
        value=0.692,
        ci_low=0.502,
        ci_high=0.821,
        conf_level=0.90,
    )
    z90 = 1.6448536269514722
    below, above = survival.standard_errors()
    assert below == pytest.approx((0.692 - 0.502) / z90)
    assert above == pytest.approx((0.821 - 0.692) / z90)
    assert survival.z(0.692) == 0
    assert survival.z(0.502) == pytest.approx(-z90)
    assert survival.z(0.821) == pytest.approx(z90)
    counts = CalibrationTarget(
        id="c", study="burt_2015", statistic="transplant_mortality", value=0, events=0, n=151
    )
    p = 0.5 / 152
    assert counts.standard_errors()[0] == pytest.approx(math.sqrt(p * (1 - p) / 151))
    assert counts.z(float("nan")) == Z_CAP
    assert counts.z(1.0) == Z_CAP  # capped
    ratio = CalibrationTarget(
        id="r",
        study="mist_2019",
        statistic="hazard_ratio",
        endpoint="mist_2019_progression",
        arm="ahsct",
        value=0.07,
        ci_low=0.02,
        ci_high=0.24,
    )
    assert ratio.scale == "ratio"
    assert ratio.z(0.24) == pytest.approx(1.959964, rel=1e-5)  # the log scale
    assert ratio.z(0.0) == Z_CAP


def test_targets_need_an_uncertainty_and_bad_files_name_the_target(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="interval or the n"):
        CalibrationTarget(id="x", study="halt_ms", statistic="transplant_mortality", value=0.1)
    with pytest.raises(ValueError, match="needs an endpoint"):
        CalibrationTarget(id="x", study="halt_ms", statistic="landmark", value=0.1, n=5)
    bad = tmp_path / "targets.toml"
    bad.write_text(
        '[[target]]\nid = "a"\nstudy = "nowhere"\nstatistic = "transplant_mortality"\n'
        "value = 0.1\nn = 10\n"
    )
    with pytest.raises(ValueError, match=r"targets.toml: target a: study must be one of"):
        load_targets(bad)
    bad.write_text('[[target]]\nid = "b"\nstudy = "halt_ms"\nstatistic = "nonsense"\nvalue = 1\n')
    with pytest.raises(ValueError, match=r"target b: statistic"):
        load_targets(bad)
    twice = (
        '[[target]]\nid = "c"\nstudy = "halt_ms"\nstatistic = "transplant_mortality"\n'
        "value = 0\nn = 5\n"
    )
    bad.write_text(twice + twice)
    with pytest.raises(ValueError, match="unique"):
        load_targets(bad)


def test_bundled_priors_name_parameters_and_contain_their_defaults() -> None:
    default = SimulationParameters.default()
    for prior in load_priors():
        assert prior.low <= getattr(default, prior.name) <= prior.high, prior.name
    with pytest.raises(ValueError, match="not a SimulationParameters field"):
        Prior(name="nonsense", distribution="uniform", low=0, high=1)
    with pytest.raises(ValueError, match="log-uniform"):
        Prior(name="gd_activity_ratio", distribution="log_uniform", low=0, high=1)


# --- the SMC pieces --------------------------------------------------------------------


def test_truncated_kernel_proposal_is_a_density_on_the_support() -> None:
    box = Box(MINI_PRIORS[:2])
    rng = np.random.default_rng(1)
    population = np.column_stack([rng.uniform(box.low[i], box.high[i], 30) for i in range(2)])
    weights = rng.uniform(0.5, 1.5, 30)
    proposal = Proposal(box, population, weights, seed=3, generation=2)
    # integrates to 1 over the box (grid quadrature)
    gx = np.linspace(box.low[0], box.high[0], 240)
    gy = np.linspace(box.low[1], box.high[1], 240)
    xx, yy = np.meshgrid(gx, gy)
    density = np.exp(proposal.log_density(np.column_stack([xx.ravel(), yy.ravel()])))
    integral = np.trapezoid(np.trapezoid(density.reshape(xx.shape), gx, axis=1), gy)
    assert integral == pytest.approx(1.0, abs=0.03)
    assert proposal.log_density(box.high + 1.0)[0] == -np.inf
    # draws stay inside and are reproducible from (seed, generation, index) alone
    draws = np.array([proposal.draw(i) for i in range(50)])
    assert box.inside(draws).all()
    again = Proposal(box, population, weights, seed=3, generation=2)
    assert np.array_equal(again.draw(17), draws[17])
    prior = Proposal(box)
    assert np.exp(prior.log_density(draws[:1]))[0] == pytest.approx(1 / np.prod(box.high - box.low))


def test_weighted_quantiles_ess_and_seeds() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_quantile(values, np.ones(4), 0.5) == pytest.approx(2.5)
    assert weighted_quantile(values, np.array([0, 0, 0, 1.0]), 0.5) == 4.0
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(np.array([1.0, 0, 0])) == pytest.approx(1)
    assert simulation_seed(1, 0, 0) != simulation_seed(1, 0, 1)
    assert simulation_seed(1, 2, 3) == simulation_seed(1, 2, 3)


# --- the algorithm against a known posterior -------------------------------------------


def _normal_model(task: Task) -> dict[str, float]:
    """y = theta + N(0, 1) noise, from the proposal's own seed."""
    noise = np.random.default_rng(task.seed).standard_normal()
    return {"y": task.theta["gd_ar1_ratio"] + float(noise)}


def test_abc_smc_recovers_the_exact_abc_posterior_of_a_normal_model(tmp_path: Path) -> None:
    # theta ~ U(-4, 6), y | theta ~ N(theta, 1), observed y = 1 with standard error 1. The
    # ABC posterior at tolerance eps is proportional to P(|theta + e - 1| <= eps) on the
    # prior's support: computed here by quadrature and compared with the weighted
    # population (Monte Carlo error from its effective sample size).
    target = CalibrationTarget(
        id="y",
        study="halt_ms",
        statistic="transplant_mortality",
        value=1.0,
        ci_low=1.0 - 1.959963984540054,
        ci_high=1.0 + 1.959963984540054,
    )
    prior = Prior(name="gd_ar1_ratio", distribution="uniform", low=-4.0, high=6.0)
    result = calibrate(
        tmp_path / "run",
        targets=(target,),
        priors=(prior,),
        settings=CalibrationSettings(population_size=400, generations=7, seed=5),
        executor=SerialExecutor(),
        simulator=_normal_model,
    )
    assert isinstance(result, CalibrationResult)
    eps = float(result.generations["tolerance"].iloc[-1])
    assert eps < 0.2
    grid = np.linspace(-4.0, 6.0, 20001)
    density = stats.norm.cdf(1 + eps - grid) - stats.norm.cdf(1 - eps - grid)
    density /= np.trapezoid(density, grid)
    mean = np.trapezoid(grid * density, grid)
    sd = math.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
    w = result.population["weight"].to_numpy()
    theta = result.population["gd_ar1_ratio"].to_numpy()
    ess = effective_sample_size(w)
    got_mean = float(np.sum(w * theta))
    got_sd = math.sqrt(float(np.sum(w * (theta - got_mean) ** 2)))
    assert ess > 100
    assert abs(got_mean - mean) < 4 * sd / math.sqrt(ess)
    assert abs(got_sd - sd) < 4 * sd / math.sqrt(2 * ess)
    # and the prior sample alone is no answer: generation 0 is spread over the prior
    first = pd.read_parquet(tmp_path / "run" / "generations" / "g00.parquet")
    assert first["gd_ar1_ratio"].std() > 2.5


# --- a miniature calibration end to end ------------------------------------------------


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> CalibrationResult:
    folder = tmp_path_factory.mktemp("calibration") / "run"
    result = mini_run(folder)
    assert isinstance(result, CalibrationResult)
    return result


def test_miniature_calibration_runs_end_to_end(mini: CalibrationResult) -> None:
    assert len(mini.generations) == 2
    assert mini.status.startswith("completed")
    first, second = mini.generations.to_dict("records")
    assert first["tolerance"] is None or math.isnan(first["tolerance"])
    assert second["tolerance"] > 0
    assert second["acceptance"] <= 1
    assert len(mini.population) == MINI.population_size
    assert mini.population["weight"].sum() == pytest.approx(1)
    # every particle within the tolerance of its generation, and within the priors
    assert (mini.population["distance"] <= second["tolerance"]).all()
    for prior in MINI_PRIORS:
        assert mini.population[prior.name].between(prior.low, prior.high).all()
    post = mini.posterior()
    assert list(post["parameter"]) == [p.name for p in MINI_PRIORS]
    assert (post["ci_low"] <= post["median"]).all()
    assert (post["median"] <= post["ci_high"]).all()
    table = mini.compare()
    assert len(table) == len(mini_targets())
    assert table["simulated"].notna().all()
    assert len(mini.predictive) == MINI.population_size
    cover = mini.coverage()
    assert cover["targets"] == len(table)
    assert 0 <= cover["simulated_in_published"] <= cover["targets"]
    params = mini.parameters()
    assert params.regulation_per_day == pytest.approx(
        post.set_index("parameter").loc["regulation_per_day", "median"]
    )
    assert "ABC-SMC calibration" in mini.summary()


@pytest.mark.slow  # over 8 s: out of the default run
def test_resumed_calibration_equals_an_uninterrupted_one(
    mini: CalibrationResult, tmp_path: Path
) -> None:
    folder = tmp_path / "run"
    one = mini_run(folder, MINI.model_copy(update={"generations": 1}))
    assert isinstance(one, CalibrationResult)
    assert len(one.generations) == 1
    # stop in the middle of generation 1: its population and one batch are lost
    resumed = resume_calibration(folder, generations=2, executor=SerialExecutor())
    pd.testing.assert_frame_equal(resumed.population, mini.population)
    pd.testing.assert_frame_equal(resumed.predictive, mini.predictive)
    # lose the final generation and part of its batches: the same again
    for path in [*folder.glob("generations/g01.*"), folder / "status.json"]:
        path.unlink()
    batches = sorted(folder.glob("batches/g01_*"))
    batches[-1].unlink()
    again = resume_calibration(folder, executor=SerialExecutor())
    pd.testing.assert_frame_equal(again.population, mini.population)


def test_calibration_refuses_an_existing_run_and_checks_exclusions(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        mini_run(tmp_path / "full")
    with pytest.raises(ValueError, match="no targets from"):
        mini_run(tmp_path / "new", MINI.model_copy(update={"exclude_studies": ("atkins_2016",)}))
    with pytest.raises(FileNotFoundError, match="no calibration"):
        resume_calibration(tmp_path / "missing")


def test_local_processes_give_the_same_result_as_one_process(
    mini: CalibrationResult, tmp_path: Path
) -> None:
    from msreboot.calibration import LocalExecutor

    executor = LocalExecutor(2)
    try:
        parallel = mini_run(tmp_path / "run", executor=executor)
    finally:
        executor.close()
    assert isinstance(parallel, CalibrationResult)
    pd.testing.assert_frame_equal(parallel.population, mini.population)
    pd.testing.assert_frame_equal(parallel.predictive, mini.predictive)


def _spark_missing() -> str | None:
    if shutil.which("java") is None:
        return "Java is not installed"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_spark_missing() is not None, reason=str(_spark_missing()))
def test_spark_local_mode_gives_the_same_result(mini: CalibrationResult, tmp_path: Path) -> None:
    from msreboot.calibration import SparkExecutor

    executor = SparkExecutor("local[2]")
    try:
        on_spark = mini_run(tmp_path / "run", executor=executor)
    finally:
        executor.close()
    assert isinstance(on_spark, CalibrationResult)
    pd.testing.assert_frame_equal(on_spark.population, mini.population)
    pd.testing.assert_frame_equal(on_spark.predictive, mini.predictive)


def test_leave_one_study_out_and_report(mini: CalibrationResult, tmp_path: Path) -> None:
    loso = mini.leave_one_study_out()
    assert set(loso["left_out"]) == set(MINI_STUDIES)
    assert len(loso) == len(mini_targets())
    assert (loso["ess"] >= 1).all()
    assert (loso["predicted_low"] <= loso["predicted_high"]).all()
    report = write_calibration_report(mini, tmp_path / "report")
    text = report.markdown.read_text()
    for heading in (
        "# Simulator calibration",
        "## Targets",
        "## Posterior",
        "## Leave one study out",
    ):
        assert heading in text
    assert report.figure_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in report.figure_svg.read_text()
    table = pd.read_csv(report.table)
    assert set(table["target"]) == {t.id for t in mini_targets()}
    written = mini.write_parameter_set(tmp_path / "set.toml")
    data = tomllib.loads(written.read_text())
    assert data["provenance"]["seed"] == MINI.seed
    assert set(data["values"]) == {p.name for p in MINI_PRIORS}


def test_shipped_calibrated_set_is_the_trial_default_and_the_old_one_stays() -> None:
    names = SimulationParameters.presets()
    assert "default" in names
    assert "calibrated" in names
    assert TrialSpec.preset("halt_ms").parameters == "calibrated"
    calibrated = SimulationParameters.preset("calibrated")
    default = SimulationParameters.preset("default")
    assert calibrated != default
    from msreboot.simulate._parameters import bundled_sets

    info = bundled_sets()[1]["calibrated"]
    assert {"seed", "msreboot_version", "targets", "evaluations"} <= set(info)
    for prior in load_priors():
        assert prior.low <= getattr(calibrated, prior.name) <= prior.high


# --- CLI ---------------------------------------------------------------------------------


def test_calibrate_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["calibrate", "targets"])
    assert listing.exit_code == 0, listing.output
    assert "halt_ms_efs_5y" in listing.output
    assert "nash2017_haltms" in listing.output
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[[target]]\nid = "halt_ms_rfs_5y"\nstudy = "halt_ms"\nstatistic = "landmark"\n'
        'endpoint = "halt_ms_rfs"\ntime_years = 5.0\nvalue = 0.869\nci_low = 0.695\n'
        "ci_high = 0.947\nconf_level = 0.90\n"
    )
    priors = tmp_path / "priors.toml"
    priors.write_text(
        '[[prior]]\nname = "regulation_per_day"\ndistribution = "log_uniform"\n'
        "low = 0.004\nhigh = 0.1\n"
    )
    folder = tmp_path / "run"
    common = ["--targets", str(targets), "--priors", str(priors), "--processes", "1"]
    run = runner.invoke(
        app, ["calibrate", "run", str(folder), "--population", "4", "--generations", "1", *common]
    )
    assert run.exit_code == 0, run.output
    assert "ABC-SMC calibration" in run.output
    again = runner.invoke(app, ["calibrate", "run", str(folder), *common])
    assert again.exit_code == 2
    assert "calibrate resume" in again.output
    resumed = runner.invoke(
        app, ["calibrate", "resume", str(folder), "--generations", "2", "--processes", "1"]
    )
    assert resumed.exit_code == 0, resumed.output
    assert "2 generation(s)" in resumed.output
    report = runner.invoke(
        app,
        ["calibrate", "report", str(folder), "--parameters", str(tmp_path / "set.toml")],
    )
    assert report.exit_code == 0, report.output
    assert (folder / "report" / "calibration.md").exists()
    assert (tmp_path / "set.toml").exists()
    missing = runner.invoke(app, ["calibrate", "report", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
    assert "no calibration" in missing.output
