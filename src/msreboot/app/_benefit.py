"""The Patient benefit and risk page (analysts only): a profile form, projected in the
background by :meth:`msreboot.analysis.CohortExplorer.patient_projection` with a progress
bar and a cancel button, rendered as eligibility with reasons, the options at 2, 5 and 10
years with their intervals, the predicted TRM with its interval and studies, the risks, the
sources, the disclaimer and the one-page sheet (:func:`msreboot.report.patient_sheet_html`).

The helpers here only read and format the projection's fields; nothing is computed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from msreboot.app._state import Cancelled, TrialRun

if TYPE_CHECKING:
    from msreboot.analysis import PatientProfile, PatientProjection

__all__ = [
    "COUNT_FIELDS",
    "NUMBER_FIELDS",
    "eligibility_table",
    "options_table",
    "profile_error",
    "profile_from_inputs",
    "risks_table",
    "sources_table",
    "trm_text",
]

_LOG = logging.getLogger("msreboot.app")
#: An empty numeric input (Shiny draws ``None`` as an empty box; its stubs say float).
_EMPTY = cast(float, None)

#: Profile fields read from numeric inputs (an empty input is unknown).
NUMBER_FIELDS = ("age_years", "edss", "disease_duration_years")
#: Profile fields that are counts (whole numbers; an empty input is unknown).
COUNT_FIELDS = (
    "relapses_last_12_months",
    "relapses_last_24_months",
    "gd_lesions",
    "new_t2_lesions",
    "failed_dmt_count",
    "hct_ci",
)
#: The input id of each profile field on the page.
INPUT_IDS = {
    "age_years": "pp_age",
    "sex": "pp_sex",
    "phenotype": "pp_phenotype",
    "edss": "pp_edss",
    "disease_duration_years": "pp_duration",
    "relapses_last_12_months": "pp_relapses_12",
    "relapses_last_24_months": "pp_relapses",
    "gd_lesions": "pp_gd",
    "new_t2_lesions": "pp_new_t2",
    "current_dmt": "pp_current_dmt",
    "failed_dmt_count": "pp_failed",
    "hct_ci": "pp_hct_ci",
}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def profile_from_inputs(values: Mapping[str, object]) -> PatientProfile:
    """The profile of the form's values (by field name; empty or missing: unknown).

    Raises
    ------
    ValueError
        A count that is not a whole number, or any check of
        :class:`msreboot.analysis.PatientProfile` (naming the field).
    """
    from msreboot.analysis import PatientProfile

    fields: dict[str, Any] = {}
    for name in NUMBER_FIELDS:
        value = values.get(name)
        if not _blank(value):
            fields[name] = float(str(value)) if isinstance(value, str) else value
    for name in COUNT_FIELDS:
        value = values.get(name)
        if _blank(value):
            continue
        number = float(str(value)) if isinstance(value, str) else value
        if not isinstance(number, int | float) or not float(number).is_integer():
            raise ValueError(
                f"{name} must be a whole number; got {value!r}. Give a count, or leave it "
                "empty when unknown."
            )
        fields[name] = int(number)
    for name in ("sex", "phenotype", "current_dmt"):
        value = values.get(name)
        if not _blank(value):
            fields[name] = str(value)
    for name in ("age_years", "edss", "phenotype"):
        if name not in fields:
            raise ValueError(f"{name} must be given; got nothing. Fill it in to project.")
    return PatientProfile(**fields)


def _interval(estimate: float, low: float, high: float, outcome: str) -> str:
    if math.isnan(estimate):
        return "not available"
    if outcome == "expected_edss":
        return f"{estimate:.1f} ({low:.1f} to {high:.1f})"
    return f"{100 * estimate:.0f}% ({100 * low:.0f} to {100 * high:.0f}%)"


def options_table(projection: PatientProjection) -> pd.DataFrame:
    """One row per option and outcome, one column per horizon: ``"64% (55 to 72%)"`` (the
    estimate over posterior draws and its 5th to 95th percentile), expected EDSS on its
    scale. Empty when the options could not be simulated."""
    frame = projection.outcomes
    if frame.empty:
        return pd.DataFrame(columns=["option", "outcome"])
    cells = frame.assign(
        cell=[
            _interval(e, lo, hi, o)
            for e, lo, hi, o in zip(
                frame["estimate"],
                frame["cri_low"],
                frame["cri_high"],
                frame["outcome"],
                strict=True,
            )
        ],
        horizon=[f"{y:g} years" for y in frame["years"]],
    )
    order = list(dict.fromkeys(cells["horizon"]))
    table = cells.pivot_table(
        index=["label", "outcome"], columns="horizon", values="cell", aggfunc="first", sort=False
    )
    table = table.reindex(columns=order).reset_index()
    table.columns.name = None
    table["outcome"] = table["outcome"].str.replace("_", " ")
    out: pd.DataFrame = table.rename(columns={"label": "option"})
    return out


def eligibility_table(projection: PatientProjection) -> pd.DataFrame:
    """Every criterion of every bundled protocol and guideline: ``criteria``, ``verdict``
    (of the set), ``label``, ``level``, ``status`` and ``reason``."""
    e = projection.eligibility
    verdicts = e.verdicts().set_index("criteria")
    checks = e.to_frame()
    if checks.empty:
        return pd.DataFrame(columns=["criteria", "verdict", "label", "level", "status", "reason"])
    checks = checks.assign(
        verdict=checks["criteria"].map(verdicts["verdict"]),
        criteria=checks["criteria"].map(verdicts["title"]),
    )
    out: pd.DataFrame = checks[["criteria", "verdict", "label", "level", "status", "reason"]]
    return out.reset_index(drop=True)


def trm_text(projection: PatientProjection) -> str:
    """The predicted TRM with its intervals and the studies it rests on, or why unknown."""
    if projection.trm is None:
        return f"Transplant-related mortality: {projection.trm_unknown}"
    return projection.trm.summary()


def risks_table(projection: PatientProjection) -> pd.DataFrame:
    """The risks of each option with their intervals (``"1.4% (0.6 to 3.1%)"``), what the
    interval is, its source (evidence or simulator) and notes."""
    r = projection.risks
    shown = [
        "not available" if math.isnan(e) else f"{100 * e:.1f}% ({100 * lo:.1f} to {100 * hi:.1f}%)"
        for e, lo, hi in zip(r["estimate"], r["low"], r["high"], strict=True)
    ]
    out = pd.DataFrame(
        {
            "option": r["option"],
            "risk": r["risk"].astype(str).str.replace("_", " "),
            "source": r["source"],
            "estimate": shown,
            "interval": r["interval"],
            "note": r["note"],
        }
    )
    return out


def sources_table(projection: PatientProjection) -> pd.DataFrame:
    """What the numbers rest on: ``kind``, ``key``, ``citation``."""
    return projection.sources.copy()


def benefit_server(input: Any) -> None:
    """The page's server part (registered for analysts only)."""
    from shiny import reactive, render, ui

    from msreboot.analysis import PROJECTION_DISCLAIMER, CohortExplorer

    run = TrialRun()

    @reactive.extended_task
    async def projection(profile: Any, state: TrialRun) -> Any:
        def work() -> Any:
            try:
                return CohortExplorer.patient_projection(profile, progress=state.progress)
            except Cancelled:
                return "Cancelled."

        return await asyncio.to_thread(work)

    @reactive.effect
    @reactive.event(input.project)
    def _project() -> None:
        nonlocal run
        values = {name: input[key]() for name, key in INPUT_IDS.items()}
        try:
            profile = profile_from_inputs(values)
        except (TypeError, ValueError) as exc:
            _LOG.info("projection profile refused: %s", type(exc).__name__)
            ui.notification_show(profile_error(exc), type="error", duration=10)
            return
        run = TrialRun()
        projection(profile, run)

    @reactive.effect
    @reactive.event(input.cancel_projection)
    def _cancel() -> None:
        run.cancel.set()

    def done() -> PatientProjection | None:
        if projection.status() != "success":
            return None
        result = projection.result()
        return None if isinstance(result, str) else result

    @render.ui
    def projection_progress() -> Any:
        status = projection.status()
        if status == "running":
            reactive.invalidate_later(0.5)
            return ui.div(
                ui.tags.progress(value=str(run.done), max=str(max(run.total, 1))),
                ui.span(f" Running: {run.done} of {run.total or '?'} simulations"),
            )
        if status == "success" and isinstance(projection.result(), str):
            return ui.span("Cancelled.")
        return ui.span(
            {"initial": "Not run yet.", "success": "Done.", "error": "Failed."}.get(status, status)
        )

    @render.text
    def projection_disclaimer() -> str:
        return PROJECTION_DISCLAIMER

    @render.code
    def projection_summary() -> str:
        p = done()
        if p is None:
            return "Enter a profile and press Project."
        lines = [p.profile.summary(), "", *p.plain_language()]
        lines += [f"! {flag}" for flag in p.flags]
        lines += [f"note: {note}" for note in p.notes]
        if p.simulation_unknown:
            lines.append(f"Options: {p.simulation_unknown}")
        return "\n".join(lines)

    @render.data_frame
    def projection_eligibility() -> Any:
        p = done()
        return render.DataGrid(pd.DataFrame() if p is None else eligibility_table(p))

    @render.data_frame
    def projection_table() -> Any:
        p = done()
        return render.DataGrid(pd.DataFrame() if p is None else options_table(p))

    @render.code
    def projection_trm() -> str:
        p = done()
        return "" if p is None else trm_text(p)

    @render.data_frame
    def projection_risks() -> Any:
        p = done()
        return render.DataGrid(pd.DataFrame() if p is None else risks_table(p))

    @render.data_frame
    def projection_sources() -> Any:
        p = done()
        return render.DataGrid(pd.DataFrame() if p is None else sources_table(p))

    @render.download_button(filename="benefit_risk_sheet.html")
    def patient_sheet() -> Any:
        from msreboot.report import patient_sheet_html

        p = done()
        if p is not None:
            yield patient_sheet_html(p)


def benefit_page(dmts: list[str]) -> Any:
    """The page's user interface."""
    from shiny import ui

    current = {"": "unknown", "none": "none", **{d: d.replace("_", " ") for d in dmts}}
    return ui.nav_panel(
        "Patient benefit and risk",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_numeric("pp_age", "Age (years)", 35, min=18, max=80),
                ui.input_select(
                    "pp_sex", "Sex", {"": "not given", "female": "female", "male": "male"}
                ),
                ui.input_select("pp_phenotype", "Phenotype", ["RRMS", "SPMS", "PPMS", "CIS"]),
                ui.input_numeric("pp_edss", "EDSS", 4.0, min=0, max=10, step=0.5),
                ui.input_numeric("pp_duration", "Years since onset (empty: unknown)", 6, min=0),
                ui.input_numeric(
                    "pp_relapses_12", "Relapses in the last 12 months (empty: unknown)", 1, min=0
                ),
                ui.input_numeric("pp_relapses", "Relapses in the last 24 months", 1, min=0),
                ui.input_numeric("pp_gd", "Gd+ lesions on the last MRI (empty: unknown)", _EMPTY),
                ui.input_numeric("pp_new_t2", "New T2 lesions (empty: unknown)", _EMPTY),
                ui.input_select("pp_current_dmt", "Current DMT", current),
                ui.input_numeric("pp_failed", "DMTs failed (empty: unknown)", 1, min=0),
                ui.input_numeric("pp_hct_ci", "HCT-CI", 0, min=0, max=30),
                ui.input_action_button("project", "Project", class_="btn-primary"),
                ui.input_action_button("cancel_projection", "Cancel"),
                ui.output_ui("projection_progress"),
                width=340,
            ),
            ui.div(ui.output_text("projection_disclaimer"), class_="alert alert-warning"),
            ui.output_code("projection_summary"),
            ui.download_button("patient_sheet", "Download the one-page sheet (HTML)"),
            ui.h4("Eligibility, criterion by criterion"),
            ui.output_data_frame("projection_eligibility"),
            ui.h4("Options at 2, 5 and 10 years (90% posterior interval)"),
            ui.output_data_frame("projection_table"),
            ui.h4("Transplant-related mortality"),
            ui.output_code("projection_trm"),
            ui.h4("Risks"),
            ui.output_data_frame("projection_risks"),
            ui.h4("Sources"),
            ui.output_data_frame("projection_sources"),
        ),
        value="benefit",
    )


def profile_error(error: Exception) -> str:
    """A refused profile's message for the page: each field and its problem on one line
    ("edss: edss must be a multiple of 0.5 ..."), without pydantic's boilerplate."""
    from pydantic import ValidationError

    from msreboot.data import describe_validation_errors

    if isinstance(error, ValidationError):
        return describe_validation_errors(error, "profile")
    return str(error)
