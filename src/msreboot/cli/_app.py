"""The ``msreboot`` command line.

Exit codes: 0 success; 1 data problems found (the cohort is not valid, or the store could
not be used); 2 usage errors (bad options, missing files). Data and reports go to stdout,
progress bars and diagnostics to stderr.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from msreboot._version import __version__
from msreboot.cli._common import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    NO_PROGRESS,
    DateFormatOpt,
    MaxCellOpt,
    PartialDatesOpt,
    RedcapOpt,
    RootGroup,
    SourceArg,
    TimeUnitOpt,
    err,
    out,
)
from msreboot.cli._common import fail as _fail
from msreboot.cli._common import load_cohort as _load
from msreboot.cli._common import progress as _progress
from msreboot.cli._data import add_data_commands
from msreboot.cli._endpoints import add_endpoint_commands

__all__ = ["app", "main"]

app = typer.Typer(
    name="msreboot",
    help="Stem-cell therapy for multiple sclerosis: validate, store and describe cohorts; "
    "compute the published endpoints; pool the published evidence; check eligibility; "
    "simulate virtual patients and trials, and calibrate them to the published ones.",
    cls=RootGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        out.print(f"msreboot {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    no_progress: Annotated[
        bool,
        typer.Option(
            NO_PROGRESS, help="Do not show progress bars (stderr); accepted at any position."
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = {"progress": not no_progress}


add_data_commands(app)


@app.command()
def demo(
    ctx: typer.Context,
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Folder for the demo's store and outputs.")
    ] = Path("msreboot-demo"),
) -> None:
    """The main job on the bundled example: validate, import into DuckDB, estimate the
    endpoints, run a virtual HALT-MS trial and write the HTML report."""
    from msreboot.cli._report import run_demo
    from msreboot.exceptions import StoreError

    try:
        with _progress(ctx) as progress:
            result = run_demo(workdir, command=_command_line(ctx), progress=progress)
    except StoreError as exc:
        raise _fail(str(exc), EXIT_DATA) from exc
    except OSError as exc:
        raise _fail(
            f"--workdir must be a folder that can be written; got {workdir} ({exc})", EXIT_USAGE
        ) from exc
    out.print(f"[bold]msreboot {__version__}: the bundled synthetic example cohort[/]")
    out.print(result.summary())
    out.print(
        f"next: open the report in a browser; `msreboot report {result.store} --out "
        f"my-report.html`, `msreboot endpoints {result.store} --methods`, or `msreboot example "
        "--out my-cohort` to see the file layout"
    )


def _command_line(ctx: typer.Context) -> str:
    """The command as typed when run from a shell, else rebuilt from the parsed options."""
    import shlex

    if Path(sys.argv[0]).name == "msreboot":
        return shlex.join(["msreboot", *sys.argv[1:]])
    parts = ctx.command_path.split()
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value is False or value == [] or value == param.default:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        texts = [str(v.value if isinstance(v, StrEnum) else v) for v in values]
        if param.param_type_name == "argument":
            parts += texts
            continue
        flag = param.opts[0]
        for text in texts:
            parts += [flag] if value is True else [flag, text]
    return shlex.join(parts)


@app.command()
def report(
    ctx: typer.Context,
    source: SourceArg,
    out_file: Annotated[
        Path,
        typer.Option(
            "--out", help="The HTML file to write; figures go to <name>_files/ beside it."
        ),
    ] = Path("report.html"),
    title: Annotated[str, typer.Option(help="The report's title.")] = "Cohort report",
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "--endpoints",
            "-e",
            help="A preset or a definition of --definitions (repeat for several); default: "
            "halt_ms_efs, halt_ms_pfs, halt_ms_rfs, muraro_2017_pfs, neda_3, overall_survival.",
        ),
    ] = None,
    definitions_file: Annotated[
        Path | None,
        typer.Option("--definitions", help="TOML file of endpoint definitions."),
    ] = None,
    times: Annotated[
        str, typer.Option(help="Landmark years after AHSCT, separated by commas.")
    ] = "2,3,4,5",
    trial: Annotated[
        str,
        typer.Option(
            help="A virtual trial to show beside its published results: a bundled study "
            "(halt_ms, mist_2019, ...; see `msreboot simulate list`), a spec file, or none."
        ),
    ] = "none",
    replicates: Annotated[int, typer.Option(help="Replicates of the virtual trial.", min=1)] = 20,
    by: Annotated[
        str | None,
        typer.Option(
            help="Compare every endpoint by a patients-table column (e.g. phenotype): hazard "
            "ratios and log-rank tests."
        ),
    ] = None,
    full_paths: Annotated[
        bool,
        typer.Option(
            "--full-paths",
            help="Print the input and command paths in full in the provenance (default: "
            "file and folder names only).",
        ),
    ] = False,
    emulation: Annotated[
        str | None,
        typer.Option(
            "--emulation",
            help="The treatment comparison of the Comparison section: an emulation spec file "
            "(.toml) or a bundled spec (ahsct_vs_natalizumab, ahsct_vs_best_dmt); default: "
            "AHSCT vs high-efficacy DMT whenever the cohort has both.",
        ),
    ] = None,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
) -> None:
    """A self-contained HTML report of a cohort (opens offline): Table 1, Kaplan-Meier
    curves with numbers at risk, EDSS trajectories, relapses, MRI, transplant outcomes, the
    published evidence, an optional virtual trial, methods and provenance."""
    from msreboot.cli._report import check_report_options, run_report

    try:
        job = check_report_options(
            out=out_file,
            title=title,
            endpoints=endpoint or [],
            definitions_file=definitions_file,
            times=times,
            trial=trial,
            replicates=replicates,
            by=by,
            full_paths=full_paths,
            emulation=emulation,
        )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    cohort = _load(
        ctx,
        source,
        redcap_mapping,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    try:
        with _progress(ctx) as progress:
            result = run_report(
                cohort, job, source=source, command=_command_line(ctx), progress=progress
            )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    out.print(result.summary())
    out.print(f"[bold]report:[/] {result.path.resolve()}")


add_endpoint_commands(app)


def _register_evidence() -> None:
    from msreboot.cli._evidence import evidence_app, meta_command

    app.add_typer(evidence_app, name="evidence")
    app.command("meta")(meta_command)


_register_evidence()


def _register_protocols() -> None:
    from msreboot.cli._protocols import eligibility_command, protocols_app

    app.add_typer(protocols_app, name="protocols")
    app.command("eligibility")(eligibility_command)


_register_protocols()


def _register_simulate() -> None:
    from msreboot.cli._simulate import simulate_app

    app.add_typer(simulate_app, name="simulate")


_register_simulate()


def _register_calibrate() -> None:
    from msreboot.cli._calibrate import calibrate_app

    app.add_typer(calibrate_app, name="calibrate")


_register_calibrate()


def _register_compare() -> None:
    from msreboot.cli._compare import compare_command

    app.command("compare")(compare_command)


_register_compare()


def _register_app() -> None:
    from msreboot.cli._app_command import app_group

    app.add_typer(app_group, name="app")


_register_app()


def _register_patient() -> None:
    from msreboot.cli._patient import patient_command

    app.command("patient")(patient_command)


_register_patient()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        err.print("interrupted")
        sys.exit(130)
