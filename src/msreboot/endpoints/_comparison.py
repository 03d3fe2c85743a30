"""One endpoint compared between groups: estimates per group, hazard ratio, log-rank test.

The comparison a trial reports (arm against arm) and a registry asks of subgroups
(conditioning intensity, phenotype): landmark estimates per group, the Cox hazard ratio of
each group against a reference with its interval, and the log-rank test.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from msreboot.data import Cohort
from msreboot.endpoints._composite import Anchor, endpoint_times
from msreboot.endpoints._definitions import EndpointDefinition, as_definition
from msreboot.endpoints._estimates import (
    DEFAULT_TIMES_YEARS,
    EndpointEstimate,
    estimates_by_group,
    group_labels,
)
from msreboot.stats import CoxModel, LogRankTest, as_landmarks, cox_regression, log_rank_test

__all__ = ["EndpointComparison", "compare_endpoint"]


@dataclass(frozen=True, eq=False)
class EndpointComparison:
    """An endpoint estimated per group and compared against a reference group.

    Attributes
    ----------
    definition
        The endpoint.
    estimates
        Per group label, its :class:`EndpointEstimate` (landmarks with intervals).
    reference
        The reference group of the hazard ratios.
    hazard_ratios
        One row per other group: ``group``, ``hazard_ratio``, ``ci_low``, ``ci_high``,
        ``p_value`` (Wald), from a Cox model (Efron ties) with the group as the only
        covariate; ``nan`` when there are no events at all.
    cox, log_rank
        The fitted model and the log-rank test of all groups (``None`` when there are no
        events).
    data
        The patients compared: ``time_years``, ``event`` and ``group`` (as text).
    """

    definition: EndpointDefinition
    estimates: Mapping[Hashable, EndpointEstimate]
    reference: Hashable
    hazard_ratios: pd.DataFrame
    cox: CoxModel | None
    log_rank: LogRankTest | None
    data: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def log_rank_p(self) -> float:
        return float("nan") if self.log_rank is None else self.log_rank.pvalue

    def against_reference(self, group: Hashable) -> tuple[float, float]:
        """The log-rank p-value and the Cox likelihood-ratio p-value of ``group`` against
        the reference group alone (:meth:`log_rank_against`,
        :meth:`likelihood_ratio_against`)."""
        return self.log_rank_against(group), self.likelihood_ratio_against(group)

    def log_rank_against(self, group: Hashable) -> float:
        """The log-rank p-value of ``group`` against the reference group alone (the
        patients of the other groups left out; with two groups, :attr:`log_rank_p`);
        ``nan`` when the two have no event."""
        pair = self._pair(group)
        if pair is None:
            return math.nan
        if len(self.estimates) == 2:
            return float(self.log_rank_p)
        return float(log_rank_test(pair["time_years"], pair["event"], pair["group"]).pvalue)

    def likelihood_ratio_against(self, group: Hashable) -> float:
        """The Cox likelihood-ratio p-value of ``group`` against the reference group alone
        (with two groups, from :attr:`cox` itself); ``nan`` when the two have no event.

        The likelihood-ratio test stays valid where the Wald test of :attr:`hazard_ratios`
        is not: a group without events has an infinite log hazard ratio (monotone
        likelihood) and a Wald p-value near 1, while its likelihood ratio is finite and
        large."""
        pair = self._pair(group)
        if pair is None:
            return math.nan
        fit = self.cox if len(self.estimates) == 2 else None
        if fit is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # monotone likelihood, expected
                fit = cox_regression(
                    pair, "time_years", "event", ["group"], reference={"group": str(self.reference)}
                )
        statistic = max(0.0, 2.0 * (fit.loglik - fit.loglik_null))
        return float(stats.chi2.sf(statistic, 1))

    def _pair(self, group: Hashable) -> pd.DataFrame | None:
        """The patients of ``group`` and the reference, or ``None`` without an event."""
        if self.data is None:
            raise ValueError("comparing against the reference needs the comparison's data")
        pair = self.data[self.data["group"].isin([str(group), str(self.reference)])]
        if str(group) not in set(pair["group"]) or not pair["event"].any():
            return None
        return pair

    def to_frame(self) -> pd.DataFrame:
        """The landmark estimates of every group (tidy), with the hazard ratio columns."""
        frame = pd.concat([e.to_frame() for e in self.estimates.values()], ignore_index=True)
        hr = self.hazard_ratios.rename(
            columns={"ci_low": "hr_ci_low", "ci_high": "hr_ci_high", "p_value": "hr_p_value"}
        )
        return frame.merge(hr, on="group", how="left")

    def summary(self) -> str:
        lines = [e.summary() for e in self.estimates.values()]
        pct = f"{100 * self.definition.conf_level:g}%"
        for row in self.hazard_ratios.itertuples():
            lines.append(
                f"HR {row.group} vs {self.reference}: {row.hazard_ratio:.3g} "
                f"({pct} CI {row.ci_low:.3g} to {row.ci_high:.3g}), p = {row.p_value:.3g}"
            )
        lines.append(f"log-rank p = {self.log_rank_p:.3g}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def compare_endpoint(
    cohort: Cohort,
    definition: EndpointDefinition | str,
    by: str | pd.Series,
    *,
    reference: Hashable | None = None,
    times_years: Iterable[float] = DEFAULT_TIMES_YEARS,
    anchor: Anchor = "ahsct",
) -> EndpointComparison:
    """Compare one endpoint between groups (trial arms, subgroups).

    Parameters
    ----------
    cohort
        A validated cohort.
    definition
        An endpoint definition or preset name.
    by
        A column of the patients table, or a Series of labels indexed by ``patient_id``.
    reference
        The group the others are compared with; ``None``: the first in sorted order.
    times_years
        Landmark years of the per-group estimates.
    anchor
        Time zero (a treatment kind, or a table of ``patient_id`` and ``anchor_date``:
        randomisation in a trial, so both arms start together).

    Returns
    -------
    EndpointComparison

    Notes
    -----
    Hazard ratios come from :func:`cox_regression` (Efron ties) with the group as the only
    covariate and Wald intervals at the definition's level; the log-rank test is
    :func:`log_rank_test`. Both are checked against R's ``survival``. Death as a competing
    risk is treated as censoring in the hazard ratio (a cause-specific hazard ratio).

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> result = compare_endpoint(load_example(), "relapse_free", "sex", times_years=[2])
    >>> result.hazard_ratios["group"].tolist()
    ['M']
    """
    landmarks = as_landmarks(np.asarray(list(times_years), dtype=float), "times_years")
    definition = as_definition(definition)
    times = endpoint_times(cohort, definition, anchor=anchor)
    labels = group_labels(cohort, by)
    estimates = estimates_by_group(times, labels, landmarks)
    levels = list(estimates)
    if len(levels) < 2:
        raise ValueError(
            f"by must give at least two groups among evaluable patients; got {levels}."
        )
    base = levels[0] if reference is None else reference
    if base not in levels:
        raise ValueError(f"reference must be one of the groups {levels}; got {base!r}.")
    data = times.patients.assign(
        group=labels.reindex(times.patients["patient_id"].to_numpy()).to_numpy()
    )
    data = data[data["group"].notna()].reset_index(drop=True)
    others = [lv for lv in levels if lv != base]
    cox: CoxModel | None = None
    test: LogRankTest | None = None
    if data["event"].any():
        frame = data[["time_years", "event", "group"]].astype({"event": int})
        frame["group"] = frame["group"].astype(str)
        cox = cox_regression(
            frame,
            "time_years",
            "event",
            ["group"],
            conf_level=definition.conf_level,
            reference={"group": str(base)},
        )
        test = log_rank_test(frame["time_years"], frame["event"], frame["group"])
        index = {term: i for i, term in enumerate(cox.terms)}
        rows = [
            {
                "group": lv,
                "hazard_ratio": cox.hazard_ratio[index[f"group[{lv}]"]],
                "ci_low": cox.ci_low[index[f"group[{lv}]"]],
                "ci_high": cox.ci_high[index[f"group[{lv}]"]],
                "p_value": cox.pvalue[index[f"group[{lv}]"]],
            }
            for lv in others
        ]
    else:
        rows = [
            {"group": lv, "hazard_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan}
            | {"p_value": np.nan}
            for lv in others
        ]
    compared = data[["time_years", "event", "group"]].astype({"event": int, "group": str})
    return EndpointComparison(
        definition, estimates, base, pd.DataFrame(rows), cox, test, data=compared
    )
