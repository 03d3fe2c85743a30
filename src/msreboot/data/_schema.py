"""The canonical cohort schema: twelve tables, each column with its type, unit and allowed values.

The schema is data, not code: validation, the DuckDB store, de-identification and the
generated documentation (``docs/schema.md``) all read these declarations, so a column is
defined in exactly one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pandas as pd

__all__ = [
    "SCHEMA",
    "TABLE_NAMES",
    "ColumnKind",
    "ColumnSpec",
    "OrderRule",
    "TableSpec",
    "TimeUnit",
    "TreatmentKind",
    "schema_frame",
]

ColumnKind = Literal["id", "date", "float", "int", "bool", "category", "label", "text"]
"""How a column is typed.

``id``: patient identifier (text). ``date``: a calendar date, or integer days from the
patient's origin in a day-based cohort. ``category``: one of a fixed list of codes.
``label``: a short code chosen by the user (centre, protocol name); kept by
de-identification. ``text``: free text; removed by de-identification.
"""

TimeUnit = Literal["date", "day"]
"""``"date"``: calendar dates; ``"day"``: whole days from each patient's origin."""

TreatmentKind = Literal["ahsct", "msc", "dmt"]


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of a canonical table.

    Attributes
    ----------
    name
        Canonical name (lower snake case, units in the name).
    kind
        See :data:`ColumnKind`.
    description
        What the column holds, for documentation and error messages.
    required
        The column must be present in the input.
    nullable
        Values may be missing.
    unit
        Unit of measurement, when there is one.
    allowed
        Allowed codes for ``category`` columns.
    min_value, max_value
        Inclusive bounds for numeric columns (``min_exclusive`` makes the lower one strict).
    step
        Values must be multiples of ``step`` (EDSS: 0.5).
    treatment_kinds
        For the treatments table: the course kinds the column applies to; a value on a
        course of another kind is an error.
    """

    name: str
    kind: ColumnKind
    description: str
    required: bool = False
    nullable: bool = True
    unit: str | None = None
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    min_exclusive: bool = False
    step: float | None = None
    treatment_kinds: tuple[TreatmentKind, ...] | None = None

    def dtype(self, time_unit: TimeUnit) -> str:
        """The pandas dtype of this column in a validated :class:`~msreboot.data.Cohort`."""
        if self.kind == "date":
            return "datetime64[ns]" if time_unit == "date" else "Int64"
        return _DTYPES[self.kind]

    def constraint(self) -> str:
        """The value constraint in words, e.g. ``"0 to 10, multiple of 0.5"``."""
        parts: list[str] = []
        if self.allowed is not None:
            parts.append("one of " + ", ".join(self.allowed))
        if self.min_value is not None or self.max_value is not None:
            lo = "" if self.min_value is None else _num(self.min_value)
            hi = "" if self.max_value is None else _num(self.max_value)
            if lo and hi:
                parts.append(f"{'>' if self.min_exclusive else ''}{lo} to {hi}")
            elif lo:
                parts.append(f"{'>' if self.min_exclusive else '>='} {lo}")
            else:
                parts.append(f"<= {hi}")
        if self.step is not None:
            parts.append(f"multiple of {_num(self.step)}")
        return ", ".join(parts)


_DTYPES: Mapping[str, str] = {
    "id": "string",
    "category": "string",
    "label": "string",
    "text": "string",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
}


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True, slots=True)
class OrderRule:
    """Two date columns of one row that must be in order: ``earlier <= later`` (or ``<``)."""

    earlier: str
    later: str
    strict: bool = False
    treatment_kinds: tuple[TreatmentKind, ...] | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One canonical table.

    Attributes
    ----------
    name
        Table name; input files are named after it (``edss.csv``).
    description
        One row per what.
    columns
        The columns, in canonical order.
    key
        Columns that identify a row; two rows with the same key are duplicates.
    event_date
        The date the row happens at (checked against birth, onset and death).
    order_rules
        Date columns of a row that must be in order.
    required
        The table must be present in a cohort.
    supplementary
        A table most cohorts do not have (labs, proms): a folder without its file gets no
        warning.
    """

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    event_date: str | None = None
    order_rules: tuple[OrderRule, ...] = ()
    required: bool = False
    supplementary: bool = False
    _by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    def __getitem__(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def date_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.kind == "date")

    def empty_frame(self, time_unit: TimeUnit) -> pd.DataFrame:
        """A table with no rows and the canonical columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series(dtype=c.dtype(time_unit)) for c in self.columns})


def _col(name: str, kind: ColumnKind, description: str, **kw: object) -> ColumnSpec:
    return ColumnSpec(name, kind, description, **kw)  # type: ignore[arg-type]


_PID = _col(
    "patient_id", "id", "Patient identifier; joins every table.", required=True, nullable=False
)
_AHSCT: tuple[TreatmentKind, ...] = ("ahsct",)
_MSC: tuple[TreatmentKind, ...] = ("msc",)
_DMT: tuple[TreatmentKind, ...] = ("dmt",)

PHENOTYPES = ("RRMS", "SPMS", "PPMS", "CIS")
DMT_DRUGS = (
    "interferon_beta",
    "glatiramer",
    "teriflunomide",
    "dimethyl_fumarate",
    "diroximel_fumarate",
    "fingolimod",
    "siponimod",
    "ozanimod",
    "ponesimod",
    "cladribine",
    "natalizumab",
    "ocrelizumab",
    "ofatumumab",
    "ublituximab",
    "rituximab",
    "alemtuzumab",
    "mitoxantrone",
    "cyclophosphamide",
    "other",
)
CONDITIONING_REGIMENS = (
    "beam_atg",
    "cy200_atg",
    "bu_cy_atg",
    "cy_alemtuzumab",
    "cy_low",
    "tbi_based",
    "other",
)
CONDITIONING_INTENSITIES = (
    "high",
    "intermediate_myeloablative",
    "intermediate_lymphoablative",
    "low",
)
ATG_TYPES = ("thymoglobulin", "grafalon", "atgam", "other")
FS_SCORES = (
    ("fs_visual", 6),
    ("fs_brainstem", 5),
    ("fs_pyramidal", 6),
    ("fs_cerebellar", 5),
    ("fs_sensory", 6),
    ("fs_bowel_bladder", 6),
    ("fs_cerebral", 5),
)
AE_CATEGORIES = (
    "infection",
    "febrile_neutropenia",
    "viral_reactivation",
    "secondary_autoimmunity",
    "mucositis",
    "engraftment_syndrome",
    "hepatic",
    "cardiac",
    "pulmonary",
    "renal",
    "neurological",
    "infusion_reaction",
    "malignancy",
    "other",
)
DEATH_CAUSES = (
    "ms",
    "infection",
    "transplant_toxicity",
    "malignancy",
    "cardiovascular",
    "suicide",
    "accident",
    "other",
    "unknown",
)

PATIENTS = TableSpec(
    name="patients",
    description="One row per patient.",
    required=True,
    key=("patient_id",),
    columns=(
        _PID,
        _col(
            "sex",
            "category",
            "Sex: F (female), M (male), X (other or not stated).",
            allowed=("F", "M", "X"),
        ),
        _col("birth_date", "date", "Date of birth (or day, negative, in a day-based cohort)."),
        _col(
            "birth_year",
            "int",
            "Year of birth, when only the year is known.",
            min_value=1900,
            max_value=2100,
        ),
        _col("onset_date", "date", "Date of the first MS symptoms."),
        _col("diagnosis_date", "date", "Date of MS diagnosis."),
        _col(
            "phenotype",
            "category",
            "MS phenotype at cohort entry (CIS: clinically isolated syndrome).",
            required=True,
            nullable=False,
            allowed=PHENOTYPES,
        ),
        _col(
            "prior_dmt_count",
            "int",
            "Number of distinct DMTs before cohort entry.",
            min_value=0,
            max_value=30,
        ),
        _col(
            "hct_ci",
            "int",
            "Haematopoietic cell transplantation comorbidity index.",
            min_value=0,
            max_value=30,
        ),
        _col("centre", "label", "Treating centre or site code."),
        _col("notes", "text", "Free-text notes (removed by de-identification)."),
        _col(
            "spms_conversion_date",
            "date",
            "Date of conversion to secondary progressive MS, when it happened.",
        ),
        _col(
            "oligoclonal_bands",
            "category",
            "CSF-restricted oligoclonal bands at diagnosis.",
            allowed=("positive", "negative"),
        ),
    ),
    order_rules=(
        OrderRule("onset_date", "diagnosis_date", reason="diagnosis follows the first symptoms"),
        OrderRule(
            "onset_date",
            "spms_conversion_date",
            reason="conversion to SPMS follows the first symptoms",
        ),
    ),
)

TREATMENTS = TableSpec(
    name="treatments",
    description="One row per treatment course (AHSCT, MSC or DMT).",
    key=("patient_id", "kind", "start_date"),
    event_date="start_date",
    columns=(
        _PID,
        _col(
            "kind",
            "category",
            "Course kind: ahsct, msc or dmt.",
            required=True,
            nullable=False,
            allowed=("ahsct", "msc", "dmt"),
        ),
        _col(
            "start_date",
            "date",
            "AHSCT: stem-cell reinfusion (day 0). MSC: first infusion. DMT: first dose.",
            required=True,
            nullable=False,
        ),
        _col(
            "end_date",
            "date",
            "MSC: last infusion. DMT: last dose (missing = ongoing).",
            treatment_kinds=("msc", "dmt"),
        ),
        _col("protocol", "label", "Named protocol or trial (e.g. HALT-MS, MIST)."),
        _col("drug", "category", "DMT given.", allowed=DMT_DRUGS, treatment_kinds=_DMT),
        _col(
            "stop_reason",
            "category",
            "Why the DMT stopped.",
            allowed=(
                "inefficacy",
                "adverse_event",
                "pregnancy",
                "patient_choice",
                "transplant",
                "planned",
                "other",
            ),
            treatment_kinds=_DMT,
        ),
        _col(
            "mobilisation_regimen",
            "category",
            "Stem-cell mobilisation: G-CSF alone, or cyclophosphamide + G-CSF.",
            allowed=("g_csf", "cy_g_csf", "other"),
            treatment_kinds=_AHSCT,
        ),
        _col("mobilisation_date", "date", "First day of mobilisation.", treatment_kinds=_AHSCT),
        _col(
            "cd34_dose_1e6_per_kg",
            "float",
            "CD34+ cells reinfused.",
            unit="10^6 cells/kg",
            min_value=0,
            min_exclusive=True,
            max_value=50,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "cd34_selected",
            "bool",
            "Graft CD34-selected (lymphocyte-depleted).",
            treatment_kinds=_AHSCT,
        ),
        _col(
            "conditioning_regimen",
            "category",
            "Conditioning: BEAM + ATG; cyclophosphamide 200 mg/kg + ATG; busulfan + "
            "cyclophosphamide + ATG; cyclophosphamide + alemtuzumab; low-dose "
            "cyclophosphamide; TBI-based; other.",
            allowed=CONDITIONING_REGIMENS,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "conditioning_intensity",
            "category",
            "EBMT conditioning intensity class.",
            allowed=CONDITIONING_INTENSITIES,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "conditioning_start_date", "date", "First day of conditioning.", treatment_kinds=_AHSCT
        ),
        _col(
            "admission_date",
            "date",
            "Hospital admission for the course.",
            treatment_kinds=("ahsct", "msc"),
        ),
        _col(
            "engraftment_date",
            "date",
            "Neutrophil engraftment (first of 3 days with ANC > 0.5 x 10^9/L).",
            treatment_kinds=_AHSCT,
        ),
        _col(
            "discharge_date",
            "date",
            "Hospital discharge after the course.",
            treatment_kinds=("ahsct", "msc"),
        ),
        _col(
            "msc_source",
            "category",
            "Tissue the MSCs came from.",
            allowed=("bone_marrow", "adipose", "umbilical_cord", "other"),
            treatment_kinds=_MSC,
        ),
        _col(
            "msc_route",
            "category",
            "MSC route of administration.",
            allowed=("intravenous", "intrathecal", "intravenous_and_intrathecal"),
            treatment_kinds=_MSC,
        ),
        _col(
            "msc_dose_1e6_per_kg",
            "float",
            "MSCs per infusion.",
            unit="10^6 cells/kg",
            min_value=0,
            min_exclusive=True,
            max_value=50,
            treatment_kinds=_MSC,
        ),
        _col(
            "msc_infusions",
            "int",
            "Number of MSC infusions in the course.",
            min_value=1,
            max_value=50,
            treatment_kinds=_MSC,
        ),
        _col("msc_pretreated", "bool", "MSCs pre-treated to enhance them.", treatment_kinds=_MSC),
        _col(
            "platelet_engraftment_date",
            "date",
            "Platelet engraftment: the first of 3 consecutive days with platelets >= 20 x "
            "10^9/L without a platelet transfusion in the 7 days before.",
            treatment_kinds=_AHSCT,
        ),
        _col(
            "apheresis_cd34_yield_1e6_per_kg",
            "float",
            "CD34+ cells collected by apheresis, all sessions together.",
            unit="10^6 cells/kg",
            min_value=0,
            min_exclusive=True,
            max_value=100,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "atg_type",
            "category",
            "Anti-thymocyte globulin given: rabbit (Thymoglobulin), rabbit anti-T-cell "
            "(Grafalon, formerly ATG-Fresenius), horse (ATGAM), other.",
            allowed=ATG_TYPES,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "atg_dose_mg_per_kg",
            "float",
            "Total ATG dose over the conditioning.",
            unit="mg/kg",
            min_value=0,
            min_exclusive=True,
            max_value=200,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "g_csf_dose_ug_per_kg_per_day",
            "float",
            "G-CSF dose for mobilisation.",
            unit="ug/kg/day",
            min_value=0,
            min_exclusive=True,
            max_value=50,
            treatment_kinds=_AHSCT,
        ),
        _col(
            "cmv_serostatus",
            "category",
            "The patient's CMV IgG serostatus before the transplant.",
            allowed=("positive", "negative"),
            treatment_kinds=_AHSCT,
        ),
        _col(
            "weight_kg",
            "float",
            "Body weight at the start of the course.",
            unit="kg",
            min_value=20,
            max_value=300,
        ),
        _col(
            "karnofsky",
            "int",
            "Karnofsky performance status before the course.",
            unit="%",
            min_value=0,
            max_value=100,
            step=10,
        ),
        _col(
            "ecog",
            "int",
            "ECOG performance status before the course.",
            min_value=0,
            max_value=5,
        ),
    ),
    order_rules=(
        OrderRule("start_date", "end_date", reason="a course cannot end before it starts"),
        OrderRule(
            "mobilisation_date",
            "conditioning_start_date",
            treatment_kinds=_AHSCT,
            reason="mobilisation precedes conditioning",
        ),
        OrderRule(
            "conditioning_start_date",
            "start_date",
            treatment_kinds=_AHSCT,
            reason="conditioning precedes reinfusion (start_date)",
        ),
        OrderRule(
            "start_date",
            "engraftment_date",
            strict=True,
            treatment_kinds=_AHSCT,
            reason="engraftment follows reinfusion (start_date, day 0)",
        ),
        OrderRule(
            "start_date",
            "platelet_engraftment_date",
            strict=True,
            treatment_kinds=_AHSCT,
            reason="platelet engraftment follows reinfusion (start_date, day 0)",
        ),
        OrderRule(
            "admission_date",
            "start_date",
            treatment_kinds=("ahsct", "msc"),
            reason="admission precedes the reinfusion or infusion",
        ),
        OrderRule(
            "start_date",
            "discharge_date",
            treatment_kinds=("ahsct", "msc"),
            reason="discharge follows the reinfusion or infusion",
        ),
        OrderRule(
            "admission_date",
            "discharge_date",
            treatment_kinds=("ahsct", "msc"),
            reason="discharge follows admission",
        ),
    ),
)

EDSS = TableSpec(
    name="edss",
    description="One row per EDSS assessment.",
    key=("patient_id", "date"),
    event_date="date",
    columns=(
        _PID,
        _col("date", "date", "Date of the assessment.", required=True, nullable=False),
        _col(
            "edss",
            "float",
            "Expanded Disability Status Scale score.",
            required=True,
            nullable=False,
            unit="EDSS points",
            min_value=0,
            max_value=10,
            step=0.5,
        ),
        *(
            _col(
                name,
                "int",
                f"Functional system score ({name[3:].replace('_', ' ')}).",
                min_value=0,
                max_value=top,
            )
            for name, top in FS_SCORES
        ),
        _col(
            "valid_for_confirmation",
            "bool",
            "Whether the visit may confirm a change (false for unscheduled visits, e.g. "
            "during a relapse); missing means true.",
        ),
    ),
)

RELAPSES = TableSpec(
    name="relapses",
    description="One row per relapse.",
    key=("patient_id", "onset_date"),
    event_date="onset_date",
    columns=(
        _PID,
        _col("onset_date", "date", "Date the relapse began.", required=True, nullable=False),
        _col("end_date", "date", "Date the relapse resolved, when recorded."),
        _col(
            "severity",
            "category",
            "Clinical severity of the relapse, as the centre grades it.",
            allowed=("mild", "moderate", "severe"),
        ),
        _col("steroid_treated", "bool", "Treated with high-dose corticosteroids."),
    ),
    order_rules=(
        OrderRule("onset_date", "end_date", reason="a relapse cannot end before it begins"),
    ),
)

MRI = TableSpec(
    name="mri",
    description="One row per MRI scan.",
    key=("patient_id", "date", "region"),
    event_date="date",
    columns=(
        _PID,
        _col("date", "date", "Date of the scan.", required=True, nullable=False),
        _col(
            "region",
            "category",
            "Region scanned (missing means brain).",
            allowed=("brain", "spine", "brain_and_spine"),
        ),
        _col(
            "gd_lesions",
            "int",
            "Gadolinium-enhancing (Gd+) lesions.",
            unit="lesions",
            min_value=0,
            max_value=1000,
        ),
        _col(
            "new_t2_lesions",
            "int",
            "New or enlarging T2 lesions relative to the previous scan.",
            unit="lesions",
            min_value=0,
            max_value=1000,
        ),
        _col(
            "t2_lesions_total",
            "int",
            "Total T2 lesions.",
            unit="lesions",
            min_value=0,
            max_value=10000,
        ),
        _col(
            "brain_volume_ml",
            "float",
            "Brain volume (whole brain; normalised or not as the centre's method gives it, "
            "the same method at every scan of a patient).",
            unit="mL",
            min_value=300,
            max_value=2500,
        ),
        _col(
            "t2_lesion_volume_ml",
            "float",
            "Total T2 lesion volume.",
            unit="mL",
            min_value=0,
            max_value=500,
        ),
        _col(
            "t1_hypointense_lesions",
            "int",
            "T1 hypointense lesions (black holes).",
            unit="lesions",
            min_value=0,
            max_value=10000,
        ),
    ),
)

ADVERSE_EVENTS = TableSpec(
    name="adverse_events",
    description="One row per adverse event.",
    key=(),
    event_date="onset_date",
    columns=(
        _PID,
        _col("onset_date", "date", "Date the event began.", required=True, nullable=False),
        _col("end_date", "date", "Date the event resolved."),
        _col(
            "category",
            "category",
            "Kind of event.",
            required=True,
            nullable=False,
            allowed=AE_CATEGORIES,
        ),
        _col("grade", "int", "CTCAE grade (5 = death).", min_value=1, max_value=5),
        _col("pathogen", "label", "Organism for infections and reactivations (EBV, CMV, VZV)."),
        _col("serious", "bool", "Serious adverse event (regulatory definition)."),
        _col("detail", "text", "Free-text description (removed by de-identification)."),
    ),
    order_rules=(
        OrderRule("onset_date", "end_date", reason="an event cannot end before it begins"),
    ),
)

DEATHS = TableSpec(
    name="deaths",
    description="One row per patient who died.",
    key=("patient_id",),
    event_date="date",
    columns=(
        _PID,
        _col("date", "date", "Date of death.", required=True, nullable=False),
        _col("cause", "category", "Main cause of death.", allowed=DEATH_CAUSES),
        _col("transplant_related", "bool", "Death classified as related to the transplant (TRM)."),
    ),
)

LAB_ANALYTES = (
    "cd4",
    "cd8",
    "cd19",
    "nk",
    "lymphocytes",
    "cd4_naive",
    "recent_thymic_emigrants",
    "neutrophils",
    "platelets",
    "nfl_serum",
)
PROM_INSTRUMENTS = ("eq_5d_5l", "eq_5d_3l", "msis_29", "msqol_54", "mfis", "other")

LABS = TableSpec(
    name="labs",
    description="One row per laboratory result (immune reconstitution, blood counts, "
    "neurofilament light).",
    key=("patient_id", "date", "analyte"),
    event_date="date",
    supplementary=True,
    columns=(
        _PID,
        _col("date", "date", "Date the sample was taken.", required=True, nullable=False),
        _col(
            "analyte",
            "category",
            "What was measured (see msreboot.data.ANALYTES for names, LOINC codes and units).",
            required=True,
            nullable=False,
            allowed=LAB_ANALYTES,
        ),
        _col(
            "value",
            "float",
            "The result, converted on reading to the analyte's canonical unit.",
            required=True,
            nullable=False,
            min_value=0,
        ),
        _col(
            "unit",
            "category",
            "Unit: the analyte's canonical unit after reading; on input any unit with an exact "
            "conversion to it (10^9/L, cells/mm3, ng/L...). Any other unit is an error.",
            required=True,
            nullable=False,
            allowed=("cells/uL", "10^9/L", "pg/mL"),
        ),
    ),
)

PROMS = TableSpec(
    name="proms",
    description="One row per patient-reported outcome: an instrument's item or score at a date.",
    key=("patient_id", "date", "instrument", "item"),
    event_date="date",
    supplementary=True,
    columns=(
        _PID,
        _col(
            "date", "date", "Date the questionnaire was completed.", required=True, nullable=False
        ),
        _col(
            "instrument",
            "category",
            "Questionnaire: EQ-5D-5L, EQ-5D-3L, MSIS-29, MSQOL-54, MFIS, other.",
            required=True,
            nullable=False,
            allowed=PROM_INSTRUMENTS,
        ),
        _col(
            "item",
            "category",
            "Item or score of the instrument, as the instrument names it (e.g. index, vas, "
            "physical, psychological, q1); no fixed list.",
            required=True,
            nullable=False,
        ),
        _col("value", "float", "The item's answer or the score.", required=True, nullable=False),
    ),
)

T25FW_MAX_SECONDS = 180.0
"""Longest valid T25FW time: the MSFC limit of 180 s (3 minutes) per trial (Fischer et al.,
MSFC Administration and Scoring Manual, 2001, as the NINDS common data element cites it)."""
PEG_TEST_MAX_SECONDS = 300.0
"""Longest valid 9HPT time: the MSFC limit of 300 s (5 minutes) per trial (as recalled from
the MSFC manual; not checked against its text here)."""
SDMT_MAX_SCORE = 110
"""Highest SDMT score: the form has 110 items (Smith 1982; the FITBIR common data element
gives 0 to 110)."""
_UNABLE = (
    "The patient could not complete the test (physical limitation, time limit reached); "
    "seconds is then empty. Missing means false."
)
_TRIALS = "Trials averaged into seconds (the MSFC protocol gives 2)."

TIMED_WALK = TableSpec(
    name="timed_walk",
    description="One row per timed 25-foot walk (T25FW) assessment: the mean of its trials.",
    key=("patient_id", "date"),
    event_date="date",
    supplementary=True,
    columns=(
        _PID,
        _col("date", "date", "Date of the assessment.", required=True, nullable=False),
        _col(
            "seconds",
            "float",
            "Time to walk 25 feet, the mean of the completed trials. A code for a walk not "
            "completed (777, 999) is an error: use unable_to_complete.",
            unit="s",
            min_value=0,
            min_exclusive=True,
            max_value=T25FW_MAX_SECONDS,
        ),
        _col("trials", "int", _TRIALS, min_value=1, max_value=2),
        _col(
            "walking_aid",
            "category",
            "Aid used: no_aid; unilateral (one cane or crutch); bilateral (two canes or "
            'crutches, or a walker); other. ("none" would read as a missing value.)',
            allowed=("no_aid", "unilateral", "bilateral", "other"),
        ),
        _col("unable_to_complete", "bool", _UNABLE),
    ),
)

PEG_TEST = TableSpec(
    name="peg_test",
    description="One row per nine-hole peg test (9HPT) of one hand: the mean of its trials.",
    key=("patient_id", "date", "hand"),
    event_date="date",
    supplementary=True,
    columns=(
        _PID,
        _col("date", "date", "Date of the assessment.", required=True, nullable=False),
        _col(
            "hand",
            "category",
            "Hand tested: dominant or non_dominant (right and left are mapped with the "
            "patient's handedness before import).",
            required=True,
            nullable=False,
            allowed=("dominant", "non_dominant"),
        ),
        _col(
            "seconds",
            "float",
            "Time to place and remove the nine pegs, the mean of the completed trials. A "
            "code for a test not completed (777, 999) is an error: use unable_to_complete.",
            unit="s",
            min_value=0,
            min_exclusive=True,
            max_value=PEG_TEST_MAX_SECONDS,
        ),
        _col("trials", "int", _TRIALS, min_value=1, max_value=2),
        _col("unable_to_complete", "bool", _UNABLE),
    ),
)

SDMT = TableSpec(
    name="sdmt",
    description="One row per Symbol Digit Modalities Test (SDMT).",
    key=("patient_id", "date"),
    event_date="date",
    supplementary=True,
    columns=(
        _PID,
        _col("date", "date", "Date of the test.", required=True, nullable=False),
        _col(
            "score",
            "int",
            "Correct substitutions in 90 seconds.",
            required=True,
            nullable=False,
            unit="correct items",
            min_value=0,
            max_value=SDMT_MAX_SCORE,
        ),
        _col(
            "version",
            "category",
            "Response mode: oral or written.",
            allowed=("oral", "written"),
        ),
        _col(
            "form",
            "category",
            "Alternate form given (a short code such as A, B or 1, 2); no fixed list.",
        ),
    ),
)

SCHEMA: Mapping[str, TableSpec] = MappingProxyType(
    {
        t.name: t
        for t in (
            PATIENTS,
            TREATMENTS,
            EDSS,
            RELAPSES,
            MRI,
            ADVERSE_EVENTS,
            DEATHS,
            LABS,
            PROMS,
            TIMED_WALK,
            PEG_TEST,
            SDMT,
        )
    }
)
"""The twelve canonical tables, by name, in canonical order (labs, proms, timed_walk,
peg_test and sdmt may be absent)."""

TABLE_NAMES: tuple[str, ...] = tuple(SCHEMA)


def schema_frame() -> pd.DataFrame:
    """The whole schema as one table: one row per column of every table.

    Examples
    --------
    >>> frame = schema_frame()
    >>> frame.loc[frame.column == "edss", ["table", "kind", "unit", "allowed_values"]]
      table   kind         unit               allowed_values
    ...  edss  float  EDSS points  0 to 10, multiple of 0.5
    """
    rows = [
        {
            "table": t.name,
            "column": c.name,
            "kind": c.kind,
            "required": c.required,
            "nullable": c.nullable,
            "unit": c.unit or "",
            "allowed_values": c.constraint(),
            "treatment_kinds": ", ".join(c.treatment_kinds or ()),
            "description": c.description,
        }
        for t in SCHEMA.values()
        for c in t.columns
    ]
    return pd.DataFrame(rows)
