"""Command-line options of a patient profile, shared by ``msreboot eligibility`` and
``msreboot patient`` (one option per :class:`msreboot.protocols.PatientProfile` field)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from msreboot.cli._common import EXIT_USAGE, fail

if TYPE_CHECKING:  # the library is imported by the commands that run (fast --help)
    from msreboot.protocols import PatientProfile

__all__ = [
    "AgeOpt",
    "CurrentDmtOpt",
    "DurationOpt",
    "EdssOpt",
    "FailedDmtsOpt",
    "FailedHighEfficacyOpt",
    "GdLesions12mOpt",
    "GdLesionsOpt",
    "HctCiOpt",
    "MriActive12mOpt",
    "NewT2LesionsOpt",
    "PatientIdOpt",
    "PhenotypeOpt",
    "PriorDmtOpt",
    "Relapses12mOpt",
    "Relapses24mOpt",
    "SexOpt",
    "build_profile",
    "profile_fields",
]

AgeOpt = Annotated[
    float | None, typer.Option("--age", help="Age in years (a projection needs 18-80).")
]
EdssOpt = Annotated[float | None, typer.Option(help="EDSS (0-10, steps of 0.5).")]
PhenotypeOpt = Annotated[str | None, typer.Option(help="RRMS, SPMS, PPMS or CIS.")]
SexOpt = Annotated[str | None, typer.Option(help="female or male (F / M).")]
DurationOpt = Annotated[
    float | None, typer.Option("--disease-duration", help="Years since the first symptoms.")
]
Relapses12mOpt = Annotated[
    int | None, typer.Option("--relapses-12m", help="Relapses in the last 12 months.")
]
Relapses24mOpt = Annotated[
    int | None, typer.Option("--relapses-24m", help="Relapses in the last 24 months.")
]
GdLesions12mOpt = Annotated[
    int | None, typer.Option("--gd-lesions-12m", help="Gd+ lesions in the last 12 months.")
]
MriActive12mOpt = Annotated[
    bool | None,
    typer.Option(
        "--mri-active-12m/--no-mri-active-12m",
        help="MRI activity (Gd+ or new T2 lesions) in the last 12 months.",
    ),
]
GdLesionsOpt = Annotated[
    int | None, typer.Option("--gd-lesions", help="Gd+ lesions on the last MRI.")
]
NewT2LesionsOpt = Annotated[
    int | None,
    typer.Option("--new-t2-lesions", help="New or enlarging T2 lesions on the last MRI."),
]
PriorDmtOpt = Annotated[
    list[str] | None,
    typer.Option("--prior-dmt", help="A DMT taken before (repeatable); --prior-dmt none."),
]
CurrentDmtOpt = Annotated[
    str | None, typer.Option("--current-dmt", help="The DMT taken now, or none.")
]
FailedDmtsOpt = Annotated[
    int | None, typer.Option("--failed-dmts", help="DMTs stopped for lack of effect.")
]
FailedHighEfficacyOpt = Annotated[
    bool | None,
    typer.Option(
        "--failed-high-efficacy/--no-failed-high-efficacy",
        help="At least one failed DMT was high efficacy.",
    ),
]
HctCiOpt = Annotated[int | None, typer.Option("--hct-ci", help="HCT comorbidity index.")]
PatientIdOpt = Annotated[
    str | None, typer.Option("--patient-id", help="Identifier carried into the results.")
]


def profile_fields(
    *,
    age: float | None = None,
    edss: float | None = None,
    phenotype: str | None = None,
    sex: str | None = None,
    disease_duration: float | None = None,
    relapses_12m: int | None = None,
    relapses_24m: int | None = None,
    gd_lesions_12m: int | None = None,
    mri_active_12m: bool | None = None,
    gd_lesions: int | None = None,
    new_t2_lesions: int | None = None,
    prior_dmt: list[str] | None = None,
    current_dmt: str | None = None,
    failed_dmts: int | None = None,
    failed_high_efficacy: bool | None = None,
    hct_ci: int | None = None,
    patient_id: str | None = None,
) -> dict[str, Any]:
    """The profile fields given on the command line (``None`` options left out);
    ``--prior-dmt none`` is an empty list of prior DMTs."""
    fields: dict[str, Any] = {
        "patient_id": patient_id,
        "age_years": age,
        "edss": edss,
        "phenotype": phenotype,
        "sex": sex,
        "disease_duration_years": disease_duration,
        "relapses_last_12_months": relapses_12m,
        "relapses_last_24_months": relapses_24m,
        "gd_lesions_last_12_months": gd_lesions_12m,
        "mri_active_last_12_months": mri_active_12m,
        "gd_lesions": gd_lesions,
        "new_t2_lesions": new_t2_lesions,
        "prior_dmts": (
            None if prior_dmt is None else tuple(d for d in prior_dmt if d.lower() != "none")
        ),
        "current_dmt": current_dmt,
        "failed_dmt_count": failed_dmts,
        "failed_high_efficacy_dmt": failed_high_efficacy,
        "hct_ci": hct_ci,
    }
    return {k: v for k, v in fields.items() if v is not None}


def build_profile(fields: dict[str, Any]) -> PatientProfile:
    """A validated profile, or a usage error (exit code 2) naming every bad field."""
    from pydantic import ValidationError

    from msreboot.data import describe_validation_errors
    from msreboot.protocols import PatientProfile

    try:
        return PatientProfile.model_validate(fields)
    except ValidationError as error:
        raise fail(
            f"invalid profile: {describe_validation_errors(error, 'value')}", EXIT_USAGE
        ) from error
