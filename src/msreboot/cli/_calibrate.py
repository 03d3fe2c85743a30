"""Command-line pieces: ``msreboot calibrate run|resume|report|targets``.

The main CLI registers them with ``app.add_typer(calibrate_app, name="calibrate")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from msreboot.cli._common import EXIT_USAGE, fail, progress

__all__ = ["calibrate_app"]

calibrate_app = typer.Typer(
    name="calibrate",
    help="Calibrate the simulator to the published trials (ABC-SMC) and report the fit.",
    no_args_is_help=True,
)

FolderArg = Annotated[Path, typer.Argument(help="The calibration's folder.")]
Cluster = Annotated[
    str | None,
    typer.Option(
        help="Spark master (spark://host:7077, local[4]): run the simulations as Spark "
        "tasks. Default: local processes."
    ),
]
Processes = Annotated[
    int | None, typer.Option(min=1, help="Local worker processes (default: one per core).")
]


@contextmanager
def _bar(ctx: typer.Context) -> Iterator[Callable[[str, int, int], None]]:
    """The shared progress display, as the calibration's ``progress(description, done,
    total)`` callback."""
    with progress(ctx, transient=True) as bar:
        task = bar.add_task("starting", total=1)

        def update(description: str, done: int, total: int) -> None:
            bar.update(task, description=description, completed=done, total=total)

        yield update


@calibrate_app.command("run")
def run_command(
    ctx: typer.Context,
    folder: FolderArg,
    population: Annotated[int, typer.Option(min=4, help="Particles per generation.")] = 100,
    generations: Annotated[
        int, typer.Option(min=1, help="Generations (prior sample included).")
    ] = 6,
    seed: Annotated[int, typer.Option(min=0, help="Seeds every proposal and simulation.")] = 2026,
    min_acceptance: Annotated[
        float, typer.Option(min=0, max=0.99, help="Stop after a generation accepting less.")
    ] = 0.02,
    exclude: Annotated[
        list[str] | None, typer.Option(help="Leave a study's targets out of the fit (repeatable).")
    ] = None,
    targets: Annotated[Path | None, typer.Option(help="Targets TOML (default: bundled).")] = None,
    priors: Annotated[Path | None, typer.Option(help="Priors TOML (default: bundled).")] = None,
    base: Annotated[
        str, typer.Option(help="Parameter set of the uncalibrated values.")
    ] = "default",
    cluster: Cluster = None,
    processes: Processes = None,
) -> None:
    """Start a calibration in a new folder; a stopped one continues with `resume`."""
    from msreboot.calibration import (
        CalibrationSettings,
        calibrate,
        load_priors,
        load_targets,
    )

    try:
        settings = CalibrationSettings(
            population_size=population,
            generations=generations,
            seed=seed,
            min_acceptance=min_acceptance,
            exclude_studies=tuple(exclude or ()),
            base_parameters=base,
        )
        chosen_targets = load_targets(targets)
        chosen_priors = load_priors(priors)
    except (ValueError, OSError) as error:
        raise fail(str(error), EXIT_USAGE) from None
    try:
        with _bar(ctx) as update:
            result = calibrate(
                folder,
                targets=chosen_targets,
                priors=chosen_priors,
                settings=settings,
                cluster=cluster,
                processes=processes,
                progress=update,
            )
    except (FileExistsError, ValueError) as error:
        raise fail(str(error), EXIT_USAGE) from None
    typer.echo(result.summary())
    typer.echo(f"next: `msreboot calibrate report {folder}`", err=True)


@calibrate_app.command("resume")
def resume_command(
    ctx: typer.Context,
    folder: FolderArg,
    generations: Annotated[
        int | None, typer.Option(min=1, help="Extend the run to this many generations.")
    ] = None,
    cluster: Cluster = None,
    processes: Processes = None,
) -> None:
    """Continue a stopped calibration from its last complete batch (same seed, same result)."""
    from msreboot.calibration import resume_calibration

    try:
        with _bar(ctx) as update:
            result = resume_calibration(
                folder,
                generations=generations,
                cluster=cluster,
                processes=processes,
                progress=update,
            )
    except (FileNotFoundError, ValueError) as error:
        raise fail(str(error), EXIT_USAGE) from None
    typer.echo(result.summary())


@calibrate_app.command("report")
def report_command(
    folder: FolderArg,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the report (default: FOLDER/report).")
    ] = None,
    parameters: Annotated[
        Path | None,
        typer.Option(help="Also write the calibrated parameter set (TOML) to this file."),
    ] = None,
    leave_one_out: Annotated[
        bool, typer.Option(help="Leave-one-study-out predictions from the run's simulations.")
    ] = True,
) -> None:
    """Simulated against published for every target (table and figure), the posterior,
    and leave-one-study-out predictions."""
    from msreboot.calibration import CalibrationResult, write_calibration_report

    try:
        result = CalibrationResult.load(folder)
    except (FileNotFoundError, ValueError) as error:
        raise fail(str(error), EXIT_USAGE) from None
    report = write_calibration_report(result, out or folder / "report", leave_one_out=leave_one_out)
    typer.echo(result.summary())
    typer.echo(report.summary())
    if parameters is not None:
        typer.echo(f"parameter set: {result.write_parameter_set(parameters)}")


@calibrate_app.command("targets")
def targets_command(
    targets: Annotated[Path | None, typer.Option(help="Targets TOML (default: bundled).")] = None,
) -> None:
    """List the calibration targets: study, statistic, published value and source."""
    from msreboot.calibration import load_targets

    try:
        chosen = load_targets(targets)
    except (ValueError, OSError) as error:
        raise fail(str(error), EXIT_USAGE) from None
    for t in chosen:
        low, high = t.interval()
        basis = "published interval" if t.ci_low is not None else f"binomial, n={t.n}"
        typer.echo(
            f"{t.id}: {t.study} {t.label()} = {t.value:g} [{low:.3g}, {high:.3g}] ({basis}); "
            f"{t.source}"
        )
