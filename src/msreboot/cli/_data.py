"""Command-line pieces: the data commands ``msreboot validate|import|summary|export|
deidentify|schema|redcap-mapping|example``.

The main CLI registers them with :func:`add_data_commands`. Data go to stdout, notes to
stderr; exit codes as in :mod:`msreboot.cli._common`.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from msreboot.cli._common import (
    EXIT_DATA,
    EXIT_USAGE,
    DateFormatOpt,
    FormatOpt,
    FormatOption,
    MaxCellOpt,
    PartialDatesOpt,
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
from msreboot.cli._foreign import (
    OmopConceptsOpt,
    OmopOpt,
    OmopSchemaOpt,
    OmopUrlOpt,
    SdtmMappingOpt,
    SdtmOpt,
    load_foreign,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_data_commands"]

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NOT_ALLOWED = (errno.EACCES, errno.EPERM, errno.EROFS)


def _write_failure(option: str, path: Path, exc: OSError) -> str:
    """``<option> must be ... ; got <path> (<reason>). <fix>`` for an output that failed."""
    reason = exc.strerror or str(exc)
    where = Path(exc.filename) if isinstance(exc.filename, str) else None
    if where is not None and where != path and not where.name.startswith("."):
        reason += f": {where}"
    if exc.errno in _NO_SPACE:
        fix = "Free some disk space and run again"
    elif exc.errno in _NOT_ALLOWED:
        fix = f"Choose a {option} in a folder you can write to"
    else:
        fix = f"Clear the way or choose another {option}"
    return f"{option} must be writable; got {path} ({reason}). {fix}; nothing was changed."


@contextmanager
def _writing(option: str, path: Path) -> Iterator[None]:
    """Turn a failure to write an output (read-only, full disk, a folder in the way) into a
    usage error (exit 2) naming the option; store problems (:class:`StoreError`) pass."""
    from msreboot.exceptions import StoreError

    try:
        yield
    except StoreError:
        raise
    except OSError as exc:
        raise fail(_write_failure(option, path, exc), EXIT_USAGE) from exc


def _is_table_file(path: Path) -> bool:
    from msreboot.data import SCHEMA, TABLE_SUFFIXES

    stem = re.sub(r"[^0-9a-z]+", "_", path.stem.strip().lower()).strip("_")
    return path.suffix.lower() in TABLE_SUFFIXES and stem in SCHEMA


def _refuse_own_source(
    option: str, given: Path, outputs: Sequence[Path], inputs: Sequence[Path | None]
) -> None:
    """Exit 2 when writing ``outputs`` would replace an input: the source file itself, a
    table file of a source folder, or the REDCap mapping."""
    for source in inputs:
        if source is None:
            continue
        real = source.resolve()
        for output in outputs:
            target = output.resolve()
            if target == real or (
                real.is_dir() and target.parent == real and _is_table_file(target)
            ):
                what = (
                    "is the source itself"
                    if target == real and output == given
                    else f"would replace {source if target == real else output}"
                )
                raise fail(
                    f"{option} must not overwrite the cohort it reads; got {given}, which "
                    f"{what}. Choose another {option}.",
                    EXIT_USAGE,
                )


EscapeFormulasOpt = Annotated[
    bool,
    typer.Option(
        "--escape-formulas/--no-escape-formulas",
        help="Prefix CSV text cells starting with = + - @ tab or CR with ' so that a "
        "spreadsheet shows them as text instead of running them (formula injection; OWASP).",
    ),
]


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
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
    escape_formulas: EscapeFormulasOpt = True,
) -> None:
    """Check a cohort and report every problem (exit 1 if any is an error)."""
    from msreboot.data import validate as run_validate

    report = read_source(
        ctx,
        run_validate,
        source,
        redcap_mapping,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    out.print(escape(report.summary()))
    if report.problems:
        by_table = report.by_table()
        table = Table("table", "column", "errors", "warnings", title="problems by table")
        for row in by_table.itertuples(index=False):
            table.add_row(str(row.table), str(row.column), str(row.errors), str(row.warnings))
        out.print(table)
        target = (
            problems or (source if source.is_dir() else source.parent) / "msreboot-problems.csv"
        )
        _refuse_own_source("--problems", target, [target], [source, redcap_mapping])
        with _writing("--problems", target):
            report.write_csv(target, escape_formulas=escape_formulas)
        out.print(f"full problem list ({len(report.problems)} rows): {target}")
    if not report.ok:
        raise typer.Exit(EXIT_DATA)
    out.print("[green]cohort is valid[/]")


def import_command(
    ctx: typer.Context,
    db: Annotated[Path, typer.Option("--db", help="DuckDB store to create or replace.")],
    source: Annotated[
        Path | None,
        typer.Argument(
            help="Cohort: a folder of table files (CSV, Parquet, Excel), an Excel workbook, a "
            "DuckDB store (.duckdb) or a REDCap export (with --redcap-mapping); or none with "
            "--sdtm, --omop or --omop-url.",
            show_default=False,
        ),
    ] = None,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
    sdtm: SdtmOpt = None,
    sdtm_mapping: SdtmMappingOpt = None,
    omop: OmopOpt = None,
    omop_url: OmopUrlOpt = None,
    omop_concepts: OmopConceptsOpt = None,
    omop_schema: OmopSchemaOpt = None,
) -> None:
    """Validate a cohort (SOURCE, --sdtm DIR, --omop PATH or --omop-url URL) and load it
    into an embedded DuckDB store (all or nothing)."""
    from msreboot.data import import_cohort, redact_url
    from msreboot.exceptions import StoreError

    foreigns = [f for f in (sdtm, omop, omop_url) if f is not None]
    if (source is None) == (not foreigns) or len(foreigns) > 1:
        raise fail("give one of SOURCE, --sdtm DIR, --omop PATH or --omop-url URL.", EXIT_USAGE)
    if source is not None:
        _refuse_own_source("--db", db, [db], [source, redcap_mapping])
        cohort = load_cohort(
            ctx,
            source,
            redcap_mapping,
            date_format,
            time_unit,
            partial_dates=partial_dates,
            max_cell_chars=max_cell_chars,
        )
        label = str(source)
    else:
        _refuse_own_source("--db", db, [db], [sdtm, omop, sdtm_mapping, omop_concepts])
        cohort = load_foreign(
            ctx,
            sdtm=sdtm,
            sdtm_mapping=sdtm_mapping,
            omop=omop,
            omop_url=omop_url,
            omop_concepts=omop_concepts,
            omop_schema=omop_schema,
            partial_dates=partial_dates,
        )
        label = str(foreigns[0]) if omop_url is None else redact_url(omop_url)
    try:
        with _writing("--db", db), progress(ctx) as bar:
            task = bar.add_task(f"importing into {db.name}", total=len(cohort.tables))
            result = import_cohort(
                cohort, db, source=label, on_table=lambda name, rows: bar.advance(task)
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
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
) -> None:
    """Describe a cohort: patients, treatments, follow-up, activity and safety."""
    from msreboot.data import describe_cohort

    cohort = load_cohort(
        ctx,
        source,
        redcap_mapping,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    out.print(describe_cohort(cohort).summary())


def export_command(
    ctx: typer.Context,
    source: SourceArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the tables into.")],
    fmt: FormatOpt = FormatOption.csv,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
    escape_formulas: EscapeFormulasOpt = True,
) -> None:
    """Write a cohort (folder, REDCap export or store) as canonical CSV or Parquet files."""
    from msreboot.data import TABLE_NAMES, write_cohort

    outputs = [out_dir, *(out_dir / f"{name}.{fmt.value}" for name in TABLE_NAMES)]
    _refuse_own_source("--out", out_dir, outputs, [source, redcap_mapping])
    cohort = load_cohort(
        ctx,
        source,
        redcap_mapping,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    with _writing("--out", out_dir):
        written = write_cohort(cohort, out_dir, fmt.value, escape_formulas=escape_formulas)
    out.print(f"wrote {len(written)} {fmt.value} files to {out_dir}")


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _check_deidentify_paths(
    source: Path, out_dir: Path, key_file: Path, mapping: Path | None
) -> None:
    """Usage errors before anything is read or written."""
    if _inside(out_dir, source if source.is_dir() else source.parent) and (
        source.is_dir() or out_dir.resolve() == source.resolve()
    ):
        raise fail(
            f"--out must be outside the source; got {out_dir} for {source}. "
            "Write the de-identified copy to a new folder."
        )
    if source.is_dir() and _inside(source, out_dir):
        raise fail(f"--out must not contain the source; got {out_dir} around {source}.")
    for flag, path in (("--key-file", key_file), ("--mapping", mapping)):
        if path is not None and _inside(path, out_dir):
            raise fail(
                f"{flag} must be outside --out (it would be shared with the data); got {path}. "
                "Keep it where only you can read it."
            )
    if key_file.is_dir():
        raise fail(f"--key-file must be a file; got the folder {key_file}. Name a file in it.")
    if mapping is not None and mapping.is_dir():
        raise fail(f"--mapping must be a file; got the folder {mapping}.")


def _warn_if_readable(key_file: Path) -> None:
    mode = key_file.stat().st_mode
    if mode & 0o077:
        err.print(
            f"[yellow]warning:[/] the key file {key_file} can be read by other users "
            f"(permissions {oct(mode & 0o777)}); restrict it with chmod 600 {key_file}",
            soft_wrap=True,
        )


def _check_command(
    folder: Path, original: Path | None, key_file: Path | None, vocabulary: Path | None
) -> None:
    from msreboot.data import check_deidentified, load_or_create_key, load_vocabulary

    try:
        vocab = load_vocabulary(vocabulary) if vocabulary is not None else None
        key = None
        if key_file is not None:
            if not key_file.is_file():
                raise ValueError(f"--key-file must be an existing key file; got {key_file}.")
            key = load_or_create_key(key_file)
        audit = check_deidentified(folder, original, vocabulary=vocab, key=key)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    out.print(audit.summary(), soft_wrap=True)
    if not audit.ok:
        raise typer.Exit(EXIT_DATA)


def deidentify_command(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Argument(
            help="Cohort to de-identify (a folder, workbook, store or REDCap export); with "
            "--check, the original the copy was made from (optional).",
            show_default=False,
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for the de-identified copy (replaced whole; not the source)."
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Secret key (created if missing, permissions 0600). Keep it private and "
            "outside --out: it links pseudonyms back to patients.",
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping", help="Also write the id/shift mapping here (never written by default)."
        ),
    ] = None,
    vocabulary: Annotated[
        Path | None,
        typer.Option(
            "--vocabulary",
            help="TOML file of the label values (centre, protocol, pathogen) that may be "
            "shared; every other label is emptied.",
        ),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            "--check",
            help="Audit a de-identified folder instead: original ids (with SOURCE), original "
            "dates, free text, labels; exit 1 if anything is found.",
        ),
    ] = None,
    max_shift_days: Annotated[
        int, typer.Option("--max-shift-days", min=1, help="Largest date shift, in days.")
    ] = 365,
    keep_day_numbers: Annotated[
        bool,
        typer.Option(
            "--keep-day-numbers",
            help="Day-based cohort whose origin is each patient's own event: keep the day "
            "numbers (default: shift them like dates).",
        ),
    ] = False,
    escape_formulas: EscapeFormulasOpt = True,
    fmt: FormatOpt = FormatOption.csv,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
) -> None:
    """Write a de-identified copy: keyed pseudonyms, per-patient date shifts in both
    directions, no free text, labels only through a vocabulary (or audit one with --check)."""
    from msreboot.data import deidentify as run
    from msreboot.data import load_or_create_key, load_vocabulary, write_mapping, write_tables

    if check is not None:
        _check_command(check, source, key_file, vocabulary)
        return
    if source is None or out_dir is None or key_file is None:
        raise fail("deidentify needs SOURCE, --out and --key-file (or --check DIR).")
    _check_deidentify_paths(source, out_dir, key_file, mapping)
    try:
        vocab = load_vocabulary(vocabulary) if vocabulary is not None else None
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    cohort = load_cohort(
        ctx,
        source,
        redcap_mapping,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    existed = key_file.exists()
    try:
        key = load_or_create_key(key_file)
    except (ValueError, OSError) as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if existed:
        _warn_if_readable(key_file)
    else:
        err.print(f"created a new secret key in {key_file}: keep it private and safe")
    try:
        result = run(
            cohort,
            key,
            max_shift_days=max_shift_days,
            vocabulary=vocab,
            shift_day_numbers=not keep_day_numbers,
        )
    except ValueError as exc:
        raise fail(str(exc), EXIT_DATA) from exc
    with _writing("--out", out_dir):
        _replace_folder(out_dir, result.cohort.tables, fmt.value, escape_formulas, write_tables)
    out.print(result.summary(), soft_wrap=True)
    out.print(f"wrote the de-identified cohort ({result.cohort.n_patients} patients) to {out_dir}")
    if mapping is not None:
        with _writing("--mapping", mapping):
            write_mapping(result.mapping, mapping)
        out.print(f"wrote the pseudonym mapping to {mapping} (keep it private)")


def _replace_folder(
    out_dir: Path,
    tables: Mapping[str, pd.DataFrame],
    fmt: str,
    escape_formulas: bool,
    write_tables: Callable[..., list[Path]],
) -> None:
    """Write into a staging folder beside ``out_dir``, then swap it in whole: no file of an
    earlier copy survives, and an error leaves ``out_dir`` as it was."""
    import shutil
    import tempfile

    if out_dir.exists() and not out_dir.is_dir():
        raise fail(f"--out must be a folder; got the file {out_dir}.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        staged = parent / "new"
        write_tables(tables, staged, fmt, escape_formulas=escape_formulas)
        if out_dir.exists():
            os.replace(out_dir, parent / "old")
        os.replace(staged, out_dir)
    finally:
        shutil.rmtree(parent, ignore_errors=True)


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

    with _writing("--out", out_dir):
        written = write_cohort(load_example(), out_dir, "csv")
    out.print(f"wrote {len(written)} example tables to {out_dir}")


def add_data_commands(app: typer.Typer) -> None:
    """Register the data commands on the root app (in this order in its help)."""
    from msreboot.cli._redcap import redcap_fetch_command, redcap_mapping_command

    app.command("validate")(validate_command)
    app.command("import")(import_command)
    app.command("summary")(summary_command)
    app.command("export")(export_command)
    app.command("deidentify")(deidentify_command)
    app.command("schema")(schema_command)
    app.command("redcap-mapping")(redcap_mapping_command)
    app.command("redcap-fetch")(redcap_fetch_command)
    app.command("example")(example_command)
