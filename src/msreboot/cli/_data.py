"""Command-line pieces: the data commands ``msreboot validate|import|summary|export|
deidentify|schema|example``.

The main CLI registers them with :func:`add_data_commands`. Data go to stdout, notes to
stderr; exit codes as in :mod:`msreboot.cli._common`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from msreboot.cli._common import (
    EXIT_DATA,
    EXIT_USAGE,
    DateFormatOpt,
    FormatOpt,
    FormatOption,
    RedcapOpt,
    SourceArg,
    TimeUnitOpt,
    err,
    fail,
    load_cohort,
    out,
    progress,
    read_source,
)

__all__ = ["add_data_commands"]


def validate_command(
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

    report = read_source(ctx, run_validate, source, redcap_mapping, date_format, time_unit)
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


def import_command(
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

    cohort = load_cohort(ctx, source, redcap_mapping, date_format, time_unit)
    try:
        with progress(ctx) as bar:
            task = bar.add_task(f"importing into {db.name}", total=len(cohort.tables))
            result = import_cohort(
                cohort, db, source=str(source), on_table=lambda name, rows: bar.advance(task)
            )
            bar.update(task, completed=len(cohort.tables))
    except StoreError as exc:
        raise fail(str(exc), EXIT_DATA) from exc
    out.print(result.summary())


def summary_command(
    ctx: typer.Context,
    source: SourceArg,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
) -> None:
    """Describe a cohort: patients, treatments, follow-up, activity and safety."""
    from msreboot.data import describe_cohort

    cohort = load_cohort(ctx, source, redcap_mapping, date_format, time_unit)
    out.print(describe_cohort(cohort).summary())


def export_command(
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

    cohort = load_cohort(ctx, source, redcap_mapping, date_format, time_unit)
    written = write_cohort(cohort, out_dir, fmt.value)
    out.print(f"wrote {len(written)} {fmt.value} files to {out_dir}")


def deidentify_command(
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

    cohort = load_cohort(ctx, source, redcap_mapping, date_format, time_unit)
    existed = key_file.exists()
    try:
        key = load_or_create_key(key_file)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if not existed:
        err.print(f"created a new secret key in {key_file}: keep it private and safe")
    result = run(cohort, key, max_shift_days=max_shift_days)
    write_cohort(result.cohort, out_dir, fmt.value)
    out.print(f"wrote the de-identified cohort ({result.cohort.n_patients} patients) to {out_dir}")
    if mapping is not None:
        write_mapping(result.mapping, mapping)
        out.print(f"wrote the pseudonym mapping to {mapping} (keep it private)")


def schema_command(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
) -> None:
    """Show the canonical tables and their columns (types, units, allowed values)."""
    from msreboot.data import SCHEMA

    if table is not None and table not in SCHEMA:
        raise fail(f"--table must be one of {', '.join(SCHEMA)}; got {table!r}", EXIT_USAGE)
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


def example_command(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder to write the CSV files into.")
    ] = Path("msreboot-example"),
) -> None:
    """Write the bundled synthetic example cohort as CSV files (to see the file layout)."""
    from msreboot.data import write_cohort
    from msreboot.datasets import load_example

    written = write_cohort(load_example(), out_dir, "csv")
    out.print(f"wrote {len(written)} example tables to {out_dir}")


def add_data_commands(app: typer.Typer) -> None:
    """Register the data commands on the root app (in this order in its help)."""
    app.command("validate")(validate_command)
    app.command("import")(import_command)
    app.command("summary")(summary_command)
    app.command("export")(export_command)
    app.command("deidentify")(deidentify_command)
    app.command("schema")(schema_command)
    app.command("example")(example_command)
