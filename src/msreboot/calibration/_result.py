"""A finished (or stopped) calibration read back from its folder: the posterior, the
posterior predictive beside every published target, and the calibrated parameter set."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msreboot import __version__
from msreboot.calibration._executors import Executor
from msreboot.calibration._run import (
    CalibrationSettings,
    Progress,
    Simulator,
    _base,
    _continue,
    _Run,
)
from msreboot.calibration._smc import Prior, load_priors, weighted_quantile
from msreboot.calibration._targets import CalibrationTarget, load_targets
from msreboot.data import atomic_write_text, parse_toml
from msreboot.simulate import SimulationParameters

__all__ = ["CalibrationResult", "calibrate", "resume_calibration"]

CREDIBLE = (0.05, 0.95)
"""The 90% credible and predictive intervals reported."""


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """A calibration's outcome.

    Attributes
    ----------
    folder
        Where the run is stored.
    settings, priors, targets
        As run (``targets``: all of them, including any excluded study's).
    generations
        One row per generation: tolerance, proposals evaluated, acceptance, ESS.
    population
        The final population: parameters (natural scale), ``weight``, ``distance`` and
        each target's statistic (``stat:<id>``).
    predictive
        Fresh simulations at parameters drawn from the final population.
    status
        Why the run stopped.
    """

    folder: Path
    settings: CalibrationSettings
    priors: tuple[Prior, ...]
    targets: tuple[CalibrationTarget, ...]
    generations: pd.DataFrame = field(repr=False)
    population: pd.DataFrame = field(repr=False)
    predictive: pd.DataFrame = field(repr=False)
    status: str
    version: str

    @classmethod
    def load(cls, folder: str | Path) -> CalibrationResult:
        """Read a calibration folder (after at least one complete generation)."""
        path = Path(folder)
        if not (path / "calibration.json").exists():
            raise FileNotFoundError(f"{path} holds no calibration (calibration.json is missing)")
        run = _Run(path)
        done = run.completed()
        if done == 0:
            raise ValueError(f"{path}: no generation has completed yet; resume it first")
        infos = [
            json.loads(run.generation_path(t).with_suffix(".json").read_text(encoding="utf-8"))
            for t in range(done)
        ]
        predictive_path = path / "predictive.parquet"
        predictive = pd.read_parquet(predictive_path) if predictive_path.exists() else None
        status_path = path / "status.json"
        status = (
            json.loads(status_path.read_text(encoding="utf-8"))["reason"]
            if status_path.exists()
            else "in progress"
        )
        return cls(
            folder=path,
            settings=run.settings,
            priors=run.priors,
            targets=run.all_targets,
            generations=pd.DataFrame(infos),
            population=run.population(done - 1),
            predictive=predictive if predictive is not None else pd.DataFrame(),
            status=status,
            version=str(run.config.get("msreboot_version", "")),
        )

    @property
    def fitted_targets(self) -> tuple[CalibrationTarget, ...]:
        excluded = set(self.settings.exclude_studies)
        return tuple(t for t in self.targets if t.study not in excluded)

    def posterior(self) -> pd.DataFrame:
        """One row per calibrated parameter: prior, default, posterior mean, median and
        90% credible interval, and the ratio of posterior to prior interval width."""
        w = self.population["weight"].to_numpy(dtype=float)
        default = SimulationParameters.preset(self.settings.base_parameters)
        rows = []
        for prior in self.priors:
            values = self.population[prior.name].to_numpy(dtype=float)
            low, median, high = weighted_quantile(values, w, (CREDIBLE[0], 0.5, CREDIBLE[1]))
            span = prior.bounds[1] - prior.bounds[0]
            to_work = np.log if prior.distribution == "log_uniform" else (lambda x: x)
            rows.append(
                {
                    "parameter": prior.name,
                    "prior": f"{prior.distribution}({prior.low:g}, {prior.high:g})",
                    "default": float(getattr(default, prior.name)),
                    "mean": float(np.sum(w * values) / np.sum(w)),
                    "median": float(median),
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "width_vs_prior": float((to_work(high) - to_work(low)) / span),
                }
            )
        return pd.DataFrame(rows)

    def parameters(self) -> SimulationParameters:
        """The base set with each calibrated parameter at its posterior median."""
        medians = dict(zip(*[self.posterior()[c] for c in ("parameter", "median")], strict=True))
        return SimulationParameters.preset(self.settings.base_parameters).replace(**medians)

    def compare(self) -> pd.DataFrame:
        """Every target: the published value and interval beside the posterior predictive
        median and 90% interval; whether each lies inside the other's interval; whether
        the target was fitted."""
        rows = []
        fitted = {t.id for t in self.fitted_targets}
        for target in self.targets:
            column = f"stat:{target.id}"
            sims = (
                self.predictive[column].to_numpy(dtype=float)
                if column in self.predictive
                else np.array([])
            )
            sims = sims[np.isfinite(sims)]
            low, high = target.interval()
            if len(sims):
                s_low, s_mid, s_high = np.quantile(sims, (CREDIBLE[0], 0.5, CREDIBLE[1]))
            else:
                s_low = s_mid = s_high = np.nan
            rows.append(
                {
                    "target": target.id,
                    "study": target.study,
                    "label": target.label(),
                    "scale": target.scale,
                    "fitted": target.id in fitted,
                    "published": target.value,
                    "published_low": low,
                    "published_high": high,
                    "interval_from": "published" if target.ci_low is not None else "n",
                    "simulated": float(s_mid),
                    "simulated_low": float(s_low),
                    "simulated_high": float(s_high),
                    "simulated_in_published": bool(low <= s_mid <= high),
                    "published_in_predictive": bool(s_low <= target.value <= s_high),
                    "note": target.note,
                }
            )
        return pd.DataFrame(rows)

    def coverage(self) -> dict[str, int]:
        """Counts over fitted targets: simulated medians inside the published intervals,
        and published values inside the 90% predictive intervals."""
        table = self.compare()
        fitted = table[table["fitted"]]
        return {
            "targets": len(fitted),
            "simulated_in_published": int(fitted["simulated_in_published"].sum()),
            "published_in_predictive": int(fitted["published_in_predictive"].sum()),
        }

    def leave_one_study_out(self) -> pd.DataFrame:
        """Predictions of each study by the fit to the others (see
        :func:`msreboot.calibration.leave_one_study_out`)."""
        from msreboot.calibration._validation import leave_one_study_out

        return leave_one_study_out(self.folder)

    def write_parameter_set(self, path: str | Path, name: str = "calibrated") -> Path:
        """Write the calibrated values with their provenance as TOML
        (:meth:`SimulationParameters.preset` reads the bundled one as ``"calibrated"``)."""
        post = self.posterior()
        cover = self.coverage()
        lines = [
            f"# Calibrated simulation parameters ({name}): posterior medians of an ABC-SMC",
            "# fit to the published targets. Written by `msreboot calibrate report",
            "# --parameters`; every other parameter keeps the base set's value.",
            "",
            "[provenance]",
            f'name = "{name}"',
            f'msreboot_version = "{self.version or __version__}"',
            f'base_parameters = "{self.settings.base_parameters}"',
            f"seed = {self.settings.seed}",
            f"population_size = {self.settings.population_size}",
            f"generations = {len(self.generations)}",
            f"evaluations = {int(self.generations['evaluated'].sum())}",
            f"final_tolerance = {float(self.generations['tolerance'].iloc[-1] or 0):.6g}",
            f"targets = {json.dumps([t.id for t in self.fitted_targets])}",
            f"excluded_studies = {json.dumps(list(self.settings.exclude_studies))}",
            f"coverage_simulated_in_published = {cover['simulated_in_published']}",
            f"coverage_published_in_predictive = {cover['published_in_predictive']}",
            f"fitted_targets = {cover['targets']}",
            f'status = "{self.status}"',
            "",
            "[values]",
        ]
        lines += [f"{r['parameter']} = {r['median']:.6g}" for r in post.to_dict("records")]
        lines += ["", "[interval_90]"]
        lines += [
            f"{r['parameter']} = [{r['ci_low']:.6g}, {r['ci_high']:.6g}]"
            for r in post.to_dict("records")
        ]
        target = Path(path)
        parse_toml("\n".join(lines), what="calibrated parameter set", where=str(target))
        return atomic_write_text(target, "\n".join(lines) + "\n")

    def summary(self) -> str:
        cover = self.coverage()
        gens = self.generations
        lines = [
            f"ABC-SMC calibration in {self.folder}: {len(gens)} generation(s) of "
            f"{self.settings.population_size} particles, "
            f"{int(gens['evaluated'].sum())} simulations of every study, seed "
            f"{self.settings.seed} ({self.status})",
            f"final tolerance {float(gens['tolerance'].iloc[-1] or np.inf):.3g} "
            f"(RMS of standardised differences), ESS {float(gens['ess'].iloc[-1]):.0f}",
            f"fitted targets: {cover['targets']}; simulated median inside the published "
            f"interval: {cover['simulated_in_published']}; published value inside the 90% "
            f"predictive interval: {cover['published_in_predictive']}",
        ]
        if self.settings.exclude_studies:
            lines.append("left out of the fit: " + ", ".join(self.settings.exclude_studies))
        lines.append("posterior (median [90% CrI]):")
        for row in self.posterior().to_dict("records"):
            lines.append(
                f"  {row['parameter']} = {row['median']:.4g} "
                f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}] (default {row['default']:.4g})"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"

    def to_frame(self) -> pd.DataFrame:
        return self.compare()


def calibrate(
    folder: str | Path,
    *,
    targets: Sequence[CalibrationTarget] | None = None,
    priors: Sequence[Prior] | None = None,
    settings: CalibrationSettings | None = None,
    cluster: str | None = None,
    processes: int | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    simulator: Simulator | None = None,
) -> CalibrationResult:
    """Calibrate the simulator to published targets by ABC-SMC, stored in ``folder``.

    Parameters
    ----------
    folder
        A new (or empty) folder for the run; an existing run is continued with
        :func:`resume_calibration`.
    targets, priors
        Default: the bundled targets (:func:`load_targets`) and priors
        (:func:`load_priors`).
    settings
        Population size, generations, seed... (:class:`CalibrationSettings`).
    cluster
        A Spark master (``spark://host:7077``, ``local[4]``): simulations run as Spark
        tasks. Default: local processes.
    processes
        Local worker processes (default: one per core; 1 runs in this process).
    executor
        Any executor (overrides ``cluster`` and ``processes``).
    progress
        Called with a description, the proposals done and those in the batch.
    simulator
        What computes the targets' statistics from a proposal (default: :func:`evaluate`,
        the bundled virtual studies); another model for testing the algorithm.

    Returns
    -------
    CalibrationResult
    """
    path = Path(folder)
    if (path / "calibration.json").exists():
        raise FileExistsError(
            f"{path} already holds a calibration; continue it with "
            f"`msreboot calibrate resume {path}` (resume_calibration)"
        )
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} is not empty; give a new folder for the calibration")
    settings = settings or CalibrationSettings()
    all_targets = tuple(targets) if targets is not None else load_targets()
    studies = {t.study for t in all_targets}
    unknown = sorted(set(settings.exclude_studies) - studies)
    if unknown:
        raise ValueError(f"exclude_studies: no targets from {unknown}; studies: {sorted(studies)}")
    if not [t for t in all_targets if t.study not in settings.exclude_studies]:
        raise ValueError("every target's study is excluded; nothing to fit")
    _base(settings.base_parameters)  # fail early on an unknown set
    config = {
        "msreboot_version": __version__,
        "settings": settings.model_dump(mode="json"),
        "priors": [p.model_dump() for p in (priors or load_priors())],
        "targets": [t.model_dump() for t in all_targets],
    }
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / "calibration.json", json.dumps(config, indent=2) + "\n")
    _continue(path, cluster, processes, executor, progress, simulator)
    return CalibrationResult.load(path)


def resume_calibration(
    folder: str | Path,
    *,
    generations: int | None = None,
    cluster: str | None = None,
    processes: int | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    simulator: Simulator | None = None,
) -> CalibrationResult:
    """Continue a stopped calibration from its last complete batch (or extend a finished
    one to ``generations``). Same seed, same result as an uninterrupted run."""
    path = Path(folder)
    if not (path / "calibration.json").exists():
        raise FileNotFoundError(f"{path} holds no calibration (calibration.json is missing)")
    if generations is not None:
        config = json.loads((path / "calibration.json").read_text(encoding="utf-8"))
        config["settings"]["generations"] = generations
        CalibrationSettings.model_validate(config["settings"])
        status = path / "status.json"
        if status.exists():
            status.unlink()
        atomic_write_text(path / "calibration.json", json.dumps(config, indent=2) + "\n")
    _continue(path, cluster, processes, executor, progress, simulator)
    return CalibrationResult.load(path)
