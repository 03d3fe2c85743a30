"""SDTM domain files (SAS XPORT through pyreadstat, CDISC Dataset-JSON v1.1) and the
TOML mapping that says how domains become canonical tables."""

from __future__ import annotations

import difflib
import json
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from msreboot.data._schema import AE_CATEGORIES, DEATH_CAUSES, DMT_DRUGS, PHENOTYPES
from msreboot.data._toml import describe_validation_errors, read_toml
from msreboot.exceptions import DataValidationError, MissingDependencyError, Problem

__all__ = ["SDTM_MAPPING_FILE", "SdtmMapping", "load_sdtm_mapping", "read_domains"]

SDTM_MAPPING_FILE: Traversable = files("msreboot.data").joinpath("sdtm_mapping.toml")
"""The default SDTM mapping shipped with msreboot (copy it to edit)."""

_SUFFIXES = (".xpt", ".json")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Dm(_Model):
    sex: dict[str, Literal["F", "M", "X"]]
    centre: str = "SITEID"


class _Phenotype(_Model):
    domain: str = "MH"
    terms: dict[str, Literal[PHENOTYPES]]  # type: ignore[valid-type]


class _Course(_Model):
    kind: Literal["ahsct", "msc", "dmt"]
    drug: Literal[DMT_DRUGS] | None = None  # type: ignore[valid-type]


class _Treatments(_Model):
    domains: list[str]
    terms: dict[str, _Course]


class _Edss(_Model):
    domains: list[str]
    testcd: str


class _Relapses(_Model):
    domains: list[str]
    terms: list[str]
    severity: dict[str, Literal["mild", "moderate", "severe"]] = Field(default_factory=dict)


class _Mri(_Model):
    domains: list[str]
    tests: dict[
        str,
        Literal["gd_lesions", "new_t2_lesions", "t2_lesions_total", "t1_hypointense_lesions"],
    ]
    regions: dict[str, Literal["brain", "spine", "brain_and_spine"]] = Field(default_factory=dict)


class _AdverseEvents(_Model):
    otherwise: Literal[AE_CATEGORIES] | None = None  # type: ignore[valid-type]
    terms: dict[str, Literal[AE_CATEGORIES]] = Field(default_factory=dict)  # type: ignore[valid-type]
    body_systems: dict[str, Literal[AE_CATEGORIES]] = Field(default_factory=dict)  # type: ignore[valid-type]


class _Deaths(_Model):
    ds_terms: list[str]
    cause_test: str = "PRCDTH"
    causes: dict[str, Literal[DEATH_CAUSES]] = Field(default_factory=dict)  # type: ignore[valid-type]


class _Labs(_Model):
    tests: dict[str, str] = Field(default_factory=dict)


class SdtmMapping(_Model):
    """The whole SDTM mapping file (see ``sdtm_mapping.toml`` beside this module)."""

    dm: _Dm
    phenotype: _Phenotype
    treatments: _Treatments
    edss: _Edss
    relapses: _Relapses
    mri: _Mri
    adverse_events: _AdverseEvents
    deaths: _Deaths
    labs: _Labs

    def upper(self) -> SdtmMapping:
        """The mapping with every term and domain in upper case, as records are compared."""

        def up(value: object) -> object:
            if isinstance(value, dict):
                return {str(k).strip().upper(): v for k, v in value.items()}
            if isinstance(value, list):
                return [str(v).strip().upper() for v in value]
            return value

        data = self.model_dump()
        for section, keys in _UPPER.items():
            for key in keys:
                data[section][key] = up(data[section][key])
        for key in ("domain", "testcd", "cause_test"):
            for section in data.values():
                if key in section and isinstance(section[key], str):
                    section[key] = section[key].strip().upper()
        return SdtmMapping.model_validate(data)


_UPPER = {
    "dm": ("sex",),
    "phenotype": ("terms",),
    "treatments": ("domains", "terms"),
    "edss": ("domains",),
    "relapses": ("domains", "terms", "severity"),
    "mri": ("domains", "tests", "regions"),
    "adverse_events": ("terms", "body_systems"),
    "deaths": ("ds_terms", "causes"),
    "labs": ("tests",),
}


def load_sdtm_mapping(path: str | Path | None = None) -> SdtmMapping:
    """Read an SDTM mapping file (the shipped default when ``path`` is ``None``).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DataValidationError
        The file is not valid: each bad key is a problem (``labs.tests.CD4``).
    """
    source: Path | Traversable = SDTM_MAPPING_FILE if path is None else Path(path)
    if isinstance(source, Path) and not source.is_file():
        raise FileNotFoundError(
            f"SDTM mapping must be an existing TOML file; got {source}. Start from a copy of "
            "msreboot/data/sdtm_mapping.toml."
        )
    document = read_toml(source, what="SDTM mapping")
    try:
        mapping = SdtmMapping.model_validate(document)
    except ValidationError as err:
        name = source.name
        raise DataValidationError(
            [
                Problem.table_level(
                    name,
                    f"the SDTM mapping is not valid: {describe_validation_errors(err)}. See "
                    "msreboot/data/sdtm_mapping.toml for the expected form.",
                )
            ]
        ) from None
    from msreboot.data._labs import ANALYTES

    bad = [
        Problem.table_level(
            source.name,
            f"labs.tests.{code} must name an analyte ({', '.join(ANALYTES)}); got {analyte!r}.",
            column=f"labs.tests.{code}",
            value=analyte,
        )
        for code, analyte in mapping.labs.tests.items()
        if analyte not in ANALYTES
    ]
    bad += [
        Problem.table_level(
            source.name,
            f"treatments.terms.{term}.drug must be given for a DMT; got none. Add a drug of "
            "the schema (see docs/schema.md).",
            column=f"treatments.terms.{term}",
        )
        for term, course in mapping.treatments.terms.items()
        if (course.kind == "dmt") != (course.drug is not None)
    ]
    if bad:
        raise DataValidationError(bad)
    return mapping.upper()


def read_domains(folder: Path) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Every domain file of ``folder`` (``dm.xpt``, ``DM.json``...), by upper-case domain.

    Values are text with blanks trimmed (empty text is missing), numbers as numbers; each
    frame is indexed by the 1-based record number.
    """
    problems: list[Problem] = []
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in _SUFFIXES:
            continue
        domain = path.stem.upper()
        if domain in found:
            problems.append(
                Problem.table_level(
                    domain,
                    f"domain {domain} must come from one file; got {found[domain].name} and "
                    f"{path.name}. Keep one of them.",
                )
            )
            continue
        found[domain] = path
    domains: dict[str, pd.DataFrame] = {}
    for domain, path in found.items():
        try:
            frame = _read_xpt(path) if path.suffix.lower() == ".xpt" else _read_json(path)
        except ValueError as exc:
            problems.append(Problem.table_level(domain, f"{path.name}: {exc}"))
            continue
        frame.columns = [str(c).strip().upper() for c in frame.columns]
        frame = frame.apply(_clean)
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        domains[domain] = frame
    if "DM" not in domains and not any(p.table == "DM" for p in problems):
        close = difflib.get_close_matches("dm", [p.stem.lower() for p in found.values()], n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        problems.append(
            Problem.table_level(
                "DM",
                f"the DM domain must be present (dm.xpt or dm.json) in {folder}; got "
                f"{', '.join(sorted(found)) or 'no domain files'}.{hint}",
            )
        )
    return domains, problems


def _clean(column: pd.Series) -> pd.Series:
    if column.dtype != object:
        return column
    return column.map(lambda v: (v.strip() or None) if isinstance(v, str) else v)


def _read_xpt(path: Path) -> pd.DataFrame:
    try:
        import pyreadstat
    except ImportError as exc:
        raise MissingDependencyError(
            "reading SAS XPORT (.xpt) files needs pyreadstat; install msreboot[sdtm] "
            "(pip install 'msreboot[sdtm]'), or give the domains as Dataset-JSON."
        ) from exc
    try:
        frame, _ = pyreadstat.read_xport(str(path))
    except Exception as exc:  # pyreadstat raises its own ReadstatError for broken files
        raise ValueError(f"must be a SAS XPORT file; pyreadstat could not read it ({exc})") from exc
    if not isinstance(frame, pd.DataFrame):  # pragma: no cover - pyreadstat's contract
        raise ValueError("must be a SAS XPORT file")
    return frame


def _read_json(path: Path) -> pd.DataFrame:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"must be a Dataset-JSON file (UTF-8 JSON); got {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("columns"), list):
        raise ValueError(
            "must be CDISC Dataset-JSON v1.1 (an object with 'columns' and 'rows'); got "
            "another layout. Dataset-JSON v1.0 (clinicalData / itemGroupData) is not read."
        )
    names = []
    for column in document["columns"]:
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise ValueError(f"every column must have a name; got {column!r}")
        names.append(column["name"])
    rows = document.get("rows", [])
    if not isinstance(rows, list) or any(
        not isinstance(r, list) or len(r) != len(names) for r in rows
    ):
        raise ValueError(f"rows must be lists of {len(names)} values, one per column")
    records = document.get("records")
    if isinstance(records, int) and records != len(rows):
        raise ValueError(f"records must count the rows; got records={records} for {len(rows)} rows")
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    return frame.drop(columns=[c for c in ("ITEMGROUPDATASEQ",) if c in frame.columns])
