"""The report's cohort description: Table 1 by treatment group, follow-up, completeness and
the validation warnings."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, SCHEMA, Cohort, days_between
from msreboot.endpoints import baseline_covariates
from msreboot.report._content import (
    Notes,
    Paragraph,
    SectionContent,
    TableBlock,
    fmt_number,
)

__all__ = ["GROUP_ORDER", "cohort_section", "index_dates", "last_contact", "treatment_groups"]

GROUP_ORDER = ("AHSCT", "MSC", "DMT only", "No recorded treatment")
"""Treatment groups, in the order tables show them."""

_TABLE1 = {  # covariate column -> (label, categorical)
    "age_years": ("Age at index, years", False),
    "sex": ("Sex", True),
    "phenotype": ("Phenotype", True),
    "disease_duration_years": ("Disease duration at index, years", False),
    "baseline_edss": ("EDSS at index", False),
    "relapses_prior_year": ("Relapses in the year before index", False),
    "prior_dmt_count": ("Prior DMTs", False),
    "hct_ci": ("HCT-CI score", False),
    "follow_up_years": ("Follow-up after index, years", False),
}


def treatment_groups(cohort: Cohort) -> pd.Series:
    """Each patient's treatment group, by ``patient_id``: AHSCT when the patient had a
    transplant, else MSC when they had MSC, else DMT only, else no recorded treatment."""
    tr = cohort.treatments
    kinds: dict[object, set[str]] = {}
    for pid, kind in zip(tr["patient_id"], tr["kind"], strict=True):
        if isinstance(kind, str):
            kinds.setdefault(pid, set()).add(kind)
    ids = cohort.patients["patient_id"]
    labels = []
    for pid in ids:
        had = kinds.get(pid, set())
        if "ahsct" in had:
            labels.append("AHSCT")
        elif "msc" in had:
            labels.append("MSC")
        elif "dmt" in had:
            labels.append("DMT only")
        else:
            labels.append("No recorded treatment")
    return pd.Series(labels, index=pd.Index(ids.to_numpy(dtype=object), name="patient_id"))


def index_dates(cohort: Cohort, groups: pd.Series) -> pd.Series:
    """Each patient's index date: the first AHSCT (reinfusion) or MSC course of their group,
    else their first EDSS visit; missing when there is neither."""
    tr = cohort.treatments
    first_edss = cohort.edss.groupby("patient_id")["date"].min()
    out = pd.Series(first_edss.reindex(groups.index).to_numpy(), index=groups.index)
    for kind, label in (("ahsct", "AHSCT"), ("msc", "MSC")):
        first = tr[tr["kind"] == kind].groupby("patient_id")["start_date"].min()
        mine = groups.index[(groups == label).to_numpy()]
        out.loc[mine] = first.reindex(mine).to_numpy()
    return out


def last_contact(cohort: Cohort) -> pd.Series:
    """Each patient's last record of any kind (EDSS, relapse, MRI, adverse event, death,
    treatment start), by ``patient_id``."""
    parts = [
        cohort.edss[["patient_id", "date"]],
        cohort.relapses[["patient_id", "onset_date"]].rename(columns={"onset_date": "date"}),
        cohort.mri[["patient_id", "date"]],
        cohort.adverse_events[["patient_id", "onset_date"]].rename(columns={"onset_date": "date"}),
        cohort.deaths[["patient_id", "date"]],
        cohort.treatments[["patient_id", "start_date"]].rename(columns={"start_date": "date"}),
    ]
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.Series(dtype="float64")
    every = pd.concat(frames, ignore_index=True).dropna(subset=["date"])
    return every.groupby("patient_id")["date"].max()


def _spaced(cell: str) -> str:
    """``3.5 [2.5,4.5]`` as ``3.5 [2.5, 4.5]``."""
    return re.sub(r"\[([^,\]]+),([^\]]+)\]", r"[\1, \2]", cell)


def _table_one(cohort: Cohort, groups: pd.Series, index: pd.Series) -> tuple[TableBlock, int]:
    """Table 1 (tableone) and the number of patients left out for want of an index date."""
    from tableone import TableOne  # type: ignore[import-untyped]

    known = index.notna()
    anchor = pd.DataFrame(
        {"patient_id": index.index[known.to_numpy()], "anchor_date": index[known].to_numpy()}
    )
    covariates = baseline_covariates(cohort, anchor=anchor).set_index("patient_id")
    covariates.index = covariates.index.astype(object)
    follow = days_between(
        last_contact(cohort).reindex(covariates.index), index.reindex(covariates.index)
    )
    data = pd.DataFrame(index=covariates.index)
    for column in _TABLE1:
        if column == "follow_up_years":
            data[column] = (follow / DAYS_PER_YEAR).clip(lower=0).to_numpy()
        elif _TABLE1[column][1]:
            values = covariates[column].astype(object)
            data[column] = values.where(values.notna(), "not recorded")
        else:
            data[column] = pd.to_numeric(covariates[column], errors="coerce").astype(float)
    data["group"] = groups.reindex(data.index).to_numpy()
    present = [g for g in GROUP_ORDER if (data["group"] == g).any()]
    columns = [c for c in _TABLE1 if _TABLE1[c][1] or data[c].notna().any()]
    categorical = [c for c in columns if _TABLE1[c][1]]
    with warnings.catch_warnings():
        # tableone 0.9 sets cells of its own MultiIndex frame before sorting it; pandas
        # warns about the lookup speed, which does not matter for a table of this size.
        warnings.filterwarnings(
            "ignore", message="indexing past lexsort depth", category=pd.errors.PerformanceWarning
        )
        table = TableOne(
            data.reset_index(drop=True),
            columns=columns,
            categorical=categorical,
            nonnormal=[c for c in columns if c not in categorical],
            groupby="group" if len(present) > 1 else None,
            missing=True,
            overall=True,
            rename={c: _TABLE1[c][0] for c in columns},
            decimals=1,
        ).tableone
    frame = table.copy()
    frame.columns = [c[-1] if isinstance(c, tuple) else str(c) for c in frame.columns]
    order = ["Overall", *[g for g in present if g in frame.columns], "Missing"]
    frame = frame[[c for c in order if c in frame.columns]]
    rows: list[tuple[str, ...]] = []
    starts: list[int] = []
    previous = None
    for (variable, level), values in frame.iterrows():
        label = str(variable).replace("median [Q1,Q3]", "median [Q1, Q3]")
        if label != previous:
            starts.append(len(rows))
        shown = label if label != previous else ""
        previous = label
        cells = [_spaced(str(v)) if str(v) not in ("", "nan") else "" for v in values]
        rows.append((shown, str(level), *cells))
    headers = ["Characteristic", ""]
    for column in frame.columns:
        if column in GROUP_ORDER or column == "Overall":
            n = len(data) if column == "Overall" else int((data["group"] == column).sum())
            headers.append(f"{column} (n = {n})")
        else:
            headers.append("Missing")
    block = TableBlock(
        "Table 1. Baseline characteristics by treatment group",
        tuple(headers),
        tuple(rows),
        css_class="table-one",
        group_rows=tuple(starts),
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
    return block, int((~known).sum())


def _follow_up(cohort: Cohort, groups: pd.Series, index: pd.Series) -> TableBlock:
    years = days_between(last_contact(cohort).reindex(groups.index), index) / DAYS_PER_YEAR
    years = years.clip(lower=0)
    rows = []
    for label in ("All patients", *GROUP_ORDER):
        keep = np.ones(len(groups), bool) if label == "All patients" else groups == label
        part = years[np.asarray(keep, dtype=bool)].dropna()
        if label != "All patients" and not np.asarray(keep).any():
            continue
        if part.empty:
            rows.append((label, str(int(np.sum(keep))), "\u2013", "\u2013", "0.0"))
            continue
        q1, med, q3 = np.percentile(part.to_numpy(dtype=float), [25, 50, 75])
        rows.append(
            (
                label,
                str(int(np.sum(keep))),
                f"{med:.1f} [{q1:.1f}, {q3:.1f}]",
                f"{part.max():.1f}",
                f"{part.sum():.1f}",
            )
        )
    return TableBlock(
        "Follow-up after the index date",
        ("Group", "Patients", "Median [Q1, Q3], years", "Longest, years", "Patient-years"),
        tuple(rows),
        notes=("From the index date (Table 1) to the last record of any kind.",),
    )


def _completeness(cohort: Cohort) -> TableBlock:
    n = max(cohort.n_patients, 1)
    rows = []
    for name, frame in cohort.tables.items():
        spec = SCHEMA[name]
        empty = [c.name for c in spec.columns if c.name in frame and frame[c.name].isna().all()]
        partly = [
            f"{c.name} ({100 * frame[c.name].isna().mean():.0f}%)"
            for c in spec.columns
            if c.name in frame and len(frame) and 0 < frame[c.name].isna().mean() < 1
        ]
        patients = int(frame["patient_id"].nunique()) if len(frame) else 0
        rows.append(
            (
                name,
                str(len(frame)),
                f"{patients} ({100 * patients / n:.0f}%)",
                ", ".join(empty) if len(frame) else "(no rows)",
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


def cohort_section(cohort: Cohort) -> SectionContent:
    """Table 1, follow-up, completeness and validation warnings of a cohort."""
    groups = treatment_groups(cohort)
    index = index_dates(cohort, groups)
    counts = groups.value_counts()
    parts = [f"{counts[g]} {g}" for g in GROUP_ORDER if g in counts.index]
    intro = (
        f"{cohort.n_patients} patients ({', '.join(parts)}); "
        f"dates as {'calendar dates' if cohort.time_unit == 'date' else 'days from origin'}."
    )
    table_one, no_index = _table_one(cohort, groups, index)
    blocks: list[Paragraph | TableBlock | Notes] = [table_one]
    if no_index:
        blocks.append(
            Notes(
                "Left out of Table 1",
                (f"{no_index} patient(s) with no treatment course and no EDSS visit.",),
            )
        )
    blocks += [_follow_up(cohort, groups, index), _completeness(cohort)]
    warnings_found = tuple(p.describe() for p in cohort.warnings)
    if warnings_found:
        blocks.append(
            Notes(f"Validation warnings ({len(warnings_found)})", warnings_found, tone="warning")
        )
    else:
        blocks.append(Paragraph("Validation: no errors and no warnings."))
    events = [
        ("EDSS assessments", len(cohort.edss)),
        ("relapses", len(cohort.relapses)),
        ("MRI scans", len(cohort.mri)),
        ("adverse events", len(cohort.adverse_events)),
        ("deaths", len(cohort.deaths)),
    ]
    blocks.insert(
        0,
        Paragraph(
            "Records: " + "; ".join(f"{label} {fmt_number(k, 0)}" for label, k in events) + "."
        ),
    )
    return SectionContent("cohort", "Cohort description", tuple(blocks), intro)
