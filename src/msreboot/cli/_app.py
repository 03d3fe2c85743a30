"""The ``msreboot`` command line.

Exit codes: 0 success; 1 data problems found (the cohort is not valid, or the store could
not be used); 2 usage errors (bad options, missing files). Data and reports go to stdout,
progress bars and diagnostics to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from msreboot._version import __version__

if TYPE_CHECKING:
    from msreboot.data import Cohort

__all__ = ["app", "main"]

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")

app = typer.Typer(
    name="msreboot",
    help="Stem-cell therapy for multiple sclerosis: validate, store and describe cohorts; "
    "compute the published endpoints; pool the published evidence; check eligibility; "
    "simulate virtual patients and trials, and calibrate them to the published ones.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


class TimeUnitOption(StrEnum):
    date = "date"
    day = "day"


class FormatOption(StrEnum):
    csv = "csv"
    parquet = "parquet"


SourceArg = Annotated[
    Path,
    typer.Argument(
        help="Cohort: a folder of table files (CSV, Parquet, Excel), an Excel workbook, a DuckDB "
        "store (.duckdb) or a REDCap export (with --redcap-mapping).",
        show_default=False,
    ),
]
RedcapOpt = Annotated[
    Path | None,
    typer.Option(
        "--redcap-mapping", help="TOML mapping file, when SOURCE is a REDCap flat export."
    ),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format", help="strftime format of dates that are not ISO 8601, e.g. %d/%m/%Y."
    ),
]
FormatOpt = Annotated[FormatOption, typer.Option("--format", help="File format.")]
TimeUnitOpt = Annotated[
    TimeUnitOption | None,
    typer.Option(
        "--time-unit", help="Force calendar dates or whole days from each patient's origin."
    ),
]


def _version(value: bool) -> None:
    if value:
        out.print(f"msreboot {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Do not show progress bars (stderr).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = {"progress": not no_progress}


@contextmanager
def _progress(ctx: typer.Context) -> Iterator[Progress]:
    show = bool((ctx.obj or {}).get("progress", True))
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=False,
    )
    with progress:
        yield progress


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _read(
    ctx: typer.Context,
    action: Callable[..., T],
    source: Path,
    redcap: Path | None,
    date_format: str | None,
    time_unit: TimeUnitOption | None,
) -> T:
    """Run ``read_cohort`` or ``validate`` on a source behind a progress bar.

    Usage problems (missing paths, unreadable sources) exit 2; data and store problems
    exit 1, with the problems printed.
    """
    from msreboot.exceptions import DataValidationError, StoreError

    if not source.exists():
        raise _fail(f"SOURCE must exist; got {source} (no such file or folder)", EXIT_USAGE)
    if redcap is not None and not redcap.is_file():
        raise _fail(f"--redcap-mapping must be an existing file; got {redcap}", EXIT_USAGE)
    try:
        with _progress(ctx) as progress:
            task = progress.add_task(f"reading {source.name}", total=1)
            result = action(
                source,
                redcap_mapping=redcap,
                date_format=date_format,
                time_unit=time_unit.value if time_unit else None,
            )
            progress.advance(task)
    except DataValidationError as exc:
        err.print(str(exc))
        err.print("run `msreboot validate` to write every problem to a CSV file")
        raise typer.Exit(EXIT_DATA) from exc
    except StoreError as exc:
        raise _fail(str(exc), EXIT_DATA) from exc
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    return result


def _load(
    ctx: typer.Context,
    source: Path,
    redcap: Path | None,
    date_format: str | None,
    time_unit: TimeUnitOption | None,
) -> Cohort:
    """Validate and read a cohort; on data problems print them and exit 1."""
    from msreboot.data import read_cohort

    return _read(ctx, read_cohort, source, redcap, date_format, time_unit)


@app.command()
def validate(
    ctx: typer.Context,
    source: SourceArg,
    problems: Annotated[
        Path | None,
        typer.Option(
            "--problems",
            help="Where to write the full problem list (CSV). "
            "Default: msreboot-problems.csv beside SOURCE when there are any.",
        ),
    ] = None,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Check a cohort and report every problem (exit 1 if any is an error)."""
    from msreboot.data import validate as run_validate

    report = _read(ctx, run_validate, source, redcap_mapping, date_format, time_unit)
    out.print(report.summary())
    if report.problems:
        by_table = report.by_table()
        table = Table("table", "column", "errors", "warnings", title="problems by table")
        for row in by_table.itertuples(index=False):
            table.add_row(str(row.table), str(row.column), str(row.errors), str(row.warnings))
        out.print(table)
        target = (
            problems or (source if source.is_dir() else source.parent) / "msreboot-problems.csv"
        )
        report.write_csv(target)
        out.print(f"full problem list ({len(report.problems)} rows): {target}")
    if not report.ok:
        raise typer.Exit(EXIT_DATA)
    out.print("[green]cohort is valid[/]")


@app.command("import")
def import_(
    ctx: typer.Context,
    source: SourceArg,
    db: Annotated[Path, typer.Option("--db", help="DuckDB store to create or replace.")],
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Validate a cohort and load it into an embedded DuckDB store (all or nothing)."""
    from msreboot.data import import_cohort
    from msreboot.exceptions import StoreError

    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    try:
        with _progress(ctx) as progress:
            task = progress.add_task(f"importing into {db.name}", total=len(cohort.tables))
            result = import_cohort(
                cohort, db, source=str(source), on_table=lambda name, rows: progress.advance(task)
            )
            progress.update(task, completed=len(cohort.tables))
    except StoreError as exc:
        raise _fail(str(exc), EXIT_DATA) from exc
    out.print(result.summary())


@app.command()
def summary(
    ctx: typer.Context,
    source: SourceArg,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Describe a cohort: patients, treatments, follow-up, activity and safety."""
    from msreboot.data import describe_cohort

    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    out.print(describe_cohort(cohort).summary())


@app.command()
def export(
    ctx: typer.Context,
    source: SourceArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the tables into.")],
    fmt: FormatOpt = FormatOption.csv,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Write a cohort (folder, REDCap export or store) as canonical CSV or Parquet files."""
    from msreboot.data import write_cohort

    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    written = write_cohort(cohort, out_dir, fmt.value)
    out.print(f"wrote {len(written)} {fmt.value} files to {out_dir}")


@app.command()
def deidentify(
    ctx: typer.Context,
    source: SourceArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the de-identified copy.")],
    key_file: Annotated[
        Path,
        typer.Option(
            "--key-file",
            help="Secret key (created if missing). Keep it private: it links "
            "pseudonyms back to patients.",
        ),
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", help="Also write the id/shift mapping here (never written by default)."
        ),
    ] = None,
    max_shift_days: Annotated[
        int, typer.Option("--max-shift-days", min=1, help="Largest date shift, in days.")
    ] = 365,
    fmt: FormatOpt = FormatOption.csv,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Write a de-identified copy: keyed pseudonyms, per-patient date shifts, no free text."""
    from msreboot.data import deidentify as run
    from msreboot.data import load_or_create_key, write_cohort, write_mapping

    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    existed = key_file.exists()
    try:
        key = load_or_create_key(key_file)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    if not existed:
        err.print(f"created a new secret key in {key_file}: keep it private and safe")
    result = run(cohort, key, max_shift_days=max_shift_days)
    write_cohort(result.cohort, out_dir, fmt.value)
    out.print(f"wrote the de-identified cohort ({result.cohort.n_patients} patients) to {out_dir}")
    if mapping is not None:
        write_mapping(result.mapping, mapping)
        out.print(f"wrote the pseudonym mapping to {mapping} (keep it private)")


@app.command()
def schema(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
) -> None:
    """Show the canonical tables and their columns (types, units, allowed values)."""
    from msreboot.data import SCHEMA

    if table is not None and table not in SCHEMA:
        raise _fail(f"--table must be one of {', '.join(SCHEMA)}; got {table!r}", EXIT_USAGE)
    for spec in SCHEMA.values():
        if table is not None and spec.name != table:
            continue
        grid = Table(
            "column",
            "kind",
            "required",
            "unit",
            "allowed values",
            "description",
            title=f"{spec.name}: {spec.description}",
            title_justify="left",
        )
        for col in spec.columns:
            grid.add_row(
                col.name,
                col.kind,
                "yes" if col.required else "",
                col.unit or "",
                col.constraint(),
                col.description,
            )
        out.print(grid)


@app.command()
def example(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the CSV files into.")
    ] = Path("msreboot-example"),
) -> None:
    """Write the bundled synthetic example cohort as CSV files (to see the file layout)."""
    from msreboot.data import write_cohort
    from msreboot.datasets import load_example

    written = write_cohort(load_example(), out_dir, "csv")
    out.print(f"wrote {len(written)} example tables to {out_dir}")


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
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
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
        )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    try:
        with _progress(ctx) as progress:
            result = run_report(
                cohort, job, source=source, command=_command_line(ctx), progress=progress
            )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    out.print(result.summary())
    out.print(f"[bold]report:[/] {result.path.resolve()}")


class DisabilityPreset(StrEnum):
    msprog = "msprog"
    mueller_2023 = "mueller_2023"
    kappos_2020 = "kappos_2020"
    kalincik_2015 = "kalincik_2015"
    muraro_2017 = "muraro_2017"
    mist_2019 = "mist_2019"


class EventOption(StrEnum):
    first_cdw = "first_cdw"
    first_cdi = "first_cdi"
    first = "first"
    first_pira = "first_pira"
    first_raw = "first_raw"
    all = "all"


class BaselineOption(StrEnum):
    fixed = "fixed"
    roving = "roving"
    roving_improvement = "roving_improvement"
    roving_worsening = "roving_worsening"


@app.command()
def disability(
    ctx: typer.Context,
    source: SourceArg,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the events table here (.csv or .parquet)."),
    ] = None,
    preset: Annotated[
        DisabilityPreset, typer.Option("--definition", help="Published rule set.")
    ] = DisabilityPreset.msprog,
    event: Annotated[
        EventOption | None, typer.Option(help="Which events (default: the preset's).")
    ] = None,
    baseline: Annotated[
        BaselineOption | None, typer.Option(help="Baseline scheme (default: the preset's).")
    ] = None,
    raw_pira: Annotated[
        bool | None,
        typer.Option("--raw-pira/--no-raw-pira", help="Classify worsening as RAW or PIRA."),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="Start follow-up at each patient's first course of this kind (ahsct)."),
    ] = None,
    methods: Annotated[
        bool, typer.Option("--methods", help="Also print the methods paragraph.")
    ] = False,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Confirmed disability worsening / improvement (CDW, CDI) with RAW and PIRA."""
    from dataclasses import replace

    from msreboot.data import write_frame
    from msreboot.endpoints import DisabilityDefinition, detect_disability_events

    if out_file is not None and out_file.suffix.lower() not in (".csv", ".parquet"):
        raise _fail(f"--out must end in .csv or .parquet; got {out_file.name}", EXIT_USAGE)
    definition: DisabilityDefinition = getattr(DisabilityDefinition, preset.value)()
    if event is not None:
        definition = definition.with_(event=event.value)
    if baseline is not None:
        definition = definition.with_(baseline=replace(definition.baseline, kind=baseline.value))
    if raw_pira is not None:
        definition = definition.with_(classify_raw_pira=raw_pira)
    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    try:
        result = detect_disability_events(cohort, definition=definition, anchor=anchor)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    out.print(result.summary())
    if methods:
        out.print()
        out.print(result.methods())
    if out_file is not None:
        write_frame(result.events, out_file)
        err.print(f"wrote {len(result.events)} rows to {out_file}")


@app.command()
def endpoints(
    ctx: typer.Context,
    source: SourceArg,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "-e",
            help="A preset or a definition of --definitions (repeat for several); "
            "default: every preset (or every definition of the file).",
        ),
    ] = None,
    definitions_file: Annotated[
        Path | None,
        typer.Option("--definitions", help="TOML file of endpoint definitions."),
    ] = None,
    times: Annotated[
        str, typer.Option(help="Landmark years from time zero, separated by commas.")
    ] = "2,3,4,5",
    anchor: Annotated[
        str, typer.Option(help="Time zero: each patient's first course of this kind.")
    ] = "ahsct",
    by: Annotated[
        str | None, typer.Option(help="Estimate by a patients-table column (e.g. phenotype).")
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the tidy table here (.csv or .parquet)."),
    ] = None,
    methods: Annotated[
        bool, typer.Option("--methods", help="Also print the methods paragraphs.")
    ] = False,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the definitions and exit (SOURCE is not read).")
    ] = False,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Composite endpoints (HALT-MS, Atkins 2016, Muraro 2017, MIST, Burt 2015, NEDA-3,
    ...) at landmark years, with intervals, events and numbers at risk."""
    from msreboot.cli._endpoints import (
        choose_definitions,
        parse_times,
        run_endpoints,
    )

    try:
        chosen = choose_definitions(endpoint or [], definitions_file)
        landmarks = parse_times(times)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    if list_only:
        for d in chosen:
            out.print(f"[bold]{d.name}[/] ({100 * d.conf_level:g}% CI): {d.title}")
            out.print(f"    {d.describe()}")
        return
    cohort = _load(ctx, source, redcap_mapping, date_format, time_unit)
    try:
        with _progress(ctx) as progress:
            progress.add_task(f"estimating {len(chosen)} endpoint(s)", total=None)
            results = run_endpoints(
                cohort, chosen, times_years=landmarks, anchor=anchor, by=by, out_file=out_file
            )
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    out.print(results.summary())
    if methods:
        out.print()
        out.print(results.methods())
    if out_file is not None:
        err.print(f"wrote {len(results.to_frame())} rows to {out_file}")


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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        err.print("interrupted")
        sys.exit(130)
