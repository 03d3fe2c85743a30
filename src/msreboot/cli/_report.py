"""Command-line pieces: ``msreboot report`` and the report step of ``msreboot demo``.

The main CLI reads the cohort (folder, workbook, REDCap export or DuckDB store) with its
shared loader and calls :func:`run_report`. Every argument problem is a ``ValueError``
whose message the CLI prints as it is (exit 2); nothing is written then.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from msreboot.data import Cohort
from msreboot.endpoints import EndpointDefinition

if TYPE_CHECKING:
    from rich.progress import Progress

    from msreboot.analysis import CohortAnalysis, EmulationSpec
    from msreboot.data import ImportResult
    from msreboot.report import Report
    from msreboot.trials import TrialResult, TrialSpec

__all__ = [
    "DEMO_ENDPOINTS",
    "DEMO_REPLICATES",
    "DemoResult",
    "ReportJob",
    "analyse",
    "check_report_options",
    "load_trial",
    "render_report",
    "run_demo",
    "run_report",
    "run_virtual_trial",
]

DEMO_REPLICATES = 20
"""Replicates of the demo's virtual trial: a stable mean, and quick on two cores."""

DEMO_ENDPOINTS = ("halt_ms_efs", "muraro_2017_pfs")
"""The endpoints the demo prints (the report shows every default one)."""


@dataclass(frozen=True)
class ReportJob:
    """The checked options of ``msreboot report``."""

    out: Path
    title: str
    definitions: tuple[EndpointDefinition, ...]
    times_years: tuple[float, ...]
    trial: TrialSpec | None
    by: str | None = None
    full_paths: bool = False
    emulation: EmulationSpec | None = None


def load_trial(name: str, replicates: int) -> TrialSpec | None:
    """The trial spec named by ``--trial`` (a bundled study or a TOML file); ``none``: no
    trial."""
    from msreboot.trials import TrialSpec, load_trial_spec

    if name.strip().lower() == "none":
        return None
    if replicates < 1:
        raise ValueError(f"--replicates must be >= 1; got {replicates}.")
    if not Path(name).suffix and name not in TrialSpec.presets():
        raise ValueError(
            f"--trial must be a bundled study ({', '.join(TrialSpec.presets())}), a trial spec "
            f"file (.toml) or none; got {name!r}."
        )
    return load_trial_spec(name).with_(replicates=replicates)


def check_report_options(
    *,
    out: Path,
    title: str,
    endpoints: Sequence[str],
    definitions_file: Path | None,
    times: str,
    trial: str,
    replicates: int,
    by: str | None = None,
    full_paths: bool = False,
    emulation: str | None = None,
) -> ReportJob:
    """Check every option before anything is read or written."""
    from msreboot.analysis import DEFAULT_ENDPOINTS
    from msreboot.cli._endpoints import choose_definitions, parse_times

    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--out must be an .html file; got {out.name!r}. Try report.html.")
    if out.is_dir():
        raise ValueError(f"--out must be a file; got the folder {out}.")
    if definitions_file is not None and not definitions_file.is_file():
        raise ValueError(f"--definitions must be an existing TOML file; got {definitions_file}.")
    names = list(endpoints)
    if not names and definitions_file is None:
        names = list(DEFAULT_ENDPOINTS)
    definitions = choose_definitions(names, definitions_file)
    return ReportJob(
        out,
        title.strip() or "Cohort report",
        tuple(definitions),
        parse_times(times),
        load_trial(trial, replicates),
        by.strip() if by and by.strip() else None,
        full_paths,
        None if emulation is None else _emulation_spec(emulation),
    )


def _emulation_spec(name: str) -> EmulationSpec:
    from msreboot.cli._compare import load_spec

    return load_spec(name)


def run_virtual_trial(spec: TrialSpec, progress: Progress | None) -> tuple[TrialResult, float]:
    """Run the replicates of a virtual trial behind a progress bar; return the result and
    the seconds it took."""
    from msreboot.trials import run_trial

    start = time.perf_counter()
    if progress is None:
        result = run_trial(spec)
    else:
        task = progress.add_task(
            f"virtual trial {spec.name} ({spec.replicates} replicates)", total=spec.replicates
        )
        result = run_trial(spec, progress=lambda done: progress.update(task, completed=done))
    return result, time.perf_counter() - start


def run_report(
    cohort: Cohort,
    job: ReportJob,
    *,
    source: Path | None,
    command: str,
    progress: Progress | None,
    trial: TrialResult | None = None,
) -> Report:
    """Analyse the cohort and render the report of ``job`` (running its virtual trial unless
    ``trial`` is given)."""
    if trial is None and job.trial is not None:
        trial, _ = run_virtual_trial(job.trial, progress)
    analysis = analyse(cohort, job, trial, progress)
    return render_report(analysis, job, source=source, command=command, progress=progress)


def analyse(
    cohort: Cohort, job: ReportJob, trial: TrialResult | None, progress: Progress | None
) -> CohortAnalysis:
    """The analysis the report of ``job`` shows, computed once, behind a progress bar."""
    from msreboot.analysis import analyse_cohort

    task = None if progress is None else progress.add_task("analysing the cohort", total=1)
    analysis = analyse_cohort(
        cohort,
        definitions=job.definitions,
        times_years=job.times_years,
        by=job.by,
        trial=trial,
        emulation=job.emulation,
    )
    if progress is not None and task is not None:
        progress.update(task, completed=1)
    return analysis


def render_report(
    analysis: CohortAnalysis,
    job: ReportJob,
    *,
    source: Path | None,
    command: str,
    progress: Progress | None,
) -> Report:
    """Write the report of ``job`` from its analysis."""
    from msreboot.report import build_report

    callback = None
    if progress is not None:
        task = progress.add_task(f"writing {job.out.name}", total=1)

        def callback(done: int, total: int, description: str) -> None:
            progress.update(task, completed=done, total=total, description=description)

    return build_report(
        analysis,
        out=job.out,
        title=job.title,
        source=source,
        command=command,
        progress=callback,
        full_paths=job.full_paths,
    )


@dataclass(frozen=True)
class DemoResult:
    """What ``msreboot demo`` did, to print.

    Attributes
    ----------
    n_patients, n_warnings
        The example cohort's patients and validation warnings.
    imported
        The import into the store.
    store
        The DuckDB store.
    analysis
        The analysis of the cohort read back from the store (the report shows it).
    trial, trial_seconds
        The virtual HALT-MS trial and how long it took.
    report
        The HTML report.
    seconds
        Wall time of the whole demo.
    """

    n_patients: int
    n_warnings: int
    imported: ImportResult
    store: Path
    analysis: CohortAnalysis
    trial: TrialResult
    trial_seconds: float
    report: Report
    seconds: float

    def summary(self) -> str:
        spec = self.trial.spec
        results = self.analysis.endpoints
        shown = [] if results is None else [n for n in DEMO_ENDPOINTS if n in results]
        lines = [
            f"validated: {self.n_patients} patients, no errors, {self.n_warnings} warning(s)",
            self.imported.summary(),
            "",
            *(results[name].summary() for name in shown if results is not None),
            *([] if self.analysis.trm is None else [self.analysis.trm.summary()]),
            "",
            f"virtual HALT-MS: {spec.replicates} replicates of {spec.arms[0].n} patients in "
            f"{self.trial_seconds:.1f} s (seed {spec.seed})",
        ]
        for row in self.trial.compare_published().to_dict("records"):
            lines.append(
                f"  {row['endpoint']} {float(row['time_years']):g} y: published "
                f"{100 * float(row['published']):.1f}%, simulated "
                f"{100 * float(row['simulated']):.1f}%"
            )
        lines += [
            "",
            f"report: {self.report.path.resolve()}",
            f"figures (SVG and PNG): {self.report.figure_folder.resolve()}",
            f"store: {self.store.resolve()}",
            f"done in {self.seconds:.0f} s",
        ]
        return "\n".join(lines)


def run_demo(workdir: Path, *, command: str, progress: Progress | None) -> DemoResult:
    """The main job on the bundled example: validate, import into the store, analyse the
    cohort read back from the store, run a virtual HALT-MS trial and write the report."""
    from msreboot.data import import_cohort, read_cohort, read_store
    from msreboot.datasets import example_path

    start = time.perf_counter()
    db = workdir / "cohort.duckdb"
    job = check_report_options(
        out=workdir / "report.html",
        title="msreboot demo: the synthetic example cohort",
        endpoints=[],
        definitions_file=None,
        times="2,3,4,5",
        trial="halt_ms",
        replicates=DEMO_REPLICATES,
    )
    task = None if progress is None else progress.add_task("validating the example", total=3)

    def step(description: str) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=1, description=description)

    cohort = read_cohort(example_path())
    step(f"importing into {db}")
    imported = import_cohort(cohort, db, source="msreboot example cohort")
    step("reading the cohort back from the store")
    stored = read_store(db)
    step("cohort ready")
    if job.trial is None:  # pragma: no cover - the demo's options always name its trial
        raise ValueError("the demo needs its virtual trial; got none.")
    trial, trial_seconds = run_virtual_trial(job.trial, progress)
    analysis = analyse(stored, job, trial, progress)
    report = render_report(analysis, job, source=db, command=command, progress=progress)
    return DemoResult(
        cohort.n_patients,
        len(cohort.warnings),
        imported,
        db,
        analysis,
        trial,
        trial_seconds,
        report,
        time.perf_counter() - start,
    )
