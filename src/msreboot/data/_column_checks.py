"""Column-level checks of one raw table: header matching, the cell-size limit, patient id
normalisation, and the located problems (table, row, patient, column) they produce."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data._coerce import (
    CELL_BLANKS,
    hidden_characters,
    is_missing,
    map_distinct,
)
from msreboot.data._schema import TableSpec
from msreboot.exceptions import Problem

__all__ = ["MAX_CELL_CHARS", "PatientCodes", "patient_codes"]


MAX_CELL_CHARS = 65_536
"""Default limit on the characters of one text cell (64 Ki); longer cells are errors."""


_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def _header_key(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _match_columns(spec: TableSpec, frame: pd.DataFrame, found: list[Problem]) -> dict[str, str]:
    """Map canonical column names to the input's column names (case and punctuation ignored)."""
    matched: dict[str, str] = {}
    unknown: list[str] = []
    for source in frame.columns:
        key = _header_key(source)
        hidden = hidden_characters(str(source).strip(CELL_BLANKS))
        if hidden and key in spec:
            found.append(
                Problem.table_level(
                    spec.name,
                    f"column header {str(source)!r} must hold only visible characters; it holds "
                    f"{', '.join(hidden)} and would be read as {key}. Remove the character(s) "
                    "(often left by a broken encoding or a copy from another program)",
                    column=key,
                    value=str(source),
                )
            )
        if key in spec and key not in matched:
            matched[key] = str(source)
        elif key in spec:
            found.append(
                Problem.table_level(
                    spec.name,
                    f"column {key} appears twice (as {matched[key]!r} and {source!r}); keep one",
                    column=key,
                    value=str(source),
                )
            )
        else:
            unknown.append(str(source))
    unknown_keys = {_header_key(u): u for u in unknown}
    missing = [c for c in spec.columns if c.required and c.name not in matched]
    for col in missing:
        close = _closest(col.name, list(unknown_keys))
        fix = (
            f" Did you mean {unknown_keys[close]!r}? Rename it to {col.name}."
            if close
            else f" Add a column {col.name!r}: {col.description}"
        )
        found.append(
            Problem.table_level(
                spec.name, f"required column {col.name} is missing.{fix}", column=col.name
            )
        )
    for source in unknown:
        close = _closest(_header_key(source), list(spec.column_names))
        hint = f"; did you mean {close}?" if close else ""
        found.append(
            Problem.table_level(
                spec.name,
                f"column {source!r} is not part of the {spec.name} table and is ignored{hint}",
                column=source,
                severity="warning",
            )
        )
    return matched


def _closest(name: str, candidates: list[str]) -> str | None:
    """The candidate most like ``name``: a near spelling, or a containing name (edss_score)."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        return close[0]
    containing = [c for c in candidates if name in c.split("_") or c in name.split("_")]
    return containing[0] if containing else None


def _limit_cells(
    table: str,
    column: str,
    values: pd.Series,
    distinct: tuple[np.ndarray, pd.Series] | None,
    pid: pd.Series,
    limit: int,
    found: list[Problem],
    unconvertible: set[tuple[int, str]],
) -> tuple[pd.Series, tuple[np.ndarray, pd.Series] | None]:
    """Cells longer than ``limit`` characters: one located error each, then left out.

    ``distinct`` is :func:`factorize_text` of ``values``; returned with the cells left out
    coded as missing, so that it still describes the returned values.
    """
    if not (
        pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)
    ):
        return values, distinct
    if distinct is not None:  # lengths of the distinct values
        codes, uniques = distinct
        lengths = pd.Series(
            np.append(uniques.str.len().to_numpy(dtype="int64"), 0)[codes], index=values.index
        )
    else:
        lengths = values.map(lambda v: len(v) if isinstance(v, str) else 0)
    long = (lengths > limit).to_numpy()
    if not long.any():
        return values, distinct
    rows = values.index[long]
    for row in rows:
        patient = pid.get(row)
        found.append(
            Problem(
                table,
                int(row),
                None if is_missing(patient) else str(patient),
                column,
                str(values[row])[:40] + "...",
                f"{column} holds {lengths[row]:,} characters; a cell may hold at most "
                f"{limit:,} (max_cell_chars, CLI --max-cell-chars). Shorten the cell, or "
                "raise the limit if the value is meant to be this long",
            )
        )
        unconvertible.add((int(row), column))
    if distinct is not None:
        distinct = (np.where(long, -1, distinct[0]), distinct[1])
    return values.mask(pd.Series(long, index=values.index)), distinct


@dataclass(frozen=True, slots=True)
class PatientCodes:
    """A table's patient ids factorized once: ``ids`` are the distinct present ids (string
    Index, in order of first appearance) and ``codes`` give each row's position in them
    (-1 where the id is missing). The duplicate, cross-table and ordering checks share it
    instead of hashing the id text again each."""

    codes: np.ndarray
    ids: pd.Index


def patient_codes(
    pid: pd.Series, per_id: pd.Series | None = None, id_codes: np.ndarray | None = None
) -> PatientCodes:
    """The :class:`PatientCodes` of ``pid``; from ``per_id[id_codes]`` when ``pid`` was
    spread from the converted distinct raw ids ``per_id`` (two raw ids may convert to one,
    ``" P1"`` and ``"P1"``, so the few distinct values are factorized, not the rows)."""
    if per_id is None or id_codes is None:
        codes, ids = pd.factorize(pid.to_numpy(dtype=object))
    else:
        inner, ids = pd.factorize(per_id.to_numpy(dtype=object))
        codes = np.append(inner, -1)[id_codes]
    return PatientCodes(np.asarray(codes, dtype=np.intp), pd.Index(ids, dtype="string"))


def _normalise_ids(
    table: str, pid: pd.Series, found: list[Problem], distinct: np.ndarray | None = None
) -> pd.Series:
    """Patient ids in Unicode NFC without invisible characters, with a warning listing the
    ids changed (the same patient written two ways must match across tables). ``distinct``
    holds (at least) every distinct value of ``pid``, when the caller has them."""
    if distinct is not None:  # one check of all the distinct ids joined
        present = distinct[~pd.isna(distinct)]
        try:
            joined = "".join(present)  # a TypeError unless every id is text
        except TypeError:
            joined = "\n"  # not all text: checked one by one below
        if joined.isascii() and joined.isprintable():
            return pid  # clean() leaves every id as it is (or every id is missing)
    if pid.isna().all():
        return pid

    def clean(v: object) -> object:
        if not isinstance(v, str) or (v.isascii() and v.isprintable()):
            return v
        return _INVISIBLE.sub("", unicodedata.normalize("NFC", v)).strip(CELL_BLANKS)

    distinct = pd.unique(pid.dropna().to_numpy(dtype=object))
    if all(isinstance(v, str) and v.isascii() and v.isprintable() for v in distinct):
        return pid  # clean() leaves every id as it is
    cleaned = map_distinct(pid, clean).where(pid.notna().to_numpy(), pid).astype(pid.dtype)
    changed = (cleaned != pid).fillna(False).astype(bool)
    if not changed.any():
        return pid
    pairs = sorted(
        {(ascii(str(a)), str(b)) for a, b in zip(pid[changed], cleaned[changed], strict=True)}
    )
    listed = ", ".join(f"{a} -> {b!r}" for a, b in pairs[:10])
    more = f" and {len(pairs) - 10} more" if len(pairs) > 10 else ""
    found.append(
        Problem.table_level(
            table,
            f"{len(pairs)} patient_id(s) normalised (Unicode NFC, invisible characters removed): "
            f"{listed}{more}",
            column="patient_id",
            severity="warning",
        )
    )
    return cleaned.astype("string")


def _check_id_collisions(raw: pd.Series, pid: pd.Series, found: list[Problem]) -> None:
    """Two distinct ids of the patients table that normalise to one id: an error."""
    if raw.equals(pid):
        return
    first: dict[str, tuple[int, str]] = {}
    for row, norm, given in zip(pid.index, pid, raw, strict=True):
        if is_missing(norm):
            continue
        if norm in first and first[norm][1] != given:
            found.append(
                Problem(
                    "patients",
                    int(row),
                    str(norm),
                    "patient_id",
                    ascii(str(given)),
                    f"patient_id {str(given)!a} and {first[norm][1]!a} (row "
                    f"{first[norm][0]}) are distinct ids that read the same once normalised "
                    f"(Unicode NFC, invisible characters removed) as {norm!r}; give the two "
                    "patients distinct ids, or one id if they are one patient",
                )
            )
        else:
            first.setdefault(str(norm), (int(row), str(given)))


def _row_problems(
    table: str,
    rows: Iterable[int] | pd.Index,
    pid: pd.Series,
    column: str | None,
    values: pd.Series | None,
    problem: str | pd.Series,
) -> list[Problem]:
    """One problem per row; ``problem`` is one message or a message per row (by row)."""
    rows = list(rows)
    ids = pid.reindex(rows)
    shown = values.reindex(rows) if values is not None else None
    messages = problem.reindex(rows) if isinstance(problem, pd.Series) else None
    out = []
    for i, row in enumerate(rows):
        patient = ids.iloc[i]
        value = None if shown is None else shown.iloc[i]
        out.append(
            Problem(
                table,
                int(row),
                None if is_missing(patient) else str(patient),
                column,
                None if value is None or is_missing(value) else _value_text(value),
                str(messages.iloc[i]) if messages is not None else str(problem),
            )
        )
    return out


def _value_text(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)
