"""Provenance of the protocol catalogue: sourced values, citations and the TOML documents.

Every number or fact in the catalogue is a :class:`Sourced` value that says whether the
cited source reports it, whether it is attributed to the source but not yet checked, or
whether it is an assumption (a modelling prior or a convention) with a note saying why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from msreboot.data import describe_validation_errors, read_toml

__all__ = [
    "BUNDLED_FILES",
    "SECTIONS",
    "Basis",
    "Citation",
    "Sourced",
    "describe_errors",
    "read_documents",
]

Basis = Literal["reported", "unchecked", "assumed"]
"""Where a value comes from.

``"reported"``: stated by the cited source, as recorded in the project's evidence dataset or
domain notes. ``"unchecked"``: attributed to the cited source but not yet checked against
it. ``"assumed"``: not a published number; a modelling prior or a convention, explained in
the value's note.
"""

T = TypeVar("T")

BUNDLED_FILES = ("citations.toml", "protocols.toml", "eligibility.toml")
SECTIONS = (
    "citation",
    "mobilisation",
    "graft",
    "conditioning",
    "msc",
    "dmt",
    "protocol",
    "criteria",
)
"""The tables a catalogue document may hold, in the order they are resolved."""


class Sourced(BaseModel, Generic[T]):
    """A value with its provenance.

    Attributes
    ----------
    value
        The value, in the unit its field name gives (``cyclophosphamide_mg_per_kg``).
    basis
        See :data:`Basis`.
    source
        Key of the citation it comes from (required unless ``basis == "assumed"``).
    note
        Context; required for assumed values (why this value).
    low, high
        A plausible range around a numeric value (priors for calibration).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: T
    basis: Basis
    source: str = ""
    note: str = ""
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _provenance(self) -> Sourced[T]:
        if self.basis != "assumed" and not self.source:
            raise ValueError(
                f"a {self.basis} value must name its source (a citation key); got none. "
                'Add source = "<key>" or set basis = "assumed" with a note.'
            )
        if self.basis == "assumed" and not self.note:
            raise ValueError(
                "an assumed value must say why in its note; got an empty note. "
                'Add note = "<why this value>".'
            )
        if self.low is None and self.high is None:
            return self
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"low / high apply to numbers only; got value {value!r}.")
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        if not low <= value <= high:
            raise ValueError(
                f"the range must hold the value (low <= value <= high); got low={self.low}, "
                f"value={value}, high={self.high}."
            )
        return self

    def describe(self) -> str:
        """The value, its range and its provenance: ``"16 (unchecked; nash2015_haltms)"``."""
        text = _fmt(self.value)
        if self.low is not None or self.high is not None:
            low = "" if self.low is None else _fmt(self.low)
            high = "" if self.high is None else _fmt(self.high)
            text += f" [{low}-{high}]"
        where = self.basis + (f"; {self.source}" if self.source else "")
        return f"{text} ({where})"


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Citation(BaseModel):
    """A published source (paper, guideline, trial registry entry or web page).

    Attributes
    ----------
    key
        Short id used by sourced values and protocols.
    authors, journal, year, volume, pages
        Bibliographic fields; blank when not checked.
    doi, registry_id, url
        Identifiers; a DOI is only given where the project's evidence dataset or domain
        notes give it (blank means not checked, not absent).
    status
        ``"verified"``, ``"partial"`` or ``"unverified"``, as in the evidence dataset.
    evidence_study_id
        The ``study_id`` of the same study in :func:`msreboot.evidence.load_studies`, if any.
    note
        What the source is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9_]+$")
    authors: str = ""
    journal: str = ""
    year: int | None = Field(None, ge=1900, le=2100)
    volume: str = ""
    pages: str = ""
    doi: str = Field("", pattern=r"^(10\.\d{4,9}/\S+)?$")
    registry_id: str = ""
    url: str = ""
    status: Literal["verified", "partial", "unverified"]
    evidence_study_id: str = ""
    note: str = ""

    def text(self) -> str:
        """One-line reference: ``"Muraro PA, et al. JAMA Neurol 2017;74(4):459-469.
        doi:10.1001/jamaneurol.2016.5867"``."""
        ref = " ".join(str(p) for p in (self.journal, self.year) if p)
        if self.volume:
            ref += f";{self.volume}"
        if self.pages:
            ref += f":{self.pages}"
        pieces = [self.authors.rstrip("."), ref]
        pieces += [f"doi:{self.doi}" if self.doi else "", self.registry_id]
        if not (self.doi or self.registry_id):
            pieces.append(self.url)
        text = ". ".join(p for p in pieces if p) or self.key
        return text if self.status == "verified" else f"{text} [{self.status}]"


def read_documents(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The bundled catalogue documents, merged with a user's TOML file.

    Returns one mapping per section of :data:`SECTIONS` (key -> raw table). A user file may
    add entries to any section and refer to bundled ones; redefining a bundled key is an
    error.

    Raises
    ------
    ValueError
        A file that is not valid TOML, a table outside the known sections, or a key that
        is defined twice, naming the file.
    FileNotFoundError
        ``path`` does not exist.
    """
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    folder = resources.files("msreboot.protocols").joinpath("data")
    for name in BUNDLED_FILES:
        document = read_toml(folder.joinpath(name), what="bundled protocol catalogue")
        _merge(merged, document, name)
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"catalogue file must exist; got {str(path)!r}.")
        _merge(merged, read_toml(path, what="protocol catalogue"), str(path))
    return merged


def _merge(merged: dict[str, dict[str, Any]], document: Mapping[str, Any], label: str) -> None:
    for section, tables in document.items():
        if section not in merged:
            raise ValueError(
                f"{label}: table [{section}] must be one of {', '.join(SECTIONS)}; got {section!r}."
            )
        if not isinstance(tables, Mapping):
            raise ValueError(f"{label}: [{section}] must hold named tables ([{section}.<key>]).")
        for key, table in tables.items():
            if key in merged[section]:
                raise ValueError(
                    f"{label}: [{section}.{key}] is already defined; choose another key."
                )
            merged[section][key] = table


def describe_errors(error: ValidationError) -> str:
    """A pydantic error as ``field.path: message; ...`` without pydantic's boilerplate
    (:func:`msreboot.data.describe_validation_errors`)."""
    return describe_validation_errors(error, "value")
