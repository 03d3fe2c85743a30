"""Run, store and resume an ABC-SMC calibration of the simulator.

A calibration lives in a folder:

``calibration.json``
    Targets, priors, settings, package version: everything needed to continue.
``batches/g<t>_b<b>.parquet``
    Every proposal evaluated: its parameters, each target's simulated statistic and the
    distance. Written batch by batch, so a stopped run loses at most one batch.
``generations/g<t>.parquet`` and ``.json``
    The accepted population (parameters, weights, distances, statistics) and the
    generation's tolerance, acceptance rate and effective sample size.
``predictive.parquet``
    Fresh simulations of every target at parameters drawn from the final population: the
    posterior predictive distribution.

:func:`resume_calibration` reads the folder and continues after the last complete
batch. As every proposal and simulation seed derives from the run's seed, the generation
and the proposal's index, a resumed run, a run on more cores and a run on Spark give the
same numbers as one uninterrupted local run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from msreboot.calibration._executors import Executor, make_executor
from msreboot.calibration._smc import (
    Box,
    Prior,
    Proposal,
    distance,
    effective_sample_size,
    simulation_seed,
    weighted_quantile,
)
from msreboot.calibration._targets import (
    CalibrationTarget,
    study_spec,
    study_statistics,
    targets_by_study,
)
from msreboot.data import atomic_write_text, write_frame
from msreboot.simulate import SimulationParameters
from msreboot.trials import simulate_replicate

__all__ = ["CalibrationSettings", "evaluate"]

Progress = Callable[[str, int, int], None]
Simulator = Callable[["Task"], dict[str, float]]
"""Computes every target's statistic for one proposal (default: :func:`evaluate`)."""
PREDICTIVE_GENERATION = 1_000_000
"""Spawn-key generation of the posterior predictive draws (apart from any real one)."""


class CalibrationSettings(BaseModel):
    """How the ABC-SMC runs.

    Attributes
    ----------
    population_size
        Particles per generation.
    generations
        Generations, the prior sample (generation 0) included.
    batch_size
        Proposals evaluated together (default: the population size). Part of the result:
        the first ``population_size`` accepted proposals, in order, form the population.
    quantile
        Each tolerance is this weighted quantile of the previous population's distances.
    min_acceptance
        Stop after a generation accepting fewer than this share of its proposals.
    max_batches
        Stop (keeping the last complete generation) when a generation needs more batches.
    predictive_draws
        Posterior predictive simulations (default: the population size).
    seed
        Seeds every proposal and simulation.
    base_parameters
        The named parameter set the uncalibrated parameters keep
        (:meth:`SimulationParameters.preset`).
    exclude_studies
        Studies whose targets are left out of the fit (leave-one-study-out by refitting).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    population_size: int = Field(100, ge=4)
    generations: int = Field(6, ge=1, le=100)
    batch_size: int | None = Field(None, ge=1)
    quantile: float = Field(0.5, gt=0, lt=1)
    min_acceptance: float = Field(0.02, ge=0, lt=1)
    max_batches: int = Field(50, ge=1)
    predictive_draws: int | None = Field(None, ge=1)
    seed: int = Field(2026, ge=0)
    base_parameters: str = "default"
    exclude_studies: tuple[str, ...] = ()

    @property
    def batch(self) -> int:
        return self.batch_size or self.population_size


@dataclass(frozen=True)
class Task:
    """One simulation of every target study at one parameter vector."""

    theta: dict[str, float]
    seed: int
    base_parameters: str
    targets_json: str


@cache
def _targets_of(targets_json: str) -> tuple[CalibrationTarget, ...]:
    return tuple(CalibrationTarget.model_validate(t) for t in json.loads(targets_json))


@cache
def _base(name: str) -> SimulationParameters:
    return SimulationParameters.preset(name)


def evaluate(task: Task) -> dict[str, float]:
    """Simulate each target study once (its own population, protocol, schedule,
    follow-up and endpoint definitions) and compute every target's statistic."""
    parameters = _base(task.base_parameters).replace(**task.theta)
    out: dict[str, float] = {}
    for k, (study, targets) in enumerate(targets_by_study(_targets_of(task.targets_json)).items()):
        seed = np.random.SeedSequence(task.seed, spawn_key=(k,)).generate_state(1)[0]
        spec = study_spec(study).model_copy(update={"seed": int(seed)})
        cohort, arms = simulate_replicate(spec, 0, parameters)
        out.update(study_statistics(spec, cohort, arms, targets))
    return out


def z_scores(targets: Sequence[CalibrationTarget], statistics: pd.DataFrame) -> np.ndarray:
    """Standardised differences, one column per target (rows: simulations)."""
    columns = [statistics[f"stat:{t.id}"].map(t.z).to_numpy(dtype=float) for t in targets]
    return np.column_stack(columns) if columns else np.empty((len(statistics), 0))


class _Run:
    """A calibration folder: its configuration and the files written so far."""

    def __init__(self, folder: Path, simulator: Simulator | None = None) -> None:
        self.folder = folder
        self.simulator = simulator or evaluate
        config = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
        self.config = config
        self.settings = CalibrationSettings.model_validate(config["settings"])
        self.priors = tuple(Prior.model_validate(p) for p in config["priors"])
        self.all_targets = tuple(CalibrationTarget.model_validate(t) for t in config["targets"])
        excluded = set(self.settings.exclude_studies)
        self.targets = tuple(t for t in self.all_targets if t.study not in excluded)
        self.box = Box(self.priors)
        self.targets_json = json.dumps([t.model_dump() for t in self.all_targets])

    def batch_path(self, generation: int, batch: int) -> Path:
        return self.folder / "batches" / f"g{generation:02d}_b{batch:03d}.parquet"

    def generation_path(self, generation: int) -> Path:
        return self.folder / "generations" / f"g{generation:02d}.parquet"

    def completed(self) -> int:
        t = 0
        while (self.generation_path(t).with_suffix(".json")).exists():
            t += 1
        return t

    def population(self, generation: int) -> pd.DataFrame:
        return pd.read_parquet(self.generation_path(generation))

    def proposal(self, generation: int) -> Proposal:
        """Where ``generation`` draws from: the prior, or the previous population's kernel."""
        if generation == 0:
            return Proposal(self.box)
        previous = self.population(generation - 1)
        return Proposal(
            self.box,
            previous[self.theta_columns()].to_numpy(dtype=float),
            previous["weight"].to_numpy(dtype=float),
            seed=self.settings.seed,
            generation=generation,
        )

    def theta_columns(self) -> list[str]:
        return [f"z:{p.name}" for p in self.priors]

    def tasks(self, z: np.ndarray, seeds: Sequence[int]) -> list[Task]:
        return [
            Task(self.box.natural(row), seed, self.settings.base_parameters, self.targets_json)
            for row, seed in zip(z, seeds, strict=True)
        ]

    def frame(self, z: np.ndarray, stats: list[dict[str, float]]) -> pd.DataFrame:
        frame = pd.DataFrame(z, columns=self.theta_columns())
        for i, prior in enumerate(self.priors):
            frame[prior.name] = prior.natural(z[:, i])
        for target in self.all_targets:
            frame[f"stat:{target.id}"] = [s.get(target.id, np.nan) for s in stats]
        frame["distance"] = [distance(row) for row in z_scores(self.targets, frame)]
        return frame


def _continue(
    path: Path,
    cluster: str | None,
    processes: int | None,
    executor: Executor | None,
    progress: Progress | None,
    simulator: Simulator | None,
) -> None:
    run = _Run(path, simulator or evaluate)
    own = executor is None
    executor = executor or make_executor(cluster, processes)
    try:
        if not (path / "status.json").exists():
            _generations(run, executor, progress)
        _predictive(run, executor, progress)
    finally:
        if own:
            executor.close()


def _generations(run: _Run, executor: Executor, progress: Progress | None) -> None:
    settings = run.settings
    n = settings.population_size
    reason = f"completed {settings.generations} generation(s)"
    for t in range(run.completed(), settings.generations):
        proposal, tolerance = run.proposal(t), math.inf
        if t:
            previous = run.population(t - 1)
            tolerance = float(
                weighted_quantile(
                    previous["distance"].to_numpy(),
                    previous["weight"].to_numpy(dtype=float),
                    settings.quantile,
                )
            )
        accepted: list[pd.DataFrame] = []
        evaluated = 0
        for b in range(settings.max_batches):
            batch = _batch(run, proposal, t, b, executor, progress)
            evaluated += len(batch)
            accepted.append(batch[batch["distance"] <= tolerance])
            if sum(len(a) for a in accepted) >= n:
                break
        population = pd.concat(accepted, ignore_index=True).head(n)
        if len(population) < n:
            reason = (
                f"stopped in generation {t}: fewer than {n} of {evaluated} proposals within "
                f"tolerance {tolerance:.4g} after {settings.max_batches} batches"
            )
            break
        z = population[run.theta_columns()].to_numpy(dtype=float)
        log_q = proposal.log_density(z)
        weights = np.exp(-(log_q - log_q.min())) if t else np.ones(n)
        population["weight"] = weights / weights.sum()
        population["generation"] = t
        write_frame(population, run.generation_path(t))
        acceptance = n / evaluated
        info = {
            "generation": t,
            "tolerance": tolerance if math.isfinite(tolerance) else None,
            "evaluated": evaluated,
            "acceptance": acceptance,
            "ess": effective_sample_size(population["weight"].to_numpy()),
            "median_distance": float(population["distance"].median()),
        }
        atomic_write_text(
            run.generation_path(t).with_suffix(".json"), json.dumps(info, indent=2) + "\n"
        )
        if t and acceptance < settings.min_acceptance:
            reason = (
                f"stopped after generation {t}: acceptance {acceptance:.3g} below "
                f"{settings.min_acceptance:g}"
            )
            break
    if run.completed() == 0:
        raise RuntimeError(f"{run.folder}: no generation completed ({reason})")
    atomic_write_text(run.folder / "status.json", json.dumps({"reason": reason}) + "\n")


def _batch(
    run: _Run,
    proposal: Proposal,
    generation: int,
    batch: int,
    executor: Executor,
    progress: Progress | None,
) -> pd.DataFrame:
    """Proposals ``batch * size ...`` of a generation, evaluated (or read back)."""
    path = run.batch_path(generation, batch)
    if path.exists():
        return pd.read_parquet(path)
    size = run.settings.batch
    indices = range(batch * size, (batch + 1) * size)
    z = np.array([proposal.draw(i) for i in indices])
    seeds = [simulation_seed(run.settings.seed, generation, i) for i in indices]
    if progress is not None:
        progress(f"generation {generation}, batch {batch + 1}", 0, size)
    stats = executor.map(run.simulator, run.tasks(z, seeds))
    if progress is not None:
        progress(f"generation {generation}, batch {batch + 1}", size, size)
    frame = run.frame(z, stats)
    frame.insert(0, "index", list(indices))
    frame.insert(0, "generation", generation)
    write_frame(frame, path)
    return frame


def _predictive(run: _Run, executor: Executor, progress: Progress | None) -> None:
    """Simulate every target at parameters resampled from the final population."""
    path = run.folder / "predictive.parquet"
    final = run.completed() - 1
    if path.exists() and int(pd.read_parquet(path)["from_generation"].iloc[0]) == final:
        return
    population = run.population(final)
    draws = run.settings.predictive_draws or run.settings.population_size
    rng = np.random.default_rng(
        np.random.SeedSequence(run.settings.seed, spawn_key=(PREDICTIVE_GENERATION, final))
    )
    weights = population["weight"].to_numpy(dtype=float)
    picks = rng.choice(len(population), size=draws, p=weights / weights.sum())
    z = population[run.theta_columns()].to_numpy(dtype=float)[picks]
    seeds = [simulation_seed(run.settings.seed, PREDICTIVE_GENERATION, i) for i in range(draws)]
    if progress is not None:
        progress("posterior predictive", 0, draws)
    stats = executor.map(run.simulator, run.tasks(z, seeds))
    if progress is not None:
        progress("posterior predictive", draws, draws)
    frame = run.frame(z, stats)
    frame.insert(0, "particle", picks)
    frame["from_generation"] = final
    write_frame(frame, path)
