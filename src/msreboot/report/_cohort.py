"""The report's cohort description: Table 1 by treatment group, follow-up, completeness and
the validation warnings, rendered from a :class:`~msreboot.analysis.CohortDescription`."""

from __future__ import annotations

import re

import pandas as pd

from msreboot.analysis import GROUP_ORDER, CohortDescription, RecordedCharacteristics
from msreboot.report._content import (
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_number,
)

__all__ = ["cohort_section", "tableone_rows"]


def _spaced(cell: str) -> str:
    """``3.5 [2.5,4.5]`` as ``3.5 [2.5, 4.5]``."""
    return re.sub(r"\[([^,\]]+),([^\]]+)\]", r"[\1, \2]", cell)


def tableone_rows(frame: pd.DataFrame) -> tuple[tuple[tuple[str, ...], ...], tuple[int, ...]]:
    """The rows of a tableone table (index ``(characteristic, level)``) as table rows
    ``(characteristic, level, *cells)``, the characteristic shown on its first row only,
    and the first row of each characteristic."""
    rows: list[tuple[str, ...]] = []
    starts: list[int] = []
    previous = None
    for key, values in frame.iterrows():
        variable, level = key if isinstance(key, tuple) else (key, "")
        label = str(variable).replace("median [Q1,Q3]", "median [Q1, Q3]")
        if label != previous:
            starts.append(len(rows))
        shown = label if label != previous else ""
        previous = label
        cells = [_spaced(str(v)) if str(v) not in ("", "nan") else "" for v in values]
        rows.append((shown, str(level), *cells))
    return tuple(rows), tuple(starts)


def _table_one(description: CohortDescription) -> TableBlock:
    """Table 1 as a table block."""
    frame = description.table_one
    rows, starts = tableone_rows(frame)
    headers = ["Characteristic", ""]
    for column in frame.columns:
        if column in GROUP_ORDER or column == "Overall":
            headers.append(f"{column} (n = {description.group_sizes[column]})")
        else:
            headers.append("Missing")
    return TableBlock(
        "Table 1. Baseline characteristics by treatment group",
        tuple(headers),
        rows,
        css_class="table-one",
        group_rows=starts,
        notes=(
            "Index date: the first AHSCT (day 0 = reinfusion) or the first MSC course; for "
            "patients with neither, the first EDSS visit. Characteristics are those on the "
            "index date (EDSS: the last assessment on or before it; relapses: onsets in the "
            "365 days before it). Follow-up runs from the index date to the last record of "
            "any kind.",
            "Continuous variables: median [first quartile, third quartile]; categorical: "
            "n (%). Missing: patients without a value. Built with the tableone package.",
        ),
    )


def _follow_up(description: CohortDescription) -> TableBlock:
    rows = []
    for r in description.follow_up.to_dict("records"):
        if pd.isna(r["median"]):
            rows.append((r["group"], str(r["patients"]), "\u2013", "\u2013", "0.0"))
            continue
        rows.append(
            (
                r["group"],
                str(r["patients"]),
                f"{r['median']:.1f} [{r['q1']:.1f}, {r['q3']:.1f}]",
                f"{r['longest']:.1f}",
                f"{r['patient_years']:.1f}",
            )
        )
    return TableBlock(
        "Follow-up after the index date",
        ("Group", "Patients", "Median [Q1, Q3], years", "Longest, years", "Patient-years"),
        tuple(rows),
        notes=("From the index date (Table 1) to the last record of any kind.",),
    )


def _completeness(description: CohortDescription) -> TableBlock:
    rows = []
    for r in description.completeness.to_dict("records"):
        partly = [f"{c} ({100 * share:.0f}%)" for c, share in r["partly_missing"].items()]
        rows.append(
            (
                r["table"],
                str(r["rows"]),
                f"{r['patients']} ({100 * r['share_of_patients']:.0f}%)",
                ", ".join(r["never_filled"]) if r["rows"] else "(no rows)",
                ", ".join(partly[:8]) + (f", +{len(partly) - 8} more" if len(partly) > 8 else ""),
            )
        )
    return TableBlock(
        "Data completeness by table",
        ("Table", "Rows", "Patients with rows", "Columns never filled", "Columns partly missing"),
        tuple(rows),
        css_class="compact",
        notes=("Partly missing: the share of rows without a value, in brackets.",),
    )


def _recorded(table: pd.DataFrame | None, what: str, n: int) -> TableBlock | None:
    if table is None:
        return None
    rows, starts = tableone_rows(table)
    return TableBlock(
        f"{what} as recorded (n = {n})",
        ("Characteristic", "", what, "Missing"),
        rows,
        css_class="table-one",
        group_rows=starts,
        notes=(f"n (%) of {what.lower()}; not recorded: {what.lower()} without a value.",),
    )


def cohort_section(
    description: CohortDescription, records: RecordedCharacteristics | None = None
) -> SectionContent:
    """Table 1, follow-up, completeness, the patients' oligoclonal bands and SPMS
    conversions and the relapses' severity and steroid treatment (each when recorded) and
    validation warnings of a cohort."""
    parts = [f"{n} {g}" for g, n in description.group_counts().items()]
    unit = "calendar dates" if description.time_unit == "date" else "days from origin"
    intro = f"{description.n_patients} patients ({', '.join(parts)}); dates as {unit}."
    blocks: list[Paragraph | TableBlock | Notes] = [_table_one(description)]
    if description.n_without_index:
        blocks.append(
            Notes(
                "Left out of Table 1",
                (
                    f"{description.n_without_index} patient(s) with no treatment course and "
                    "no EDSS visit.",
                ),
            )
        )
    blocks += [_follow_up(description), _completeness(description)]
    if records is not None:
        for table in (
            _recorded(records.patients, "Patients", records.n_patients),
            _recorded(records.relapses, "Relapses", records.n_relapses),
        ):
            if table is not None:
                blocks.append(table)
    found = description.warnings
    if found:
        blocks.append(Notes(f"Validation warnings ({len(found)})", found, tone="warning"))
    else:
        blocks.append(Paragraph("Validation: no errors and no warnings."))
    counts = description.records.items()
    blocks.insert(
        0,
        Paragraph("Records: " + "; ".join(f"{k} {fmt_number(n, 0)}" for k, n in counts) + "."),
    )
    return SectionContent("cohort", "Cohort description", tuple(blocks), intro)
