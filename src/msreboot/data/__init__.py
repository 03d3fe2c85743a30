"""Cohort data: the canonical schema, readers and writers, validation, the DuckDB store and
de-identification."""

from msreboot.data._coerce import MAX_DAY_OFFSET, PartialDates
from msreboot.data._cohort import Cohort, ValidationReport
from msreboot.data._deidentify import (
    Deidentified,
    deidentify,
    load_or_create_key,
    write_mapping,
)
from msreboot.data._deidentify_check import DeidentificationAudit, check_deidentified
from msreboot.data._files import (
    TABLE_SUFFIXES,
    atomic_write_bytes,
    atomic_write_text,
    replace_directory,
    write_frame,
    write_tables,
)
from msreboot.data._io import CohortSource, read_cohort, validate, write_cohort
from msreboot.data._labs import ANALYTES, Analyte
from msreboot.data._omop import read_omop
from msreboot.data._omop_files import OMOP_CONCEPT_FILE, redact_url
from msreboot.data._redcap import read_redcap
from msreboot.data._redcap_api import REDCAP_TOKEN_ENV, RedcapDownload, download_redcap
from msreboot.data._redcap_dictionary import (
    DictionaryField,
    RedcapMappingDraft,
    mapping_from_dictionary,
)
from msreboot.data._schema import (
    AE_CATEGORIES,
    DEATH_CAUSES,
    SCHEMA,
    TABLE_NAMES,
    ColumnSpec,
    TableSpec,
    TimeUnit,
    TreatmentKind,
    schema_frame,
)
from msreboot.data._sdtm import read_sdtm
from msreboot.data._sdtm_files import SDTM_MAPPING_FILE
from msreboot.data._store import ImportResult, cohort_checksum, import_cohort, read_store
from msreboot.data._summary import (
    DAYS_PER_YEAR,
    CohortSummary,
    birth_dates,
    days_between,
    describe_cohort,
)
from msreboot.data._toml import (
    MAX_TOML_BYTES,
    MAX_TOML_DEPTH,
    describe_validation_errors,
    parse_toml,
    read_toml,
)
from msreboot.data._validate import MAX_CELL_CHARS, canonical_order
from msreboot.data._vocabulary import load_vocabulary
from msreboot.exceptions import Problem, SpecFileError

__all__ = [
    "AE_CATEGORIES",
    "ANALYTES",
    "DAYS_PER_YEAR",
    "DEATH_CAUSES",
    "MAX_CELL_CHARS",
    "MAX_DAY_OFFSET",
    "MAX_TOML_BYTES",
    "MAX_TOML_DEPTH",
    "OMOP_CONCEPT_FILE",
    "REDCAP_TOKEN_ENV",
    "SCHEMA",
    "SDTM_MAPPING_FILE",
    "TABLE_NAMES",
    "TABLE_SUFFIXES",
    "Analyte",
    "Cohort",
    "CohortSource",
    "CohortSummary",
    "ColumnSpec",
    "DeidentificationAudit",
    "Deidentified",
    "DictionaryField",
    "ImportResult",
    "PartialDates",
    "Problem",
    "RedcapDownload",
    "RedcapMappingDraft",
    "SpecFileError",
    "TableSpec",
    "TimeUnit",
    "TreatmentKind",
    "ValidationReport",
    "atomic_write_bytes",
    "atomic_write_text",
    "birth_dates",
    "canonical_order",
    "check_deidentified",
    "cohort_checksum",
    "days_between",
    "deidentify",
    "describe_cohort",
    "describe_validation_errors",
    "download_redcap",
    "import_cohort",
    "load_or_create_key",
    "load_vocabulary",
    "mapping_from_dictionary",
    "parse_toml",
    "read_cohort",
    "read_omop",
    "read_redcap",
    "read_sdtm",
    "read_store",
    "read_toml",
    "redact_url",
    "replace_directory",
    "schema_frame",
    "validate",
    "write_cohort",
    "write_frame",
    "write_mapping",
    "write_tables",
]
