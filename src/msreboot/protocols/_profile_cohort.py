"""A patient profile read from the person's own follow-up (a validated cohort)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from msreboot.protocols._profile_checks import DMT_NAMES

if TYPE_CHECKING:
    from msreboot.data import Cohort

__all__ = ["profile_values_from_cohort"]

_DAYS_PER_YEAR = 365.25
_SEX_CODES = {"f": "female", "female": "female", "m": "male", "male": "male"}


def profile_values_from_cohort(
    cohort: Cohort, patient_id: str, at: str | pd.Timestamp | int | None
) -> dict[str, object]:
    """The profile fields of ``patient_id`` as their follow-up stood at ``at``.

    See :meth:`msreboot.protocols.PatientProfile.from_cohort` for what each field is read
    from.
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

    def since(frame: pd.DataFrame, column: str, days: float) -> pd.DataFrame:
        start = ref - days if day_based else pd.Timestamp(ref) - pd.Timedelta(days=days)
        return frame[frame[column] > start]

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

    mri = rows("mri", "date")
    mri = mri[mri["date"] <= ref]
    gd = t2 = None
    if not mri.empty:
        last = mri.iloc[-1]
        gd = None if pd.isna(last.get("gd_lesions")) else int(last["gd_lesions"])
        t2 = None if pd.isna(last.get("new_t2_lesions")) else int(last["new_t2_lesions"])
    year = since(mri, "date", _DAYS_PER_YEAR)
    counts = year.reindex(columns=["gd_lesions", "new_t2_lesions"])
    active: bool | None = None
    if bool((counts.fillna(0) > 0).to_numpy().any()):
        active = True
    elif not year.empty and not counts.isna().to_numpy().any():
        active = False
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
    return {
        "age_years": round(min(max(age, 0.0), 120.0), 2),
        "edss": float(edss["edss"].iloc[-1]),
        "phenotype": str(phenotype),
        "sex": None if sex is None or pd.isna(sex) else _SEX_CODES.get(str(sex).lower()),
        "disease_duration_years": None if duration is None else round(duration, 2),
        "relapses_last_12_months": len(since(relapses, "onset_date", _DAYS_PER_YEAR)),
        "relapses_last_24_months": len(since(relapses, "onset_date", 2 * _DAYS_PER_YEAR)),
        "mri_active_last_12_months": active,
        "gd_lesions": gd,
        "new_t2_lesions": t2,
        "prior_dmts": tuple(prior) if known else None,
        "current_dmt": current if known else None,
        "hct_ci": None if hct is None or pd.isna(hct) else int(hct),
        "patient_id": pid,
    }
