"""Relapse rate ratios between groups of a cohort (negative-binomial model, checked against R)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd

from msreboot.data import Cohort
from msreboot.endpoints._relapses import relapse_rates
from msreboot.stats import RateRatio, negative_binomial_rate_ratio

__all__ = ["relapse_rate_ratio"]

Period = Literal["before", "after", "all"]

#: Treatment groups of ``relapse_rate_ratio(by="treatment")``.
_TREATED, _UNTREATED = "ahsct", "no_ahsct"


def relapse_rate_ratio(
    cohort: Cohort,
    *,
    by: str,
    anchor: str | None = "ahsct",
    period: Period = "after",
    years_before: float | None = None,
    reference: Hashable | None = None,
    conf_level: float = 0.95,
) -> RateRatio:
    """Relapse rate ratios between groups of a cohort (negative-binomial model).

    Each patient's relapses and years in ``period`` come from
    :func:`~msreboot.endpoints.relapse_rates` (its ``per_patient`` table) and enter
    :func:`negative_binomial_rate_ratio`.

    Parameters
    ----------
    cohort
        A validated cohort.
    by
        A column of the patients table (``"phenotype"``, ``"sex"``, ``"centre"``, ...), or
        ``"treatment"``: ``"ahsct"`` for patients with an AHSCT course, ``"no_ahsct"`` for
        the others.
    anchor, years_before
        As in :func:`~msreboot.endpoints.relapse_rates`: a treatment kind splitting follow-up
        into ``before`` and ``after`` its first course (patients without such a course are
        left out), or ``None`` for whole follow-up (period ``"all"``).
    period
        ``"after"`` or ``"before"`` the anchor, or ``"all"`` when ``anchor`` is ``None``.
    reference
        Reference level of the groups; ``None``: the largest group (most patients in the
        period; ties: the first in sorted order), so a small group without relapses does
        not become the reference.
    conf_level
        Level of the Wald intervals (and of the exact intervals of the observed rates).

    Returns
    -------
    RateRatio

    Raises
    ------
    ValueError
        ``by`` is not a patients column nor ``"treatment"``; ``by="treatment"`` with
        ``anchor="ahsct"``; ``period`` does not match ``anchor``; and the errors of
        :func:`negative_binomial_rate_ratio` (e.g. a patient whose group is missing).

    Notes
    -----
    ``by="treatment"`` needs an anchor other than ``"ahsct"``: with ``anchor="ahsct"``
    only patients with an AHSCT course are kept, so there would be one group. With
    ``anchor=None, period="all"`` it compares whole follow-up, which for transplanted
    patients includes the active years before AHSCT: a description of the cohort, not an
    estimate of the treatment's effect. Patients with no follow-up in the period are left
    out (as in ``relapse_rates``).

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> fit = relapse_rate_ratio(
    ...     load_example(), by="treatment", anchor=None, period="all", reference="no_ahsct"
    ... )
    >>> print(fit.summary())
    Relapse rate ratios, negative binomial, theta 1.695 (SE 0.235); n = 300, ...
      treatment[ahsct]: RR 0.612 (95% CI 0.491 to 0.763), p = 1.29e-05
      reference: treatment = no_ahsct
      observed ARR (pooled relapses / person-years):
        ahsct: 428 / 2195.0 = 0.195 (180 patients)
        no_ahsct: 486 / 1484.8 = 0.327 (120 patients)
    """
    if period not in ("before", "after", "all"):
        raise ValueError(f"period must be 'before', 'after' or 'all'; got {period!r}.")
    if (anchor is None) != (period == "all"):
        fix = "Pass period='all'." if anchor is None else "Pass period='after' or 'before'."
        raise ValueError(
            f"period must be 'all' when anchor is None and 'before' or 'after' otherwise; got "
            f"period={period!r} with anchor={anchor!r}. {fix}"
        )
    patients = cohort.patients
    if by == "treatment":
        if anchor == _TREATED:
            raise ValueError(
                "anchor must not be 'ahsct' when by='treatment'; got anchor='ahsct'. Only "
                "patients with an AHSCT course have an 'ahsct' anchor, so every patient "
                "would be in one group. Pass anchor=None, period='all' to compare whole "
                "follow-up."
            )
        treated = set(cohort.treatments.loc[cohort.treatments["kind"] == _TREATED, "patient_id"])
        groups = pd.DataFrame(
            {
                "patient_id": patients["patient_id"],
                "treatment": np.where(patients["patient_id"].isin(treated), _TREATED, _UNTREATED),
            }
        )
    elif by in patients.columns and by != "patient_id":
        groups = patients[["patient_id", by]]
    else:
        choices = [c for c in patients.columns if c != "patient_id"]
        raise ValueError(
            f"by must be 'treatment' or a column of the patients table; got {by!r}. "
            f"Columns are: {', '.join(choices)}."
        )
    rates = relapse_rates(
        cohort, anchor=anchor, years_before=years_before, conf_level=conf_level
    ).per_patient
    rows = rates[rates["period"] == period][["patient_id", "relapses", "years"]]
    data = rows.merge(groups, on="patient_id", how="left", validate="one_to_one")
    if reference is None and data[by].notna().any():
        sizes = data[by].dropna().astype(str).value_counts()
        largest = sorted(sizes[sizes == sizes.max()].index)[0]
        reference = data.loc[data[by].astype(str) == largest, by].iloc[0]
    return negative_binomial_rate_ratio(
        data, group_col=by, reference=reference, conf_level=conf_level
    )
