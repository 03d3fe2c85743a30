"""Patient characteristics at time zero, and Cox regression of an endpoint on them.

The covariates the AHSCT literature relates to outcomes (Muraro 2017: age, phenotype,
prior DMTs; Sormani 2017: EDSS, era; conditioning intensity) derived once from the
canonical tables, so an endpoint can be regressed on them by name.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from msreboot.data import DAYS_PER_YEAR, Cohort, birth_dates, days_between
from msreboot.endpoints._composite import Anchor, _Context, anchor_days, endpoint_times
from msreboot.endpoints._definitions import EndpointDefinition, as_definition
from msreboot.stats import CoxModel, Ties, cox_regression

__all__ = ["baseline_covariates", "endpoint_cox"]

_TRANSPLANT_COLUMNS = ("conditioning_intensity", "conditioning_regimen", "cd34_selected")


def baseline_covariates(cohort: Cohort, *, anchor: Anchor = "ahsct") -> pd.DataFrame:
    """One row per patient with a time zero: their characteristics at that day.

    Columns: ``patient_id``, ``age_years``, ``sex``, ``phenotype``,
    ``disease_duration_years`` (from onset), ``baseline_edss`` (last EDSS on or before
    time zero), ``relapses_prior_year`` (onsets in the 365 days before time zero),
    ``prior_dmt_count``, ``hct_ci``, ``progressive`` (SPMS or PPMS) and, when the anchor is
    AHSCT, ``conditioning_intensity``, ``conditioning_regimen``, ``cd34_selected`` of the
    first course and ``transplant_year`` (calendar cohorts).

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> covariates = baseline_covariates(load_example())
    >>> len(covariates), covariates["baseline_edss"].notna().all()
    (180, np.True_)
    """
    day0 = anchor_days(cohort, anchor)
    ids = day0.index
    patients = cohort.patients.assign(birth=birth_dates(cohort).to_numpy()).set_index("patient_id")
    zero = day0.reindex(ids)
    out = pd.DataFrame({"patient_id": pd.array(ids.to_numpy(dtype=object), dtype="string")})
    out["age_years"] = (days_between(zero, patients["birth"].reindex(ids)) / DAYS_PER_YEAR).values
    out["sex"] = patients["sex"].reindex(ids).to_numpy()
    out["phenotype"] = patients["phenotype"].reindex(ids).to_numpy()
    out["disease_duration_years"] = (
        days_between(zero, patients["onset_date"].reindex(ids)) / DAYS_PER_YEAR
    ).values
    ctx = _Context(cohort, day0)
    edss = cohort.edss
    before = edss[(ctx.days(edss, "date") <= 0).to_numpy(dtype=bool)]
    last = before.sort_values(["patient_id", "date"]).groupby("patient_id")["edss"].last()
    out["baseline_edss"] = last.reindex(ids).to_numpy(dtype=float)
    rel = cohort.relapses
    lag = -ctx.days(rel, "onset_date")
    recent = rel[((lag > 0) & (lag <= 365)).to_numpy(dtype=bool)].groupby("patient_id").size()
    out["relapses_prior_year"] = recent.reindex(ids).fillna(0).astype(int).to_numpy()
    out["prior_dmt_count"] = patients["prior_dmt_count"].reindex(ids).to_numpy()
    out["hct_ci"] = patients["hct_ci"].reindex(ids).to_numpy()
    out["progressive"] = out["phenotype"].isin(["SPMS", "PPMS"]).to_numpy()
    if isinstance(anchor, str) and anchor == "ahsct":
        courses = cohort.treatments[cohort.treatments["kind"] == "ahsct"]
        first = courses.sort_values(["patient_id", "start_date"]).groupby("patient_id").first()
        for column in _TRANSPLANT_COLUMNS:
            out[column] = first[column].reindex(ids).to_numpy()
        if cohort.time_unit == "date":
            out["transplant_year"] = pd.DatetimeIndex(zero.to_numpy()).year.to_numpy()
    return out


def endpoint_cox(
    cohort: Cohort,
    definition: EndpointDefinition | str,
    covariates: Sequence[str],
    *,
    anchor: Anchor = "ahsct",
    ties: Ties = "efron",
    reference: Mapping[str, Hashable] | None = None,
    extra: pd.DataFrame | None = None,
) -> CoxModel:
    """Cox regression of an endpoint on patient characteristics at time zero.

    Parameters
    ----------
    cohort
        A validated cohort.
    definition
        An endpoint definition or preset name.
    covariates
        Columns of :func:`baseline_covariates` (``"age_years"``, ``"phenotype"``,
        ``"baseline_edss"``, ``"conditioning_intensity"``, ...) or of ``extra``.
    anchor
        Time zero.
    ties, reference
        As in :func:`cox_regression` (Efron ties; reference levels of categorical
        covariates, default the first in sorted order).
    extra
        More covariates: a table with ``patient_id`` and further columns.

    Returns
    -------
    CoxModel
        With ``n`` the patients used: those with every covariate present (others are left
        out, complete-case analysis; compare ``n`` with the endpoint's patients).

    Notes
    -----
    Death as a competing risk counts as censoring (a cause-specific hazard model). The
    interval level is the definition's. :func:`cox_regression` is checked against R's
    ``coxph``.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> model = endpoint_cox(load_example(), "muraro_2017_pfs", ["age_years", "progressive"])
    >>> model.terms
    ('age_years', 'progressive')
    """
    definition = as_definition(definition)
    if not covariates:
        raise ValueError("covariates must name at least one column; got none.")
    table = baseline_covariates(cohort, anchor=anchor)
    if extra is not None:
        if "patient_id" not in extra.columns:
            raise ValueError("extra must have a patient_id column.")
        table = table.merge(
            extra.astype({"patient_id": "string"}), on="patient_id", how="left", validate="1:1"
        )
    unknown = [c for c in covariates if c not in table.columns or c == "patient_id"]
    if unknown:
        raise ValueError(
            f"covariates must be columns of baseline_covariates or extra; got {unknown}. "
            f"Available: {', '.join(c for c in table.columns if c != 'patient_id')}."
        )
    times = endpoint_times(cohort, definition, anchor=anchor).patients
    data = times[["patient_id", "time_years", "event"]].merge(table, on="patient_id")
    data = data.dropna(subset=list(covariates)).reset_index(drop=True)
    data["event"] = data["event"].astype(int)
    for column in covariates:
        if data[column].dtype == bool or str(data[column].dtype) == "boolean":
            data[column] = data[column].astype(np.float64)
    return cox_regression(
        data,
        "time_years",
        "event",
        list(covariates),
        ties=ties,
        conf_level=definition.conf_level,
        reference=reference,
    )
