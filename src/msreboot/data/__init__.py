"""Cohort data: the canonical schema, readers and writers, validation, the DuckDB store and
de-identification."""

from msreboot.data._cohort import Cohort, ValidationReport
from msreboot.data._deidentify import (
    Deidentified,
    deidentify,
    load_or_create_key,
    write_mapping,
)
from msreboot.data._io import CohortSource, read_cohort, validate, write_cohort
from msreboot.data._problems import Problem
from msreboot.data._redcap import read_redcap
from msreboot.data._schema import (
    SCHEMA,
    TABLE_NAMES,
    ColumnSpec,
    TableSpec,
    TimeUnit,
    schema_frame,
)
from msreboot.data._store import ImportResult, cohort_checksum, import_cohort, read_store
from msreboot.data._summary import CohortSummary, describe_cohort

__all__ = [
    "SCHEMA",
    "TABLE_NAMES",
    "Cohort",
    "CohortSource",
    "CohortSummary",
    "ColumnSpec",
    "Deidentified",
    "ImportResult",
    "Problem",
    "TableSpec",
    "TimeUnit",
    "ValidationReport",
    "cohort_checksum",
    "deidentify",
    "describe_cohort",
    "import_cohort",
    "load_or_create_key",
    "read_cohort",
    "read_redcap",
    "read_store",
    "schema_frame",
    "validate",
    "write_cohort",
    "write_mapping",
]
