"""One person's profile for the benefit-and-risk projection.

The facts a projection reads: age, sex, phenotype, EDSS, disease duration, recent relapses,
the last MRI, the DMT history and the HCT-CI comorbidity index. Fields other than age, EDSS
and phenotype may be missing; an answer that needs a missing field is "unknown", never
filled in with a population value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd

from msreboot.protocols import PatientProfile as EligibilityProfile
from msreboot.simulate import DMTDrug

if TYPE_CHECKING:
    from msreboot.data import Cohort

__all__ = ["DMT_NAMES", "PatientProfile", "ProfilePhenotype", "Sex"]

ProfilePhenotype = Literal["RRMS", "SPMS", "PPMS", "CIS"]
Sex = Literal["female", "male"]
DMT_NAMES: tuple[str, ...] = get_args(DMTDrug)
"""DMT names a profile accepts (the simulator's DMT vocabulary)."""

_PHENOTYPES: tuple[str, ...] = get_args(ProfilePhenotype)
_SEX_CODES = {"f": "female", "female": "female", "w": "female", "m": "male", "male": "male"}
_DAYS_PER_YEAR = 365.25


def _check_number(name: str, value: float | None, low: float, high: float, fix: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}; got {value!r}. {fix}")
    if not (math.isfinite(float(value)) and low <= float(value) <= high):
        raise ValueError(f"{name} must be from {low:g} to {high:g}; got {value!r}. {fix}")


def _check_count(name: str, value: int | None, high: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(
            f"{name} must be a whole number from 0 to {high}; got {value!r}. "
            "Give a count, or leave it out when unknown."
        )
    if not 0 <= int(value) <= high:
        raise ValueError(
            f"{name} must be a whole number from 0 to {high}; got {value!r}. "
            "Give a count, or leave it out when unknown."
        )


def _check_dmt(name: str, value: str) -> None:
    if value not in DMT_NAMES:
        raise ValueError(
            f"{name} must name a DMT ({', '.join(DMT_NAMES)}); got {value!r}. "
            "Use the generic name in lower case, e.g. 'ocrelizumab'."
        )


@dataclass(frozen=True)
class PatientProfile:
    """What is known about one person, for :func:`project_patient`.

    Attributes
    ----------
    age_years
        Age in years, 18 to 80 (required).
    edss
        EDSS on the 0-10 scale in steps of 0.5 (required).
    phenotype
        ``"RRMS"``, ``"SPMS"``, ``"PPMS"`` or ``"CIS"`` (required; case-insensitive).
    sex
        ``"female"`` or ``"male"`` (``"F"``/``"M"`` accepted); ``None`` when unknown.
    disease_duration_years
        Years since the first symptoms; at most ``age_years``.
    relapses_last_12_months, relapses_last_24_months
        Relapses in the last 12 and 24 months (the 24 months include the last 12).
    gd_lesions, new_t2_lesions
        Gd-enhancing and new or enlarging T2 lesions on the last MRI.
    prior_dmts
        DMTs taken before the current one (``()``: none; ``None``: unknown).
    current_dmt
        The DMT taken now, ``"none"`` for none, ``None`` when unknown.
    failed_dmt_count
        DMTs stopped for breakthrough disease, when known (eligibility criteria read it).
    hct_ci
        Haematopoietic cell transplantation comorbidity index (0 to 30).
    patient_id
        An identifier carried into results.

    Raises
    ------
    ValueError
        Naming the field: ``"edss must be a multiple of 0.5 from 0 to 10; got 7.3. ..."``.

    Examples
    --------
    >>> profile = PatientProfile(age_years=38, edss=4.5, phenotype="rrms", sex="F")
    >>> profile.phenotype, profile.sex
    ('RRMS', 'female')
    >>> PatientProfile(age_years=38, edss=7.3, phenotype="RRMS")
    Traceback (most recent call last):
    ...
    ValueError: edss must be a multiple of 0.5 from 0 to 10; got 7.3. Round to the EDSS ...
    """

    age_years: float
    edss: float
    phenotype: ProfilePhenotype
    sex: Sex | None = None
    disease_duration_years: float | None = None
    relapses_last_12_months: int | None = None
    relapses_last_24_months: int | None = None
    gd_lesions: int | None = None
    new_t2_lesions: int | None = None
    prior_dmts: tuple[str, ...] | None = None
    current_dmt: str | None = None
    failed_dmt_count: int | None = None
    hct_ci: int | None = None
    patient_id: str | None = None

    def __post_init__(self) -> None:
        _check_number(
            "age_years", self.age_years, 18, 80, "Projections are for adults aged 18 to 80."
        )
        if self.age_years is None:
            raise ValueError("age_years must be given; got None. Age is needed for every answer.")
        edss = self.edss
        if (
            edss is None
            or isinstance(edss, bool)
            or not isinstance(edss, int | float | np.integer | np.floating)
            or not (math.isfinite(float(edss)) and 0 <= float(edss) <= 10)
            or not (2 * float(edss)).is_integer()
        ):
            shown = f"{edss:g}" if isinstance(edss, int | float) else repr(edss)
            near = (
                f"{round(2 * float(edss)) / 2:g}"
                if isinstance(edss, int | float) and math.isfinite(float(edss))
                else "4.5"
            )
            raise ValueError(
                f"edss must be a multiple of 0.5 from 0 to 10; got {shown}. "
                f"Round to the EDSS grid (e.g. {near})."
            )
        object.__setattr__(self, "edss", float(edss))
        object.__setattr__(self, "age_years", float(self.age_years))
        phenotype = self.phenotype.strip().upper() if isinstance(self.phenotype, str) else None
        if phenotype not in _PHENOTYPES:
            raise ValueError(
                f"phenotype must be one of {', '.join(_PHENOTYPES)}; got {self.phenotype!r}. "
                "Relapsing MS ('RMS') is RRMS, or SPMS with relapses."
            )
        object.__setattr__(self, "phenotype", phenotype)
        if self.sex is not None:
            sex = _SEX_CODES.get(str(self.sex).strip().lower())
            if sex is None:
                raise ValueError(
                    f"sex must be 'female' or 'male' (or F / M); got {self.sex!r}. "
                    "Leave it out when unknown."
                )
            object.__setattr__(self, "sex", sex)
        _check_number(
            "disease_duration_years",
            self.disease_duration_years,
            0,
            80,
            "Give years since the first symptoms.",
        )
        if self.disease_duration_years is not None:
            if self.disease_duration_years > self.age_years:
                raise ValueError(
                    f"disease_duration_years must be <= age_years; got "
                    f"{self.disease_duration_years:g} > {self.age_years:g}. Check both."
                )
            object.__setattr__(self, "disease_duration_years", float(self.disease_duration_years))
        _check_count("relapses_last_12_months", self.relapses_last_12_months, 50)
        _check_count("relapses_last_24_months", self.relapses_last_24_months, 100)
        r12, r24 = self.relapses_last_12_months, self.relapses_last_24_months
        if r12 is not None and r24 is not None and r24 < r12:
            raise ValueError(
                f"relapses_last_24_months must be >= relapses_last_12_months (the 24 months "
                f"include the last 12); got {r24} < {r12}. Check both counts."
            )
        _check_count("gd_lesions", self.gd_lesions, 1000)
        _check_count("new_t2_lesions", self.new_t2_lesions, 1000)
        _check_count("failed_dmt_count", self.failed_dmt_count, 30)
        _check_count("hct_ci", self.hct_ci, 30)
        if self.prior_dmts is not None:
            if isinstance(self.prior_dmts, str):
                raise ValueError(
                    f"prior_dmts must be a sequence of DMT names; got the text "
                    f"{self.prior_dmts!r}. Write ('{self.prior_dmts}',)."
                )
            prior = tuple(str(d).strip().lower() for d in self.prior_dmts)
            for drug in prior:
                _check_dmt("prior_dmts", drug)
            object.__setattr__(self, "prior_dmts", prior)
        if self.current_dmt is not None:
            current = str(self.current_dmt).strip().lower()
            if current != "none":
                _check_dmt("current_dmt", current)
            object.__setattr__(self, "current_dmt", current)
        if self.patient_id is not None:
            object.__setattr__(self, "patient_id", str(self.patient_id))

    # -- derived ------------------------------------------------------------------------
    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the fields that are unknown."""
        return tuple(
            f.name for f in fields(self) if f.name != "patient_id" and getattr(self, f.name) is None
        )

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

    def to_eligibility_profile(self) -> EligibilityProfile:
        """The profile the eligibility engine reads (:class:`msreboot.protocols.PatientProfile`).

        The last MRI stands for "the last 12 months" (Gd+ lesions and activity); a last
        MRI without activity leaves ``mri_active_last_12_months`` unknown, as earlier scans
        of the year are not in the profile. ``failed_high_efficacy_dmt`` is left unknown.
        """
        active = self.mri_active
        return EligibilityProfile(
            patient_id=self.patient_id,
            age_years=self.age_years,
            edss=self.edss,
            phenotype=None if self.phenotype == "CIS" else self.phenotype,
            disease_duration_years=self.disease_duration_years,
            relapses_last_12_months=self.relapses_last_12_months,
            relapses_last_24_months=self.relapses_last_24_months,
            gd_lesions_last_12_months=self.gd_lesions,
            mri_active_last_12_months=True if active else None,
            failed_dmt_count=self.failed_dmt_count,
            hct_ci=self.hct_ci,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per field: ``field``, ``value`` (text; ``"unknown"`` when missing)."""
        rows = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = ", ".join(value) if value else "none"
            rows.append({"field": f.name, "value": "unknown" if value is None else f"{value}"})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """The profile in one line of words."""
        parts = [
            f"{self.age_years:g} years",
            self.sex or "sex unknown",
            self.phenotype,
            f"EDSS {self.edss:.1f}",
        ]
        if self.disease_duration_years is not None:
            parts.append(f"{self.disease_duration_years:g} years since onset")
        if self.relapses_last_24_months is not None:
            parts.append(f"{self.relapses_last_24_months} relapse(s) in 2 years")
        if self.gd_lesions is not None:
            parts.append(f"{self.gd_lesions} Gd+ lesion(s) on the last MRI")
        if self.current_dmt is not None:
            parts.append(f"current DMT {self.current_dmt}")
        if self.hct_ci is not None:
            parts.append(f"HCT-CI {self.hct_ci}")
        return ", ".join(parts)

    # -- from a person's own follow-up -------------------------------------------------
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
            last scan's Gd+ and new T2 counts, DMT courses before ``at`` (the one without
            an end date, or ending after ``at``, is current), HCT-CI and the disease
            duration from the onset date. A field whose source is missing is unknown.

        Raises
        ------
        ValueError
            ``patient_id`` is not in the cohort, or the person has no EDSS or phenotype
            on record (both are required).
        """
        pid = str(patient_id)
        patients = cohort.table("patients")
        person = patients[patients["patient_id"].astype(str) == pid]
        if person.empty:
            raise ValueError(
                f"patient_id must be a patient of the cohort; got {pid!r}. "
                "See cohort.table('patients')['patient_id']."
            )
        row = person.iloc[0]
        day_based = not pd.api.types.is_datetime64_any_dtype(cohort.table("edss")["date"])

        def rows(table: str, column: str) -> pd.DataFrame:
            frame = cohort.table(table)
            return frame[frame["patient_id"].astype(str) == pid].sort_values(column)

        edss = rows("edss", "date")
        if at is None:
            stamps = [edss["date"].max()]
            for table, column in (("relapses", "onset_date"), ("mri", "date")):
                frame = rows(table, column)
                if not frame.empty:
                    stamps.append(frame[column].max())
            ref = max(s for s in stamps if not pd.isna(s)) if not edss.empty else None
        else:
            ref = at if day_based else pd.Timestamp(at)
        if edss.empty or ref is None:
            raise ValueError(
                f"edss must have at least one assessment for {pid!r}; got none. "
                "The EDSS is required for a projection."
            )
        edss = edss[edss["date"] <= ref]
        if edss.empty:
            raise ValueError(
                f"at must be on or after the first EDSS assessment of {pid!r}; got {at!r}."
            )

        def years_between(start: object, end: object) -> float:
            if day_based:
                return float(end - start) / _DAYS_PER_YEAR  # type: ignore[operator]
            return float((pd.Timestamp(end) - pd.Timestamp(start)).days) / _DAYS_PER_YEAR  # type: ignore[arg-type]

        age: float | None = None
        if "birth_date" in row and not pd.isna(row["birth_date"]):
            age = years_between(row["birth_date"], ref)
        elif "birth_year" in row and not pd.isna(row["birth_year"]) and not day_based:
            age = (
                pd.Timestamp(ref).year
                + pd.Timestamp(ref).dayofyear / 365.25
                - (float(row["birth_year"]) + 0.5)
            )
        if age is None:
            raise ValueError(
                f"age_years must be known for {pid!r}; got no birth date or birth year. "
                "Age is required for a projection."
            )
        duration = None
        if "onset_date" in row and not pd.isna(row["onset_date"]):
            duration = max(0.0, min(years_between(row["onset_date"], ref), age))
        relapses = rows("relapses", "onset_date")
        relapses = relapses[relapses["onset_date"] <= ref]

        def count_since(days: float) -> int:
            if day_based:
                return int((relapses["onset_date"] > ref - days).sum())
            start = pd.Timestamp(ref) - pd.Timedelta(days=days)
            return int((relapses["onset_date"] > start).sum())

        mri = rows("mri", "date")
        mri = mri[mri["date"] <= ref]
        gd = t2 = None
        if not mri.empty:
            last = mri.iloc[-1]
            gd = None if pd.isna(last.get("gd_lesions")) else int(last["gd_lesions"])
            t2 = None if pd.isna(last.get("new_t2_lesions")) else int(last["new_t2_lesions"])
        courses = rows("treatments", "start_date")
        dmts = courses[(courses["kind"] == "dmt") & (courses["start_date"] <= ref)]
        prior: list[str] = []
        current: str | None = "none"
        known = True
        for course in dmts.itertuples():
            drug = None if pd.isna(course.drug) else str(course.drug)
            if drug not in DMT_NAMES:
                known = False
                continue
            if pd.isna(course.end_date) or course.end_date > ref:
                current = drug
            else:
                prior.append(drug)
        hct = row.get("hct_ci")
        phenotype = row.get("phenotype")
        if phenotype is None or pd.isna(phenotype):
            raise ValueError(
                f"phenotype must be on record for {pid!r}; got none. "
                "The phenotype is required for a projection."
            )
        sex = row.get("sex")
        return cls(
            age_years=round(min(max(age, 0.0), 120.0), 2),
            edss=float(edss["edss"].iloc[-1]),
            phenotype=str(phenotype),  # type: ignore[arg-type]
            sex=None if sex is None or pd.isna(sex) else _SEX_CODES.get(str(sex).lower()),  # type: ignore[arg-type]
            disease_duration_years=None if duration is None else round(duration, 2),
            relapses_last_12_months=count_since(_DAYS_PER_YEAR),
            relapses_last_24_months=count_since(2 * _DAYS_PER_YEAR),
            gd_lesions=gd,
            new_t2_lesions=t2,
            prior_dmts=tuple(prior) if known else None,
            current_dmt=current if known else None,
            hct_ci=None if hct is None or pd.isna(hct) else int(hct),
            patient_id=pid,
        )
