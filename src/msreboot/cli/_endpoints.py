"""Command-line pieces: ``msreboot disability`` and ``msreboot endpoints``.

The main CLI registers them with :func:`add_endpoint_commands`. The estimates go to
stdout, notes to stderr. The helpers (:func:`choose_definitions`, :func:`parse_times`,
:func:`run_endpoints`, also used by ``msreboot report``) raise ``ValueError`` with a
message the CLI prints as it is. The choices of ``--definition``, ``--event`` and
``--baseline`` come from :class:`~msreboot.endpoints.DisabilityDefinition` and the
``EventMode`` / ``BaselineKind`` types, read when the command runs (the endpoint engine is
imported only by the commands that use it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast, get_args

import typer

from msreboot.cli._common import (
    EXIT_USAGE,
    DateFormatOpt,
    MaxCellOpt,
    PartialDatesOpt,
    RedcapOpt,
    SourceArg,
    TableFileOpt,
    TimeUnitOpt,
    check_table_file,
    err,
    fail,
    load_cohort,
    one_of,
    out,
    progress,
)

if TYPE_CHECKING:
    from msreboot.data import Cohort
    from msreboot.endpoints import BaselineKind, EndpointDefinition, EndpointResults

__all__ = ["add_endpoint_commands", "choose_definitions", "parse_times", "run_endpoints"]

ClusterOpt = Annotated[
    str | None,
    typer.Option(
        help="Spark master (spark://host:7077, local[4]): compute the per-patient times per "
        "patient partition as Spark tasks (identical results). Default: this machine."
    ),
]


def parse_times(text: str) -> tuple[float, ...]:
    """Landmark years from ``"2,3,4,5"``."""
    try:
        times = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ValueError(
            f"--times must be years separated by commas, e.g. 2,3,4,5; got {text!r}."
        ) from None
    if not times or any(not t >= 0 for t in times):
        raise ValueError(f"--times must be years >= 0 separated by commas; got {text!r}.")
    return times


def choose_definitions(
    names: Sequence[str], definitions_file: Path | None
) -> list[EndpointDefinition]:
    """The definitions asked for: presets and those of a file, by name; none named: every
    definition of the file, or every preset without a file."""
    from msreboot.endpoints import EndpointDefinition, load_endpoint_definitions

    available = EndpointDefinition.presets()
    from_file: dict[str, EndpointDefinition] = {}
    if definitions_file is not None:
        from_file = load_endpoint_definitions(definitions_file)
        available = {**available, **from_file}
    if not names:
        return list((from_file or available).values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"--endpoint must name a preset or a definition of --definitions; got "
            f"{', '.join(unknown)}. Known: {', '.join(available)}."
        )
    return [available[n] for n in names]


def run_endpoints(
    cohort: Cohort,
    definitions: Sequence[EndpointDefinition],
    *,
    times_years: Sequence[float],
    anchor: str,
    by: str | None,
    out_file: Path | None,
    cluster: str | None = None,
) -> EndpointResults:
    """Estimate the endpoints and write the tidy table when asked."""
    from msreboot.data import write_frame
    from msreboot.endpoints import estimate_endpoints

    if out_file is not None and out_file.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--out must end in .csv or .parquet; got {out_file.name}.")
    results = estimate_endpoints(
        cohort, list(definitions), times_years=times_years, anchor=anchor, by=by, cluster=cluster
    )
    if out_file is not None:
        write_frame(results.to_frame(), out_file)
    return results


def _disability_presets() -> tuple[str, ...]:
    from msreboot.endpoints import DisabilityDefinition

    return DisabilityDefinition.presets()


def _event_modes() -> tuple[str, ...]:
    from msreboot.endpoints import EventMode

    return get_args(EventMode)


def _baseline_kinds() -> tuple[str, ...]:
    from msreboot.endpoints import BaselineKind

    return get_args(BaselineKind)


def disability_command(
    ctx: typer.Context,
    source: SourceArg,
    out_file: TableFileOpt = None,
    preset: Annotated[
        str,
        typer.Option(
            "--definition",
            help="Published rule set, a DisabilityDefinition preset (another name lists them).",
            callback=one_of(_disability_presets, "--definition"),
        ),
    ] = "msprog",
    event: Annotated[
        str | None,
        typer.Option(
            help="Which events, an EventMode (default: the preset's; another name lists them).",
            callback=one_of(_event_modes, "--event"),
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="Baseline scheme, a BaselineKind (default: the preset's; another name lists "
            "them).",
            callback=one_of(_baseline_kinds, "--baseline"),
        ),
    ] = None,
    raw_pira: Annotated[
        bool | None,
        typer.Option("--raw-pira/--no-raw-pira", help="Classify worsening as RAW or PIRA."),
    ] = None,
    anchor: Annotated[
        str | None,
        typer.Option(help="Start follow-up at each patient's first course of this kind (ahsct)."),
    ] = None,
    methods: Annotated[
        bool, typer.Option("--methods", help="Also print the methods paragraph.")
    ] = False,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
) -> None:
    """Confirmed disability worsening / improvement (CDW, CDI) with RAW and PIRA."""
    from dataclasses import replace

    from msreboot.data import write_frame
    from msreboot.endpoints import DisabilityDefinition, detect_disability_events

    check_table_file(out_file)
    definition = DisabilityDefinition.preset(preset)
    if event is not None:
        definition = definition.with_(event=event)
    if baseline is not None:
        definition = definition.with_(
            baseline=replace(definition.baseline, kind=cast("BaselineKind", baseline))
        )
    if raw_pira is not None:
        definition = definition.with_(classify_raw_pira=raw_pira)
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
        result = detect_disability_events(cohort, definition=definition, anchor=anchor)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    out.print(result.summary())
    if methods:
        out.print()
        out.print(result.methods())
    if out_file is not None:
        write_frame(result.events, out_file)
        err.print(f"wrote {len(result.events)} rows to {out_file}")


def endpoints_command(
    ctx: typer.Context,
    source: SourceArg,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "-e",
            help="A preset or a definition of --definitions (repeat for several); "
            "default: every preset (or every definition of the file).",
        ),
    ] = None,
    definitions_file: Annotated[
        Path | None,
        typer.Option("--definitions", help="TOML file of endpoint definitions."),
    ] = None,
    times: Annotated[
        str, typer.Option(help="Landmark years from time zero, separated by commas.")
    ] = "2,3,4,5",
    anchor: Annotated[
        str, typer.Option(help="Time zero: each patient's first course of this kind.")
    ] = "ahsct",
    by: Annotated[
        str | None, typer.Option(help="Estimate by a patients-table column (e.g. phenotype).")
    ] = None,
    out_file: TableFileOpt = None,
    methods: Annotated[
        bool, typer.Option("--methods", help="Also print the methods paragraphs.")
    ] = False,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the definitions and exit (SOURCE is not read).")
    ] = False,
    redcap_mapping: RedcapOpt = None,
    date_format: DateFormatOpt = None,
    time_unit: TimeUnitOpt = None,
    partial_dates: PartialDatesOpt = None,
    max_cell_chars: MaxCellOpt = None,
    cluster: ClusterOpt = None,
) -> None:
    """Composite endpoints (HALT-MS, Atkins 2016, Muraro 2017, MIST, Burt 2015, NEDA-3,
    ...) at landmark years, with intervals, events and numbers at risk."""
    try:
        chosen = choose_definitions(endpoint or [], definitions_file)
        landmarks = parse_times(times)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if list_only:
        for d in chosen:
            out.print(f"[bold]{d.name}[/] ({100 * d.conf_level:g}% CI): {d.title}")
            out.print(f"    {d.describe()}")
        return
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
            bar.add_task(f"estimating {len(chosen)} endpoint(s)", total=None)
            results = run_endpoints(
                cohort,
                chosen,
                times_years=landmarks,
                anchor=anchor,
                by=by,
                out_file=out_file,
                cluster=cluster,
            )
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    out.print(results.summary())
    if methods:
        out.print()
        out.print(results.methods())
    if out_file is not None:
        err.print(f"wrote {len(results.to_frame())} rows to {out_file}")


def add_endpoint_commands(app: typer.Typer) -> None:
    """Register ``disability`` and ``endpoints`` on the root app."""
    app.command("disability")(disability_command)
    app.command("endpoints")(endpoints_command)
