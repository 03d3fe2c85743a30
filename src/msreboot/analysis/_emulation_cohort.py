"""The population of an emulated trial: candidate time zeros of each strategy, eligibility
and covariates at time zero, and the day each entry deviates from its strategy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.analysis._emulation_spec import EmulationSpec, StrategySpec
from msreboot.data import DAYS_PER_YEAR, Cohort, days_between
from msreboot.endpoints import baseline_covariates

__all__ = ["TrialPopulation", "trial_population"]


@dataclass(frozen=True, eq=False)
class TrialPopulation:
    """The entries of an emulated trial and who was left out on the way.

    Attributes
    ----------
    entries
        One row per entry (``entry_id``): ``patient_id``, ``arm``, ``treated``,
        ``anchor_date`` (time zero), ``entry`` (1 for a patient's first entry, 2...),
        ``switch_days`` (days from time zero to the first deviation from the strategy;
        ``nan``: none), ``end_days`` (last contact or death) and every covariate of
        :data:`EMULATION_COVARIATES` that could be computed.
    flow
        One row per step and arm: ``step``, ``arm``, ``patients``, ``entries``.
    """

    entries: pd.DataFrame
    flow: pd.DataFrame


def _starts(cohort: Cohort, strategy: StrategySpec) -> pd.DataFrame:
    tr = cohort.treatments
    rows = tr[tr["kind"] == strategy.kind]
    if strategy.kind == "dmt":
        drugs = strategy.drug_names()
        if drugs:
            names = rows["drug"].astype("string").str.lower() if "drug" in rows else None
            rows = (
                rows[names.isin(drugs).fillna(False).to_numpy(dtype=bool)]
                if names is not None
                else rows.iloc[:0]
            )
    elif strategy.regimens:
        wanted = {r.lower() for r in strategy.regimens}
        hit = np.zeros(len(rows), dtype=bool)
        for column in ("conditioning_regimen", "protocol"):
            if column in rows:
                hit |= (
                    rows[column]
                    .astype("string")
                    .str.lower()
                    .isin(wanted)
                    .fillna(False)
                    .to_numpy(dtype=bool)
                )
        rows = rows[hit]
    keep = ["patient_id", "start_date"] + [c for c in ("end_date", "drug") if c in rows]
    out = rows[keep].dropna(subset=["start_date"]).sort_values(["patient_id", "start_date"])
    if strategy.kind == "ahsct":  # the first course only
        out = out.groupby("patient_id", sort=False).head(1)
    return out.reset_index(drop=True)


def _window_counts(
    cohort: Cohort, anchor: pd.DataFrame, table: str, column: str, days: float
) -> pd.Series:
    """Rows of ``table`` per anchor row dated in the ``days`` before time zero (by row)."""
    frame = getattr(cohort, table)
    if table == "mri":
        active = frame["gd_lesions"].fillna(0).gt(0) | frame["new_t2_lesions"].fillna(0).gt(0)
        frame = frame[active.to_numpy(dtype=bool)]
    merged = (
        anchor[["patient_id", "anchor_date"]]
        .reset_index()
        .merge(frame[["patient_id", column]], on="patient_id")
    )
    lag = -days_between(merged[column], merged["anchor_date"])
    hit = merged[((lag > 0) & (lag <= days)).to_numpy(dtype=bool)]
    return hit.groupby("index").size().reindex(anchor.index, fill_value=0)


def _covariates(cohort: Cohort, anchor: pd.DataFrame, spec: EmulationSpec) -> pd.DataFrame:
    """Covariates at time zero for anchor rows with unique patients."""
    base = baseline_covariates(cohort, anchor=anchor[["patient_id", "anchor_date"]])
    base["patient_id"] = base["patient_id"].astype(object)
    out = anchor.merge(base, on="patient_id", how="left")
    out.index = anchor.index
    activity_days = spec.eligibility.activity_years * DAYS_PER_YEAR
    out["relapses_prior_2_years"] = _window_counts(
        cohort, out, "relapses", "onset_date", 2 * DAYS_PER_YEAR
    )
    out["relapses_window"] = _window_counts(cohort, out, "relapses", "onset_date", activity_days)
    out["mri_active_prior_year"] = _window_counts(cohort, out, "mri", "date", DAYS_PER_YEAR).gt(0)
    out["mri_active_window"] = _window_counts(cohort, out, "mri", "date", activity_days).gt(0)
    dmts = cohort.treatments[cohort.treatments["kind"] == "dmt"]
    prior = (
        out[["patient_id", "anchor_date"]]
        .reset_index()
        .merge(
            dmts[["patient_id", "start_date"] + (["drug"] if "drug" in dmts else [])],
            on="patient_id",
        )
    )
    prior = prior[
        (days_between(prior["start_date"], prior["anchor_date"]) < 0).to_numpy(dtype=bool)
    ]
    counted = prior.groupby("index")["start_date"].size().reindex(out.index, fill_value=0)
    recorded = pd.to_numeric(out["prior_dmt_count"], errors="coerce")
    out["prior_dmt_count"] = np.fmax(recorded.to_numpy(dtype=float), counted.to_numpy(dtype=float))
    if "drug" in prior:
        last = prior.sort_values("start_date").groupby("index")["drug"].last()
        out["last_dmt"] = last.reindex(out.index).astype(object).where(lambda s: s.notna(), "none")
    patients = cohort.patients.set_index("patient_id")
    for column in ("centre", "country"):
        if column in patients:
            out[column] = patients[column].reindex(out["patient_id"]).to_numpy()
    if cohort.time_unit == "date":
        out["calendar_year"] = pd.DatetimeIndex(out["anchor_date"]).year.astype(float)
    return out


def _eligible(frame: pd.DataFrame, spec: EmulationSpec) -> np.ndarray:
    e = spec.eligibility
    ok = np.ones(len(frame), dtype=bool)

    def within(column: str, low: float | None, high: float | None) -> None:
        nonlocal ok
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        if low is not None:
            ok &= values >= low
        if high is not None:
            ok &= values <= high

    if e.phenotypes:
        ok &= frame["phenotype"].isin(e.phenotypes).to_numpy(dtype=bool)
    within("baseline_edss", e.edss_min, e.edss_max)
    within("age_years", e.age_min, e.age_max)
    within("disease_duration_years", None, e.disease_duration_max_years)
    relapses = frame["relapses_window"].to_numpy(dtype=float)
    mri = frame["mri_active_window"].to_numpy(dtype=bool)
    ok &= relapses >= e.min_relapses
    if e.require_mri_activity:
        ok &= mri
    if e.require_relapse_or_mri_activity:
        ok &= (relapses > 0) | mri
    if e.min_prior_dmts:
        ok &= frame["prior_dmt_count"].to_numpy(dtype=float) >= e.min_prior_dmts
    return ok


def _deviation_days(cohort: Cohort, entries: pd.DataFrame, grace_days: int) -> pd.Series:
    """Days from time zero to the first deviation from the entry's strategy: for AHSCT, any
    DMT started after day 0; for a DMT, its stop (plus the grace period), another DMT
    started, or AHSCT."""
    tr = cohort.treatments[["patient_id", "kind", "start_date"]]
    merged = (
        entries[["patient_id", "anchor_date", "treated"]].reset_index().merge(tr, on="patient_id")
    )
    after = days_between(merged["start_date"], merged["anchor_date"])
    switch = (after > 0) & (
        merged["treated"].to_numpy(dtype=bool) & (merged["kind"] == "dmt").to_numpy(dtype=bool)
        | ~merged["treated"].to_numpy(dtype=bool)
        & merged["kind"].isin(["dmt", "ahsct", "msc"]).to_numpy(dtype=bool)
    )
    first = (
        after[switch.to_numpy(dtype=bool)]
        .groupby(merged["entry_id"][switch.to_numpy(dtype=bool)])
        .min()
    )
    out = first.reindex(entries.index).astype(float)
    if "end_date" in entries:
        stop = days_between(entries["end_date"], entries["anchor_date"]) + grace_days
        stop = stop.where(~entries["treated"].to_numpy(dtype=bool))
        out = pd.Series(
            np.fmin(out.to_numpy(dtype=float), stop.to_numpy(dtype=float)), index=entries.index
        )
    return out


def _end_days(cohort: Cohort, entries: pd.DataFrame) -> pd.Series:
    from msreboot.endpoints import last_contact

    contact = last_contact(cohort)
    end = contact.reindex(entries["patient_id"].to_numpy())
    return days_between(
        pd.Series(end.to_numpy(), dtype=end.dtype, index=entries.index),
        pd.Series(
            entries["anchor_date"].to_numpy(),
            dtype=entries["anchor_date"].dtype,
            index=entries.index,
        ),
    )


def trial_population(cohort: Cohort, spec: EmulationSpec) -> TrialPopulation:
    """The entries of the emulated trial ``spec`` in ``cohort`` (see :class:`TrialPopulation`).

    A patient's candidate times are their first AHSCT course of the treated strategy and
    every start of a comparator DMT. Eligibility and covariates are judged at each. Under
    ``time_zero = "first"`` a patient enters once, at the earliest eligible candidate (AHSCT
    on a tie); under ``"all"`` every eligible comparator start enters as well as the AHSCT.
    Candidates after an AHSCT course are never comparator entries.
    """
    candidates = []
    for strategy, treated in ((spec.treated, True), (spec.control, False)):
        starts = _starts(cohort, strategy).rename(columns={"start_date": "anchor_date"})
        starts["treated"] = treated
        starts["arm"] = strategy.name
        candidates.append(starts)
    every = pd.concat(candidates, ignore_index=True)
    first_ahsct = (
        cohort.treatments[cohort.treatments["kind"] == "ahsct"]
        .groupby("patient_id")["start_date"]
        .min()
    )
    prior = first_ahsct.reindex(every["patient_id"].to_numpy())
    before = days_between(
        pd.Series(prior.to_numpy(), dtype=prior.dtype),
        pd.Series(every["anchor_date"].to_numpy(), dtype=every["anchor_date"].dtype),
    ).to_numpy(dtype=float)
    every = every[~(~every["treated"].to_numpy(dtype=bool) & (before <= 0))].reset_index(drop=True)
    flow = [_flow("candidate time zeros", every)]
    every = every.sort_values(["patient_id", "anchor_date"], kind="stable").reset_index(drop=True)
    every["entry"] = every.groupby(["patient_id", "treated"]).cumcount() + 1
    parts = []
    for _, group in every.groupby(["treated", "entry"], sort=True):
        parts.append(_covariates(cohort, group, spec))
    frame = (
        pd.concat(parts).sort_index() if parts else every.assign(phenotype=pd.Series(dtype=object))
    )
    if not len(frame):
        raise ValueError(
            f"the cohort must hold courses of both strategies ({spec.treated.name}: "
            f"{spec.treated.kind}; {spec.control.name}: {spec.control.kind} "
            f"{sorted(spec.control.drug_names()) or 'any drug'}); found none."
        )
    frame = frame[_eligible(frame, spec)]
    flow.append(_flow("eligible at time zero", frame))
    if spec.time_zero == "first":
        order = frame.assign(_t=~frame["treated"]).sort_values(
            ["patient_id", "anchor_date", "_t"], kind="stable"
        )
        frame = order.groupby("patient_id", sort=False).head(1).drop(columns="_t")
        flow.append(_flow("first eligible time", frame))
    frame = frame.sort_values(
        ["treated", "patient_id", "anchor_date"], ascending=[False, True, True], kind="stable"
    )
    frame = frame.reset_index(drop=True).rename_axis("entry_id")
    frame["switch_days"] = _deviation_days(cohort, frame, spec.follow_up.grace_days)
    frame["end_days"] = _end_days(cohort, frame)
    return TrialPopulation(frame, pd.concat(flow, ignore_index=True))


def _flow(step: str, frame: pd.DataFrame) -> pd.DataFrame:
    rows = [
        {"step": step, "arm": arm, "patients": int(g["patient_id"].nunique()), "entries": len(g)}
        for arm, g in frame.groupby("arm", sort=False)
    ]
    return pd.DataFrame(rows, columns=["step", "arm", "patients", "entries"])
