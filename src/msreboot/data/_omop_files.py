"""OMOP CDM tables (CSV or Parquet folders, DuckDB databases) and the concept map."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from msreboot.data._schema import DEATH_CAUSES, DMT_DRUGS, LAB_ANALYTES, PHENOTYPES
from msreboot.data._toml import describe_validation_errors, read_toml
from msreboot.exceptions import DataValidationError, MissingDependencyError, Problem

__all__ = [
    "OMOP_CONCEPT_FILE",
    "OMOP_TABLES",
    "ConceptMap",
    "ConceptSet",
    "is_database_url",
    "load_concept_map",
    "read_omop_tables",
    "redact_url",
    "resolve",
]

OMOP_CONCEPT_FILE: Traversable = files("msreboot.data").joinpath("omop_concepts.toml")
"""The default OMOP concept map shipped with msreboot (copy it to edit)."""

OMOP_TABLES = (
    "person",
    "condition_occurrence",
    "drug_exposure",
    "procedure_occurrence",
    "measurement",
    "observation",
    "death",
    "concept",
    "concept_ancestor",
)
"""The OMOP CDM v5.4 tables read (``person`` is required)."""

_STORE_SUFFIXES = (".duckdb", ".db")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConceptSet(_Model):
    """One concept set: codes, names or concept ids, resolved through ``concept``."""

    codes: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    concept_ids: list[int] = Field(default_factory=list)
    checked: bool = False
    source: str = ""


class _Drugs(_Model):
    merge_gap_days: int = Field(default=30, ge=0, le=3650)


class _Courses(_Model):
    ahsct: ConceptSet = Field(default_factory=ConceptSet)
    msc: ConceptSet = Field(default_factory=ConceptSet)


class ConceptMap(_Model):
    """The whole concept map file (see ``omop_concepts.toml`` beside this module)."""

    gender: dict[str, Literal["F", "M", "X"]]
    drugs: _Drugs = Field(default_factory=_Drugs)
    phenotypes: dict[Literal[PHENOTYPES], ConceptSet]  # type: ignore[valid-type]
    relapse: ConceptSet = Field(default_factory=ConceptSet)
    edss: ConceptSet = Field(default_factory=ConceptSet)
    courses: _Courses = Field(default_factory=_Courses)
    dmt: dict[Literal[DMT_DRUGS], ConceptSet] = Field(default_factory=dict)  # type: ignore[valid-type]
    labs: dict[Literal[LAB_ANALYTES], ConceptSet] = Field(default_factory=dict)  # type: ignore[valid-type]
    death_causes: dict[Literal[DEATH_CAUSES], ConceptSet] = Field(default_factory=dict)  # type: ignore[valid-type]

    def sets(self) -> dict[str, ConceptSet]:
        """Every set by its key in the file (``phenotypes.RRMS``, ``dmt.natalizumab``)."""
        out: dict[str, ConceptSet] = {}
        for group in ("phenotypes", "dmt", "labs", "death_causes"):
            for name, concept_set in getattr(self, group).items():
                out[f"{group}.{name}"] = concept_set
        out["relapse"] = self.relapse
        out["edss"] = self.edss
        out["courses.ahsct"] = self.courses.ahsct
        out["courses.msc"] = self.courses.msc
        return out


def load_concept_map(path: str | Path | None = None) -> ConceptMap:
    """Read a concept map (the shipped default when ``path`` is ``None``).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DataValidationError
        The file is not valid (the bad keys are named).
    """
    source: Path | Traversable = OMOP_CONCEPT_FILE if path is None else Path(path)
    if isinstance(source, Path) and not source.is_file():
        raise FileNotFoundError(
            f"OMOP concept map must be an existing TOML file; got {source}. Start from a copy "
            "of msreboot/data/omop_concepts.toml."
        )
    document = read_toml(source, what="OMOP concept map")
    try:
        concept_map = ConceptMap.model_validate(document)
    except ValidationError as err:
        raise DataValidationError(
            [
                Problem.table_level(
                    source.name,
                    f"the OMOP concept map is not valid: {describe_validation_errors(err)}. "
                    "See msreboot/data/omop_concepts.toml for the expected form.",
                )
            ]
        ) from None
    bad = []
    for key, concept_set in concept_map.sets().items():
        for entry in (*concept_set.codes, *concept_set.names):
            vocabulary, sep, code = entry.partition(":")
            if not sep or not vocabulary.strip() or not code.strip():
                bad.append(
                    Problem.table_level(
                        source.name,
                        f"{key} entries must be VOCABULARY:code or VOCABULARY:name; got "
                        f"{entry!r}. Write e.g. 'SNOMED:24700007'.",
                        column=key,
                        value=entry,
                    )
                )
    for key in concept_map.gender:
        if not key.strip().isdigit():
            bad.append(
                Problem.table_level(
                    source.name,
                    f"gender keys must be concept ids; got {key!r}.",
                    column="gender",
                    value=key,
                )
            )
    if bad:
        raise DataValidationError(bad)
    return concept_map


def is_database_url(source: object) -> bool:
    """Whether ``source`` is a SQLAlchemy database URL (``dialect[+driver]://...``)."""
    return isinstance(source, str) and "://" in source


def read_omop_tables(
    source: Path | str, schema: str | None = None
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The OMOP tables of a folder (``person.csv`` or ``person.parquet``...), a DuckDB
    file or a SQLAlchemy database URL, as text (dates ``YYYY-MM-DD``, empty text missing),
    each indexed 1, 2, ..."""
    problems: list[Problem] = []
    where = redact_url(source) if isinstance(source, str) else str(source)
    if isinstance(source, str):
        tables = _read_sql(source, schema, problems)
    elif source.is_dir():
        tables = _read_folder(source, problems)
    elif source.suffix.lower() in _STORE_SUFFIXES:
        tables = _read_duckdb(source, schema, problems)
    else:
        raise ValueError(
            f"OMOP source must be a folder of CSV or Parquet tables or a DuckDB file "
            f"(.duckdb); got {source}."
        )
    out = {}
    for name, frame in tables.items():
        frame = frame.copy()
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        out[name] = _as_text(frame)
    if "person" not in out and not any(p.table == "person" for p in problems):
        problems.append(
            Problem.table_level(
                "person",
                f"the person table must be present in {where}; got "
                f"{', '.join(sorted(out)) or 'no OMOP tables'}.",
            )
        )
    return out, problems


def _read_folder(folder: Path, problems: list[Problem]) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    for name in OMOP_TABLES:
        paths = [
            p
            for p in folder.iterdir()
            if p.is_file() and p.stem.lower() == name and p.suffix.lower() in (".csv", ".parquet")
        ]
        if len(paths) > 1:
            problems.append(
                Problem.table_level(
                    name,
                    f"table {name} must come from one file; got "
                    f"{', '.join(p.name for p in paths)}. Keep one of them.",
                )
            )
            continue
        if not paths:
            continue
        path = paths[0]
        try:
            if path.suffix.lower() == ".csv":
                tables[name] = pd.read_csv(
                    path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
                )
            else:
                tables[name] = pd.read_parquet(path)
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            problems.append(Problem.table_level(name, f"{path.name} could not be read: {exc}"))
    return tables


def _read_duckdb(
    path: Path, schema: str | None, problems: list[Problem]
) -> dict[str, pd.DataFrame]:
    import duckdb

    if not path.is_file():
        raise FileNotFoundError(f"OMOP database must be an existing DuckDB file; got {path}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        listed = con.sql(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
        schemas = sorted({s for s, t in listed if t.lower() == "person"})
        chosen = schema if schema is not None else (schemas[0] if len(schemas) == 1 else None)
        if chosen is None:
            problems.append(
                Problem.table_level(
                    "person",
                    "schema must name the schema of the CDM tables; got none and "
                    f"{len(schemas)} schemas with a person table ({', '.join(schemas)}). "
                    "Pass schema=... (CLI --omop-schema).",
                )
            )
            return {}
        names = {t.lower(): t for s, t in listed if s == chosen}
        tables = {}
        for name in OMOP_TABLES:
            if name in names:
                quoted = f'"{chosen.replace(chr(34), "")}"."{names[name].replace(chr(34), "")}"'
                tables[name] = con.sql(f"select * from {quoted}").df()
        return tables
    finally:
        con.close()


def redact_url(url: str) -> str:
    """A database URL as messages may show it: the password replaced by ``***``.

    Examples
    --------
    >>> redact_url("postgresql://reader:secret@db.example.org/cdm")
    'postgresql://reader:***@db.example.org/cdm'
    """
    try:
        import sqlalchemy
    except ImportError:
        return url.split("@", 1)[-1] if "@" in url else url
    try:
        return sqlalchemy.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return "<a URL that is not a SQLAlchemy URL>"


def _read_sql(url: str, schema: str | None, problems: list[Problem]) -> dict[str, pd.DataFrame]:
    """The CDM tables of a database reached through SQLAlchemy, read whole with pandas.

    SQLAlchemy is used because it is the one interface pandas reads from every database
    server (PostgreSQL, SQL Server, Oracle, SQLite...); the driver is the user's."""
    try:
        import sqlalchemy
    except ImportError as exc:
        raise MissingDependencyError(
            "reading an OMOP database by URL needs SQLAlchemy and the database's driver; "
            "install msreboot[sql] (pip install 'msreboot[sql]') and the driver (e.g. "
            "psycopg for PostgreSQL), or export the CDM tables to CSV or Parquet."
        ) from exc
    try:
        engine = sqlalchemy.create_engine(url)
    except (sqlalchemy.exc.ArgumentError, ImportError) as exc:
        raise ValueError(
            f"OMOP database URL must be a SQLAlchemy URL whose driver is installed; got "
            f"{redact_url(url)} ({type(exc).__name__}: {exc})."
        ) from exc
    try:
        with engine.connect() as con:
            names = {t.lower(): t for t in sqlalchemy.inspect(con).get_table_names(schema=schema)}
            if "person" not in names:
                where = f"schema {schema!r}" if schema else "the default schema"
                problems.append(
                    Problem.table_level(
                        "person",
                        f"the person table must be in {where} of {redact_url(url)}; got "
                        f"{', '.join(sorted(names)) or 'no tables'}. Pass schema=... (CLI "
                        "--omop-schema) when the CDM tables are in another schema.",
                    )
                )
                return {}
            return {
                name: pd.read_sql_table(names[name], con, schema=schema)
                for name in OMOP_TABLES
                if name in names
            }
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise ValueError(
            f"OMOP database {redact_url(url)} could not be read: {type(exc).__name__}: "
            f"{str(getattr(exc, 'orig', None) or exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    def text(value: object) -> object:
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float):
            if value != value:
                return None
            return str(int(value)) if value.is_integer() else repr(value)
        if isinstance(value, (pd.Timestamp, dt.datetime)):
            return (
                value.strftime("%Y-%m-%d")
                if value == value.replace(hour=0, minute=0, second=0, microsecond=0)
                else value.isoformat()
            )
        if isinstance(value, dt.date):
            return value.isoformat()
        out = str(value).strip()
        return out or None

    out = pd.DataFrame(
        {name: frame[name].astype(object).map(text) for name in frame.columns}, dtype=object
    )
    out.index = pd.RangeIndex(1, len(out) + 1)
    return out


def resolve(
    concept_map: ConceptMap, tables: dict[str, pd.DataFrame], problems: list[Problem]
) -> dict[str, set[str]]:
    """Concept ids (as text) of every set, through ``concept`` and ``concept_ancestor``."""
    concept = tables.get("concept")
    lookup_code: dict[tuple[str, str], set[str]] = {}
    lookup_name: dict[tuple[str, str], set[str]] = {}
    if concept is not None:
        for cid, vocab, code, name in zip(
            concept.get("concept_id", pd.Series(dtype=object)),
            concept.get("vocabulary_id", pd.Series(dtype=object)),
            concept.get("concept_code", pd.Series(dtype=object)),
            concept.get("concept_name", pd.Series(dtype=object)),
            strict=True,
        ):
            if cid is None or vocab is None:
                continue
            key = str(vocab).upper()
            if code is not None:
                lookup_code.setdefault((key, str(code)), set()).add(str(cid))
            if name is not None:
                lookup_name.setdefault((key, str(name).casefold()), set()).add(str(cid))
    descendants: dict[str, set[str]] = {}
    ancestor = tables.get("concept_ancestor")
    if ancestor is not None:
        for a, d in zip(
            ancestor.get("ancestor_concept_id", pd.Series(dtype=object)),
            ancestor.get("descendant_concept_id", pd.Series(dtype=object)),
            strict=True,
        ):
            if a is not None and d is not None:
                descendants.setdefault(str(a), set()).add(str(d))
    out: dict[str, set[str]] = {}
    needs_concept = False
    for key, concept_set in concept_map.sets().items():
        ids = {str(i) for i in concept_set.concept_ids}
        for entry in concept_set.codes:
            vocab, _, code = entry.partition(":")
            ids |= lookup_code.get((vocab.strip().upper(), code.strip()), set())
            needs_concept = True
        for entry in concept_set.names:
            vocab, _, name = entry.partition(":")
            ids |= lookup_name.get((vocab.strip().upper(), name.strip().casefold()), set())
            needs_concept = True
        for cid in list(ids):
            ids |= descendants.get(cid, set())
        out[key] = ids
    if needs_concept and concept is None:
        problems.append(
            Problem.table_level(
                "concept",
                "the concept table must be present to resolve the concept map's codes and "
                "names; got none. Add the concept table (the OMOP vocabulary), or give "
                "concept_ids in the concept map",
            )
        )
    return out
