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
    "STATUSES",
    "effect_sizes",
    "load_definitions",
    "load_outcomes",
    "load_studies",
    "select_outcomes",
    "study_label",
]

DATASET_VERSION = "2026.12.2"
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


_ONE_DEFINITION = frozenset({"trm", "neda"})
"""Outcomes whose rows are pooled within one definition unless a mixed pool is asked for
(TRM: deaths attributed to treatment, all deaths by day 100, a meta-analysis' own mix;
NEDA: NEDA-3 confirmed against the pre-treatment EDSS, a NEDA whose components were not
read, Burman's disease-free survival)."""

STATUSES = ("verified", "secondary", "unsourced")
"""Provenance status of a study or outcome row: ``verified`` (checked against the article's
own text, on the publisher's page or PubMed Central, or the trial registry), ``secondary``
(read from another source that is named: a copy of the abstract, a news report or press
release, a review) or ``unsourced`` (no source read: left out of pools, calibration targets
and the report unless asked for)."""


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
        * Provenance: ``status`` (one of :data:`STATUSES`: how the row's design and
          population were checked) and ``pmid`` (PubMed id, where read).

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
    _check_status(frame, "studies.csv", ["study_id", "arm"])
    for col in _STUDY_NUMERIC:
        frame[col] = pd.to_numeric(frame[col].replace("", np.nan))
    return frame


def load_definitions() -> pd.DataFrame:
    """The endpoint definitions outcome rows are measured with (``definition_id``).

    Returns
    -------
    pandas.DataFrame
        ``definition_id`` (unique), ``outcome_family`` (the outcome code it defines) and
        ``description`` (the definition in words, saying what was not read).

    Examples
    --------
    >>> load_definitions().set_index("definition_id").loc["trm_100d", "outcome_family"]
    'trm'
    """
    return _read("definitions.csv")


def _check_status(frame: pd.DataFrame, name: str, key: list[str]) -> None:
    """Every row has a status of :data:`STATUSES` (data are never half-loaded)."""
    bad = frame[~frame["status"].isin(STATUSES)]
    if len(bad):
        first = bad.iloc[0]
        raise EvidenceError(
            f"{name} row {'/'.join(str(first[k]) for k in key)}: status must be one of "
            f"{', '.join(STATUSES)}; got {first['status']!r}. Set how the row was checked."
        )


def _check_provenance(frame: pd.DataFrame) -> None:
    """Outcome rows: a status, a citation and a locator unless unsourced, a known
    ``definition_id``."""
    _check_status(frame, "outcomes.csv", ["outcome_id"])
    sourced = frame[frame["status"] != "unsourced"]
    missing = sourced[(sourced["source"] == "") | (sourced["locator"] == "")]
    if len(missing):
        raise EvidenceError(
            f"outcomes.csv row {missing['outcome_id'].iloc[0]}: a {missing['status'].iloc[0]} "
            "row must have a source (citation) and a locator; got none. Add them or mark the "
            "row unsourced."
        )
    known = set(load_definitions()["definition_id"])
    unknown = frame[~frame["definition_id"].isin(known)]
    if len(unknown):
        raise EvidenceError(
            f"outcomes.csv row {unknown['outcome_id'].iloc[0]}: definition_id must be one of "
            f"definitions.csv; got {unknown['definition_id'].iloc[0]!r}. Add the definition."
        )


def load_outcomes(*, with_studies: bool = False, include_unsourced: bool = False) -> pd.DataFrame:
    """Load the outcome table: one row per reported number.

    Parameters
    ----------
    with_studies
        Join the study-arm columns (on ``study_id`` and ``arm``).
    include_unsourced
        Keep the rows whose ``status`` is ``unsourced`` (no source read). They are left
        out by default, so pools, calibration targets and reports rest on sourced rows only.

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
        * Provenance: ``status`` (:data:`STATUSES`), ``locator`` (where in the source:
          table, figure, page, abstract), ``read_from`` (the page or copy the number was
          read from), ``published_definition`` (the source's own words), ``reading``
          (``reported``, read from a figure, or derived, saying how), ``definition_id``
          (the endpoint definition, :func:`load_definitions`) and ``followup`` (the
          follow-up distribution, for counts over a follow-up of varying length).

    Examples
    --------
    >>> trm = load_outcomes().query("outcome == 'trm' and events == events")
    >>> sorted(trm["study_id"])[:2]
    ['atkins2016_canadian', 'burt2019_mist']
    """
    frame = _read("outcomes.csv")
    _check_provenance(frame)
    if not include_unsourced:
        frame = frame[frame["status"] != "unsourced"].reset_index(drop=True)
    for col in _OUTCOME_NUMERIC:
        frame[col] = pd.to_numeric(frame[col].replace("", np.nan))
    if with_studies:
        studies = (
            load_studies()
            .drop(columns=["n"])
            .rename(columns={"notes": "study_notes", "status": "study_status"})
        )
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
    """Short label "Acronym year" or "First-author year" (plus the arm if not the main one,
    and the ``definition_id`` in brackets for a row of a mixed-definition pool)."""
    name = str(row.get("acronym") or "")
    if not name:
        authors = str(row.get("authors") or row.get("study_id"))
        name = re.split(r"[ ,]", authors.strip())[0]
    year = row.get("year")
    label = f"{name} {int(year)}" if isinstance(year, float) and np.isfinite(year) else name
    arm = str(row.get("arm", ""))
    if arm not in ("", "ahsct", "msc", "pooled", "untreated"):
        label += f" ({arm})"
    mixed = row.get("mixed_definitions", False)
    if isinstance(mixed, bool | np.bool_) and mixed and row.get("definition_id"):
        label += f" [{row['definition_id']}]"
    return label


def select_outcomes(
    outcome: str,
    *,
    therapy: str | None = "ahsct",
    timepoint: float | None = None,
    population: str = "all",
    include_meta_analyses: bool = False,
    definition_id: str | None = None,
    mixed_definitions: bool = False,
    include_unsourced: bool = False,
) -> pd.DataFrame:
    """Rows of the bundled dataset to pool for one outcome (single-arm estimates only).

    Parameters
    ----------
    outcome, therapy, timepoint, population
        The outcome code, the arms' therapy (``None``: all), the timepoint in years and
        the population (``"all"`` or a subgroup).
    include_meta_analyses
        Keep the pooled rows of published meta-analyses.
    definition_id
        Only rows measured with this endpoint definition (:func:`load_definitions`).
    mixed_definitions
        Allow TRM or NEDA rows of several definitions in one pool (without it they are refused).
        Whenever the rows selected (of any outcome) span several definitions, each is
        marked (``mixed_definitions`` column) so that :func:`study_label` names its
        definition in tables and forest plots.
    include_unsourced
        Keep rows whose status is ``unsourced``.

    Raises
    ------
    EvidenceError
        No matching rows, several timepoints for one arm without ``timepoint``, or TRM or NEDA
        rows of several definitions without ``definition_id`` or ``mixed_definitions``.
    """
    frame = load_outcomes(with_studies=True, include_unsourced=include_unsourced)
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
    if definition_id is not None:
        rows = rows[rows["definition_id"] == definition_id]
    if rows.empty:
        raise EvidenceError(
            f"no bundled results for outcome={outcome!r}, therapy={therapy!r}, "
            f"timepoint={timepoint!r}, definition_id={definition_id!r}. Run "
            "`msreboot evidence list` and check the filters."
        )
    times = sorted({float(t) for t in rows["timepoint_years"].dropna()})
    one_arm_twice = rows.duplicated(["study_id", "arm"]).any()
    if one_arm_twice and len(times) <= 1 and rows["definition_id"].nunique() > 1:
        raise EvidenceError(
            f"outcome {outcome!r} is reported under several definitions for one arm; got "
            f"{', '.join(sorted(set(rows['definition_id'])))}. Choose one with definition_id."
        )
    if one_arm_twice or len(times) > 1:
        raise EvidenceError(
            f"outcome {outcome!r} is reported at several timepoints; got "
            f"{times}. Choose one with --timepoint."
        )
    definitions = sorted(set(rows["definition_id"]))
    if len(definitions) > 1 and outcome in _ONE_DEFINITION and not mixed_definitions:
        raise EvidenceError(
            f"outcome {outcome!r} rows must share one definition to be pooled; got "
            f"{', '.join(definitions)}. Choose one with definition_id, or ask for a mixed "
            "pool with mixed_definitions=True (each row is then labelled with its definition)."
        )
    rows = rows.reset_index(drop=True)
    rows["mixed_definitions"] = len(definitions) > 1
    return rows
