"""A patient profile: the facts eligibility criteria are checked against.

Every field may be missing; a criterion that needs a missing field is "unknown", never
silently met. Values are validated at the border with messages that name the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from msreboot.exceptions import DataValidationError

if TYPE_CHECKING:
    from msreboot.data import Problem

__all__ = [
    "BOOL_FIELDS",
    "CATEGORY_FIELDS",
    "FIELD_LABELS",
    "NUMERIC_FIELDS",
    "PROFILE_FIELDS",
    "PatientProfile",
    "Phenotype",
    "ProfileField",
    "profiles_from_frame",
]

Phenotype = Literal["RRMS", "SPMS", "PPMS", "CIS"]

ProfileField = Literal[
    "age_years",
    "edss",
    "phenotype",
    "disease_duration_years",
    "relapses_last_12_months",
    "relapses_last_24_months",
    "gd_lesions_last_12_months",
    "mri_active_last_12_months",
    "failed_dmt_count",
    "failed_high_efficacy_dmt",
    "hct_ci",
]
PROFILE_FIELDS: tuple[ProfileField, ...] = (
    "age_years",
    "edss",
    "phenotype",
    "disease_duration_years",
    "relapses_last_12_months",
    "relapses_last_24_months",
    "gd_lesions_last_12_months",
    "mri_active_last_12_months",
    "failed_dmt_count",
    "failed_high_efficacy_dmt",
    "hct_ci",
)
NUMERIC_FIELDS = frozenset(
    {
        "age_years",
        "edss",
        "disease_duration_years",
        "relapses_last_12_months",
        "relapses_last_24_months",
        "gd_lesions_last_12_months",
        "failed_dmt_count",
        "hct_ci",
    }
)
BOOL_FIELDS = frozenset({"mri_active_last_12_months", "failed_high_efficacy_dmt"})
CATEGORY_FIELDS = frozenset({"phenotype"})

FIELD_LABELS: Mapping[str, tuple[str, str]] = {
    "age_years": ("age", " years"),
    "edss": ("EDSS", ""),
    "phenotype": ("phenotype", ""),
    "disease_duration_years": ("disease duration", " years"),
    "relapses_last_12_months": ("relapses in the last 12 months", ""),
    "relapses_last_24_months": ("relapses in the last 24 months", ""),
    "gd_lesions_last_12_months": ("Gd+ lesions in the last 12 months", ""),
    "mri_active_last_12_months": ("MRI activity in the last 12 months", ""),
    "failed_dmt_count": ("failed DMTs", ""),
    "failed_high_efficacy_dmt": ("failed a high-efficacy DMT", ""),
    "hct_ci": ("HCT-CI", ""),
}
"""Each field's words and unit suffix, for rules and reasons."""

_BOUNDS: Mapping[str, tuple[float, float]] = {
    "age_years": (0, 120),
    "edss": (0, 10),
    "disease_duration_years": (0, 100),
    "relapses_last_12_months": (0, 50),
    "relapses_last_24_months": (0, 100),
    "gd_lesions_last_12_months": (0, 1000),
    "failed_dmt_count": (0, 30),
    "hct_ci": (0, 30),
}


class PatientProfile(BaseModel):
    """What is known about one patient, for checking eligibility criteria.

    Every field is optional: leave out what is not known.

    Attributes
    ----------
    patient_id
        Identifier, carried into results.
    age_years
        Age in years (decimals allowed; criteria such as "aged 18-50" are read in
        completed years, i.e. up to the 51st birthday).
    edss
        EDSS, 0 to 10 in steps of 0.5.
    phenotype
        ``RRMS``, ``SPMS``, ``PPMS`` or ``CIS`` (case-insensitive on input).
    disease_duration_years
        Years since the first symptoms.
    relapses_last_12_months, relapses_last_24_months
        Relapses in the last 12 and 24 months (the 24-month count includes the 12-month one).
    gd_lesions_last_12_months
        Gd+ lesions on scans of the last 12 months.
    mri_active_last_12_months
        Any MRI activity (Gd+ or new / enlarging T2 lesions) in the last 12 months. When
        missing and ``gd_lesions_last_12_months`` is above 0, criteria read it as yes.
    failed_dmt_count
        DMTs stopped for lack of effect (breakthrough disease).
    failed_high_efficacy_dmt
        At least one failed DMT was high efficacy.
    hct_ci
        Haematopoietic cell transplantation comorbidity index.

    Raises
    ------
    pydantic.ValidationError
        (a ``ValueError``) naming each field that is out of range, of the wrong type,
        unknown, or inconsistent with another.

    Examples
    --------
    >>> PatientProfile(age_years=38, edss=4.5, phenotype="rrms").phenotype
    'RRMS'
    >>> PatientProfile(edss=4.3)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for PatientProfile
    edss
      Value error, edss must be a multiple of 0.5 from 0 to 10; got 4.3. ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient_id: str | None = None
    age_years: float | None = None
    edss: float | None = None
    phenotype: Phenotype | None = None
    disease_duration_years: float | None = None
    relapses_last_12_months: int | None = None
    relapses_last_24_months: int | None = None
    gd_lesions_last_12_months: int | None = None
    mri_active_last_12_months: bool | None = None
    failed_dmt_count: int | None = None
    failed_high_efficacy_dmt: bool | None = None
    hct_ci: int | None = None

    @field_validator("phenotype", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("patient_id", mode="before")
    @classmethod
    def _text_id(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:g}" if isinstance(value, float) else str(value)
        return value

    @field_validator(*_BOUNDS, mode="after")
    @classmethod
    def _in_bounds(cls, value: float | None, info: Any) -> float | None:
        if value is None:
            return None
        low, high = _BOUNDS[info.field_name]
        if info.field_name == "edss":
            if not (math.isfinite(value) and low <= value <= high and (2 * value).is_integer()):
                raise ValueError(
                    f"edss must be a multiple of 0.5 from 0 to 10; got {value:g}. "
                    "Round to the EDSS grid (e.g. 4.5)."
                )
        elif not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"{info.field_name} must be from {low:g} to {high:g}; got {value:g}.")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PatientProfile:
        r12, r24 = self.relapses_last_12_months, self.relapses_last_24_months
        if r12 is not None and r24 is not None and r24 < r12:
            raise ValueError(
                f"relapses_last_24_months must be >= relapses_last_12_months (the 24 months "
                f"include the last 12); got {r24} < {r12}."
            )
        age, duration = self.age_years, self.disease_duration_years
        if age is not None and duration is not None and duration > age:
            raise ValueError(
                f"disease_duration_years must be <= age_years; got {duration:g} > {age:g}."
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
        ``gd_lesions_last_12_months`` is above 0; every other field reads as given.
        """
        value = getattr(self, field)
        if field == "mri_active_last_12_months" and value is None:
            gd = self.gd_lesions_last_12_months
            if gd is not None and gd > 0:
                return True
        return value


def profiles_from_frame(
    frame: pd.DataFrame, *, patient_id_col: str = "patient_id"
) -> tuple[PatientProfile, ...]:
    """One profile per row of ``frame`` (columns named as :class:`PatientProfile` fields).

    Missing values (NaN, None, empty text) are unknown fields. The pandas index is ignored.

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
