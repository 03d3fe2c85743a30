"""Command-line pieces: the ``--sdtm`` and ``--omop`` sources of ``msreboot import``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from msreboot.cli._common import EXIT_DATA, EXIT_USAGE, PartialDatesOption, err, fail, progress

if TYPE_CHECKING:
    from msreboot.data import Cohort, PartialDates

__all__ = [
    "OmopConceptsOpt",
    "OmopOpt",
    "OmopSchemaOpt",
    "SdtmMappingOpt",
    "SdtmOpt",
    "load_foreign",
]

SdtmOpt = Annotated[
    Path | None,
    typer.Option(
        "--sdtm",
        help="Read a CDISC SDTM package instead of SOURCE: a folder of domain files (XPT, "
        "needs msreboot[sdtm], or Dataset-JSON v1.1).",
    ),
]
SdtmMappingOpt = Annotated[
    Path | None,
    typer.Option(
        "--sdtm-mapping",
        help="SDTM mapping (TOML); default: the shipped msreboot/data/sdtm_mapping.toml.",
    ),
]
OmopOpt = Annotated[
    Path | None,
    typer.Option(
        "--omop",
        help="Read an OMOP CDM v5.4 database instead of SOURCE: a folder of CSV or Parquet "
        "tables, or a DuckDB file.",
    ),
]
OmopConceptsOpt = Annotated[
    Path | None,
    typer.Option(
        "--omop-concepts",
        help="OMOP concept map (TOML); default: the shipped msreboot/data/omop_concepts.toml.",
    ),
]
OmopSchemaOpt = Annotated[
    str | None,
    typer.Option("--omop-schema", help="DuckDB schema of the CDM tables, when several exist."),
]


def load_foreign(
    ctx: typer.Context,
    *,
    sdtm: Path | None,
    sdtm_mapping: Path | None,
    omop: Path | None,
    omop_concepts: Path | None,
    omop_schema: str | None,
    partial_dates: PartialDatesOption | None,
) -> Cohort:
    """Read the ``--sdtm`` or ``--omop`` source; data problems exit 1, usage problems 2."""
    from msreboot.data import read_omop, read_sdtm
    from msreboot.exceptions import DataValidationError, MissingDependencyError

    source = sdtm if sdtm is not None else omop
    if source is None or (sdtm is not None and omop is not None):
        raise fail("give one of SOURCE, --sdtm DIR or --omop PATH; got two.", EXIT_USAGE)
    if not source.exists():
        flag = "--sdtm" if sdtm is not None else "--omop"
        raise fail(f"{flag} must exist; got {source} (no such file or folder)", EXIT_USAGE)
    for flag, path in (("--sdtm-mapping", sdtm_mapping), ("--omop-concepts", omop_concepts)):
        if path is not None and not path.is_file():
            raise fail(f"{flag} must be an existing file; got {path}", EXIT_USAGE)
    policy: PartialDates | None = None
    if partial_dates is not None:
        policy = "first" if partial_dates.value == "first" else "mid"
    try:
        with progress(ctx) as bar:
            task = bar.add_task(f"reading {source.name}", total=1)
            if sdtm is not None:
                cohort = read_sdtm(sdtm, mapping=sdtm_mapping, partial_dates=policy)
            else:
                cohort = read_omop(
                    source, concepts=omop_concepts, schema=omop_schema, partial_dates=policy
                )
            bar.advance(task)
    except DataValidationError as exc:
        err.print(escape(str(exc)))
        raise typer.Exit(EXIT_DATA) from exc
    except MissingDependencyError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    for warning in cohort.warnings:
        err.print(escape(f"warning: {warning.describe()}"))
    return cohort
