"""Command-line piece: ``msreboot patient``, one person's benefit-and-risk projection.

The main CLI registers it with ``app.command("patient")(patient_command)``. The summary
goes to stdout (or the options table as CSV with ``--csv``); notes to stderr. Exit codes
(:mod:`msreboot.cli._common`): 0 success, 1 data problems in a cohort, 2 usage errors (an
invalid profile, an unknown option).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msreboot.cli._common import EXIT_USAGE, err, fail
from msreboot.cli._common import load_cohort as _load
from msreboot.cli._profile_options import (
    AgeOpt,
    CurrentDmtOpt,
    DurationOpt,
    EdssOpt,
    FailedDmtsOpt,
    FailedHighEfficacyOpt,
    GdLesions12mOpt,
    GdLesionsOpt,
    HctCiOpt,
    MriActive12mOpt,
    NewT2LesionsOpt,
    PhenotypeOpt,
    PriorDmtOpt,
    Relapses12mOpt,
    Relapses24mOpt,
    SexOpt,
    build_profile,
    profile_fields,
)

__all__ = ["patient_command"]


def patient_command(
    ctx: typer.Context,
    age: AgeOpt = None,
    edss: EdssOpt = None,
    phenotype: PhenotypeOpt = None,
    sex: SexOpt = None,
    disease_duration: DurationOpt = None,
    relapses_12m: Relapses12mOpt = None,
    relapses_24m: Relapses24mOpt = None,
    gd_lesions_12m: GdLesions12mOpt = None,
    mri_active_12m: MriActive12mOpt = None,
    gd_lesions: GdLesionsOpt = None,
    new_t2_lesions: NewT2LesionsOpt = None,
    prior_dmt: PriorDmtOpt = None,
    current_dmt: CurrentDmtOpt = None,
    failed_dmts: FailedDmtsOpt = None,
    failed_high_efficacy: FailedHighEfficacyOpt = None,
    hct_ci: HctCiOpt = None,
    patient_id: Annotated[
        str | None, typer.Option("--patient-id", help="Identifier (with --cohort: the person).")
    ] = None,
    cohort: Annotated[
        Path | None,
        typer.Option(
            "--cohort",
            help="A cohort folder or file: read the profile of --patient-id from their own "
            "follow-up (replaces the profile options).",
        ),
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="With --cohort: the date the profile describes.")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="An option to compare (repeatable): ahsct_cy_atg, ahsct_beam_atg, "
            "ahsct_bu_cy_atg, stay, switch_anti_cd20, switch_natalizumab, "
            "switch_alemtuzumab, switch_cladribine, switch_s1p; default: all that apply.",
        ),
    ] = None,
    draws: Annotated[int, typer.Option(help="Parameter draws from the posterior.")] = 10,
    patients_per_draw: Annotated[
        int, typer.Option("--patients-per-draw", help="Virtual patients per draw.")
    ] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the draws and virtual patients.")] = 2026,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write the one-page HTML sheet here.")
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Write the options table as CSV.")] = False,
) -> None:
    """One person's benefit-and-risk projection: eligibility under every protocol and
    guideline, transplant-related mortality from the published studies, and every option
    compared at 2, 5 and 10 years from virtual patients like them.

    Information for a discussion with a neurologist, not a medical decision or a
    recommendation.
    """
    from msreboot.analysis import PatientProfile, project_patient
    from msreboot.report import write_patient_sheet

    try:
        if cohort is not None:
            if patient_id is None:
                raise fail("--cohort needs --patient-id (the person to read).", EXIT_USAGE)
            data = _load(ctx, cohort, None, None, None)
            profile = PatientProfile.from_cohort(data, patient_id, at=at)
        else:
            missing = [
                name
                for name, value in (("--age", age), ("--edss", edss), ("--phenotype", phenotype))
                if value is None
            ]
            if missing:
                raise fail(
                    f"{', '.join(missing)} must be given; got none. Or read the profile from "
                    "follow-up with --cohort and --patient-id.",
                    EXIT_USAGE,
                )
            profile = build_profile(
                profile_fields(
                    age=age,
                    edss=edss,
                    phenotype=phenotype,
                    sex=sex,
                    disease_duration=disease_duration,
                    relapses_12m=relapses_12m,
                    relapses_24m=relapses_24m,
                    gd_lesions_12m=gd_lesions_12m,
                    mri_active_12m=mri_active_12m,
                    gd_lesions=gd_lesions,
                    new_t2_lesions=new_t2_lesions,
                    prior_dmt=prior_dmt,
                    current_dmt=current_dmt,
                    failed_dmts=failed_dmts,
                    failed_high_efficacy=failed_high_efficacy,
                    hct_ci=hct_ci,
                    patient_id=patient_id,
                )
            )
        projection = project_patient(
            profile, option, draws=draws, patients_per_draw=patients_per_draw, seed=seed
        )
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    if csv:
        typer.echo(projection.to_frame().to_csv(index=False), nl=False)
    else:
        typer.echo(projection.summary())
    if out_path is not None:
        write_patient_sheet(projection, out_path)
        err.print(f"sheet written to {out_path}")
