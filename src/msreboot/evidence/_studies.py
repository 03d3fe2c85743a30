"""The bundled dataset of published AHSCT, MSC and comparator studies."""

from __future__ import annotations

import re
from collections.abc import Hashable
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.evidence._checks import EvidenceError, FloatArray

__all__ = [
    "DATASET_VERSION",
    "effect_sizes",
    "load_outcomes",
    "load_studies",
    "select_outcomes",
    "study_label",
]

DATASET_VERSION = "2026.11.1"
"""Version of the bundled evidence tables; bumped whenever a row changes."""

_STUDY_NUMERIC = [
    "year",
    "treatment_year_mid",
    "n",
    "share_rrms",
    "age",
    "edss",
    "disease_duration_years",
    "cell_dose_1e6_per_kg",
    "followup_years",
]
_OUTCOME_NUMERIC = [
    "timepoint_years",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "events",
    "n",
    "person_years",
]


def _read(name: str) -> pd.DataFrame:
    path = resources.files("msreboot.evidence").joinpath("data", name)
    with path.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return frame


def load_studies() -> pd.DataFrame:
    """Load the study-arm table: one row per arm of a published study.

    Returns
    -------
    pandas.DataFrame
        Columns (text unless stated; empty string when not reported):

        * ``study_id``, ``arm``: key (unique together); ``therapy`` (ahsct, msc, dmt,
          placebo, none); ``acronym``.
        * Citation: ``authors``, ``journal``, ``year`` (float), ``volume``, ``pages``,
          ``doi``, ``registry_id`` and ``citation_status``: ``verified`` (journal, year,
          volume checked against the publisher or PubMed Central), ``partial`` (some
          fields missing) or ``unverified`` (figure quoted in the project's evidence notes,
          primary source not yet identified).
        * Design: ``design``, ``centres``, ``treatment_years`` (text range) and
          ``treatment_year_mid`` (float, the midpoint, for era meta-regression).
        * Population: ``n`` (float), ``share_rrms`` (fraction), ``age`` / ``age_stat``,
          ``edss`` / ``edss_stat``, ``disease_duration_years`` / ``duration_stat``,
          ``prior_dmts``.
        * Protocol: ``mobilisation``, ``graft_selection``, ``conditioning``, ``intensity``
          (EBMT class as in the cohort schema: high, intermediate_myeloablative,
          intermediate_lymphoablative, low; or mixed), ``route`` and
          ``cell_dose_1e6_per_kg`` (MSC).
        * ``followup_years`` / ``followup_stat``, ``notes``.

    Notes
    -----
    Provenance and the rules for adding rows are in ``evidence/data/README.md``.

    Examples
    --------
    >>> studies = load_studies()
    >>> studies.loc[studies["acronym"] == "HALT-MS", "registry_id"].item()
    'NCT00288626'
    """
    frame = _read("studies.csv")
    for col in _STUDY_NUMERIC:
        frame[col] = pd.to_numeric(frame[col].replace("", np.nan))
    return frame


def load_outcomes(*, with_studies: bool = False) -> pd.DataFrame:
    """Load the outcome table: one row per reported number.

    Parameters
    ----------
    with_studies
        Join the study-arm columns (on ``study_id`` and ``arm``).

    Returns
    -------
    pandas.DataFrame
        Columns (text unless stated; NaN or empty string when not reported):

        * ``outcome_id`` (unique), ``study_id``, ``arm``, ``comparator_arm`` (for
          comparative effects such as a hazard ratio), ``population`` (``all`` or a
          subgroup).
        * ``outcome``: short code (``trm``, ``pfs``, ``efs``, ``rfs``, ``neda``,
          ``progression``, ``relapse``, ``arr``, ``mri_activity_free``,
          ``ms_activity_free``, ``gd_lesions``, ``serious_ae``, ...); ``definition``:
          the definition as published.
        * ``timepoint_years`` (float), ``effect_type`` (``proportion``, ``survival``,
          ``hazard_ratio``, ``rate_ratio``, ``rate``, ``mean``, ``median``, ...).
        * ``estimate``, ``ci_low``, ``ci_high`` and ``ci_level`` (floats; HALT-MS reports
          90% intervals, so ``ci_level`` is 0.90 there), ``events``, ``n``,
          ``person_years`` (floats).
        * ``source`` (the paper the number was read from), ``source_kind`` (``abstract``,
          ``seed article``, ``evidence notes``), ``note``.
        * ``endpoint_preset``: the endpoint preset that reproduces the outcome's
          definition, or an empty string.

    Examples
    --------
    >>> trm = load_outcomes().query("outcome == 'trm' and events == events")
    >>> sorted(trm["study_id"])[:2]
    ['atkins2016_canadian', 'burt2015_northwestern']
    """
    frame = _read("outcomes.csv")
    for col in _OUTCOME_NUMERIC:
        frame[col] = pd.to_numeric(frame[col].replace("", np.nan))
    if with_studies:
        studies = load_studies().drop(columns=["n"]).rename(columns={"notes": "study_notes"})
        frame = frame.merge(studies, on=["study_id", "arm"], how="left", validate="many_to_one")
    return frame


ScaleKind = Literal["logit", "log", "identity"]
_SCALES: dict[str, ScaleKind] = {
    "proportion": "logit",
    "survival": "logit",
    "hazard_ratio": "log",
    "rate_ratio": "log",
    "odds_ratio": "log",
    "risk_ratio": "log",
    "rate": "log",
    "mean_count": "log",
}


def effect_sizes(outcomes: pd.DataFrame) -> tuple[FloatArray, FloatArray, str]:
    """Analysis-scale effects and variances for rows of :func:`load_outcomes`.

    Rows with events and n (proportions) use the logit with metafor's continuity
    correction; otherwise the interval is converted with its own level:
    ``SE = (g(high) - g(low)) / (2 z_{(1 + level)/2})`` on the logit scale (proportions and
    survival) or log scale (ratios, rates); as a last resort a proportion with ``n`` gets
    the binomial variance ``1 / (n p (1 - p))`` on the logit scale.

    Returns
    -------
    yi, vi, measure
        ``measure`` is ``"PLO"`` (logit proportions) or ``"RR"`` (log ratios or rates).

    Raises
    ------
    EvidenceError
        Mixed effect types, or a row without enough information for a variance.
    """
    kinds = set(outcomes["effect_type"])
    scales = {_SCALES.get(k, "identity") for k in kinds}
    if len(scales) != 1 or "identity" in scales:
        raise EvidenceError(
            f"outcomes must share one poolable effect type; got {sorted(kinds)}. "
            "Filter to one outcome and effect_type first."
        )
    scale = scales.pop()
    yi = np.empty(len(outcomes))
    vi = np.empty(len(outcomes))
    for i, row in enumerate(outcomes.to_dict("records")):
        yi[i], vi[i] = _row_effect(row, scale)
    return yi, vi, ("PLO" if scale == "logit" else "RR")


def _row_effect(row: dict[Hashable, Any], scale: ScaleKind) -> tuple[float, float]:
    est, events, n = float(row["estimate"]), float(row["events"]), float(row["n"])
    lo, hi, level = float(row["ci_low"]), float(row["ci_high"]), float(row["ci_level"])
    ident = row.get("outcome_id", "?")
    if scale == "logit":
        if np.isfinite(events) and np.isfinite(n):
            x, m = events, n - events
            if x == 0 or m == 0:
                x, m = x + 0.5, m + 0.5
            return float(np.log(x / m)), 1.0 / x + 1.0 / m
        p = min(max(est, 1e-6), 1 - 1e-6)
        g = float(np.log(p / (1 - p)))
        if np.isfinite(lo) and np.isfinite(hi) and np.isfinite(level) and 0 < lo < hi < 1:
            z = float(stats.norm.ppf(0.5 + level / 2))
            se = (np.log(hi / (1 - hi)) - np.log(lo / (1 - lo))) / (2 * z)
            return g, float(se**2)
        if np.isfinite(n) and 0 < est < 1:
            return g, 1.0 / (n * p * (1 - p))
    else:
        if est > 0 and np.isfinite(lo) and np.isfinite(hi) and np.isfinite(level) and lo > 0:
            z = float(stats.norm.ppf(0.5 + level / 2))
            se = (np.log(hi) - np.log(lo)) / (2 * z)
            return float(np.log(est)), float(se**2)
        person_years = float(row.get("person_years", np.nan))
        if np.isfinite(events) and np.isfinite(person_years) and events > 0:
            return float(np.log(events / person_years)), 1.0 / events
    raise EvidenceError(
        f"outcome {ident} must have events and n, or an estimate with a CI and its level; "
        "got neither. Exclude it or add the missing numbers."
    )


def study_label(row: pd.Series) -> str:
    """Short label "Acronym year" or "First-author year" (plus the arm if not the main one)."""
    name = str(row.get("acronym") or "")
    if not name:
        authors = str(row.get("authors") or row.get("study_id"))
        name = re.split(r"[ ,]", authors.strip())[0]
    year = row.get("year")
    label = f"{name} {int(year)}" if isinstance(year, float) and np.isfinite(year) else name
    arm = str(row.get("arm", ""))
    if arm not in ("", "ahsct", "msc", "pooled", "untreated"):
        label += f" ({arm})"
    return label


def select_outcomes(
    outcome: str,
    *,
    therapy: str | None = "ahsct",
    timepoint: float | None = None,
    population: str = "all",
    include_meta_analyses: bool = False,
) -> pd.DataFrame:
    """Rows of the bundled dataset to pool for one outcome (single-arm estimates only).

    Raises
    ------
    EvidenceError
        No matching rows, or several timepoints for one arm without ``timepoint``.
    """
    frame = load_outcomes(with_studies=True)
    known = sorted(set(frame["outcome"]))
    if outcome not in known:
        raise EvidenceError(f"outcome must be one of {', '.join(known)}; got {outcome!r}.")
    rows = frame[(frame["outcome"] == outcome) & (frame["comparator_arm"] == "")]
    rows = rows[rows["population"] == population]
    if therapy is not None:
        rows = rows[rows["therapy"] == therapy]
    if not include_meta_analyses:
        rows = rows[rows["design"] != "meta-analysis"]
    if timepoint is not None:
        rows = rows[np.isclose(rows["timepoint_years"].astype(float), timepoint)]
    if rows.empty:
        raise EvidenceError(
            f"no bundled results for outcome={outcome!r}, therapy={therapy!r}, "
            f"timepoint={timepoint!r}. Run `msreboot evidence list` and check the filters."
        )
    times = sorted({float(t) for t in rows["timepoint_years"].dropna()})
    if rows.duplicated(["study_id", "arm"]).any() or len(times) > 1:
        raise EvidenceError(
            f"outcome {outcome!r} is reported at several timepoints; got "
            f"{times}. Choose one with --timepoint."
        )
    return rows.reset_index(drop=True)
