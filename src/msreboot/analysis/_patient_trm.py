"""Transplant-related mortality for one person: a meta-regression of the evidence base.

Study-level TRM counts of the bundled AHSCT studies are pooled on the logit scale and
regressed on the study populations' characteristics (metafor's ``rma(yi, vi, mods = ...)``);
the person's predicted TRM is the fitted value at their characteristics, with its
confidence and prediction intervals, and a flag wherever they lie outside the range of the
studies' populations.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.analysis._patient_profile import PatientProfile, projection_basics
from msreboot.evidence import (
    MetaRegression,
    TruncatedTau2Warning,
    load_outcomes,
    load_studies,
    meta_regression,
    pool_proportions,
)

__all__ = ["TRMModerator", "TRMPrediction", "predict_trm", "trm_meta_regression", "trm_studies"]

TRMModerator = Literal["edss", "age", "era"]
"""Study-level moderators of TRM: the population's median or mean EDSS and age, and the
middle calendar year of treatment (``era``)."""

_WORDS = {"edss": "EDSS", "age": "age", "era": "treatment year"}


def trm_studies() -> pd.DataFrame:
    """The TRM rows of the evidence base that a meta-regression can use.

    One row per single-study AHSCT arm with a TRM count (``events`` of ``n``): pooled rows
    of published meta-analyses are left out (their patients are the studies' patients).
    Columns: ``outcome_id``, ``study_id``, ``label``, ``events``, ``n``, ``definition_id``,
    ``status``, ``edss``, ``edss_stat``, ``age``, ``age_stat``, ``era``, ``intensity``,
    ``share_rrms`` (missing where the study does not report it).
    """
    outcomes = load_outcomes()
    studies = load_studies()
    trm = outcomes[
        (outcomes["outcome"] == "trm") & outcomes["events"].notna() & outcomes["n"].notna()
    ]
    merged = trm.merge(studies, on=["study_id", "arm"], suffixes=("", "_study"))
    merged = merged[(merged["therapy"] == "ahsct") & (merged["arm"] != "pooled")]
    frame = pd.DataFrame(
        {
            "outcome_id": merged["outcome_id"].astype(str),
            "study_id": merged["study_id"].astype(str),
            "label": [
                f"{a} {int(y)}" if isinstance(a, str) and not pd.isna(y) else str(s)
                for a, y, s in zip(
                    merged["authors"].str.split(",").str[0],
                    merged["year"],
                    merged["study_id"],
                    strict=True,
                )
            ],
            "events": merged["events"].astype(float),
            "n": merged["n"].astype(float),
            "definition_id": merged["definition_id"].astype(str),
            "status": merged["status"].astype(str),
            "edss": merged["edss"].astype(float),
            "edss_stat": merged["edss_stat"],
            "age": merged["age"].astype(float),
            "age_stat": merged["age_stat"],
            "era": merged["treatment_year_mid"].astype(float),
            "intensity": merged["intensity"],
            "share_rrms": merged["share_rrms"].astype(float),
        }
    )
    return frame.sort_values("outcome_id").reset_index(drop=True)


def _check_moderators(moderators: Sequence[str]) -> tuple[TRMModerator, ...]:
    if isinstance(moderators, str):
        moderators = (moderators,)
    allowed = get_args(TRMModerator)
    out = []
    for m in moderators:
        if m not in allowed:
            raise ValueError(
                f"moderators must be among {', '.join(allowed)}; got {m!r}. "
                "Intensity has one study per class and cannot be a moderator here."
            )
        out.append(m)
    if not out:
        raise ValueError("moderators must name at least one moderator; got none. Use ('edss',).")
    return tuple(out)  # type: ignore[arg-type]


def trm_meta_regression(
    moderators: Sequence[TRMModerator] = ("edss",),
) -> tuple[MetaRegression, pd.DataFrame, tuple[str, ...]]:
    """Fit logit TRM on study moderators over the studies that record them all.

    Returns
    -------
    tuple
        The :class:`~msreboot.evidence.MetaRegression` (REML, Wald z), the studies used
        (rows of :func:`trm_studies`), and notes (tau^2 truncated at 0; definitions mixed).

    Raises
    ------
    ValueError
        An unknown moderator, or too few studies record the moderators (the meta-regression
        needs more studies than coefficients).
    """
    chosen = _check_moderators(moderators)
    studies = trm_studies()
    used = studies.dropna(subset=list(chosen)).reset_index(drop=True)
    if len(used) <= len(chosen) + 1:
        raise ValueError(
            f"moderators must be recorded by more than {len(chosen) + 1} TRM studies; got "
            f"{len(used)} recording {', '.join(chosen)}. Use fewer moderators, e.g. ('edss',)."
        )
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedTau2Warning)
        pooled = pool_proportions(
            used["events"].to_numpy(), used["n"].to_numpy(), labels=list(used["label"])
        )
        fit = meta_regression(pooled, {m: used[m].to_numpy() for m in chosen})
    if any(issubclass(w.category, TruncatedTau2Warning) for w in caught):
        notes.append(
            "The residual tau^2 was truncated at 0: the studies vary no more than chance "
            "explains, so the intervals carry no between-study spread."
        )
    definitions = sorted(set(used["definition_id"]))
    if len(definitions) > 1:
        notes.append(
            "The studies define TRM differently ("
            + ", ".join(definitions)
            + "): deaths within 100 days, transplant-related deaths, and any death; they are "
            "pooled together here."
        )
    return fit, used, tuple(notes)


@dataclass(frozen=True)
class TRMPrediction:
    """The person's transplant-related mortality predicted from the evidence base.

    Attributes
    ----------
    probability, ci_low, ci_high
        Predicted TRM (a proportion) and its confidence interval (the fitted mean).
    pi_low, pi_high
        Prediction interval for a new study of people like this one
        (``plogis(fit +/- z * sqrt(se^2 + tau^2))``, metafor's ``pi.lb``/``pi.ub``).
    conf_level
        Level of both intervals.
    moderators, values
        The moderators of the model and the person's value of each.
    regression
        The fitted :class:`~msreboot.evidence.MetaRegression`.
    studies
        The studies the fit rests on (rows of :func:`trm_studies`), with how far each
        population's median or mean EDSS and age lie from the person's
        (``edss_minus_person``, ``age_minus_person``; NaN where not reported).
    flags
        One sentence per way the person lies outside the studies' populations.
    notes
        Caveats of the fit.
    """

    probability: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    conf_level: float
    moderators: tuple[str, ...]
    values: tuple[float, ...]
    regression: MetaRegression
    studies: pd.DataFrame
    flags: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def outside_studies(self) -> bool:
        """Whether any characteristic lies outside the studies' populations."""
        return bool(self.flags)

    def to_frame(self) -> pd.DataFrame:
        """One row: the prediction and both intervals."""
        return pd.DataFrame(
            [
                {
                    "source": "evidence meta-regression",
                    "probability": self.probability,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "pi_low": self.pi_low,
                    "pi_high": self.pi_high,
                    "conf_level": self.conf_level,
                    "moderators": ", ".join(self.moderators),
                    "k": self.regression.k,
                    "outside_studies": self.outside_studies,
                }
            ]
        )

    def summary(self) -> str:
        """The prediction in words, with its flags and notes."""
        pct = f"{100 * self.conf_level:g}%"
        lines = [
            f"Predicted TRM {100 * self.probability:.1f}% ({pct} CI {100 * self.ci_low:.1f}-"
            f"{100 * self.ci_high:.1f}%; prediction interval {100 * self.pi_low:.1f}-"
            f"{100 * self.pi_high:.1f}%) from a meta-regression on "
            f"{', '.join(_WORDS[m] for m in self.moderators)} of {self.regression.k} studies "
            f"({', '.join(self.studies['label'])})."
        ]
        lines += [f"  ! {flag}" for flag in self.flags]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def predict_trm(
    profile: PatientProfile,
    moderators: Sequence[TRMModerator] = ("edss",),
    *,
    transplant_year: int = 2026,
    conf_level: float = 0.95,
) -> TRMPrediction:
    """Predict this person's TRM from a meta-regression of the bundled studies.

    Parameters
    ----------
    profile
        The person.
    moderators
        Study-level moderators (default EDSS, the only one every TRM study records).
    transplant_year
        The person's ``era`` value, used when ``"era"`` is a moderator.
    conf_level
        Level of the confidence and prediction intervals.

    Returns
    -------
    TRMPrediction

    Notes
    -----
    ``logit(TRM_i) = b0 + b' x_i + u_i + e_i`` with ``u_i ~ N(0, tau^2)`` (REML) and
    ``e_i`` the within-study sampling error of the logit proportion (1/2 added to studies
    with 0 events). A study-level regression describes how TRM varies with the
    populations' medians or means (ecological): it is not an individual risk model, and
    a person outside the studies' range is an extrapolation, flagged as such. Checked
    against metafor (``tests/reference/analysis/trm_meta_regression.R``).
    """
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1); got {conf_level}. Did you mean 0.95?")
    basics = projection_basics(profile)
    fit, used, notes = trm_meta_regression(moderators)
    chosen = fit.moderators
    person = {"edss": basics.edss, "age": basics.age_years, "era": float(transplant_year)}
    values = tuple(float(person[m]) for m in chosen)
    x = np.array([1.0, *values])
    beta = np.asarray(fit.coef)
    vcov = np.asarray(fit.vcov)
    eta = float(x @ beta)
    se = float(math.sqrt(float(x @ vcov @ x)))
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    spread = math.sqrt(se**2 + fit.tau2)
    flags = _flags(profile, chosen, used, person)
    return TRMPrediction(
        probability=_expit(eta),
        ci_low=_expit(eta - z * se),
        ci_high=_expit(eta + z * se),
        pi_low=_expit(eta - z * spread),
        pi_high=_expit(eta + z * spread),
        conf_level=conf_level,
        moderators=tuple(chosen),
        values=values,
        regression=fit,
        studies=used.assign(
            edss_minus_person=used["edss"] - basics.edss,
            age_minus_person=used["age"] - basics.age_years,
        ),
        flags=flags,
        notes=notes,
    )


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + math.exp(-x)))


def _flags(
    profile: PatientProfile,
    chosen: Sequence[str],
    used: pd.DataFrame,
    person: dict[str, float],
) -> tuple[str, ...]:
    """Where the person lies outside the studies: for a moderator of the model, outside the
    studies it was fitted to (``used``); for EDSS and age when not in the model, outside
    every TRM study that records them."""
    flags: list[str] = []
    everything = trm_studies()
    names = ["edss", "age", *(["era"] if "era" in chosen else [])]
    for name in names:
        value = person[name]
        recorded = (used if name in chosen else everything)[name].dropna()
        word = _WORDS[name]
        if recorded.empty:
            flags.append(f"No TRM study records the {word} of its patients.")
            continue
        low, high = float(recorded.min()), float(recorded.max())
        where = "" if name in chosen else f" ({word} is not in the model)"
        if value > high:
            flags.append(
                f"No TRM study's median or mean {word} was above {high:g}; this person's "
                f"{value:g} is outside the studies' populations{where}."
            )
        elif value < low:
            flags.append(
                f"No TRM study's median or mean {word} was below {low:g}; this person's "
                f"{value:g} is outside the studies' populations{where}."
            )
    if profile.phenotype in ("PPMS", "CIS"):
        flags.append(
            f"The TRM studies enrolled relapsing and secondary progressive MS; none reports "
            f"TRM for {profile.phenotype} separately."
        )
    if profile.hct_ci is not None and profile.hct_ci > 0:
        flags.append(
            f"No TRM study reports its patients' HCT-CI; this person's HCT-CI of "
            f"{profile.hct_ci} is not accounted for by the evidence prediction."
        )
    return tuple(flags)
