"""Adverse events of an AHSCT course in phases around reinfusion, and their counts.

Each event is placed by onset in one phase (``pre_reinfusion``, ``early``, ``late``; or
excluded, with the reason) and counted per reported outcome (any, grade >= 3, serious, per
category, per grade, viral reactivations by virus, infections by grade) with exact
binomial intervals; :func:`msreboot.endpoints.transplant_outcomes` reports the tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from msreboot.data import AE_CATEGORIES, Cohort, days_between
from msreboot.stats import exact_binomial_ci

__all__ = [
    "COMMON_VIRUSES",
    "NAMED_CATEGORIES",
    "PHASES",
    "Mask",
    "Phase",
    "count_events",
    "excluded_events",
    "outcome_masks",
    "phased_events",
]

Phase = Literal["pre_reinfusion", "early", "late", "post_reinfusion"]
PHASES: tuple[Phase, ...] = ("pre_reinfusion", "early", "late", "post_reinfusion")
"""Adverse-event phases; ``post_reinfusion`` is ``early`` and ``late`` together."""

#: Categories always shown (with zeros) because AHSCT reports name them.
NAMED_CATEGORIES = (
    "infection",
    "febrile_neutropenia",
    "viral_reactivation",
    "secondary_autoimmunity",
)
#: Viruses always shown among reactivations.
COMMON_VIRUSES = ("EBV", "CMV", "VZV")

_EXCLUDED = {
    "no_course": "patient without an AHSCT course",
    "no_course_start": "before day 0, no mobilisation, conditioning or admission date recorded",
    "before_course": "before the AHSCT course began (mobilisation, conditioning or admission)",
}


def phased_events(
    cohort: Cohort, day0: pd.Series[Any], course_start: pd.Series[float], early_days: int
) -> pd.DataFrame:
    """Adverse events with ``day`` (from day 0) and ``phase`` (or an exclusion reason)."""
    ae = cohort.adverse_events[
        ["patient_id", "onset_date", "category", "grade", "pathogen", "serious"]
    ]
    ae = ae.merge(day0.rename("day0").reset_index(), on="patient_id", how="left")
    day = days_between(ae["onset_date"], ae["day0"])
    start = ae["patient_id"].map(course_start).astype("float64")
    phase = np.select(
        [
            day.isna().to_numpy(),
            (day > early_days).to_numpy(),
            (day >= 0).to_numpy(),
            start.isna().to_numpy(),
            (day >= start).to_numpy(),
        ],
        ["no_course", "late", "early", "no_course_start", "pre_reinfusion"],
        default="before_course",
    )
    pathogen = ae["pathogen"].astype("string").str.strip().str.upper()
    return pd.DataFrame(
        {
            "patient_id": ae["patient_id"].to_numpy(dtype=object),
            "day": day.to_numpy(dtype=float),
            "phase": phase,
            "category": ae["category"].to_numpy(dtype=object),
            "grade": ae["grade"].astype("float64").to_numpy(),
            "pathogen": pathogen.fillna("unspecified").replace("", "unspecified").to_numpy(),
            "serious": ae["serious"].fillna(False).to_numpy(dtype=bool),
        }
    )


Mask: TypeAlias = np.ndarray[Any, np.dtype[np.bool_]]

_PHASE_MEMBERS: dict[Phase, tuple[str, ...]] = {
    "pre_reinfusion": ("pre_reinfusion",),
    "early": ("early",),
    "late": ("late",),
    "post_reinfusion": ("early", "late"),
}


def count_events(
    events: pd.DataFrame,
    outcomes: Sequence[tuple[str, Mask]],
    n: int,
    n_followed: dict[Phase, int],
    conf_level: float,
) -> pd.DataFrame:
    """Events and patients with at least one, per outcome (a row mask) and phase."""
    rows = []
    grade3 = events["grade"].to_numpy() >= 3
    in_phase = {ph: events["phase"].isin(_PHASE_MEMBERS[ph]).to_numpy() for ph in PHASES}
    for outcome, mask in outcomes:
        for phase in PHASES:
            sel = mask & in_phase[phase]
            patients = int(events.loc[sel, "patient_id"].nunique())
            lo, hi = exact_binomial_ci(patients, n, conf_level)
            rows.append(
                {
                    "outcome": outcome,
                    "phase": phase,
                    "events": int(sel.sum()),
                    "patients": patients,
                    "n": n,
                    "n_followed": n_followed[phase],
                    "proportion": patients / n,
                    "ci_low": lo,
                    "ci_high": hi,
                    "grade_3_plus_events": int((sel & grade3).sum()),
                    "grade_3_plus_patients": int(events.loc[sel & grade3, "patient_id"].nunique()),
                }
            )
    return pd.DataFrame(rows)


def outcome_masks(events: pd.DataFrame) -> dict[str, list[tuple[str, Mask]]]:
    """Row masks of every reported outcome, by table."""
    counted = events["phase"].isin(PHASES).to_numpy()
    category = events["category"].to_numpy()
    grade = events["grade"].to_numpy()
    present = set(category[counted].tolist())
    categories = [c for c in AE_CATEGORIES if c in NAMED_CATEGORIES or c in present]

    def by_grade(rows: Mask) -> list[tuple[str, Mask]]:
        out = [(f"grade {g}", rows & (grade == g)) for g in range(1, 6)]
        if np.isnan(grade[rows & counted]).any():
            out.append(("grade missing", rows & np.isnan(grade)))
        return out

    viral = category == "viral_reactivation"
    pathogen = events["pathogen"].to_numpy()
    seen = set(pathogen[viral & counted].tolist())
    others = sorted(seen - set(COMMON_VIRUSES) - {"unspecified"})
    viruses = [*COMMON_VIRUSES, *others, *(["unspecified"] if "unspecified" in seen else [])]
    infection = category == "infection"
    return {
        "overall": [
            ("any", np.ones(len(events), dtype=bool)),
            ("grade >= 3", grade >= 3),
            ("serious", events["serious"].to_numpy(dtype=bool)),
        ],
        "category": [(c, category == c) for c in categories],
        "grade": by_grade(np.ones(len(events), dtype=bool)),
        "viral": [(f"viral_reactivation: {v}", viral & (pathogen == v)) for v in viruses],
        "infection": [
            *((f"infection: {label}", mask) for label, mask in by_grade(infection)),
            ("infection: grade >= 3", infection & (grade >= 3)),
        ],
    }


def excluded_events(events: pd.DataFrame) -> pd.DataFrame:
    """Adverse events counted in no phase, by reason (``reason``, ``events``)."""
    return (
        events.loc[~events["phase"].isin(PHASES), "phase"]
        .map(_EXCLUDED)
        .value_counts(sort=False)
        .rename_axis("reason")
        .reset_index(name="events")
    )
