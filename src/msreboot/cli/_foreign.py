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
OmopUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--omop-url",
        help="Read an OMOP CDM v5.4 database server instead of SOURCE: a SQLAlchemy URL "
        "without a password (postgresql+psycopg://reader@host/cdm; the driver reads the "
        "password from its own files, e.g. ~/.pgpass). Needs msreboot[sql] and the driver.",
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
    typer.Option(
        "--omop-schema",
        help="Schema of the CDM tables (a DuckDB file with several; a server: default the "
        "connection's).",
    ),
]


def _refuse_password(url: str) -> None:
    """Exit 2 when a database URL on the command line holds a password (a command line is
    visible to the machine's other users and kept in shell history)."""
    from msreboot.data import redact_url

    rest = url.partition("://")[2]
    userinfo = rest.split("/", 1)[0].rpartition("@")[0]
    if ":" in userinfo:
        raise fail(
            "--omop-url must not hold a password; got one for "
            f"{redact_url(url)}. Leave it to the driver (PostgreSQL: ~/.pgpass or "
            "PGPASSWORD) or call msreboot.data.read_omop from Python.",
            EXIT_USAGE,
        )


def load_foreign(
    ctx: typer.Context,
    *,
    sdtm: Path | None,
    sdtm_mapping: Path | None,
    omop: Path | None,
    omop_url: str | None = None,
    omop_concepts: Path | None,
    omop_schema: str | None,
    partial_dates: PartialDatesOption | None,
) -> Cohort:
    """Read the ``--sdtm`` or ``--omop`` source; data problems exit 1, usage problems 2."""
    from msreboot.data import read_omop, read_sdtm, redact_url
    from msreboot.exceptions import DataValidationError, MissingDependencyError

    given = [s for s in (sdtm, omop, omop_url) if s is not None]
    if len(given) != 1:
        raise fail(
            "give one of SOURCE, --sdtm DIR, --omop PATH or --omop-url URL; got "
            f"{len(given) or 'none'}.",
            EXIT_USAGE,
        )
    source: Path | str = given[0]
    if isinstance(source, Path) and not source.exists():
        flag = "--sdtm" if sdtm is not None else "--omop"
        raise fail(f"{flag} must exist; got {source} (no such file or folder)", EXIT_USAGE)
    if omop_url is not None:
        _refuse_password(omop_url)
    for flag, path in (("--sdtm-mapping", sdtm_mapping), ("--omop-concepts", omop_concepts)):
        if path is not None and not path.is_file():
            raise fail(f"{flag} must be an existing file; got {path}", EXIT_USAGE)
    policy: PartialDates | None = None
    if partial_dates is not None:
        policy = "first" if partial_dates.value == "first" else "mid"
    try:
        with progress(ctx) as bar:
            name = source.name if isinstance(source, Path) else redact_url(source)
            task = bar.add_task(f"reading {name}", total=1)
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
