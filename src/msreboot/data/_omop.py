"""Read an OMOP CDM v5.4 database (CSV or Parquet folder, DuckDB file) into a cohort."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from msreboot.data._coerce import PartialDates
from msreboot.data._cohort import Cohort
from msreboot.data._foreign import ForeignTables, finish, parse_iso_dates
from msreboot.data._omop_files import (
    ConceptMap,
    is_database_url,
    load_concept_map,
    read_omop_tables,
    resolve,
)
from msreboot.exceptions import Problem

__all__ = ["read_omop"]

# the sets each table reads, and the table column holding the concept
_GROUPS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "condition_occurrence": ("condition_concept_id", ("phenotypes.", "relapse")),
    "drug_exposure": ("drug_concept_id", ("dmt.",)),
    "procedure_occurrence": ("procedure_concept_id", ("courses.",)),
    "measurement": ("measurement_concept_id", ("edss", "labs.")),
    "observation": ("observation_concept_id", ("edss",)),
    "death": ("cause_concept_id", ("death_causes.",)),
}


def read_omop(
    source: str | Path,
    *,
    concepts: str | Path | None = None,
    schema: str | None = None,
    partial_dates: PartialDates | None = None,
) -> Cohort:
    r"""Read an OMOP CDM v5.4 database into a validated cohort.

    Parameters
    ----------
    source
        A folder of CDM tables (``person.csv`` or ``person.parquet``, ...), a DuckDB
        database file (``.duckdb``), or a SQLAlchemy database URL as text
        (``"postgresql+psycopg://reader@host/cdm"``, ``"sqlite:///cdm.sqlite"``; needs
        ``msreboot[sql]`` and the database's driver; messages show the URL without its
        password, which is better left to the driver's own files, e.g. ``~/.pgpass``).
        ``person`` is required; ``condition_occurrence``,
        ``drug_exposure``, ``procedure_occurrence``, ``measurement``, ``observation``,
        ``death``, and the vocabulary tables ``concept`` and ``concept_ancestor`` are read
        when present.
    concepts
        Concept map (TOML); ``None`` uses the shipped default,
        :data:`~msreboot.data.OMOP_CONCEPT_FILE`, which documents every set and marks
        the codes that were checked.
    schema
        Schema of the CDM tables: in a DuckDB file, needed when more than one schema has a
        ``person`` table; in a database reached by URL, the schema to read (default: the
        connection's default schema).
    partial_dates
        How a birth date with year and month but no day is read: ``None`` gives
        ``birth_year`` only; ``"first"`` or ``"mid"`` completes it to a date. Every other
        date must be complete.

    Returns
    -------
    Cohort
        Validated like every other reader. ``cohort.warnings`` counts the rows whose
        concept is in no set (per table), the sets that resolved to no concept of the
        database, exposures merged into courses and causes of death left missing.

    Raises
    ------
    DataValidationError
        Every problem, each at its OMOP table, 1-based row, person_id and column: first the
        reader's own (unmapped concepts, bad dates); when there are none, the schema's
        checks.
    FileNotFoundError
        ``source`` or ``concepts`` does not exist.

    Notes
    -----
    person gives the patients (person_id, gender, year/month/day of birth, care_site_id
    as centre); condition_occurrence the phenotype (the earliest phenotype record; its
    start date is the diagnosis date, and a later SPMS record after RRMS the SPMS
    conversion date) and the relapses; drug_exposure the DMT courses (exposures of one
    drug with gaps of at most ``[drugs] merge_gap_days`` are one course);
    procedure_occurrence the AHSCT and MSC courses; measurement and observation the EDSS;
    measurement the labs (value_as_number in unit_source_value); death the deaths.

    Examples
    --------
    A CSV folder with its own vocabulary rows:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "person.csv").write_text(
    ...     "person_id,gender_concept_id,year_of_birth,month_of_birth,day_of_birth\n"
    ...     "1,8532,1980,5,1\n")
    >>> _ = (folder / "condition_occurrence.csv").write_text(
    ...     "person_id,condition_concept_id,condition_start_date\n"
    ...     "1,11,2006-09-17\n1,99,2010-01-01\n")
    >>> _ = (folder / "concept.csv").write_text(
    ...     "concept_id,concept_name,vocabulary_id,concept_code\n"
    ...     "11,Relapsing remitting multiple sclerosis,SNOMED,426373005\n")
    >>> cohort = read_omop(folder)
    >>> cohort.patients[["patient_id", "sex", "phenotype", "diagnosis_date"]]
      patient_id sex phenotype diagnosis_date
    0          1   F      RRMS     2006-09-17
    >>> print(cohort.warnings[-1].describe())
    condition_occurrence row 2 (patient 1) column condition_concept_id: 1 record(s) of 1
    subject(s) not read: its concept is in no set of the OMOP concept map (records 2; most
    frequent values '99') [value '99']
    """
    located: Path | str = source if is_database_url(source) else Path(source)
    if isinstance(located, Path) and not located.exists():
        raise FileNotFoundError(f"OMOP source must exist; got {located}")
    concept_map = load_concept_map(concepts)
    tables, problems = read_omop_tables(located, schema)
    reader = _Reader(tables, concept_map, partial_dates)
    reader.out.problems.extend(problems)
    if "person" in tables:
        reader.read_all()
    return finish(reader.out, partial_dates=partial_dates)


class _Reader:
    def __init__(
        self, tables: Mapping[str, pd.DataFrame], concepts: ConceptMap, policy: PartialDates | None
    ) -> None:
        self.tables = tables
        self.concepts = concepts
        self.policy = policy
        self.out = ForeignTables()
        self.sets: dict[str, set[str]] = {}
        self.owner: dict[str, dict[str, str]] = {}

    def col(self, table: str, column: str) -> pd.Series:
        frame = self.tables[table]
        if column in frame.columns:
            return frame[column]
        return pd.Series(None, index=frame.index, dtype=object)

    def dates(
        self, table: str, column: str, rows: pd.Index, *, required: bool = False
    ) -> pd.Series:
        """``YYYY-MM-DD`` texts of ``column``; a malformed, partial or impossible date (and a
        missing one when ``required``) is a located error and gives no date."""
        values = self.col(table, column).loc[rows]
        parts = parse_iso_dates(values, None)
        calendar = pd.to_datetime(parts.text, format="%Y-%m-%d", errors="coerce")
        impossible = parts.text.notna() & calendar.isna()
        bad = parts.kind.isin(["bad", "month", "year"]) | impossible
        if required:
            bad |= values.isna()
        ids = self.col(table, "person_id")
        for row in rows[bad.to_numpy()]:
            self.out.error(
                table,
                int(row),
                ids[row],
                column,
                values[row],
                f"{column} must be a calendar date (YYYY-MM-DD); got {values[row]!r}. Correct "
                "it in the source",
            )
        text = parts.text.copy()
        text[bad.to_numpy()] = None
        return text

    def whole(self, table: str, column: str, rows: pd.Index) -> dict[object, int | None]:
        """Whole numbers of ``column`` (``11`` or ``11.0``); anything else a located error."""
        values = self.col(table, column)
        ids = self.col(table, "person_id")
        out: dict[object, int | None] = {}
        for row in rows:
            value = values[row]
            out[row] = None
            if value is None:
                continue
            try:
                number = float(str(value))
            except ValueError:
                number = float("nan")
            if number.is_integer():
                out[row] = int(number)
            else:
                self.out.error(
                    table,
                    int(row),
                    ids[row],
                    column,
                    value,
                    f"{column} must be a whole number; got {value!r}",
                )
        return out

    def add(
        self,
        table: str,
        source: str,
        rows: pd.Index,
        data: dict[str, object],
        variables: dict[str, str],
    ) -> None:
        ids = self.col(source, "person_id")
        self.out.add_selected(table, source, rows, data, ids, "person_id", variables)

    def classify(self, table: str) -> pd.Series:
        """The set key of each row's concept (missing where it is in no set)."""
        column, _ = _GROUPS[table]
        owner = self.owner.get(table, {})
        return self.col(table, column).map(lambda v: owner.get(str(v)) if v is not None else None)

    def drop_rest(self, table: str, used: pd.Index) -> None:
        column, _ = _GROUPS[table]
        ids = self.col(table, "person_id")
        values = self.col(table, column)
        for row in self.tables[table].index.difference(used):
            self.out.dropped.add(
                table,
                column,
                "its concept is in no set of the OMOP concept map",
                int(row),
                ids[row],
                values[row],
            )

    def read_all(self) -> None:
        for table in self.tables:
            if table in ("concept", "concept_ancestor"):
                continue
            ids = self.col(table, "person_id")
            for row in ids.index[ids.isna().to_numpy()]:
                self.out.error(
                    table,
                    int(row),
                    None,
                    "person_id",
                    None,
                    "person_id must be filled on every row; got an empty id. Fill it or "
                    "delete the row",
                )
        self.sets = resolve(self.concepts, dict(self.tables), self.out.problems)
        empty = sorted(k for k, v in self.sets.items() if not v)
        if empty:
            self.out.problems.append(
                Problem.table_level(
                    "concept",
                    f"{len(empty)} concept set(s) of the concept map match no concept of the "
                    f"database ({', '.join(empty)}); rows of these concepts cannot be read. "
                    "Check the codes and names against your vocabulary",
                    severity="warning",
                )
            )
        for table, (_, prefixes) in _GROUPS.items():
            owner: dict[str, str] = {}
            for key, ids_ in self.sets.items():
                if not key.startswith(prefixes) and key not in prefixes:
                    continue
                for cid in ids_:
                    if cid in owner and owner[cid] != key:
                        self.out.error(
                            "concept",
                            None,
                            None,
                            "concept_id",
                            cid,
                            f"concept {cid} must belong to one set read from {table}; got "
                            f"{owner[cid]} and {key}. Remove it from one of them",
                        )
                    owner[cid] = key
            self.owner[table] = owner
        self.patients()
        self.conditions()
        self.drugs()
        self.procedures()
        self.measurements()
        self.deaths()

    def patients(self) -> None:
        rows = self.tables["person"].index
        ids = self.col("person", "person_id")
        gender = self.col("person", "gender_concept_id")
        sex = gender.map(lambda v: self.concepts.gender.get(str(v)) if v is not None else None)
        for row in rows[(gender.notna() & sex.isna()).to_numpy()]:
            self.out.error(
                "person",
                int(row),
                ids[row],
                "gender_concept_id",
                gender[row],
                f"gender_concept_id must be one of {', '.join(self.concepts.gender)} ([gender] "
                f"of the concept map); got {gender[row]}. Add it to the map",
            )
        year, month, day = (
            self.whole("person", c, rows)
            for c in ("year_of_birth", "month_of_birth", "day_of_birth")
        )
        birth = pd.Series(None, index=rows, dtype=object)
        birth_year = pd.Series(None, index=rows, dtype=object)
        partial = 0
        for row in rows:
            y, m, d = year[row], month[row], day[row]
            if y is None:
                continue
            if m is not None and d is not None:
                birth[row] = f"{y:04d}-{m:02d}-{d:02d}"
            elif m is not None and self.policy is not None:
                birth[row] = f"{y:04d}-{m:02d}-{'01' if self.policy == 'first' else '15'}"
            else:
                birth_year[row] = y
                partial += m is not None
        if partial:
            self.out.problems.append(
                Problem.table_level(
                    "person",
                    f"{partial} month_of_birth value(s) without a day_of_birth: read "
                    "as birth_year only (pass partial_dates='first' or 'mid' to complete the date)",
                    column="month_of_birth",
                    severity="warning",
                )
            )
        data: dict[str, object] = {
            "sex": sex,
            "birth_date": birth,
            "birth_year": birth_year,
            "centre": self.col("person", "care_site_id"),
        }
        data.update(self.phenotypes(ids))
        self.add(
            "patients",
            "person",
            rows,
            data,
            {
                "sex": "gender_concept_id",
                "birth_date": "year_of_birth",
                "birth_year": "year_of_birth",
                "centre": "care_site_id",
                "phenotype": "condition_occurrence.condition_concept_id",
                "diagnosis_date": "condition_occurrence.condition_start_date",
                "spms_conversion_date": "condition_occurrence.condition_start_date",
            },
        )

    def phenotypes(self, ids: pd.Series) -> dict[str, pd.Series]:
        n = len(ids)
        phenotype: list[object] = [None] * n
        diagnosis: list[object] = [None] * n
        conversion: list[object] = [None] * n

        def series(values: list[object]) -> pd.Series:
            return pd.Series(values, index=ids.index, dtype=object)

        if "condition_occurrence" not in self.tables:
            return {
                "phenotype": series(phenotype),
                "diagnosis_date": series(diagnosis),
                "spms_conversion_date": series(conversion),
            }
        key = self.classify("condition_occurrence")
        rows = key.index[key.fillna("").str.startswith("phenotypes.").to_numpy()]
        dates = self.dates("condition_occurrence", "condition_start_date", rows, required=True)
        frame = (
            pd.DataFrame(
                {
                    "person": self.col("condition_occurrence", "person_id").loc[rows],
                    "phenotype": key.loc[rows].str.removeprefix("phenotypes."),
                    "date": dates,
                }
            )
            .dropna(subset=["date"])
            .sort_values(["person", "date"], kind="stable")
        )
        position = {str(p): k for k, p in enumerate(ids.tolist())}
        for person, group in frame.groupby("person", sort=False):
            at = position.get(str(person))
            if at is None:
                row = int(group.index[0])
                self.out.error(
                    "condition_occurrence",
                    row,
                    person,
                    "person_id",
                    person,
                    f"person_id must be a person of the person table; got {person!r}, which "
                    "is not in it. Add the person or correct the id",
                )
                continue
            first = group.iloc[0]
            phenotype[at], diagnosis[at] = first["phenotype"], first["date"]
            if first["phenotype"] == "RRMS":
                later = group[group["phenotype"] == "SPMS"]
                if not later.empty:
                    conversion[at] = later.iloc[0]["date"]
        self.phenotype_rows = rows
        return {
            "phenotype": series(phenotype),
            "diagnosis_date": series(diagnosis),
            "spms_conversion_date": series(conversion),
        }

    def conditions(self) -> None:
        if "condition_occurrence" not in self.tables:
            return
        table = "condition_occurrence"
        key = self.classify(table)
        rows = key.index[(key == "relapse").to_numpy()]
        self.add(
            "relapses",
            table,
            rows,
            {
                "onset_date": self.dates(table, "condition_start_date", rows),
                "end_date": self.dates(table, "condition_end_date", rows),
            },
            {"onset_date": "condition_start_date", "end_date": "condition_end_date"},
        )
        used = rows.union(getattr(self, "phenotype_rows", pd.Index([])))
        self.drop_rest(table, used)

    def drugs(self) -> None:
        table = "drug_exposure"
        if table not in self.tables:
            return
        key = self.classify(table)
        rows = key.index[key.notna().to_numpy()]
        start = self.dates(table, "drug_exposure_start_date", rows, required=True)
        end = self.dates(table, "drug_exposure_end_date", rows)
        frame = (
            pd.DataFrame(
                {
                    "person": self.col(table, "person_id").loc[rows],
                    "drug": key.loc[rows].str.removeprefix("dmt."),
                    "start": pd.to_datetime(start, errors="coerce"),
                    "end": pd.to_datetime(end, errors="coerce"),
                }
            )
            .dropna(subset=["start"])
            .sort_values(["person", "drug", "start"], kind="stable")
        )
        gap = pd.Timedelta(days=self.concepts.drugs.merge_gap_days)
        courses: list[tuple[int, str, str, str | None]] = []
        for _, group in frame.groupby(["person", "drug"], sort=False):
            current: list[Any] | None = None
            for row, record in group.iterrows():
                open_ended = pd.isna(record["end"])
                stop = record["start"] if open_ended else record["end"]
                if current is not None and record["start"] <= current[2] + gap:
                    current[2] = max(current[2], stop)
                    current[4] = bool(current[4]) or open_ended
                    continue
                if current is not None:
                    courses.append(_course(current))
                current = [row, record["drug"], stop, record["start"], open_ended]
            if current is not None:
                courses.append(_course(current))
        merged = len(frame) - len(courses)
        if merged:
            self.out.problems.append(
                Problem.table_level(
                    table,
                    f"{len(frame)} exposure(s) read as {len(courses)} DMT course(s): "
                    f"exposures of one drug at most {self.concepts.drugs.merge_gap_days} day(s) "
                    "apart are one course ([drugs] merge_gap_days)",
                    severity="warning",
                )
            )
        index = pd.Index([c[0] for c in courses])
        self.add(
            "treatments",
            table,
            index,
            {
                "kind": "dmt",
                "drug": [c[1] for c in courses],
                "start_date": [c[2] for c in courses],
                "end_date": [c[3] for c in courses],
            },
            {
                "kind": "drug_concept_id",
                "drug": "drug_concept_id",
                "start_date": "drug_exposure_start_date",
                "end_date": "drug_exposure_end_date",
            },
        )
        self.drop_rest(table, rows)

    def procedures(self) -> None:
        table = "procedure_occurrence"
        if table not in self.tables:
            return
        key = self.classify(table)
        rows = key.index[key.notna().to_numpy()]
        kind = key.loc[rows].str.removeprefix("courses.")
        end = self.dates(table, "procedure_end_date", rows).where(kind != "ahsct")
        self.add(
            "treatments",
            table,
            rows,
            {
                "kind": kind,
                "start_date": self.dates(table, "procedure_date", rows),
                "end_date": end,
            },
            {
                "kind": "procedure_concept_id",
                "start_date": "procedure_date",
                "end_date": "procedure_end_date",
            },
        )
        self.drop_rest(table, rows)

    def measurements(self) -> None:
        for table, date_column in (
            ("measurement", "measurement_date"),
            ("observation", "observation_date"),
        ):
            if table not in self.tables:
                continue
            key = self.classify(table)
            value = self.col(table, "value_as_number")
            edss = key.index[(key == "edss").to_numpy()]
            self.add(
                "edss",
                table,
                edss,
                {"date": self.dates(table, date_column, edss), "edss": value},
                {"date": date_column, "edss": "value_as_number"},
            )
            labs = key.index[key.fillna("").str.startswith("labs.").to_numpy()]
            self.add(
                "labs",
                table,
                labs,
                {
                    "date": self.dates(table, date_column, labs),
                    "analyte": key.str.removeprefix("labs."),
                    "value": value,
                    "unit": self.col(table, "unit_source_value"),
                },
                {
                    "date": date_column,
                    "analyte": "measurement_concept_id",
                    "value": "value_as_number",
                    "unit": "unit_source_value",
                },
            )
            self.drop_rest(table, edss.union(labs))

    def deaths(self) -> None:
        table = "death"
        if table not in self.tables:
            return
        rows = self.tables[table].index
        key = self.classify(table)
        cause_id = self.col(table, "cause_concept_id")
        ids = self.col(table, "person_id")
        for row in rows[(key.isna() & cause_id.notna() & (cause_id != "0")).to_numpy()]:
            self.out.dropped.add(
                table,
                "cause_concept_id",
                "the cause is in no death_causes set of the concept map; the cause is left missing",
                int(row),
                ids[row],
                cause_id[row],
            )
        self.add(
            "deaths",
            table,
            rows,
            {
                "date": self.dates(table, "death_date", rows),
                "cause": key.str.removeprefix("death_causes."),
            },
            {"date": "death_date", "cause": "cause_concept_id"},
        )


def _course(current: list[Any]) -> tuple[int, str, str, str | None]:
    """``(first row, drug, start, end)`` of a course; no end when an exposure had none."""
    row, drug, stop, start, open_ended = current
    end = None if open_ended else pd.Timestamp(stop).strftime("%Y-%m-%d")
    return (
        int(row),
        str(drug),
        pd.Timestamp(start).strftime("%Y-%m-%d"),
        end,
    )
