"""Command-line pieces: ``msreboot simulate trial|size|cohort|list|new-spec``.

The main CLI registers them with ``app.add_typer(simulate_app, name="simulate")``.
Results go to stdout, progress and notes to stderr; argument problems exit with code 2
(:data:`~msreboot.cli._common.EXIT_USAGE`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msreboot.cli._common import EXIT_USAGE, fail, progress

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["simulate_app"]

simulate_app = typer.Typer(
    name="simulate",
    help="Virtual patients and virtual trials, analysed by the endpoint engine.",
    no_args_is_help=True,
)


SpecArg = Annotated[
    str,
    typer.Argument(help="A trial spec file (TOML) or a bundled preset (see `simulate list`)."),
]


@simulate_app.command("list")
def list_command() -> None:
    """List the bundled virtual versions of published studies."""
    from msreboot.trials import TrialSpec

    for name in TrialSpec.presets():
        spec = TrialSpec.preset(name)
        arms = ", ".join(f"{a.name} n={a.n}" for a in spec.arms)
        typer.echo(f"{name}: {spec.title} ({arms}; {spec.follow_up_years:g} y)")


@simulate_app.command("new-spec")
def new_spec_command(
    name: Annotated[str, typer.Argument(help="The trial's name (lower case, digits and _).")],
    out: Annotated[
        Path | None,
        typer.Option(help="File to write (refused if it exists); default: print the spec."),
    ] = None,
) -> None:
    """Write a commented trial spec to start from (every table, the common keys explained;
    it runs as written). The format: docs/reference/trial-spec.md."""
    from msreboot.data import atomic_write_text
    from msreboot.trials import spec_template

    try:
        text = spec_template(name)
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.exists():
        raise fail(
            f"--out must be a new file; got {out}, which already exists. Choose another name.",
            EXIT_USAGE,
        )
    atomic_write_text(out, text)
    typer.echo(f"wrote {out}; edit it, then run: msreboot simulate trial {out}", err=True)


@simulate_app.command("schema")
def schema_command(
    out: Annotated[
        Path | None, typer.Option(help="File to write (default: print the schema).")
    ] = None,
) -> None:
    """Print (or write) the JSON Schema of a trial spec file, for an editor to check and
    complete specs as they are written (e.g. a `#:schema trial-spec.schema.json` first line
    for Taplo / Even Better TOML)."""
    import json

    from msreboot.data import atomic_write_text
    from msreboot.trials import spec_json_schema

    text = json.dumps(spec_json_schema(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    atomic_write_text(out, text)
    typer.echo(f"wrote {out}", err=True)


@simulate_app.command("trial")
def trial_command(
    ctx: typer.Context,
    spec: SpecArg,
    replicates: Annotated[
        int | None, typer.Option(help="Replicate trials (default: the spec's).", min=1)
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for each replicate's tables and the analysed results."),
    ] = None,
    uncertainty: Annotated[
        str | None, typer.Option(help=_UNCERTAINTY_HELP, show_default=False)
    ] = None,
) -> None:
    """Simulate a virtual trial and analyse it: per-arm estimates, hazard ratios, power,
    and the published values beside the simulated ones."""
    from msreboot.trials import load_trial_spec, run_trial

    try:
        trial = load_trial_spec(spec)
        if replicates is not None:
            trial = trial.with_(replicates=replicates)
        if uncertainty is not None:
            if uncertainty not in ("monte_carlo", "posterior"):
                raise ValueError(
                    f"--uncertainty must be monte_carlo or posterior; got {uncertainty!r}."
                )
            trial = trial.with_(uncertainty=uncertainty)
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    with progress(ctx, transient=True) as bar:
        task = bar.add_task(f"simulating {trial.name}", total=trial.replicates)
        result = run_trial(
            trial, out_dir=out, progress=lambda done: bar.update(task, completed=done)
        )
    typer.echo(result.summary())
    matched = trial.population_match()
    if matched is not None:
        typer.echo("\nenrolled population, published vs virtual (before and after matching):")
        typer.echo(matched.to_string(index=False, float_format="{:.3f}".format))
    if trial.published:
        typer.echo("\nsimulated vs published:")
        typer.echo(result.compare_published().to_string(index=False, float_format="{:.3f}".format))
    if out is not None:
        typer.echo(f"wrote {trial.replicates} replicate(s) and the results to {out}", err=True)


_UNCERTAINTY_HELP = (
    "monte_carlo (one parameter set: Monte Carlo error only) or posterior (replicate r "
    "under parameter draw r from the calibration posterior: parameter uncertainty too); "
    "default: the spec's [trial] uncertainty."
)


@simulate_app.command("size")
def size_command(
    ctx: typer.Context,
    spec: SpecArg,
    power: Annotated[float, typer.Option(help="Target power of the primary endpoint.")] = 0.8,
    low: Annotated[int, typer.Option(help="Smallest size per arm to try.")] = 10,
    high: Annotated[int, typer.Option(help="Largest size per arm to try.")] = 500,
    replicates: Annotated[
        int | None, typer.Option(help="Replicates per size (default: the spec's).", min=2)
    ] = None,
    alpha: Annotated[
        float | None, typer.Option(help="Significance level (default: the spec's).")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            help="Test counted: log_rank, cox, rmst, rate_ratio or neda (default: the "
            "spec's analysis.method, log_rank)."
        ),
    ] = None,
    sides: Annotated[
        int | None, typer.Option(help="1 or 2-sided test (default: the spec's, 2).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the spec's).")] = None,
    dropout: Annotated[
        float | None,
        typer.Option(help="Share lost to follow-up by the end of follow-up, e.g. 0.1."),
    ] = None,
    accrual_years: Annotated[
        float | None,
        typer.Option(help="Years of uniform staggered entry (default: the spec's, 0)."),
    ] = None,
    analysis_years: Annotated[
        float | None,
        typer.Option(
            help="Analysis time in years from the first entry (default: the spec's, accrual "
            "+ follow-up); later records are censored."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV file for the power table (with the attributes).")
    ] = None,
    uncertainty: Annotated[
        str | None, typer.Option(help=_UNCERTAINTY_HELP, show_default=False)
    ] = None,
) -> None:
    """Patients per arm for a target power (bisection with common random numbers): the
    power of every size tried with its Monte Carlo interval, a fitted monotone power
    curve with the size it gives and that size's interval, and Schoenfeld's formula."""
    from msreboot.trials import load_trial_spec, sample_size

    try:
        trial = load_trial_spec(spec)
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    with progress(ctx, transient=True) as bar:
        task = bar.add_task(f"sizing {trial.name}", total=None)
        try:
            table = sample_size(
                trial,
                target_power=power,
                n_range=(low, high),
                replicates=replicates,
                alpha=alpha,
                method=method,
                sides=sides,
                seed=seed,
                dropout=dropout,
                accrual_years=accrual_years,
                analysis_years=analysis_years,
                uncertainty=uncertainty,  # type: ignore[arg-type]  # checked by the spec
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except ValueError as error:
            raise fail(str(error), EXIT_USAGE) from error
    typer.echo(_size_report(table))
    if out is not None:
        from msreboot.data import write_frame

        answers = {  # n_per_arm (the answer) must not overwrite the sizes' column
            (f"{k}_found" if k == "n_per_arm" else str(k)): v
            for k, v in table.attrs.items()
            if k != "replicates"
        }
        frame = table.assign(**answers)
        write_frame(frame, out)
        typer.echo(f"wrote the power table to {out}", err=True)


def _size_report(table: pd.DataFrame) -> str:
    attrs = table.attrs
    level = f"{100 * attrs['conf_level']:g}%"
    shown = table.assign(
        power=[
            f"{p:.2f} ({lo:.2f}-{hi:.2f})"
            for p, lo, hi in zip(
                table["power"], table["power_low"], table["power_high"], strict=True
            )
        ],
        power_fitted=[f"{p:.2f}" for p in table["power_fitted"]],
    )[["n_per_arm", "significant", "replicates", "power", "power_fitted"]]
    shown = shown.rename(columns={"power": f"power ({level} MC interval)"})
    target = f"{100 * attrs['target_power']:g}% power"
    lines = [shown.to_string(index=False), f"power intervals include: {attrs['ranges_include']}"]
    answer = attrs["n_per_arm"]
    if answer == answer:
        lines.append(f"{int(answer)} patients per arm reach {target} (smallest size found)")
    else:
        lines.append(
            f"even {int(table['n_per_arm'].max())} patients per arm fall short of {target}"
        )
    fitted = attrs["n_per_arm_fitted"]
    if fitted == fitted:
        lines.append(
            f"fitted power curve (logistic in sqrt(n)): {math.ceil(fitted)} per arm "
            f"({level} interval {math.floor(attrs['n_per_arm_low'])}-"
            f"{math.ceil(attrs['n_per_arm_high'])})"
        )
    else:
        lines.append("fitted power curve: not estimable (every size at 0% or 100% power)")
    hr, share, formula = attrs["hazard_ratio"], attrs["event_share"], attrs["n_per_arm_schoenfeld"]
    if formula == formula:
        lines.append(
            f"Schoenfeld's formula (HR {hr:.2f}, {100 * share:.0f}% with an event, alpha "
            f"{attrs['alpha']:g} two-sided): {math.ceil(formula)} per arm"
        )
    else:
        lines.append("Schoenfeld's formula: not estimable (no reliable hazard ratio)")
    return "\n".join(lines)


@simulate_app.command("cohort")
def cohort_command(
    out: Annotated[Path, typer.Option(help="Folder for the canonical tables (CSV).")],
    n: Annotated[int, typer.Option(help="Patients.", min=1)] = 200,
    protocol: Annotated[
        str | None,
        typer.Option(help="A protocol preset (see `msreboot protocols list`); none: untreated."),
    ] = None,
    years: Annotated[float, typer.Option(help="Years of follow-up.")] = 5.0,
    seed: Annotated[int, typer.Option(help="Seed (recorded with the output).")] = 1,
) -> None:
    """Simulate one virtual cohort and write its tables: patients, treatments, EDSS,
    relapses, MRI, adverse events and deaths."""
    import json

    from msreboot import __version__
    from msreboot.data import atomic_write_text, write_tables
    from msreboot.trials import ArmSpec, TrialSpec, simulate_replicate

    try:
        arm = ArmSpec(name="cohort", n=n, protocol=protocol)
        spec = TrialSpec(name="cohort", seed=seed, follow_up_years=years, arms=(arm,))
    except ValueError as error:
        raise fail(str(error), EXIT_USAGE) from error
    cohort, _ = simulate_replicate(spec, 0)
    write_tables(cohort.tables, out)
    meta = {"msreboot_version": __version__, "seed": seed, "protocol": protocol, "n": n}
    atomic_write_text(out / "simulation.json", json.dumps(meta, indent=2))
    typer.echo(f"wrote {cohort.n_patients} virtual patients to {out}")
