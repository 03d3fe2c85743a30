"""Who is in a cohort: treatment groups, index dates, Table 1, follow-up and completeness."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, SCHEMA, Cohort, days_between
from msreboot.endpoints import baseline_covariates, last_contact

__all__ = [
    "GROUP_ORDER",
    "TABLE_ONE_ROWS",
    "CohortDescription",
    "describe_groups",
    "index_dates",
    "last_contact",
    "tableone_frame",
    "treatment_groups",
]

GROUP_ORDER = ("AHSCT", "MSC", "DMT only", "No recorded treatment")
"""Treatment groups, in the order tables show them."""

TABLE_ONE_ROWS = {  # covariate column -> (label, categorical)
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
"""The characteristics of Table 1: covariate column -> (label, categorical)."""


@dataclass(frozen=True, eq=False)
class CohortDescription:
    """A cohort described by treatment group.

    Attributes
    ----------
    groups
        Each patient's treatment group (:data:`GROUP_ORDER`), by ``patient_id``.
    index_dates
        Each patient's index date (first AHSCT or MSC course of their group, else first
        EDSS visit; missing when there is neither), by ``patient_id``.
    table_one
        Table 1 as tableone builds it: a (characteristic, level) row index and the columns
        ``Overall``, each group present and ``Missing``.
    group_sizes
        Patients per column of ``table_one`` (``Overall`` and each group).
    n_without_index
        Patients left out of Table 1 for want of an index date.
    follow_up
        One row per group (``All patients`` first): ``group``, ``patients``, ``median``,
        ``q1``, ``q3``, ``longest`` and ``patient_years`` of follow-up after the index date
        (years; missing when nobody in the group has follow-up).
    completeness
        One row per table: ``table``, ``rows``, ``patients``, ``share_of_patients``,
        ``never_filled`` (columns without a value) and ``partly_missing`` (column -> share
        of rows without a value).
    records
        Rows per kind of record (EDSS assessments, relapses, MRI scans, adverse events,
        deaths).
    warnings
        The validation warnings, one line each.
    """

    groups: pd.Series
    index_dates: pd.Series
    table_one: pd.DataFrame
    group_sizes: dict[str, int]
    n_without_index: int
    follow_up: pd.DataFrame
    completeness: pd.DataFrame
    records: dict[str, int]
    warnings: tuple[str, ...]
    n_patients: int
    time_unit: str

    def group_counts(self) -> dict[str, int]:
        """Patients per treatment group, in :data:`GROUP_ORDER`."""
        counts = self.groups.value_counts()
        return {g: int(counts[g]) for g in GROUP_ORDER if g in counts.index}

    def to_frame(self) -> pd.DataFrame:
        """Table 1 as a tidy frame (one row per characteristic and level)."""
        return self.table_one.reset_index()

    def summary(self) -> str:
        """Patients by group and follow-up, as text."""
        parts = [f"{n} {g}" for g, n in self.group_counts().items()]
        lines = [f"{self.n_patients} patients ({', '.join(parts)})"]
        for row in self.follow_up.to_dict("records"):
            if pd.notna(row["median"]):
                lines.append(
                    f"  {row['group']}: median follow-up {row['median']:.1f} years "
                    f"({row['patient_years']:.1f} patient-years)"
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>" + self.table_one.to_html()


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


def _table_one(
    cohort: Cohort, groups: pd.Series, index: pd.Series, contact: pd.Series
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """Table 1 (tableone), the patients per column, and the number of patients left out for
    want of an index date."""
    known = index.notna()
    anchor = pd.DataFrame(
        {"patient_id": index.index[known.to_numpy()], "anchor_date": index[known].to_numpy()}
    )
    covariates = baseline_covariates(cohort, anchor=anchor).set_index("patient_id")
    covariates.index = covariates.index.astype(object)
    follow = days_between(contact.reindex(covariates.index), index.reindex(covariates.index))
    data = pd.DataFrame(index=covariates.index)
    for column, (_, categorical) in TABLE_ONE_ROWS.items():
        if column == "follow_up_years":
            data[column] = (follow / DAYS_PER_YEAR).clip(lower=0).to_numpy()
        elif categorical:
            values = covariates[column].astype(object)
            data[column] = values.where(values.notna(), "not recorded")
        else:
            data[column] = pd.to_numeric(covariates[column], errors="coerce").astype(float)
    data["group"] = groups.reindex(data.index).to_numpy()
    present = [g for g in GROUP_ORDER if (data["group"] == g).any()]
    columns = [c for c in TABLE_ONE_ROWS if TABLE_ONE_ROWS[c][1] or data[c].notna().any()]
    categorical_columns = [c for c in columns if TABLE_ONE_ROWS[c][1]]
    frame = tableone_frame(
        data.reset_index(drop=True),
        columns,
        categorical_columns,
        {c: TABLE_ONE_ROWS[c][0] for c in columns},
        groupby="group" if len(present) > 1 else None,
    )
    order = ["Overall", *[g for g in present if g in frame.columns], "Missing"]
    frame = frame[[c for c in order if c in frame.columns]]
    sizes = {"Overall": len(data)}
    sizes.update({g: int((data["group"] == g).sum()) for g in present})
    return frame, sizes, int((~known).sum())


def tableone_frame(
    data: pd.DataFrame,
    columns: list[str],
    categorical: list[str],
    labels: dict[str, str],
    *,
    groupby: str | None = None,
) -> pd.DataFrame:
    """Tableone's table of ``columns`` of ``data`` (continuous ones as median [Q1, Q3],
    with a ``Missing`` column and ``Overall``; one decimal), its columns flattened to the
    group names."""
    from tableone import TableOne  # type: ignore[import-untyped]

    with warnings.catch_warnings():
        # tableone 0.9 sets cells of its own MultiIndex frame before sorting it; pandas
        # warns about the lookup speed, which does not matter for a table of this size.
        warnings.filterwarnings(
            "ignore", message="indexing past lexsort depth", category=pd.errors.PerformanceWarning
        )
        table = TableOne(
            data,
            columns=columns,
            categorical=categorical,
            nonnormal=[c for c in columns if c not in categorical],
            groupby=groupby,
            missing=True,
            overall=True,
            rename=labels,
            decimals=1,
        ).tableone
    frame: pd.DataFrame = table.copy()
    frame.columns = [c[-1] if isinstance(c, tuple) else str(c) for c in frame.columns]
    return frame


def _follow_up(groups: pd.Series, index: pd.Series, contact: pd.Series) -> pd.DataFrame:
    years = days_between(contact.reindex(groups.index), index) / DAYS_PER_YEAR
    years = years.clip(lower=0)
    rows = []
    for label in ("All patients", *GROUP_ORDER):
        keep = np.ones(len(groups), bool) if label == "All patients" else groups == label
        if label != "All patients" and not np.asarray(keep).any():
            continue
        part = years[np.asarray(keep, dtype=bool)].dropna()
        row: dict[str, object] = {"group": label, "patients": int(np.sum(keep))}
        if part.empty:
            row |= {"median": np.nan, "q1": np.nan, "q3": np.nan, "longest": np.nan}
            row["patient_years"] = 0.0
        else:
            q1, med, q3 = np.percentile(part.to_numpy(dtype=float), [25, 50, 75])
            row |= {"median": med, "q1": q1, "q3": q3, "longest": float(part.max())}
            row["patient_years"] = float(part.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _completeness(cohort: Cohort) -> pd.DataFrame:
    n = max(cohort.n_patients, 1)
    rows = []
    for name, frame in cohort.tables.items():
        spec = SCHEMA[name]
        empty = [c.name for c in spec.columns if c.name in frame and frame[c.name].isna().all()]
        partly = {
            c.name: float(frame[c.name].isna().mean())
            for c in spec.columns
            if c.name in frame and len(frame) and 0 < frame[c.name].isna().mean() < 1
        }
        patients = int(frame["patient_id"].nunique()) if len(frame) else 0
        rows.append(
            {
                "table": name,
                "rows": len(frame),
                "patients": patients,
                "share_of_patients": patients / n,
                "never_filled": tuple(empty),
                "partly_missing": partly,
            }
        )
    return pd.DataFrame(rows)


def describe_groups(cohort: Cohort) -> CohortDescription:
    """Describe a cohort by treatment group: Table 1, follow-up, completeness, warnings.

    Parameters
    ----------
    cohort
        A validated cohort.

    Returns
    -------
    CohortDescription

    Notes
    -----
    The index date is the first AHSCT (day 0 = reinfusion) or the first MSC course; for
    patients with neither, the first EDSS visit. Characteristics are those on the index
    date (EDSS: the last assessment on or before it; relapses: onsets in the 365 days
    before it). Follow-up runs from the index date to the last record of any kind.
    Continuous variables are summarised as median [Q1, Q3], categorical ones as n (%), by
    the tableone package.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> description = describe_groups(load_example())
    >>> description.group_counts()
    {'AHSCT': 180, 'DMT only': 120}
    """
    groups = treatment_groups(cohort)
    index = index_dates(cohort, groups)
    contact = last_contact(cohort)
    table, sizes, no_index = _table_one(cohort, groups, index, contact)
    return CohortDescription(
        groups=groups,
        index_dates=index,
        table_one=table,
        group_sizes=sizes,
        n_without_index=no_index,
        follow_up=_follow_up(groups, index, contact),
        completeness=_completeness(cohort),
        records={
            "EDSS assessments": len(cohort.edss),
            "relapses": len(cohort.relapses),
            "MRI scans": len(cohort.mri),
            "adverse events": len(cohort.adverse_events),
            "deaths": len(cohort.deaths),
        },
        warnings=tuple(p.describe() for p in cohort.warnings),
        n_patients=cohort.n_patients,
        time_unit=cohort.time_unit,
    )
