"""Running a virtual trial: every replicate simulated in the canonical tables and analysed
with :mod:`msreboot.endpoints`, exactly as a real cohort would be analysed (per-arm
landmark estimates, hazard ratios and log-rank tests), gathered in a :class:`TrialResult`
with power across replicates and the published values beside the simulated ones.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints import compare_endpoint, estimate_endpoint
from msreboot.simulate import SimulationParameters, simulate_cohort
from msreboot.trials._accrual import censor_administratively, entry_years, follow_up_days
from msreboot.trials._arm_rules import switch_of_arm
from msreboot.trials._power_tests import method_tests
from msreboot.trials._result import (
    CURVE_COLUMNS,
    CURVE_STEP_YEARS,
    DRAW_COLUMNS,
    STATISTICS_COLUMNS,
    TEST_COLUMNS,
    TrialResult,
)
from msreboot.trials._spec import (
    TrialSpec,
    checked_uncertainty,
    load_trial_spec,
    split_counts,
    treatments_of_arm,
)
from msreboot.trials._statistics import arm_statistic

__all__ = [
    "analyse_replicate",
    "curve_grid",
    "landmark_read_times",
    "parameter_draws",
    "published_statistics",
    "run_trial",
    "simulate_replicate",
    "time_zero",
]


POSTERIOR_SPAWN_KEY = (2**31 - 1,)
"""Spawn key of a trial's posterior draws: ``SeedSequence(seed, spawn_key=(2**31 - 1,))``,
apart from every replicate's patients (keys ``(r, a, k)``)."""


def parameter_draws(spec: TrialSpec) -> pd.DataFrame:
    """The posterior draw of every replicate: ``replicate`` (1-based) and ``particle`` (the
    row of :meth:`SimulationParameters.posterior`), then the parameter values it sets.

    Drawn by weight from the shipped calibration posterior, from
    ``SeedSequence(spec.seed, spawn_key=POSTERIOR_SPAWN_KEY)``; only the parameters the
    calibrated set takes from the fit (``calibrated_only=True``). Draw ``r`` depends on
    the seed and ``r`` alone: the same at every size and whatever the number of replicates.
    """
    sequence = np.random.SeedSequence(spec.seed, spawn_key=POSTERIOR_SPAWN_KEY)
    draws = SimulationParameters.posterior_draws(spec.replicates, sequence, calibrated_only=True)
    draws.insert(0, "replicate", np.arange(1, spec.replicates + 1))
    return draws


def _combine(cohorts: Sequence[Cohort]) -> Cohort:
    """One cohort from several (distinct patient ids), in canonical row order."""
    from msreboot.data import canonical_order

    tables = {
        name: pd.concat([c.tables[name] for c in cohorts], ignore_index=True)
        for name in cohorts[0].tables
    }
    return Cohort.from_canonical(canonical_order(tables), "day")


def simulate_replicate(
    spec: TrialSpec, replicate: int, parameters: SimulationParameters | None = None
) -> tuple[Cohort, pd.Series]:
    """One replicate of the trial: the combined cohort and each patient's arm.

    With subpopulations, each arm is split by their shares (largest remainders), and each
    part by the arm's protocol mixture; course ``k`` of subpopulation ``j`` draws from
    ``SeedSequence(seed, spawn_key=(r, a, k, j))`` and its patient ids carry its name.
    An arm's ``switch`` rule gives its patients a second course on failure (they stay in
    the arm). With ``accrual_years`` or ``analysis_years``, each sub-cohort's records
    are cut at its patients' follow-up at the analysis (:mod:`msreboot.trials._accrual`).
    """
    schedule = spec.visit_schedule()
    populations = spec.population_specs()
    if parameters is None:
        parameters = spec.simulation_parameters()
    cohorts, arms = [], []
    staggered = spec.accrual_years > 0 or spec.analysis_years is not None
    analysis_years = spec.analysis_years or spec.accrual_years + spec.follow_up_years
    for a, arm in enumerate(spec.arms):
        switch = switch_of_arm(arm)
        counts = split_counts(arm.n, [share for _, share, _ in populations])
        for j, ((name, _, population), count) in enumerate(zip(populations, counts, strict=True)):
            if not count:
                continue
            part = arm if count == arm.n else arm.model_copy(update={"n": count})
            for k, (n, treatment) in enumerate(treatments_of_arm(part)):
                key = (replicate, a, k) if not spec.subpopulations else (replicate, a, k, j)
                sim = simulate_cohort(
                    n,
                    population,
                    treatment,
                    schedule,
                    spec.follow_up_years,
                    parameters,
                    seed=np.random.SeedSequence(spec.seed, spawn_key=key),
                    id_prefix=f"{arm.name}{k}_" + (f"{name}_" if spec.subpopulations else ""),
                    validate=False,
                    switch=switch,
                )
                cohort = sim.cohort
                if staggered:
                    entry = entry_years(spec.seed, key, n, spec.accrual_years)
                    days = follow_up_days(entry, spec.follow_up_years, analysis_years)
                    cut = pd.Series(days, index=cohort.patients["patient_id"].to_numpy())
                    cohort = censor_administratively(cohort, cut)
                cohorts.append(cohort)
                arms.append(pd.Series(arm.name, index=cohort.patients["patient_id"]))
    return _combine(cohorts), pd.concat(arms)


def time_zero(spec: TrialSpec, arms: pd.Series) -> str | pd.DataFrame:
    """The anchor of a replicate's analysis: each patient's reinfusion (``"ahsct"``) or
    enrolment (day 0 of every patient)."""
    if spec.analysis.anchor == "ahsct":
        return "ahsct"
    return pd.DataFrame({"patient_id": arms.index, "anchor_date": 0})


def landmark_read_times(
    spec: TrialSpec, times_years: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """The years each landmark is read at: the landmark itself, or, for a landmark in the
    window of the last scheduled visit, the window's start.

    Visit days are whole days (year 1 is day 365, not 365.25) and jittered by up to
    ``jitter_days``, so a landmark at the last visit can fall after every patient's last
    contact and would read as ``nan``. With time zero at enrolment, a landmark of ``T``
    days with ``last - jitter < T <= last + jitter + 1`` (``last``: the last scheduled
    assessment day) is read at day ``last - jitter`` and reported under its own year.
    Other landmarks, and every landmark with time zero at AHSCT (whose follow-up after
    reinfusion varies by patient), are read as given.
    """
    asked = spec.analysis.times_years if times_years is None else times_years
    times = np.asarray(asked, dtype=float)
    if spec.analysis.anchor != "enrolment":
        return times
    schedule = spec.visit_schedule()
    last = schedule.last_day(spec.follow_up_years)
    jitter = schedule.jitter_days
    days = times * 365.25
    slack = 1e-6  # years written as decimals do not round-trip to whole days exactly
    inside = (days > last - jitter + slack) & (days <= last + jitter + 1 + slack)
    return np.where(inside, (last - jitter) / 365.25, times)


def curve_grid(spec: TrialSpec) -> np.ndarray:
    """The years each replicate's curves are reported at: 0 to the follow-up in steps of
    :data:`CURVE_STEP_YEARS` (each read as a landmark is, :func:`landmark_read_times`, so
    the last is not lost to whole-day visit times)."""
    steps = int(np.floor(spec.follow_up_years / CURVE_STEP_YEARS + 1e-9))
    return np.arange(steps + 1) * CURVE_STEP_YEARS


def _curve_rows(
    estimate: Any, grid: np.ndarray, read_at: np.ndarray, **labels: Any
) -> pd.DataFrame:
    read = estimate.curve.at(read_at)
    return pd.DataFrame(
        {
            **{k: [v] * len(grid) for k, v in labels.items()},
            "measure": estimate.measure,
            "time_years": grid,
            "estimate": np.asarray(read.estimate, dtype=float),
        }
    )


def analyse_replicate(
    spec: TrialSpec,
    cohort: Cohort,
    arms: pd.Series,
    replicate: int,
    curves: list[pd.DataFrame] | None = None,
    tests: list[dict[str, Any]] | None = None,
) -> tuple[list[pd.DataFrame], list[dict[str, Any]]]:
    """Estimates (and comparisons) of every endpoint in one replicate (landmarks read at
    :func:`landmark_read_times`); with ``curves``, each arm's curve read on
    :func:`curve_grid` is appended to it; with ``tests`` (and two or more arms), the test
    of ``analysis.method`` on the primary endpoint, per non-reference arm."""
    grid = curve_grid(spec)
    grid_read = landmark_read_times(spec, grid)
    anchor = time_zero(spec, arms)
    asked = np.asarray(spec.analysis.times_years, dtype=float)
    read = landmark_read_times(spec)
    times = tuple(float(t) for t in read)

    def relabel(frame: pd.DataFrame) -> pd.DataFrame:
        # one row per landmark, in the order given
        return frame.assign(time_years=asked)

    frames: list[pd.DataFrame] = []
    ratios: list[dict[str, Any]] = []
    primary = spec.analysis.primary or spec.analysis.endpoints[0]
    reference = spec.analysis.reference_arm or spec.arms[0].name
    for name, definition in spec.definitions().items():
        if len(spec.arms) == 1:
            one = estimate_endpoint(cohort, definition, times_years=times, anchor=anchor)
            assert not isinstance(one, dict)
            frames.append(relabel(one.landmarks).assign(endpoint=name, arm=spec.arms[0].name))
            if curves is not None:
                curves.append(
                    _curve_rows(
                        one,
                        grid,
                        grid_read,
                        replicate=replicate,
                        endpoint=name,
                        arm=spec.arms[0].name,
                    )
                )
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            result = compare_endpoint(
                cohort,
                definition,
                arms,
                reference=reference,
                times_years=times,
                anchor=anchor,
            )
        unreliable = any(issubclass(w.category, RuntimeWarning) for w in caught)
        if tests is not None and name == primary:
            rows = method_tests(
                spec.analysis.method,
                cohort,
                arms,
                reference=reference,
                anchor=anchor,
                comparison=result,
                reliable=not unreliable,
                tau_years=float(max(read)),
            )
            tests.extend(
                {"replicate": replicate, "method": spec.analysis.method, **r} for r in rows
            )
        for arm, estimate in result.estimates.items():
            frames.append(relabel(estimate.landmarks).assign(endpoint=name, arm=str(arm)))
            if curves is not None:
                curves.append(
                    _curve_rows(
                        estimate, grid, grid_read, replicate=replicate, endpoint=name, arm=str(arm)
                    )
                )
        for row in result.hazard_ratios.to_dict("records"):
            ratios.append(
                {
                    "replicate": replicate,
                    "endpoint": name,
                    "arm": row["group"],
                    "hazard_ratio": row["hazard_ratio"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "p_value": row["p_value"],
                    "log_rank_p": result.log_rank_p,
                    "hr_reliable": not unreliable and not np.isnan(float(row["hazard_ratio"])),
                }
            )
    return [f.assign(replicate=replicate) for f in frames], ratios


def published_statistics(
    spec: TrialSpec, cohort: Cohort, arms: pd.Series, replicate: int
) -> list[dict[str, Any]]:
    """The statistic of each ``[[published]]`` value that is neither a landmark nor a
    hazard ratio, in one replicate (:func:`msreboot.trials.arm_statistic`)."""
    rows: list[dict[str, Any]] = []
    anchor: str | pd.DataFrame | None = None
    reference = spec.analysis.reference_arm or spec.arms[0].name
    for i, value in enumerate(spec.published):
        if value.statistic in ("landmark", "hazard_ratio"):
            continue
        if anchor is None:
            anchor = time_zero(spec, arms)
        arm = value.arm or spec.arms[0].name
        result = arm_statistic(
            value.statistic,
            cohort,
            arms,
            arm=arm,
            reference=reference,
            anchor=anchor,
            time_years=value.time_years,
            window_days=value.window_days,
        )
        rows.append(
            {
                "replicate": replicate,
                "published": i,
                "statistic": value.statistic,
                "arm": arm,
                "time_years": np.nan if value.time_years is None else value.time_years,
                "value": result,
            }
        )
    return rows


def run_trial(
    spec: TrialSpec | str | Path,
    *,
    replicates: int | None = None,
    parameters: SimulationParameters | None = None,
    uncertainty: Literal["monte_carlo", "posterior"] | None = None,
    out_dir: str | Path | None = None,
    progress: Any = None,
) -> TrialResult:
    """Simulate and analyse every replicate of a virtual trial.

    Parameters
    ----------
    spec
        A :class:`TrialSpec`, a spec file, or a bundled preset's name.
    replicates
        Overrides the spec's number of replicates.
    parameters
        Simulation parameters; default: the spec's named set.
    uncertainty
        Overrides the spec's ``uncertainty``. ``"monte_carlo"``: every replicate under the
        one parameter set (the ranges across replicates are Monte Carlo error only).
        ``"posterior"``: replicate ``r`` under draw ``r`` of :func:`parameter_draws` (the
        draw's values set on ``parameters``, or on the calibrated set), so the ranges
        carry the calibration's parameter uncertainty as well;
        :attr:`TrialResult.parameter_draws` records each replicate's draw.
    out_dir
        When given, each replicate's canonical tables are written to
        ``out_dir/replicate_<r>/`` (CSV) with ``arms.csv``, and the analysed tables to
        ``out_dir/estimates.csv`` and ``hazard_ratios.csv``, with ``trial.json`` (the spec,
        seed and package version).
    progress
        A callable taking the finished replicate count (e.g. to advance a progress bar).

    Returns
    -------
    TrialResult

    Examples
    --------
    >>> result = run_trial("halt_ms", replicates=1)
    >>> sorted(result.estimates["endpoint"].unique())[:2]
    ['halt_ms_efs', 'halt_ms_mri_free']
    """
    checked_uncertainty(uncertainty)
    if not isinstance(spec, TrialSpec):
        spec = load_trial_spec(spec)
    if replicates is not None:
        spec = spec.with_(replicates=replicates)
    if uncertainty is not None and uncertainty != spec.uncertainty:
        spec = spec.with_(uncertainty=uncertainty)
    draws = parameter_draws(spec) if spec.uncertainty == "posterior" else None
    base = parameters if parameters is not None else spec.simulation_parameters()
    frames: list[pd.DataFrame] = []
    ratios: list[dict[str, Any]] = []
    statistics: list[dict[str, Any]] = []
    curves: list[pd.DataFrame] = []
    tests: list[dict[str, Any]] = []
    folder = Path(out_dir) if out_dir is not None else None
    for r in range(spec.replicates):
        if draws is not None:
            values = draws.iloc[r].drop(["replicate", "particle"]).to_dict()
            used = base.replace(**{str(k): float(v) for k, v in values.items()})
        else:
            used = base
        cohort, arms = simulate_replicate(spec, r, used)
        if folder is not None:
            _write_replicate(folder / f"replicate_{r + 1:03d}", cohort, arms)
        f, h = analyse_replicate(spec, cohort, arms, r + 1, curves, tests)
        frames.extend(f)
        ratios.extend(h)
        statistics.extend(published_statistics(spec, cohort, arms, r + 1))
        if progress is not None:
            progress(r + 1)
    columns = ["replicate", "endpoint", "arm", "time_years", "n", "events", "n_at_risk"]
    estimates = pd.concat(frames, ignore_index=True)
    estimates = estimates[[*columns, "estimate", "std_err", "ci_low", "ci_high"]]
    hazard = pd.DataFrame(
        ratios,
        columns=[
            "replicate",
            "endpoint",
            "arm",
            "hazard_ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "log_rank_p",
            "hr_reliable",
        ],
    )
    result = TrialResult(
        spec=spec,
        estimates=estimates,
        hazard_ratios=hazard,
        statistics=pd.DataFrame(statistics, columns=STATISTICS_COLUMNS),
        curves=(
            pd.concat(curves, ignore_index=True)[CURVE_COLUMNS]
            if curves
            else pd.DataFrame(columns=CURVE_COLUMNS)
        ),
        tests=pd.DataFrame(tests, columns=TEST_COLUMNS),
        parameter_draws=(
            draws[DRAW_COLUMNS].copy() if draws is not None else pd.DataFrame(columns=DRAW_COLUMNS)
        ),
    )
    if folder is not None:
        _write_results(folder, result)
    return result


def _write_replicate(folder: Path, cohort: Cohort, arms: pd.Series) -> None:
    from msreboot.data import write_frame, write_tables

    write_tables(cohort.tables, folder)
    frame = pd.DataFrame({"patient_id": arms.index, "arm": arms.to_numpy()})
    write_frame(frame, folder.parent / f"{folder.name}_arms.csv")


def _write_results(folder: Path, result: TrialResult) -> None:
    import json

    from msreboot import __version__
    from msreboot.data import atomic_write_text, write_frame

    write_frame(result.estimates, folder / "estimates.csv")
    write_frame(result.hazard_ratios, folder / "hazard_ratios.csv")
    if len(result.parameter_draws):
        write_frame(result.parameter_draws, folder / "parameter_draws.csv")
    write_frame(result.table(), folder / "summary.csv")
    if len(result.statistics):
        write_frame(result.statistics, folder / "statistics.csv")
    if len(result.curves):
        write_frame(result.curves, folder / "curves.csv")
    if result.spec.published:
        write_frame(result.compare_published(), folder / "published.csv")
    meta = {
        "msreboot_version": __version__,
        "seed": result.spec.seed,
        "replicates": result.spec.replicates,
        "uncertainty": result.spec.uncertainty,
        "spec": result.spec.model_dump(mode="json"),
    }
    atomic_write_text(folder / "trial.json", json.dumps(meta, indent=2, sort_keys=True))
