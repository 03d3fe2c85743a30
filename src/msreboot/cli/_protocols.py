"""Command-line pieces: ``msreboot protocols list|show`` and ``msreboot eligibility``.

The main CLI registers them with ``app.add_typer(protocols_app, name="protocols")`` and
``app.command("eligibility")(eligibility_command)``. Data go to stdout, notes to stderr.
Exit codes (:mod:`msreboot.cli._common`): 0 success, 1 data problems in a profiles file or
an unknown name, 2 usage errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msreboot.cli._common import EXIT_DATA, EXIT_USAGE, fail
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
    PatientIdOpt,
    PhenotypeOpt,
    PriorDmtOpt,
    Relapses12mOpt,
    Relapses24mOpt,
    SexOpt,
    build_profile,
    profile_fields,
)

if TYPE_CHECKING:  # the library is imported by the commands that run (fast --help)
    import pandas as pd

    from msreboot.protocols import EligibilityResult, ProtocolCatalogue

__all__ = ["eligibility_command", "protocols_app"]

protocols_app = typer.Typer(
    name="protocols",
    help="Browse the therapy protocols (AHSCT, MSC, DMT) and eligibility criteria.",
    no_args_is_help=True,
)

FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file", help="Your own TOML catalogue entries, added to the bundled ones.", exists=False
    ),
]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Write CSV instead of a table.")]


def _catalogue(file: Path | None) -> ProtocolCatalogue:
    from msreboot.protocols import load_protocols

    try:
        return load_protocols(file)
    except (ValueError, FileNotFoundError) as error:
        raise fail(str(error), EXIT_USAGE) from error


def _echo_table(frame: pd.DataFrame, csv: bool) -> None:
    if csv:
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        typer.echo(frame.to_string(index=False, na_rep=""))


@protocols_app.command("list")
def list_command(
    criteria: Annotated[
        bool, typer.Option("--criteria", help="List the eligibility criteria sets instead.")
    ] = False,
    csv: CsvOpt = False,
    file: FileOpt = None,
) -> None:
    """List the protocols (or, with --criteria, the eligibility criteria sets)."""
    import pandas as pd

    catalogue = _catalogue(file)
    if criteria:
        frame = pd.DataFrame(
            [
                {
                    "criteria": c.name,
                    "kind": c.kind,
                    "n_criteria": len(c.criteria),
                    "title": c.title,
                }
                for c in catalogue.criteria.values()
            ]
        )
    else:
        columns = ["protocol", "therapy", "conditioning", "eligibility", "title"]
        frame = catalogue.to_frame()[columns]
    _echo_table(frame, csv)


@protocols_app.command("show")
def show_command(
    name: Annotated[
        str, typer.Argument(help="A protocol or criteria set from `msreboot protocols list`.")
    ],
    file: FileOpt = None,
) -> None:
    """Show a protocol step by step (with its eligibility criteria), or a criteria set."""
    catalogue = _catalogue(file)
    if name in catalogue.protocols:
        protocol = catalogue.protocols[name]
        typer.echo(protocol.summary())
        if protocol.eligibility is not None:
            typer.echo("")
            typer.echo(catalogue.criteria[protocol.eligibility].summary())
    elif name in catalogue.criteria:
        typer.echo(catalogue.criteria[name].summary())
    else:
        raise fail(
            f"name must be a protocol ({', '.join(catalogue.protocols)}) or a criteria set "
            f"({', '.join(catalogue.criteria)}); got {name!r}.",
            EXIT_DATA,
        )


def eligibility_command(
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
    patient_id: PatientIdOpt = None,
    criteria: Annotated[
        list[str] | None,
        typer.Option(
            "--criteria",
            help="Criteria set (repeatable), e.g. halt_ms; default: every set. "
            "See `msreboot protocols list --criteria`.",
        ),
    ] = None,
    profiles: Annotated[
        Path | None,
        typer.Option(
            "--profiles",
            help="CSV (or Parquet) of profiles, one row per patient, columns named as the "
            "profile fields (age_years, edss, phenotype, ...). Replaces the single-profile "
            "options.",
        ),
    ] = None,
    detail: Annotated[
        bool,
        typer.Option("--detail", help="With --profiles: one row per patient and criterion."),
    ] = False,
    csv: CsvOpt = False,
    file: FileOpt = None,
) -> None:
    """Check a patient profile (or a file of profiles) against the eligibility criteria of
    published AHSCT protocols and guidelines.

    Information for a discussion with a neurologist, not a medical decision. A criterion
    whose field is not given is "unknown" and the verdict "undetermined".
    """
    from msreboot.protocols import DISCLAIMER, check_eligibility

    given = profile_fields(
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
    catalogue = _catalogue(file)
    names = criteria or list(catalogue.criteria)
    unknown = [n for n in names if n not in catalogue.criteria]
    if unknown:
        raise fail(
            f"--criteria must be one of {', '.join(catalogue.criteria)}; "
            f"got {', '.join(map(repr, unknown))}.",
            EXIT_USAGE,
        )
    sets = [catalogue.criteria[n] for n in names]
    if profiles is not None:
        if given:
            raise fail(
                "--profiles replaces the single-profile options; got both "
                f"(--profiles and {', '.join(sorted(given))}). Put those values in the file.",
                EXIT_USAGE,
            )
        result = _check_file(profiles, sets)
        table = result.to_frame() if detail else result.verdicts()
        _echo_table(table, csv)
        if csv:
            typer.echo(DISCLAIMER, err=True)
        else:
            typer.echo(f"\n{DISCLAIMER}")
        return
    if not given:
        raise fail(
            "give at least one profile field (e.g. --age 38 --edss 4.5 --phenotype RRMS), "
            "or --profiles FILE.",
            EXIT_USAGE,
        )
    profile = build_profile(given)
    single = check_eligibility(profile, sets)
    if csv:
        _echo_table(single.to_frame(), csv=True)
        typer.echo(DISCLAIMER, err=True)
    else:
        typer.echo(single.summary())


def _check_file(path: Path, sets: list[Any]) -> EligibilityResult:
    import pandas as pd

    from msreboot.exceptions import DataValidationError
    from msreboot.protocols import check_eligibility

    if not path.is_file():
        raise fail(f"--profiles must be an existing file; got {str(path)!r}.", EXIT_USAGE)
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return check_eligibility(frame, sets)
    except DataValidationError as error:
        raise fail(str(error), EXIT_DATA) from error
    except (ValueError, OSError) as error:
        raise fail(f"{path}: {error}", EXIT_DATA) from error
