"""The label vocabulary of de-identification: which label values may be shared, and as what.

Label columns (kind ``label`` in the schema: ``centre``, ``protocol``, ``pathogen``) are
short codes typed by people, so they can hold anything ("CMV (patient John Roe)"). A
de-identified copy empties them unless a vocabulary says which values may be kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from msreboot.data._schema import SCHEMA
from msreboot.data._toml import read_toml

__all__ = ["LABEL_COLUMNS", "Vocabulary", "apply_vocabulary", "load_vocabulary"]

LABEL_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(c.name for spec in SCHEMA.values() for c in spec.columns if c.kind == "label")
)
"""The label columns of the schema (``centre``, ``protocol``, ``pathogen``)."""

Vocabulary = Mapping[str, Mapping[str, str]]
"""Label column -> {value as found (matched ignoring case and outer spaces) -> value shared}."""


def _key(value: object) -> str:
    return str(value).strip().casefold()


def check_vocabulary(vocabulary: Mapping[str, object]) -> Vocabulary:
    """Normalise a vocabulary given in Python (lists keep values, mappings rename them)."""
    unknown = [c for c in vocabulary if c not in LABEL_COLUMNS]
    if unknown:
        raise ValueError(
            f"vocabulary columns must be label columns ({', '.join(LABEL_COLUMNS)}); got "
            f"{', '.join(map(repr, unknown))}. Free text is always removed."
        )
    out: dict[str, Mapping[str, str]] = {}
    for column, entry in vocabulary.items():
        if isinstance(entry, Mapping):
            pairs = list(entry.items())
        elif isinstance(entry, (list, tuple)):
            pairs = [(v, v) for v in entry]
        else:
            raise ValueError(
                f"vocabulary entry {column!r} must be a list of values to keep or a table of "
                f"value = shared value; got {type(entry).__name__}."
            )
        mapped: dict[str, str] = {}
        for raw, shared in pairs:
            if not isinstance(raw, str) or not isinstance(shared, str):
                raise ValueError(
                    f"vocabulary values of {column!r} must be text; got {raw!r} = {shared!r}."
                )
            mapped[_key(raw)] = shared.strip()
        out[column] = MappingProxyType(mapped)
    return MappingProxyType(out)


def load_vocabulary(path: str | Path) -> Vocabulary:
    """Read a vocabulary file (TOML): per label column, the values that may be shared.

    Parameters
    ----------
    path
        A TOML file. Each key is a label column; its value is either a list of values
        kept as they are, or a table renaming each allowed value to the value shared::

            centre = ["C01", "C02"]
            protocol = ["HALT-MS", "MIST"]

            [pathogen]
            CMV = "CMV"
            "CMV reactivation" = "CMV"

    Returns
    -------
    Vocabulary
        Values are matched ignoring case and outer spaces; a value outside the vocabulary,
        or in a label column the file does not name, is emptied.

    Raises
    ------
    ValueError
        The file is not valid TOML, too large or too deep (:class:`SpecFileError`), names a
        column that is not a label column, or holds values that are not text.
    """
    document = read_toml(Path(path), what="vocabulary")
    return check_vocabulary(document)


def apply_vocabulary(values: pd.Series, column: str, vocabulary: Vocabulary | None) -> pd.Series:
    """``values`` mapped through the vocabulary of ``column``; anything else missing."""
    allowed = (vocabulary or {}).get(column)
    if not allowed:
        return pd.Series(pd.NA, index=values.index, dtype="string")
    mapped = values.map(lambda v: allowed.get(_key(v)), na_action="ignore")
    return mapped.astype("string")
