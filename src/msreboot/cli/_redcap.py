"""Command-line pieces: ``msreboot redcap-mapping``, a mapping draft from a data dictionary
(to ``--out`` or stdout, the summary of matched and unmatched fields to stderr), and
``msreboot redcap-fetch``, a project's records and dictionary downloaded through its API.

Registered by :func:`msreboot.cli._data.add_data_commands`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from msreboot.cli._common import EXIT_DATA, EXIT_USAGE, err, fail

__all__ = ["redcap_fetch_command", "redcap_mapping_command"]


def redcap_mapping_command(
    dictionary: Annotated[
        Path,
        typer.Argument(
            help="The project's REDCap data dictionary (CSV, from Project Setup > Data "
            "Dictionary).",
            show_default=False,
        ),
    ],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the mapping draft (TOML) here; default: print it to stdout."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out when it exists.")] = False,
) -> None:
    """Propose a REDCap mapping (TOML) from a data dictionary, to check and edit before use."""
    from msreboot.data import mapping_from_dictionary

    if not dictionary.is_file():
        raise fail(
            f"DICTIONARY must be an existing CSV file; got {dictionary}. Download it from "
            "Project Setup > Data Dictionary.",
            EXIT_USAGE,
        )
    if out_file is not None:
        if out_file.resolve() == dictionary.resolve():
            raise fail(
                f"--out must not be the data dictionary; got {out_file}. Choose another file.",
                EXIT_USAGE,
            )
        if out_file.exists() and not force:
            raise fail(
                f"--out must be a new file; got {out_file}, which exists (perhaps a mapping "
                "already edited by hand). Choose another file, or pass --force to replace it.",
                EXIT_USAGE,
            )
    try:
        draft = mapping_from_dictionary(dictionary)
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if out_file is None:
        typer.echo(draft.text, nl=False)
    else:
        try:
            draft.write(out_file)
        except OSError as exc:
            raise fail(
                f"--out must be writable; got {out_file} ({exc.strerror or exc}). Choose a "
                "file in a folder you can write to; nothing was written.",
                EXIT_USAGE,
            ) from exc
        err.print(f"wrote the mapping draft to {escape(str(out_file))}")
    err.print(escape(draft.summary()))


def redcap_fetch_command(
    url: Annotated[
        str,
        typer.Argument(
            help="The project's API address (https://.../api/), from its API page.",
            show_default=False,
        ),
    ],
    out_file: Annotated[
        Path,
        typer.Option("--out", help="The records file to write (flat CSV, raw coded values)."),
    ],
    dictionary: Annotated[
        Path | None,
        typer.Option(help="Also write the data dictionary (CSV) here, for redcap-mapping."),
    ] = None,
    token_env: Annotated[
        str,
        typer.Option(
            help="Environment variable holding the API token (never on the command line)."
        ),
    ] = "REDCAP_API_TOKEN",
    force: Annotated[bool, typer.Option("--force", help="Replace files that exist.")] = False,
) -> None:
    """Download a REDCap project's records (and data dictionary) through its API, as the
    files a hand export gives: then `msreboot import --redcap-mapping`."""
    from msreboot.data import download_redcap
    from msreboot.exceptions import RedcapApiError

    for path in (out_file, dictionary):
        if path is not None and path.exists() and not force:
            raise fail(
                f"--out and --dictionary must be new files; got {path}, which exists. Choose "
                "another name, or pass --force to replace it.",
                EXIT_USAGE,
            )
    try:
        result = download_redcap(url, out_file, dictionary=dictionary, token_env=token_env)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except RedcapApiError as exc:
        raise fail(str(exc), EXIT_DATA) from exc
    err.print(escape(result.summary() + " (patient data: readable by you only)"))
