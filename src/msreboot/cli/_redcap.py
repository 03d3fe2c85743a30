"""Command-line piece: ``msreboot redcap-mapping``, a mapping draft from a data dictionary.

Registered by :func:`msreboot.cli._data.add_data_commands`. The draft goes to ``--out`` or
stdout; the summary (matched and unmatched fields) to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from msreboot.cli._common import EXIT_USAGE, err, fail

__all__ = ["redcap_mapping_command"]


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
