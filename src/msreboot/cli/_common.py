"""What every command group shares: exit codes, error display, progress, common options.

Exit codes: 0 success (:data:`EXIT_OK`); 1 data problems found (:data:`EXIT_DATA`: the
cohort is not valid, the store could not be used: damaged, edited outside msreboot, being
written by another import); 2 usage errors (:data:`EXIT_USAGE`: bad options, missing
files, an output that cannot be written: read-only, a full disk, a folder in the way, the
source itself). Data and reports go to stdout (:data:`out`), progress bars and
diagnostics to stderr (:data:`err`). ``--no-progress`` is accepted anywhere on the command
line (:class:`RootGroup` moves it to the root command).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

if TYPE_CHECKING:
    from msreboot.data import Cohort

__all__ = [
    "EXIT_DATA",
    "EXIT_OK",
    "EXIT_USAGE",
    "NO_PROGRESS",
    "DateFormatOpt",
    "FormatOpt",
    "FormatOption",
    "MaxCellOpt",
    "PartialDatesOpt",
    "PartialDatesOption",
    "RedcapOpt",
    "RootGroup",
    "SourceArg",
    "TableFileOpt",
    "TimeUnitOpt",
    "TimeUnitOption",
    "check_table_file",
    "err",
    "fail",
    "load_cohort",
    "one_of",
    "out",
    "progress",
    "read_source",
]

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2
NO_PROGRESS = "--no-progress"
T = TypeVar("T")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: <message>`` to stderr and return the exit to raise (``raise fail(...)``).

    The message is printed as it is (square brackets are not read as markup) and not wrapped.
    """
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


class RootGroup(TyperGroup):
    """The root command: ``--no-progress`` may come anywhere (``msreboot demo --no-progress``,
    ``msreboot simulate trial halt_ms --no-progress``); it is moved before the subcommand,
    where the root option reads it. Arguments after ``--`` are left alone."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        head = [a for a in args[:end] if a != NO_PROGRESS]
        if len(head) < end:
            args = [NO_PROGRESS, *head, *args[end:]]
        result: list[str] = super().parse_args(ctx, args)
        return result


def _show_progress(ctx: typer.Context | None) -> bool:
    obj = ctx.find_root().obj if ctx is not None else None
    return bool((obj or {}).get("progress", True))


@contextmanager
def progress(ctx: typer.Context | None, *, transient: bool = False) -> Iterator[Progress]:
    """A rich progress display on stderr, off with ``--no-progress``."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        disable=not _show_progress(ctx),
        transient=transient,
    )
    with bar:
        yield bar


def one_of(names: Callable[[], Sequence[str]], option: str) -> Callable[[str | None], str | None]:
    """A typer callback accepting only ``names()`` (read when the option is used, so that the
    choices come from their source without importing it for every command)."""

    def check(value: str | None) -> str | None:
        allowed = names()
        if value is not None and value not in allowed:
            raise typer.BadParameter(
                f"{option} must be one of {', '.join(allowed)}; got {value!r}."
            )
        return value

    return check


class TimeUnitOption(StrEnum):
    date = "date"
    day = "day"


class PartialDatesOption(StrEnum):
    first = "first"
    mid = "mid"


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
        "--date-format",
        help="strftime format of dates that are not ISO 8601, e.g. %d/%m/%Y or %Y%m%d "
        "(also for integer dates); 'excel' for Excel serial day numbers.",
    ),
]
PartialDatesOpt = Annotated[
    PartialDatesOption | None,
    typer.Option(
        "--partial-dates",
        help="Accept partial dates (2015-11, 2015): 'first' day of the month or year, or "
        "'mid' (the 15th, 1 July). Refused by default; recorded in the report's provenance.",
    ),
]
MaxCellOpt = Annotated[
    int | None,
    typer.Option(
        "--max-cell-chars",
        min=1,
        help="Longest text cell accepted, in characters (default: msreboot.data.MAX_CELL_CHARS, "
        "the reader's own limit).",
        show_default=False,
    ),
]
FormatOpt = Annotated[FormatOption, typer.Option("--format", help="File format.")]
TimeUnitOpt = Annotated[
    TimeUnitOption | None,
    typer.Option(
        "--time-unit", help="Force calendar dates or whole days from each patient's origin."
    ),
]
TableFileOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Write the table here (.csv or .parquet)."),
]


def check_table_file(path: Path | None) -> None:
    """``--out`` of a table must end in .csv or .parquet (exit 2 otherwise)."""
    if path is not None and path.suffix.lower() not in (".csv", ".parquet"):
        raise fail(f"--out must end in .csv or .parquet; got {path.name}", EXIT_USAGE)


def read_source(
    ctx: typer.Context,
    action: Callable[..., T],
    source: Path,
    redcap: Path | None,
    date_format: str | None,
    time_unit: TimeUnitOption | None,
    *,
    partial_dates: PartialDatesOption | None = None,
    max_cell_chars: int | None = None,
) -> T:
    """Run ``read_cohort`` or ``validate`` on a source behind a progress bar.

    Usage problems (missing paths, unreadable sources) exit 2; data and store problems
    exit 1, with the problems printed.
    """
    from msreboot.exceptions import DataValidationError, StoreError

    if not source.exists():
        raise fail(f"SOURCE must exist; got {source} (no such file or folder)", EXIT_USAGE)
    if redcap is not None and not redcap.is_file():
        raise fail(f"--redcap-mapping must be an existing file; got {redcap}", EXIT_USAGE)
    try:
        with progress(ctx) as bar:
            task = bar.add_task(f"reading {source.name}", total=1)
            options: dict[str, Any] = {}
            if partial_dates is not None:
                options["partial_dates"] = partial_dates.value
            if max_cell_chars is not None:
                options["max_cell_chars"] = max_cell_chars
            result = action(
                source,
                redcap_mapping=redcap,
                date_format=date_format,
                time_unit=time_unit.value if time_unit else None,
                **options,
            )
            bar.advance(task)
    except DataValidationError as exc:
        err.print(escape(str(exc)))
        err.print("run `msreboot validate` to write every problem to a CSV file")
        raise typer.Exit(EXIT_DATA) from exc
    except StoreError as exc:
        raise fail(str(exc), EXIT_DATA) from exc
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    return result


def load_cohort(
    ctx: typer.Context,
    source: Path,
    redcap: Path | None,
    date_format: str | None,
    time_unit: TimeUnitOption | None,
    *,
    partial_dates: PartialDatesOption | None = None,
    max_cell_chars: int | None = None,
) -> Cohort:
    """Validate and read a cohort; on data problems print them and exit 1."""
    from msreboot.data import read_cohort

    return read_source(
        ctx,
        read_cohort,
        source,
        redcap,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
