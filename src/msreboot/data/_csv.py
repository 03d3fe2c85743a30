"""Reading one CSV file as raw text cells: its separator, its encoding (UTF-8 or cp1252), a
streamed check for a line too long for any row, and the check of every record's field
count against the header (rows cut short, values beyond the last column)."""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from msreboot.exceptions import Problem

__all__: list[str] = []


def _sniff_separator(head: bytes) -> str:
    if b"\x00" in head:
        raise ValueError("it is a binary file, not a text table (CSV)")
    first = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head else ""
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without BOM); else cp1252 when the file
    holds no UTF-8 sequence at all (a Windows spreadsheet export). A file mixing both is
    refused: decoding it either way would change some of its text."""
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        if _UTF8_MULTIBYTE.search(data):
            raise ValueError(
                f"it mixes UTF-8 and another encoding: line {line} is not UTF-8 while other "
                "lines are. Save the file again as UTF-8"
            ) from err
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(
            f"it is neither UTF-8 nor cp1252 text (line {line}); save it again as UTF-8"
        ) from err


_SCAN_BLOCK = 16 * 1024 * 1024


def _line_ends(
    path: Path, table: str, problems: list[Problem], max_cell_chars: int
) -> np.ndarray | None:
    """The byte offsets of the file's line breaks, or ``None`` (with a problem) at the first
    line longer than ``max_cell_chars`` allows (streamed, in blocks).

    A row of ``n`` cells of at most ``max_cell_chars`` characters takes at most
    ``n * (2 * max_cell_chars + 3)`` characters (every character a doubled quote, plus the
    quotes and the separator), i.e. four bytes a character in UTF-8. The offsets found are
    kept for the record check, so the file's line breaks are searched once.
    """
    found: list[np.ndarray] = []
    with path.open("rb") as handle:
        block = handle.read(_SCAN_BLOCK)
        head = block.split(b"\n", 1)[0]
        sep = _sniff_separator(block[: 64 * 1024]).encode("utf-8", "replace")
        fields = head.count(sep) + 1 if sep else 1
        limit = fields * (2 * max_cell_chars + 3) * 4 + 2
        line, start, offset = 1, 0, 0  # current line number, its first byte, block offset
        while block:
            ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")) + offset
            lengths = np.diff(np.concatenate(([start], ends + 1))) - 1
            over = np.flatnonzero(lengths > limit)
            if len(over):
                n, length = line + int(over[0]), int(lengths[over[0]])
                break
            found.append(ends)
            if len(ends):
                line, start = line + len(ends), int(ends[-1]) + 1
            offset += len(block)
            if offset - start > limit:
                n, length = line, offset - start
                break
            block = handle.read(_SCAN_BLOCK)
        else:
            return np.concatenate(found) if found else np.zeros(0, dtype=np.intp)
    problems.append(
        Problem(
            table,
            None if n == 1 else n - 1,
            None,
            None,
            path.name,
            f"line {n} of {path.name} is {length:,} bytes or longer: more than a row of "
            f"{fields} cells of at most {max_cell_chars:,} characters (max_cell_chars, CLI "
            "--max-cell-chars) can hold, so the file was not read. Look for a missing line "
            "break or an unclosed quote there, or raise the limit if the cell is meant to be "
            "this long",
        )
    )
    return None


def _read_csv(
    path: Path, table: str, problems: list[Problem], ends: np.ndarray
) -> pd.DataFrame | None:
    """Read a CSV file as text cells; ``ends`` are its line breaks (:func:`_line_ends`)."""
    data = path.read_bytes()
    sep = _sniff_separator(data[: 64 * 1024])
    # plain ASCII is UTF-8 as it is: decoded only if the csv module must read it (below)
    text, encoding = (None, "utf-8") if data.isascii() else _decode(path, data)
    if encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):  # as the text has none
        data, ends = data[len(codecs.BOM_UTF8) :], ends - len(codecs.BOM_UTF8)
    try:
        with warnings.catch_warnings():
            # rows longer than the header are reported below, row by row
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(  # from the bytes: parsing the decoded text is twice as slow
                io.BytesIO(data),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=False,
                index_col=False,  # never take the first column as an index (trailing separators)
                encoding=encoding,
            )
    except pd.errors.EmptyDataError as err:
        raise ValueError("it has no header row") from err
    header, short, long = _check_records(text, sep, data, ends, encoding)
    duplicated = sorted({h for h in header if header.count(h) > 1})
    for name in duplicated:
        problems.append(
            Problem.table_level(
                table,
                f"{path.name} has the column {name!r} {header.count(name)} times in its header; "
                "keep one",
                column=name,
                value=name,
            )
        )
    for row, n_fields in short[:20]:
        problems.append(
            Problem(
                table,
                row,
                None,
                None,
                None,
                f"{path.name} row {row} (line {row + 1} if no cell spans lines) has {n_fields} "
                f"field(s) where the header has {len(header)}: the row is cut short. Fill in "
                "the missing fields (empty ones as separators) or delete the row",
            )
        )
    for row, n_fields in long[:20]:
        problems.append(
            Problem(
                table,
                row,
                None,
                None,
                None,
                f"{path.name} row {row} (line {row + 1} if no cell spans lines) has {n_fields} "
                f"fields where the header has {len(header)}: values beyond the last column. "
                "Add the missing column names to the header, or remove the extra values",
            )
        )
    if len(short) > 20:
        problems.append(
            Problem.table_level(
                table, f"{path.name}: {len(short) - 20} more rows are cut short", value=path.name
            )
        )
    return None if duplicated or short or long else frame


def _check_records(
    text: str | None, sep: str, data: bytes, ends: np.ndarray, encoding: str
) -> tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]:
    """The header, the data rows with fewer fields than it and those with more non-empty
    fields (1-based row, field count). Blank lines are skipped, as pandas skips them;
    trailing empty fields (separators at the end of each line) are allowed. ``data`` is
    ``text`` encoded (``encoding``; ``text`` is ``None`` for ASCII data, decoded when
    needed) and ``ends`` the offsets of its line breaks."""
    fast = _uniform_records(data, ends, sep, encoding)
    if fast is not None:
        return fast, [], []
    if text is None:
        text = data.decode("ascii")
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    header: list[str] | None = None
    short: list[tuple[int, int]] = []
    long: list[tuple[int, int]] = []
    row = 0
    try:
        for record in reader:
            if not record or record == [""]:
                continue
            if header is None:
                header = [h.strip() for h in record]
                while len(header) > 1 and not header[-1]:
                    header.pop()  # a trailing separator after the last name
                continue
            row += 1
            if len(record) < len(header):
                short.append((row, len(record)))
            elif len(record) > len(header) and any(v.strip() for v in record[len(header) :]):
                long.append((row, len(record)))
    except csv.Error:
        # a cell beyond the csv module's limit (131,072 characters): pandas has read the
        # file; the cell-size limit of validation reports long cells
        return header or [], short, long
    return header or [], short, long


def _uniform_records(data: bytes, ends: np.ndarray, sep: str, encoding: str) -> list[str] | None:
    """The header when the file has no quotes and every non-blank line has as many fields
    as the header (the usual case, counted with numpy in one pass over the bytes, whose
    line breaks ``ends`` are already known); else ``None``, and the csv module reads the
    file record by record. Separators, quotes and line ends are single ASCII bytes in both
    encodings read (UTF-8 and cp1252), never part of another character."""
    if b'"' in data or data.count(b"\r") != data.count(b"\r\n") or len(sep.encode("utf-8")) != 1:
        return None
    array = np.frombuffer(data, dtype=np.uint8)
    if len(ends) == 0 or ends[-1] != len(array) - 1:
        ends = np.append(ends, len(array))
    starts = np.concatenate(([0], ends[:-1] + 1))
    at = np.flatnonzero(array == ord(sep.encode("utf-8")))
    fields = np.searchsorted(at, ends) - np.searchsorted(at, starts) + 1
    length = ends - starts - np.isin(array[np.maximum(ends - 1, 0)], [ord("\r")]) * (ends > starts)
    filled = length > 0
    if not filled.any():
        return None
    first = int(np.argmax(filled))
    if not (fields[filled] == fields[first]).all():
        return None
    line = data[int(starts[first]) : int(ends[first])].decode(encoding).rstrip("\r")
    header = [h.strip() for h in line.split(sep)]
    while len(header) > 1 and not header[-1]:
        header.pop()
    return header
