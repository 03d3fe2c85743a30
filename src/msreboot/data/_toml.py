"""One reader for every TOML file msreboot reads (trial specs, endpoint definitions,
calibration targets and priors, REDCap mappings, the protocol catalogue, parameter sets),
with limits, and one formatter for the pydantic errors of what was read.

The reader refuses, naming the file, what could exhaust memory or the stack: a file
larger than ``max_bytes`` (only ``max_bytes + 1`` bytes are ever read, so ``/dev/zero``
cannot fill memory), anything that is not a regular file (a directory, a FIFO, a device),
and tables or arrays nested deeper than ``max_depth`` (checked on the raw text before
parsing, since :mod:`tomllib` recurses into nested arrays and inline tables). Undecodable
bytes and TOML syntax errors are reported with their line and column.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from msreboot.exceptions import SpecFileError

__all__ = [
    "MAX_TOML_BYTES",
    "MAX_TOML_DEPTH",
    "describe_validation_errors",
    "parse_toml",
    "read_toml",
]

MAX_TOML_BYTES = 1 << 20
"""Largest TOML file read by default (1 MiB)."""
MAX_TOML_DEPTH = 32
"""Deepest nesting of tables and arrays accepted by default."""

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def read_toml(
    source: str | Path | Traversable,
    *,
    what: str,
    max_bytes: int = MAX_TOML_BYTES,
    max_depth: int = MAX_TOML_DEPTH,
) -> dict[str, Any]:
    r"""Read and parse one TOML file, refusing what is too large, not a file or too deep.

    Parameters
    ----------
    source
        A path, or a bundled resource (:func:`importlib.resources.files`).
    what
        What the file holds, for messages (``"trial spec"``).
    max_bytes
        Largest file accepted, in bytes.
    max_depth
        Deepest nesting of tables and arrays accepted.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    SpecFileError
        A ``ValueError`` naming the file: missing, not a regular file, too large, not
        UTF-8, nested too deeply or not valid TOML (with line and column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "x.toml")
    ...     _ = path.write_text("[trial]\nname = 'x'\n")
    ...     read_toml(path, what="trial spec")
    {'trial': {'name': 'x'}}
    """
    where = str(source)
    raw = _read_bytes(source, what=what, where=where, max_bytes=max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _line_column(raw, error.start)
        raise SpecFileError(
            f"{what} {where} must be UTF-8 text; got the byte {raw[error.start]:#04x} at "
            f"line {line}, column {column}. Save the file as UTF-8."
        ) from None
    return parse_toml(text, what=what, where=where, max_depth=max_depth)


def parse_toml(
    text: str, *, what: str, where: str, max_depth: int = MAX_TOML_DEPTH
) -> dict[str, Any]:
    """Parse TOML text already in memory (``where`` names its origin in messages).

    Raises
    ------
    SpecFileError
        Nested deeper than ``max_depth``, or not valid TOML (with line and column).
    """
    depth, line = _bracket_depth(text)
    if depth > max_depth:
        raise _too_deep(what, where, max_depth, f"{depth} levels of [ or {{ by line {line}")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _POSITION.search(message)
        at = f" at line {found[1]}, column {found[2]}" if found else ""
        reason = _POSITION.sub("", message)
        raise SpecFileError(
            f"{what} {where} must be valid TOML; got {reason!r}{at}. Fix the "
            "syntax there (strings in quotes, one [section] header per table)."
        ) from None
    except RecursionError:
        raise _too_deep(what, where, max_depth, "nesting too deep to parse") from None
    depth = _value_depth(document)
    if depth > max_depth:
        raise _too_deep(what, where, max_depth, f"{depth} levels of tables and arrays")
    return document


def describe_validation_errors(error: ValidationError, where: str = "value") -> str:
    """A pydantic error as ``field.path: message; ...``, without pydantic's boilerplate.

    ``where`` names the field of an error about the whole object (an empty location).
    """
    problems = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or where
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}")
    return "; ".join(problems)


def _read_bytes(
    source: str | Path | Traversable, *, what: str, where: str, max_bytes: int
) -> bytes:
    too_large = SpecFileError(
        f"{what} {where} must be at most {max_bytes} bytes; got a larger file. Shorten it, "
        "or split it into several files."
    )
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise SpecFileError(
                f"{what} {where} must be an existing file; got no such file. Check the path."
            ) from None
        except OSError as error:
            raise SpecFileError(
                f"{what} {where} must be readable; got {error.strerror}. Check the path."
            ) from None
        if not stat.S_ISREG(mode):
            raise SpecFileError(
                f"{what} {where} must be a regular file; got {_kind(mode)}. Give a TOML file."
            )
        opened: IO[bytes] = path.open("rb")
    else:
        if not source.is_file():
            raise SpecFileError(
                f"{what} {where} must be an existing file; got no such file. Check the path."
            )
        opened = source.open("rb")
    with opened as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise too_large
    return raw


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "something other than a file"


def _line_column(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def _too_deep(what: str, where: str, max_depth: int, got: str) -> SpecFileError:
    return SpecFileError(
        f"{what} {where} must nest tables and arrays at most {max_depth} deep; got {got}. "
        "Flatten the structure."
    )


def _bracket_depth(text: str) -> tuple[int, int]:
    """Deepest nesting of ``[`` and ``{`` outside strings and comments, and its line."""
    depth = deepest = 0
    line = deepest_line = 1
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
        elif char == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif char in "\"'":
            triple = text.startswith(char * 3, i)
            quote = char * 3 if triple else char
            j = i + len(quote)
            while j < n:
                if char == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if text[j] == "\n" and not triple:
                    break  # an unterminated string: tomllib reports it
                j += 1
            line += text.count("\n", i, j)
            i = j + len(quote)
            continue
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest, deepest_line


def _value_depth(document: Mapping[str, Any]) -> int:
    """Deepest nesting of the parsed tables and arrays (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        children = value.values() if isinstance(value, Mapping) else value
        stack.extend((c, depth + 1) for c in children if isinstance(c, (Mapping, list)))
    return deepest
