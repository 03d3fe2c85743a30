"""The report's transplant section: transplant-related mortality, neutrophil and platelet
engraftment, days in hospital, adverse events and infections of the first AHSCT course."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.analysis import COURSE_FIELDS
from msreboot.endpoints import DaysSummary, TransplantMortality, TransplantOutcomes
from msreboot.report._cohort import tableone_rows
from msreboot.report._content import (
    Block,
    FigureBlock,
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_number,
    fmt_pct_ci,
)
from msreboot.report._figures import PALETTE, FigureWriter, new_figure, plot_context

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.analysis import RecordedCharacteristics

__all__ = ["transplant_section"]

_COURSE_LABELS = frozenset(label for label, _ in COURSE_FIELDS.values())

_PHASES = {
    "early": "Day 0\u2013{early}",
    "late": "After day {early}",
    "post_reinfusion": "Day 0 on",
}


def _days_row(label: str, days: DaysSummary) -> tuple[str, ...]:
    if days.n == 0:
        return (label, "0", str(days.n_missing), "\u2013", "\u2013")
    return (
        label,
        str(days.n),
        str(days.n_missing),
        f"{fmt_number(days.median, 0)} [{fmt_number(days.q1, 1)}, {fmt_number(days.q3, 1)}]",
        f"{fmt_number(days.minimum, 0)}\u2013{fmt_number(days.maximum, 0)}",
    )


def _course_table(outcomes: TransplantOutcomes, trm: TransplantMortality) -> TableBlock:
    pct = f"{100 * trm.conf_level:g}%"
    return TableBlock(
        "Transplant course",
        ("Outcome", "Patients", "Missing", "Median [Q1, Q3]", "Range"),
        (
            _days_row("Days to neutrophil engraftment", outcomes.engraftment),
            _days_row("Days to platelet engraftment", outcomes.platelet_engraftment),
            _days_row("Days in hospital (admission to discharge)", outcomes.hospital_stay),
        ),
        notes=(
            f"Transplant-related mortality (TRM): {trm.deaths_within_window} of "
            f"{trm.n_transplanted} patients died within {trm.window_days} days of "
            f"reinfusion: {fmt_pct_ci(trm.proportion, trm.ci_low, trm.ci_high)} "
            f"({pct} exact interval); deaths recorded as transplant-related: "
            f"{trm.transplant_related_deaths}.",
        ),
    )


def _events_table(outcomes: TransplantOutcomes) -> TableBlock:
    early = outcomes.early_days
    frames = [
        outcomes.adverse_events,
        outcomes.adverse_events_by_category,
        outcomes.infections_by_grade[
            outcomes.infections_by_grade["outcome"] == "infection: grade >= 3"
        ],
    ]
    table = pd.concat(frames, ignore_index=True)
    phases = [p for p in _PHASES if p in set(table["phase"])]
    rows: list[tuple[str, ...]] = []
    for outcome, part in table.groupby("outcome", sort=False):
        cells = [str(outcome).replace("_", " ").replace(">=", "\u2265").capitalize()]
        by_phase = part.set_index("phase")
        for phase in phases:
            r = by_phase.loc[phase]
            cells.append(
                f"{int(r['patients'])}/{int(r['n_followed'])} "
                f"{fmt_pct_ci(r['proportion'], r['ci_low'], r['ci_high'])}"
            )
        rows.append(tuple(cells))
    pct = f"{100 * outcomes.conf_level:g}%"
    return TableBlock(
        "Adverse events after reinfusion: patients with at least one",
        ("Event", *(_PHASES[p].format(early=early) for p in phases)),
        tuple(rows),
        notes=(
            f"Patients with the event / patients followed in the phase, share ({pct} exact "
            "interval). Grades are CTCAE grades as recorded.",
        ),
    )


def _events_figure(outcomes: TransplantOutcomes) -> Figure:
    early = outcomes.early_days
    table = pd.concat(
        [outcomes.adverse_events, outcomes.adverse_events_by_category], ignore_index=True
    )
    table = table[table["outcome"] != "serious"]
    names = list(dict.fromkeys(table["outcome"]))
    fig = new_figure(6.4, 0.9 + 0.42 * len(names))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1].astype(float)
    for offset, (phase, colour) in zip(
        (0.17, -0.17), (("early", PALETTE[1]), ("late", PALETTE[0])), strict=True
    ):
        part = table[table["phase"] == phase].set_index("outcome").reindex(names)
        est = part["proportion"].to_numpy(dtype=float)
        lo = part["ci_low"].to_numpy(dtype=float)
        hi = part["ci_high"].to_numpy(dtype=float)
        ax.barh(
            y + offset,
            est,
            height=0.32,
            color=colour,
            alpha=0.85,
            label=_PHASES[phase].format(early=early),
        )
        ax.errorbar(
            est, y + offset, xerr=[est - lo, hi - est], fmt="none", ecolor="#333333", capsize=2
        )
    labels = [n.replace("_", " ").replace(">=", "\u2265").capitalize() for n in names]
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f}%")
    ax.set_xlabel("Patients with at least one event (%)")
    ax.set_title("Adverse events after AHSCT", loc="left")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    return fig


def _characteristics(records: RecordedCharacteristics) -> Block:
    if records.courses is None:
        return Paragraph("The courses record no mobilisation, graft or conditioning details.")
    rows, starts = tableone_rows(records.courses)
    shown = [f for f in records.not_recorded if f in _COURSE_LABELS]
    notes = ["Continuous: median [Q1, Q3]; categorical: n (%). Built with tableone."]
    if shown:
        notes.append("Not recorded for any course: " + ", ".join(shown) + ".")
    return TableBlock(
        f"The first AHSCT courses (n = {records.n_courses})",
        ("Characteristic", "", "Courses", "Missing"),
        rows,
        css_class="table-one",
        group_rows=starts,
        notes=tuple(notes),
    )


def transplant_section(
    outcomes: TransplantOutcomes | None,
    trm: TransplantMortality | None,
    reason: str,
    writer: FigureWriter,
    *,
    records: RecordedCharacteristics | None = None,
) -> SectionContent:
    """The first AHSCT course of every transplanted patient: what the courses record
    (when ``records`` is given), TRM, engraftment, hospital days, adverse events and
    infections (``reason``: why there are none)."""
    title = "Transplant outcomes"
    if outcomes is None or trm is None:
        return SectionContent("transplant", title, (Notes("Not available", (reason,)),))
    blocks: list[Block] = [
        Paragraph(
            f"{outcomes.n_transplanted} patients with an AHSCT course; outcomes of the first "
            f"course, counted from reinfusion (day 0). The early phase ends on day "
            f"{outcomes.early_days}."
        ),
        *([] if records is None else [_characteristics(records)]),
        _course_table(outcomes, trm),
    ]
    with plot_context("adverse_events"):
        fig = _events_figure(outcomes)
    blocks.append(
        FigureBlock(
            writer.save(fig, "adverse_events"),
            "Share of transplanted patients with at least one adverse event, by category "
            f"and phase (early: day 0 to {outcomes.early_days}), with exact 95% intervals.",
        )
    )
    blocks.append(_events_table(outcomes))
    if len(outcomes.excluded_adverse_events):
        blocks.append(
            Notes(
                "Adverse events not counted",
                (
                    f"{len(outcomes.excluded_adverse_events)} adverse event(s) could not be "
                    "placed relative to reinfusion (see transplant_outcomes()."
                    "excluded_adverse_events).",
                ),
                tone="warning",
            )
        )
    return SectionContent("transplant", title, tuple(blocks))
