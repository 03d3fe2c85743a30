"""Command-line pieces: ``msreboot evidence list|show`` and ``msreboot meta``.

The main CLI registers them with ``app.add_typer(evidence_app, name="evidence")`` and
``app.command("meta")(meta_command)``. Data go to stdout, notes and warnings to stderr.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msreboot.cli._common import EXIT_DATA, EXIT_USAGE, fail

if TYPE_CHECKING:  # the library is imported by the commands that run (fast --help)
    import pandas as pd

    from msreboot.evidence import CohortEstimate, PooledEstimate

__all__ = ["evidence_app", "meta_command"]

evidence_app = typer.Typer(
    name="evidence",
    help="Browse the bundled published AHSCT / MSC studies.",
    no_args_is_help=True,
)

_LIST_COLUMNS = ["study_id", "arm", "therapy", "design", "n", "year", "journal", "citation_status"]


@evidence_app.command("list")
def list_command(
    therapy: Annotated[
        str | None, typer.Option(help="Only arms of this therapy (ahsct, msc, dmt, ...).")
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Write CSV instead of a table.")] = False,
) -> None:
    """List the study arms in the bundled evidence dataset."""
    from msreboot.evidence import load_studies

    studies = load_studies()
    if therapy is not None:
        studies = studies[studies["therapy"] == therapy]
    frame = studies[_LIST_COLUMNS].astype({"n": "Int64", "year": "Int64"})
    if csv:
        typer.echo(frame.to_csv(index=False), nl=False)
    else:
        typer.echo(frame.to_string(index=False, na_rep=""))


@evidence_app.command("show")
def show_command(
    ident: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A study_id from `msreboot evidence list`, or an outcome_id.",
        ),
    ],
) -> None:
    """Show one study (its citation, arms and every reported outcome) or one outcome, with
    every provenance field: status, source, locator, where it was read, the published
    definition, how it was read and the endpoint definition."""
    import pandas as pd

    from msreboot.evidence import load_outcomes, load_studies

    outcomes = load_outcomes(include_unsourced=True)
    if ident in set(outcomes["outcome_id"]):
        _show_outcome(outcomes[outcomes["outcome_id"] == ident].iloc[0])
        return
    studies = load_studies()
    arms = studies[studies["study_id"] == ident]
    if arms.empty:
        raise fail(
            f"study_id must be one of the bundled studies; got {ident!r}. Give a study_id "
            "or an outcome_id; run `msreboot evidence list` to see the studies.",
            EXIT_DATA,
        )
    for row in arms.to_dict("records"):
        typer.echo(f"{row['study_id']} / {row['arm']} ({row['therapy']})")
        for key, value in row.items():
            if key in ("study_id", "arm") or value == "" or pd.isna(value):
                continue
            typer.echo(f"  {key}: {value}")
    rows = outcomes[outcomes["study_id"] == ident]
    cols = [
        "outcome_id",
        "outcome",
        "timepoint_years",
        "effect_type",
        "estimate",
        "ci_low",
        "ci_high",
        "ci_level",
        "events",
        "n",
        "status",
        "locator",
        "definition_id",
        "source",
    ]
    typer.echo("outcomes (`msreboot evidence show OUTCOME_ID` for every field):")
    typer.echo(rows[cols].to_string(index=False, na_rep=""))


def _show_outcome(row: pd.Series) -> None:
    """Every field of one outcome row, provenance first, then its endpoint definition."""
    import pandas as pd

    from msreboot.evidence import load_definitions

    first = ["status", "source", "locator", "read_from", "published_definition", "reading"]
    typer.echo(f"{row['outcome_id']} ({row['study_id']} / {row['arm']})")
    for key in first + [k for k in row.index if k not in first and k != "outcome_id"]:
        value = row[key]
        typer.echo(f"  {key}: {'' if pd.isna(value) else value}")
    definitions = load_definitions().set_index("definition_id")
    if row["definition_id"] in definitions.index:
        description = definitions.loc[row["definition_id"], "description"]
        typer.echo(f"  definition {row['definition_id']}: {description}")


def _pool_rows(
    rows: pd.DataFrame, method: str, test: str, conf_level: float
) -> tuple[PooledEstimate, pd.DataFrame, list[str]]:
    """Pool selected rows; return the result, the rows used and notes on skipped rows."""
    from msreboot.evidence import EvidenceError, effect_sizes, pool, pool_proportions, study_label

    notes: list[str] = []
    usable = []
    for i in range(len(rows)):
        try:
            effect_sizes(rows.iloc[[i]])
            usable.append(i)
        except EvidenceError as exc:
            notes.append(f"skipped {rows['outcome_id'].iloc[i]}: {exc}")
    rows = rows.iloc[usable].reset_index(drop=True)
    if rows.empty:
        raise EvidenceError("no selected result has enough information to be pooled.")
    labels = [study_label(r) for _, r in rows.iterrows()]
    counted = rows["events"].notna() & rows["n"].notna()
    kw = {"method": method, "test": test, "conf_level": conf_level, "labels": labels}
    if counted.all() and set(rows["effect_type"]) == {"proportion"}:
        result = pool_proportions(rows["events"], rows["n"], **kw)  # type: ignore[arg-type]
    else:
        yi, vi, measure = effect_sizes(rows)
        result = pool(yi, vi, measure=measure, **kw)  # type: ignore[arg-type]
    return result, rows, notes


def meta_command(
    outcome: Annotated[str, typer.Option(help="Outcome code, e.g. trm, pfs, efs, neda.")],
    by: Annotated[
        str | None,
        typer.Option(
            help="Study or outcome column for subgroups, e.g. intensity, conditioning "
            "(the regimen) or definition_id (with --mixed-definitions)."
        ),
    ] = None,
    moderators: Annotated[
        list[str] | None,
        typer.Option(help="Study column(s) for meta-regression, e.g. edss (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the tables and figures.")] = Path(
        "meta-output"
    ),
    therapy: Annotated[str, typer.Option(help="ahsct, msc, dmt, or 'all'.")] = "ahsct",
    timepoint: Annotated[
        float | None, typer.Option(help="Timepoint in years, when several are reported.")
    ] = None,
    method: Annotated[str, typer.Option(help="tau^2 estimator: REML, ML, DL, PM, FE.")] = "REML",
    test: Annotated[str, typer.Option(help="z (Wald) or knha (Hartung-Knapp).")] = "z",
    conf_level: Annotated[float, typer.Option(help="Confidence level in (0, 1).")] = 0.95,
    definition: Annotated[
        str | None,
        typer.Option(
            help="Only rows of this endpoint definition (a definition_id, see "
            "`msreboot evidence show`), e.g. trm_100d."
        ),
    ] = None,
    mixed_definitions: Annotated[
        bool,
        typer.Option(
            "--mixed-definitions",
            help="Pool rows of several endpoint definitions (each row is labelled with its "
            "definition); without it TRM or NEDA rows of different definitions are refused.",
        ),
    ] = False,
    cohort: Annotated[
        Path | None,
        typer.Option(
            help="Your cohort (folder of table files or DuckDB store), set beside the "
            "evidence as its own row. Outcomes computed from a cohort so far: trm."
        ),
    ] = None,
) -> None:
    """Pool a published outcome across the bundled studies and write tables and figures.

    Writes ``meta_<outcome>.csv`` (studies and pooled row), a forest plot
    (``meta_<outcome>_forest.svg`` / ``.png``), a contour-enhanced funnel plot
    (``meta_<outcome>_funnel.svg``) and Egger's regression test
    (``meta_<outcome>_egger.csv``, from 3 studies); with ``--by`` a subgroup table, the test
    for subgroup differences and a grouped forest plot; with ``--moderators`` a
    meta-regression table and a bubble plot per moderator; with ``--cohort`` the cohort's
    own estimate beside the pool and its matching subgroup (``meta_<outcome>_cohort.csv``
    and a forest plot with the cohort as its own row). Results of published
    meta-analyses are not re-pooled.
    """
    mine = None if cohort is None else _cohort_estimate(cohort, outcome, conf_level)
    from msreboot.evidence import (
        EvidenceError,
        bubble_plot,
        compare_with_evidence,
        forest_plot,
        meta_regression,
        select_outcomes,
        subgroup_analysis,
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rows = select_outcomes(
                outcome,
                therapy=None if therapy == "all" else therapy,
                timepoint=timepoint,
                definition_id=definition,
                mixed_definitions=mixed_definitions,
            )
            result, rows, notes = _pool_rows(rows, method, test, conf_level)
            if rows["mixed_definitions"].any():
                names = sorted(set(rows["definition_id"]))
                notes.append(
                    f"mixed-definition pool: {len(rows)} rows of {len(names)} endpoint "
                    f"definitions ({', '.join(names)}); each row is labelled with its definition"
                )
            out.mkdir(parents=True, exist_ok=True)
            stem = out / f"meta_{outcome}"
            table = result.to_frame()
            table.insert(1, "study_id", [*rows["study_id"], ""])
            table.to_csv(f"{stem}.csv", index=False)
            title = f"{outcome} ({therapy})"
            forest_plot(result, f"{stem}_forest.svg", title=title)
            forest_plot(result, f"{stem}_forest.png", title=title)
            typer.echo(result.summary())
            _small_study_outputs(result, stem, title, notes)
            if by is not None:
                _check_column(rows, by)
                groups = rows[by].replace("", "not reported").astype(str)
                sub = subgroup_analysis(result, groups)
                sub.to_frame().to_csv(f"{stem}_by_{by}.csv", index=False)
                forest_plot(sub, f"{stem}_by_{by}_forest.svg", title=f"{title} by {by}")
                typer.echo(sub.summary())
            for name in moderators or []:
                _check_column(rows, name)
                keep = rows[name].notna().to_numpy() & (rows[name] != "").to_numpy()
                if keep.sum() < 3:
                    notes.append(f"meta-regression on {name} skipped: fewer than 3 studies")
                    continue
                sub_result = (
                    result if keep.all() else _pool_rows(rows[keep], method, test, conf_level)[0]
                )
                reg = meta_regression(sub_result, {name: rows.loc[keep, name].to_numpy()})
                reg.to_frame().to_csv(f"{stem}_on_{name}.csv", index=False)
                bubble_plot(reg, name, f"{stem}_on_{name}.svg")
                typer.echo(reg.summary())
            if mine is not None:
                # the cohort's TRM is death from any cause within 100 days (trm_100d): it is
                # set beside published rows of that definition unless told otherwise
                comparison = compare_with_evidence(
                    mine,
                    therapy=therapy,
                    by=by if by is not None else "intensity",
                    timepoint=timepoint,
                    method=method,
                    definition_id=definition or (None if mixed_definitions else "trm_100d"),
                    mixed_definitions=mixed_definitions,
                )
                comparison.to_frame().to_csv(f"{stem}_cohort.csv", index=False)
                for suffix in ("svg", "png"):
                    comparison.forest_plot(f"{stem}_cohort_forest.{suffix}", title=title)
                typer.echo(comparison.summary())
        except EvidenceError as exc:
            raise fail(str(exc), EXIT_DATA) from exc
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    for warning in caught:
        typer.echo(f"warning: {warning.message}", err=True)
    typer.echo(f"wrote {stem}.csv, {stem}_forest.svg/.png and {stem}_funnel.svg", err=True)


def _small_study_outputs(result: PooledEstimate, stem: Path, title: str, notes: list[str]) -> None:
    """Funnel plot (always) and Egger's test (from 3 studies), written beside the pool."""
    from msreboot.evidence import egger_test, funnel_plot

    funnel_plot(result, f"{stem}_funnel.svg", title=f"{title}: funnel plot")
    if result.k < 3:
        count = "1 study" if result.k == 1 else f"{result.k} studies"
        notes.append(f"Egger's test skipped: {count} (it needs at least 3)")
        return
    egger = egger_test(result)
    egger.to_frame().to_csv(f"{stem}_egger.csv", index=False)
    typer.echo(egger.summary())
    if result.k < 10:
        notes.append(
            f"Egger's test on {result.k} studies has little power (fewer than 10; "
            "Sterne et al. 2011): read the funnel plot, not only the p-value"
        )


def _cohort_estimate(source: Path, outcome: str, conf_level: float) -> CohortEstimate:
    """The cohort's own estimate of ``outcome`` (exit 1 on data problems, 2 on usage)."""
    from msreboot.data import read_cohort
    from msreboot.endpoints import transplant_mortality
    from msreboot.evidence import CohortEstimate
    from msreboot.exceptions import DataValidationError, StoreError

    if outcome != "trm":
        raise fail(
            f"--cohort supports outcome trm so far; got {outcome!r}. Other outcomes are "
            "computed from a cohort once their endpoint definitions are available.",
            EXIT_USAGE,
        )
    try:
        data = read_cohort(source)
        trm = transplant_mortality(data, conf_level=conf_level)
    except FileNotFoundError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except (DataValidationError, StoreError, ValueError) as exc:
        raise fail(str(exc), EXIT_DATA) from exc
    ahsct = data.treatments[data.treatments["kind"] == "ahsct"]
    classes = set(ahsct["conditioning_intensity"].dropna())
    intensity = classes.pop() if len(classes) == 1 else "mixed"
    return CohortEstimate.from_events(
        trm.deaths_within_window,
        trm.n_transplanted,
        outcome="trm",
        label=f"{source.name} (this cohort)",
        conf_level=conf_level,
        definition=f"death from any cause within {trm.window_days} days of AHSCT",
        subgroups={"intensity": intensity},
    )


def _check_column(rows: pd.DataFrame, name: str) -> None:
    from msreboot.evidence import EvidenceError

    if name not in rows.columns:
        raise EvidenceError(
            f"column must be a study or outcome column; got {name!r}. "
            "Try intensity, design, edss, share_rrms or treatment_year_mid."
        )
