"""``msreboot compare``: an emulated trial of AHSCT against a DMT, written as tables, figures
and an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msreboot.cli._common import (
    EXIT_USAGE,
    DateFormatOpt,
    MaxCellOpt,
    PartialDatesOpt,
    RedcapOpt,
    SourceArg,
    TimeUnitOpt,
    fail,
    load_cohort,
    out,
    progress,
)

if TYPE_CHECKING:
    from msreboot.analysis import EmulatedTrial, EmulationSpec
    from msreboot.data import Cohort
    from msreboot.report import Report

__all__ = ["compare_command", "load_spec", "write_comparison"]


def load_spec(name: str) -> EmulationSpec:
    """The spec named by ``--spec``: ``default``, a bundled spec or a TOML file."""
    from msreboot.analysis import DEFAULT_EMULATION, EmulationSpec, load_emulation_spec

    if name.strip().lower() == "default":
        return DEFAULT_EMULATION
    if not Path(name).suffix and name not in EmulationSpec.presets():
        raise ValueError(
            f"--spec must be default, a bundled spec ({', '.join(EmulationSpec.presets())}) or "
            f"an emulation spec file (.toml); got {name!r}."
        )
    if Path(name).suffix and not Path(name).is_file():
        raise ValueError(f"--spec must be an existing TOML file; got {name}.")
    return load_emulation_spec(name)


def write_comparison(
    cohort: Cohort, spec: EmulationSpec, folder: Path, *, title: str, source: Path | None
) -> tuple[EmulatedTrial, list[Path], Report]:
    """Run the emulation and write its tables (CSV), methods text and the HTML report (its
    figures as SVG and PNG in ``report_files/``) into ``folder``."""
    from msreboot.analysis import analyse_cohort
    from msreboot.data import atomic_write_text, write_frame
    from msreboot.report import build_report

    analysis = analyse_cohort(
        cohort,
        definitions=list(spec.definitions().values()),
        times_years=spec.outcomes.times_years,
        emulation=spec,
    )
    trial = analysis.emulation
    if trial is None:
        raise ValueError(f"the comparison could not be run: {analysis.emulation_note}")
    folder.mkdir(parents=True, exist_ok=True)
    name = spec.name
    written = [
        write_frame(trial.to_frame(), folder / f"{name}_outcomes.csv"),
        write_frame(trial.balance.to_frame(), folder / f"{name}_balance.csv"),
        write_frame(trial.population.flow, folder / f"{name}_flow.csv"),
    ]
    entries = trial.data.reset_index()[
        ["entry_id", "patient_id", "arm", "anchor_date", "ps", "weight", "subclass", "cluster"]
    ]
    written.append(write_frame(entries, folder / f"{name}_entries.csv"))
    if trial.relapse_rate is not None:
        written.append(
            write_frame(trial.relapse_rate.to_frame(), folder / f"{name}_relapse_rates.csv")
        )
    if trial.proportions is not None:
        written.append(
            write_frame(trial.to_frame("proportions"), folder / f"{name}_proportions.csv")
        )
    for endpoint, contrast in trial.contrasts.items():
        written.append(
            write_frame(contrast.curves.to_frame(), folder / f"{name}_km_{endpoint}.csv")
        )
        written.append(write_frame(contrast.rmst, folder / f"{name}_rmst_{endpoint}.csv"))
    written.append(atomic_write_text(folder / f"{name}_methods.txt", trial.methods() + "\n"))
    report = build_report(analysis, out=folder / "report.html", title=title, source=source)
    return trial, written, report


def compare_command(
    ctx: typer.Context,
    source: SourceArg,
    spec: Annotated[
        str,
        typer.Option(
            "--spec",
            help="The emulated trial: an emulation spec file (.toml), a bundled spec "
            "(ahsct_vs_natalizumab, ahsct_vs_best_dmt) or default.",
        ),
    ] = "default",
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the tables, figures and report.")
    ] = Path("comparison"),
    title: Annotated[str, typer.Option(help="The report's title.")] = "Treatment comparison",
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
) -> None:
    """Compare AHSCT with a DMT as an emulated target trial: eligibility at time zero,
    propensity-score matching or weighting, balance, crude and adjusted hazard ratios,
    Kaplan-Meier curves per arm, relapse-rate ratio, E-value, and the proportions with
    confirmed disability improvement and NEDA at a landmark. Writes CSV tables, the
    methods text and an HTML report (SVG and PNG figures beside it) into --out."""
    try:
        chosen = load_spec(spec)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(f"--out must be a folder; got the file {out_dir}.", EXIT_USAGE)
    cohort = load_cohort(
        ctx,
        source,
        redcap_mapping,
        date_format,
        time_unit,
        partial_dates=partial_dates,
        max_cell_chars=max_cell_chars,
    )
    try:
        with progress(ctx) as bar:
            task = bar.add_task("emulating the trial", total=1)
            trial, written, report = write_comparison(
                cohort, chosen, out_dir, title=title, source=source
            )
            bar.update(task, completed=1)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    out.print(trial.summary())
    out.print(f"[bold]tables:[/] {', '.join(p.name for p in written)}")
    out.print(f"[bold]report:[/] {report.path.resolve()}")
    out.print(f"[bold]figures (SVG and PNG):[/] {report.figure_folder.resolve()}")
