"""A patient profile: what is known about one person, for eligibility and projections.

One class serves the eligibility engine (``check_eligibility``) and the benefit-and-risk
projection (``msreboot.analysis.project_patient``, which re-exports it). Every field may be
missing; an answer that needs a missing field is "unknown", never filled in with a
population value. Values are validated at the border with messages that name the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from msreboot.exceptions import DataValidationError
from msreboot.protocols._profile_checks import (
    COUNT_BOUNDS,
    NUMBER_BOUNDS,
    check_count,
    check_dmt,
    check_dmts,
    check_number,
    check_phenotype,
    check_sex,
)
from msreboot.protocols._profile_cohort import profile_values_from_cohort

if TYPE_CHECKING:
    from msreboot.data import Cohort, Problem

__all__ = [
    "BOOL_FIELDS",
    "CATEGORY_FIELDS",
    "FIELD_LABELS",
    "NUMERIC_FIELDS",
    "PROFILE_FIELDS",
    "PatientProfile",
    "Phenotype",
    "ProfileField",
    "Sex",
    "profiles_from_frame",
]

Phenotype = Literal["RRMS", "SPMS", "PPMS", "CIS"]
Sex = Literal["female", "male"]

ProfileField = Literal[
    "age_years",
    "edss",
    "phenotype",
    "sex",
    "disease_duration_years",
    "relapses_last_12_months",
    "relapses_last_24_months",
    "gd_lesions_last_12_months",
    "mri_active_last_12_months",
    "gd_lesions",
    "new_t2_lesions",
    "prior_dmts",
    "current_dmt",
    "failed_dmt_count",
    "failed_high_efficacy_dmt",
    "hct_ci",
]
PROFILE_FIELDS: tuple[ProfileField, ...] = (
    "age_years",
    "edss",
    "phenotype",
    "sex",
    "disease_duration_years",
    "relapses_last_12_months",
    "relapses_last_24_months",
    "gd_lesions_last_12_months",
    "mri_active_last_12_months",
    "gd_lesions",
    "new_t2_lesions",
    "prior_dmts",
    "current_dmt",
    "failed_dmt_count",
    "failed_high_efficacy_dmt",
    "hct_ci",
)
NUMERIC_FIELDS = frozenset({*NUMBER_BOUNDS, *COUNT_BOUNDS})
BOOL_FIELDS = frozenset({"mri_active_last_12_months", "failed_high_efficacy_dmt"})
CATEGORY_FIELDS = frozenset({"phenotype", "sex", "current_dmt"})

FIELD_LABELS: Mapping[str, tuple[str, str]] = {
    "age_years": ("age", " years"),
    "edss": ("EDSS", ""),
    "phenotype": ("phenotype", ""),
    "sex": ("sex", ""),
    "disease_duration_years": ("disease duration", " years"),
    "relapses_last_12_months": ("relapses in the last 12 months", ""),
    "relapses_last_24_months": ("relapses in the last 24 months", ""),
    "gd_lesions_last_12_months": ("Gd+ lesions in the last 12 months", ""),
    "mri_active_last_12_months": ("MRI activity in the last 12 months", ""),
    "gd_lesions": ("Gd+ lesions on the last MRI", ""),
    "new_t2_lesions": ("new or enlarging T2 lesions on the last MRI", ""),
    "prior_dmts": ("DMTs taken before", ""),
    "current_dmt": ("current DMT", ""),
    "failed_dmt_count": ("failed DMTs", ""),
    "failed_high_efficacy_dmt": ("failed a high-efficacy DMT", ""),
    "hct_ci": ("HCT-CI", ""),
}
"""Each field's words and unit suffix, for rules and reasons."""


class PatientProfile(BaseModel):
    """What is known about one person: for eligibility criteria and for a projection.

    Every field is optional: leave out what is not known. A criterion or projection that
    needs a missing field answers "unknown"; a projection also needs age, EDSS and
    phenotype (``msreboot.analysis.project_patient`` says so, naming the field).

    Attributes
    ----------
    patient_id
        Identifier, carried into results.
    age_years
        Age in years, 0 to 120 (decimals allowed; criteria such as "aged 18-50" are read in
        completed years, i.e. up to the 51st birthday; projections are for ages 18 to 80).
    edss
        EDSS, 0 to 10 in steps of 0.5.
    phenotype
        ``RRMS``, ``SPMS``, ``PPMS`` or ``CIS`` (case-insensitive on input).
    sex
        ``"female"`` or ``"male"`` (``"F"`` / ``"M"`` accepted).
    disease_duration_years
        Years since the first symptoms; at most ``age_years``.
    relapses_last_12_months, relapses_last_24_months
        Relapses in the last 12 and 24 months (the 24-month count includes the 12-month one).
    gd_lesions_last_12_months
        Gd+ lesions on scans of the last 12 months.
    mri_active_last_12_months
        Any MRI activity (Gd+ or new / enlarging T2 lesions) in the last 12 months. When
        missing, criteria read it as yes if ``gd_lesions_last_12_months`` or the last MRI
        (``gd_lesions``, ``new_t2_lesions``) is above 0 (the last MRI taken to be of the
        last 12 months); a last MRI without activity leaves it unknown, as earlier scans of
        the year are not in the profile.
    gd_lesions, new_t2_lesions
        Gd-enhancing and new or enlarging T2 lesions on the last MRI.
    prior_dmts
        DMTs taken before the current one (``()``: none), names of the cohort schema's DMT
        vocabulary (``msreboot.protocols.DMTDrug``).
    current_dmt
        The DMT taken now, ``"none"`` for none.
    failed_dmt_count
        DMTs stopped for lack of effect (breakthrough disease).
    failed_high_efficacy_dmt
        At least one failed DMT was high efficacy.
    hct_ci
        Haematopoietic cell transplantation comorbidity index, 0 to 30.

    Raises
    ------
    pydantic.ValidationError
        (a ``ValueError``) naming each field that is out of range, of the wrong type,
        unknown, or inconsistent with another, with how to fix it.

    Examples
    --------
    >>> profile = PatientProfile(age_years=38, edss=4.5, phenotype="rrms", sex="F")
    >>> profile.phenotype, profile.sex
    ('RRMS', 'female')
    >>> PatientProfile(edss=7.3)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for PatientProfile
    edss
      Value error, edss must be a multiple of 0.5 from 0 to 10; got 7.3. Round to the EDSS ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str | None = None
    age_years: float | None = None
    edss: float | None = None
    phenotype: Phenotype | None = None
    sex: Sex | None = None
    disease_duration_years: float | None = None
    relapses_last_12_months: int | None = None
    relapses_last_24_months: int | None = None
    gd_lesions_last_12_months: int | None = None
    mri_active_last_12_months: bool | None = None
    gd_lesions: int | None = None
    new_t2_lesions: int | None = None
    prior_dmts: tuple[str, ...] | None = None
    current_dmt: str | None = None
    failed_dmt_count: int | None = None
    failed_high_efficacy_dmt: bool | None = None
    hct_ci: int | None = None

    @field_validator(*NUMBER_BOUNDS, mode="before")
    @classmethod
    def _number(cls, value: Any, info: Any) -> Any:
        return check_number(info.field_name, value)

    @field_validator(*COUNT_BOUNDS, mode="before")
    @classmethod
    def _count(cls, value: Any, info: Any) -> Any:
        return check_count(info.field_name, value)

    @field_validator("phenotype", mode="before")
    @classmethod
    def _phenotype(cls, value: Any) -> Any:
        return check_phenotype(value)

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: Any) -> Any:
        return check_sex(value)

    @field_validator("prior_dmts", mode="before")
    @classmethod
    def _prior(cls, value: Any) -> Any:
        return check_dmts("prior_dmts", value)

    @field_validator("current_dmt", mode="before")
    @classmethod
    def _current(cls, value: Any) -> Any:
        return check_dmt("current_dmt", value, none_allowed=True)

    @field_validator("patient_id", mode="before")
    @classmethod
    def _text_id(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:g}" if isinstance(value, float) else str(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PatientProfile:
        r12, r24 = self.relapses_last_12_months, self.relapses_last_24_months
        if r12 is not None and r24 is not None and r24 < r12:
            raise ValueError(
                f"relapses_last_24_months must be >= relapses_last_12_months (the 24 months "
                f"include the last 12); got {r24} < {r12}. Check both counts."
            )
        age, duration = self.age_years, self.disease_duration_years
        if age is not None and duration is not None and duration > age:
            raise ValueError(
                f"disease_duration_years must be <= age_years; got {duration:g} > {age:g}. "
                "Check both."
            )
        gd, active = self.gd_lesions_last_12_months, self.mri_active_last_12_months
        if gd is not None and gd > 0 and active is False:
            raise ValueError(
                f"mri_active_last_12_months cannot be false with {gd} Gd+ lesions in "
                "gd_lesions_last_12_months; Gd+ lesions are MRI activity."
            )
        if self.failed_high_efficacy_dmt and self.failed_dmt_count == 0:
            raise ValueError(
                "failed_dmt_count must be >= 1 when failed_high_efficacy_dmt is true; got 0."
            )
        return self

    def get(self, field: ProfileField) -> object:
        """The value a criterion reads for ``field`` (``None`` when unknown).

        ``mri_active_last_12_months`` reads as true when it is missing and
        ``gd_lesions_last_12_months``, ``gd_lesions`` or ``new_t2_lesions`` is above 0 (the
        last MRI is taken to be of the last 12 months); every other field reads as given.
        """
        value = getattr(self, field)
        if field == "mri_active_last_12_months" and value is None:
            counts = (self.gd_lesions_last_12_months, self.gd_lesions, self.new_t2_lesions)
            if any(c is not None and c > 0 for c in counts):
                return True
        return value

    # -- derived ------------------------------------------------------------------------
    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the fields that are unknown (``patient_id`` aside)."""
        return tuple(f for f in PROFILE_FIELDS if getattr(self, f) is None)

    @property
    def mri_active(self) -> bool | None:
        """Activity on the last MRI: ``True`` if it shows any Gd+ or new T2 lesion, ``False``
        only when both counts are known and 0, ``None`` otherwise."""
        counts = (self.gd_lesions, self.new_t2_lesions)
        if any(c is not None and c > 0 for c in counts):
            return True
        if all(c is not None for c in counts):
            return False
        return None

    def to_frame(self) -> pd.DataFrame:
        """One row per field: ``field``, ``value`` (text; ``"unknown"`` when missing)."""
        rows = []
        for name in ("patient_id", *PROFILE_FIELDS):
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = ", ".join(value) if value else "none"
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            rows.append({"field": name, "value": "unknown" if value is None else f"{value}"})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The profile in one line of words (unknown fields left out, except the first four)."""
        parts = [
            "age unknown" if self.age_years is None else f"{self.age_years:g} years",
            self.sex or "sex unknown",
            self.phenotype or "phenotype unknown",
            "EDSS unknown" if self.edss is None else f"EDSS {self.edss:.1f}",
        ]
        if self.disease_duration_years is not None:
            parts.append(f"{self.disease_duration_years:g} years since onset")
        if self.relapses_last_24_months is not None:
            parts.append(f"{self.relapses_last_24_months} relapse(s) in 2 years")
        elif self.relapses_last_12_months is not None:
            parts.append(f"{self.relapses_last_12_months} relapse(s) in 12 months")
        if self.gd_lesions is not None:
            parts.append(f"{self.gd_lesions} Gd+ lesion(s) on the last MRI")
        if self.current_dmt is not None:
            parts.append(f"current DMT {self.current_dmt}")
        if self.failed_dmt_count is not None:
            parts.append(f"{self.failed_dmt_count} failed DMT(s)")
        if self.hct_ci is not None:
            parts.append(f"HCT-CI {self.hct_ci}")
        return ", ".join(parts)

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(index=False))

    @classmethod
    def from_cohort(
        cls, cohort: Cohort, patient_id: str, *, at: str | pd.Timestamp | int | None = None
    ) -> PatientProfile:
        """The profile of ``patient_id`` as their follow-up stood at ``at``.

        Parameters
        ----------
        cohort
            A validated :class:`~msreboot.data.Cohort` (dates or days).
        patient_id
            The person.
        at
            The date (or day, for day-based cohorts) the profile describes; by default the
            person's last record. Records after it are ignored.

        Returns
        -------
        PatientProfile
            Age from the birth date (or the middle of the birth year), EDSS of the last
            assessment, relapses counted over the 365.25 and 730.5 days up to ``at``, the
            last scan's Gd+ and new T2 counts, MRI activity in the 365.25 days up to ``at``
            (yes if a scan shows a Gd+ or new T2 lesion, no if every scan of the window has
            both counts at 0, unknown without a scan), DMT courses before ``at`` (the one
            without an end date, or ending after ``at``, is current), HCT-CI and the disease
            duration from the onset date. A field whose source is missing is unknown; the
            failed-DMT fields are unknown (a cohort does not record why a DMT stopped).

        Raises
        ------
        ValueError
            ``patient_id`` is not in the cohort, or the person has no EDSS, age or phenotype
            on record (a projection needs them).
        """
        return cls.model_validate(profile_values_from_cohort(cohort, patient_id, at))


def profiles_from_frame(
    frame: pd.DataFrame, *, patient_id_col: str = "patient_id"
) -> tuple[PatientProfile, ...]:
    """One profile per row of ``frame`` (columns named as :class:`PatientProfile` fields).

    Missing values (NaN, None, empty text) are unknown fields; ``prior_dmts`` is text with
    the names separated by ``;`` or ``,`` (``none`` for none). The pandas index is ignored.

    Raises
    ------
    DataValidationError
        Every problem of every row together (table ``profiles``, 1-based row, patient,
        column), including columns that are not profile fields.
    """
    from msreboot.data import Problem  # the cohort package is only needed for tables

    allowed = {patient_id_col, *PROFILE_FIELDS}
    unknown = [str(c) for c in frame.columns if c not in allowed]
    if unknown:
        problem = Problem.table_level(
            "profiles",
            f"column must be a profile field; got {', '.join(map(repr, unknown))}. "
            f"Allowed: {patient_id_col}, {', '.join(PROFILE_FIELDS)}.",
        )
        raise DataValidationError([problem])
    problems: list[Problem] = []
    profiles: list[PatientProfile] = []
    for row, record in enumerate(frame.to_dict("records"), start=1):
        values = {
            ("patient_id" if key == patient_id_col else str(key)): _missing_to_none(value)
            for key, value in record.items()
        }
        if isinstance(values.get("prior_dmts"), str):
            values["prior_dmts"] = _names(str(values["prior_dmts"]))
        try:
            profiles.append(PatientProfile.model_validate(values))
        except ValidationError as error:
            pid = values.get("patient_id")
            for item in error.errors():
                column = str(item["loc"][0]) if item["loc"] else None
                problems.append(
                    Problem(
                        table="profiles",
                        row=row,
                        patient_id=None if pid is None else str(pid),
                        column=patient_id_col if column == "patient_id" else column,
                        value=None if column is None else str(values.get(column)),
                        problem=str(item["msg"]).removeprefix("Value error, "),
                    )
                )
    if problems:
        raise DataValidationError(problems)
    return tuple(profiles)


def _missing_to_none(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _names(text: str) -> tuple[str, ...]:
    names = [n.strip() for n in text.replace(";", ",").split(",")]
    return tuple(n for n in names if n and n.lower() != "none")
