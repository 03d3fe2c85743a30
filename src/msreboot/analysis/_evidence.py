"""The cohort beside the published evidence: transplant-related mortality against the pooled
studies, and the published survival landmarks beside the cohort's estimate of the same
definition at the same year."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints import EndpointResults, TransplantMortality, estimate_endpoints
from msreboot.evidence import (
    DATASET_VERSION,
    CohortEstimate,
    EvidenceComparison,
    EvidenceError,
    compare_with_evidence,
    endpoint_presets,
    load_outcomes,
    load_studies,
    study_label,
)

__all__ = [
    "EvidenceBeside",
    "PublishedLandmark",
    "evidence_citations",
    "published_landmarks",
    "set_beside_evidence",
]


_OUTCOME_LABELS = {
    "efs": "EFS",
    "pfs": "PFS",
    "rfs": "RFS",
    "mri_activity_free": "MRI activity-free",
    "ms_activity_free": "activity-free",
}


@dataclass(frozen=True)
class PublishedLandmark:
    """A published survival landmark beside the cohort's estimate under the same preset.

    ``published*`` are the study's value and reported interval (``nan`` when none) at
    ``year``; ``cohort*`` the cohort's Kaplan-Meier estimate with its interval at the
    preset's level (``nan`` beyond the cohort's follow-up); ``at_risk`` the cohort's
    patients at risk then.
    """

    label: str
    preset: str
    year: float
    published: float
    published_low: float
    published_high: float
    published_level: float
    cohort: float
    cohort_low: float
    cohort_high: float
    cohort_level: float
    at_risk: int


def published_landmarks(cohort: Cohort) -> tuple[list[PublishedLandmark], EndpointResults | None]:
    """Every published survival landmark with a matching preset, beside the cohort's
    estimate of that preset at the same year (``nan`` beyond the cohort's follow-up)."""
    outcomes = load_outcomes()
    studies = load_studies()
    presets_of = endpoint_presets()
    keys = list(zip(outcomes["study_id"], outcomes["outcome"], strict=True))
    rows = outcomes[
        np.array([k in presets_of for k in keys], dtype=bool)
        & (outcomes["effect_type"] == "survival")
        & outcomes["timepoint_years"].notna()
    ]
    if rows.empty:
        return [], None
    pairs = zip(rows["study_id"], rows["outcome"], strict=True)
    presets = sorted({presets_of[pair] for pair in pairs})
    years = sorted({float(t) for t in rows["timepoint_years"]})
    results = estimate_endpoints(cohort, presets, times_years=years)
    found = []
    for row in rows.to_dict("records"):
        preset = presets_of[(row["study_id"], row["outcome"])]
        study = studies[studies["study_id"] == row["study_id"]].iloc[0]
        table = results[preset].landmarks.set_index("time_years")
        year = float(row["timepoint_years"])
        mine = table.loc[year]
        level = float(row["ci_level"]) if pd.notna(row.get("ci_level")) else np.nan
        found.append(
            PublishedLandmark(
                f"{study_label(study)}: {_OUTCOME_LABELS.get(row['outcome'], row['outcome'])}",
                preset,
                year,
                float(row["estimate"]),
                float(row["ci_low"]) if pd.notna(row["ci_low"]) else np.nan,
                float(row["ci_high"]) if pd.notna(row["ci_high"]) else np.nan,
                level,
                float(mine["estimate"]),
                float(mine["ci_low"]),
                float(mine["ci_high"]),
                results[preset].definition.conf_level,
                int(mine["n_at_risk"]),
            )
        )
    found.sort(key=lambda r: (r.preset, r.year))
    return found, results


def conditioning_intensity(cohort: Cohort) -> str:
    ahsct = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
    classes = set(ahsct["conditioning_intensity"].dropna())
    return classes.pop() if len(classes) == 1 else "mixed"


@dataclass(frozen=True, eq=False)
class EvidenceBeside:
    """A cohort set beside the published evidence.

    Attributes
    ----------
    trm
        The cohort's transplant-related mortality against the pooled published studies by
        conditioning intensity (``None`` without AHSCT courses or when pooling failed; the
        reason is in ``notes``).
    intensity
        The cohort's conditioning intensity class (``"mixed"`` when several).
    landmarks
        Every published survival landmark with a matching preset, beside the cohort's
        estimate.
    notes
        Warnings of the pooling and why a part is missing.
    """

    trm: EvidenceComparison | None
    intensity: str
    landmarks: tuple[PublishedLandmark, ...]
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The published landmarks beside the cohort's estimates, one row each."""
        return pd.DataFrame([vars(r) for r in self.landmarks])

    def summary(self) -> str:
        """The TRM comparison and the landmarks, as text."""
        lines = ["The cohort beside the published evidence"]
        if self.trm is not None:
            z, p = self.trm.difference()
            lines.append(f"  TRM against the pooled studies: z = {z:.2f}, p = {p:.3g}")
        for r in self.landmarks:
            lines.append(
                f"  {r.label} at {r.year:g} y: published {100 * r.published:.1f}%, "
                f"this cohort {100 * r.cohort:.1f}%"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def set_beside_evidence(cohort: Cohort, trm: TransplantMortality | None) -> EvidenceBeside:
    """Set a cohort's transplant-related mortality and survival landmarks beside the
    published studies (``trm``: the cohort's TRM; ``None`` when it has no AHSCT course)."""
    notes: list[str] = []
    comparison: EvidenceComparison | None = None
    intensity = conditioning_intensity(cohort)
    landmarks: list[PublishedLandmark] = []
    if trm is None:
        notes.append("Transplant-related mortality: the cohort has no AHSCT course.")
        return EvidenceBeside(None, intensity, (), tuple(notes))
    mine = CohortEstimate.from_events(
        trm.deaths_within_window,
        trm.n_transplanted,
        outcome="trm",
        label="This cohort",
        definition=f"death from any cause within {trm.window_days} days of AHSCT",
        subgroups={"intensity": intensity},
        # the published rows of the same definition only (no mixed pool in the report)
        definition_id="trm_100d" if trm.window_days == 100 else "",
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            # pooling warns (TruncatedTau2Warning) when tau^2 is truncated at 0; the
            # message is kept as a note instead of interrupting the analysis
            warnings.simplefilter("always")
            comparison = compare_with_evidence(mine, by="intensity")
        notes += [str(w.message) for w in caught]
    except EvidenceError as exc:
        notes.append(f"Transplant-related mortality: {exc}")
    try:
        landmarks, _ = published_landmarks(cohort)
    except ValueError as exc:
        notes.append(f"Survival landmarks: {exc}")
    return EvidenceBeside(comparison, intensity, tuple(landmarks), tuple(dict.fromkeys(notes)))


def evidence_citations() -> tuple[str, ...]:
    """The references of the published studies the cohort is set beside, and the dataset
    version."""
    studies = load_studies().drop_duplicates("study_id")
    wanted = {s for s, _ in endpoint_presets()} | {
        "burt2019_mist",
        "sormani2017_meta",
    }
    lines = []
    for row in studies[studies["study_id"].isin(wanted)].to_dict("records"):
        ident = row.get("doi") or row.get("registry_id") or ""
        ident_text = f" doi:{ident}" if str(ident).startswith("10.") else f" {ident}"
        year = int(row["year"]) if row.get("year") == row.get("year") else ""
        lines.append(
            f"{row['authors']} {row['journal']} {year}.{ident_text if ident else ''}".strip()
        )
    lines.append(f"Evidence dataset version {DATASET_VERSION}.")
    return tuple(lines)
