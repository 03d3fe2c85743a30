"""Binary outcomes of an emulated trial at a landmark: the proportion with confirmed
disability improvement (CDI) and NEDA, per arm in the matched or weighted sample, with
their risk difference (a weighted linear probability model with cluster-robust variance)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats as sps

from msreboot.analysis._emulation_outcomes import entry_times
from msreboot.analysis._emulation_spec import EmulationSpec
from msreboot.data import Cohort
from msreboot.endpoints import EndpointDefinition, neda_status

__all__ = ["ProportionComparison", "proportion_comparison", "weighted_proportions"]

FloatArray = npt.NDArray[np.float64]

COLUMNS = [
    "outcome",
    "title",
    "landmark_years",
    "arm",
    "entries",
    "evaluable",
    "not_evaluable",
    "with_outcome",
    "estimate",
    "std_err",
    "ci_low",
    "ci_high",
    "p_value",
]


@dataclass(frozen=True, eq=False)
class ProportionComparison:
    """Proportions with CDI and with NEDA at a landmark, per arm, and their differences.

    Attributes
    ----------
    table
        Three rows per outcome (``cdi``, ``neda``): the treated arm, the control arm and
        ``difference`` (treated - control). Columns ``outcome``, ``title``,
        ``landmark_years``, ``arm``, ``entries`` (analysed, weight > 0), ``evaluable``,
        ``not_evaluable``, ``with_outcome`` (unweighted counts), ``estimate`` (weighted
        proportion or risk difference), ``std_err``, ``ci_low``, ``ci_high`` (Wald) and
        ``p_value`` (of the difference).
    landmark_years
        The landmark.
    conf_level
        Level of the intervals.
    variance
        How the standard errors were computed.
    """

    table: pd.DataFrame
    landmark_years: float
    conf_level: float
    variance: str

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lines = []
        for outcome, rows in self.table.groupby("outcome", sort=False):
            arms = rows[rows["arm"] != "difference"].to_dict("records")
            diff = rows[rows["arm"] == "difference"].iloc[0]
            parts = [
                f"{r['arm']} {100 * r['estimate']:.1f}% ({r['not_evaluable']} not evaluable)"
                for r in arms
            ]
            lines.append(
                f"{outcome} at {self.landmark_years:g} years: {'; '.join(parts)}; difference "
                f"{100 * diff['estimate']:.1f} points ({pct} CI {100 * diff['ci_low']:.1f} to "
                f"{100 * diff['ci_high']:.1f})"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def weighted_proportions(
    outcome: FloatArray,
    treated: npt.NDArray[np.bool_],
    weights: FloatArray,
    cluster: npt.NDArray[np.int64],
    *,
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Weighted proportions per arm and their difference, with cluster-robust variance.

    The weighted linear probability model ``outcome ~ treated`` (as R ``glm(family =
    gaussian, weights =)``) has the control arm's weighted mean as intercept and the
    difference of the weighted means as slope; the variance is the cluster-robust sandwich
    ``B M B`` with ``B = (X'WX)^-1`` and ``M`` the sum over clusters of the outer products
    of the summed scores ``w_i (y_i - mu_i) x_i``, times ``G / (G - 1)`` (R
    ``sandwich::vcovCL(type = "HC0")``). Intervals are Wald intervals; those of the
    proportions are clipped to [0, 1].

    Returns
    -------
    pandas.DataFrame
        Rows ``treated``, ``control``, ``difference``: ``estimate``, ``std_err``,
        ``ci_low``, ``ci_high``, ``p_value`` (difference only). NaN where an arm has no
        weight.
    """
    y = np.asarray(outcome, dtype=float)
    t = np.asarray(treated, dtype=bool)
    w = np.asarray(weights, dtype=float)
    index = ["treated", "control", "difference"]
    cols = ["estimate", "std_err", "ci_low", "ci_high", "p_value"]
    if not (w[t].sum() > 0 and w[~t].sum() > 0):
        return pd.DataFrame(np.nan, index=index, columns=cols)
    p1 = float(np.sum(w[t] * y[t]) / np.sum(w[t]))
    p0 = float(np.sum(w[~t] * y[~t]) / np.sum(w[~t]))
    x = np.column_stack([np.ones_like(y), t.astype(float)])
    mu = np.where(t, p1, p0)
    bread = np.linalg.inv((x * w[:, None]).T @ x)
    scores = x * (w * (y - mu))[:, None]
    _, codes = np.unique(np.asarray(cluster), return_inverse=True)
    n_clusters = int(codes.max()) + 1
    summed = np.zeros((n_clusters, 2))
    np.add.at(summed, codes, scores)
    meat = summed.T @ summed * (n_clusters / (n_clusters - 1) if n_clusters > 1 else 1.0)
    var = bread @ meat @ bread
    z = float(sps.norm.ppf(0.5 + conf_level / 2))
    contrasts = {"treated": np.array([1.0, 1.0]), "control": np.array([1.0, 0.0])}
    contrasts["difference"] = np.array([0.0, 1.0])
    estimates = {"treated": p1, "control": p0, "difference": p1 - p0}
    rows = []
    for name in index:
        a = contrasts[name]
        se = math.sqrt(max(float(a @ var @ a), 0.0))
        low, high = estimates[name] - z * se, estimates[name] + z * se
        p = np.nan
        if name == "difference":
            p = float(2 * sps.norm.sf(abs(estimates[name] / se))) if se > 0 else np.nan
        else:
            low, high = max(low, 0.0), min(high, 1.0)
        rows.append([estimates[name], se, low, high, p])
    return pd.DataFrame(rows, index=index, columns=cols)


def _cdi(
    cohort: Cohort, spec: EmulationSpec, definition: EndpointDefinition, data: pd.DataFrame
) -> pd.DataFrame:
    """Per entry: CDI by the landmark (1/0) and whether evaluable (a CDI by then, or
    followed to the landmark)."""
    times = entry_times(cohort, spec, definition, data).set_index("entry_id")
    landmark = spec.outcomes.landmark_years
    hit = (times["status"] == 1) & (times["time_years"] <= landmark)
    evaluable = hit | (times["time_years"] >= landmark)
    return pd.DataFrame({"outcome": hit.astype(float), "evaluable": evaluable})


def _neda(
    cohort: Cohort, spec: EmulationSpec, definition: EndpointDefinition, data: pd.DataFrame
) -> pd.DataFrame:
    """Per entry: NEDA over (0, landmark) (1/0) and whether evaluable (activity by then,
    or every component assessed to the landmark and alive)."""
    parts = []
    for _, group in data.groupby("entry_group"):
        found_status = neda_status(
            cohort,
            window_years=(0.0, spec.outcomes.landmark_years),
            definition=definition,
            anchor=group[["patient_id", "anchor_date"]],
        ).patients
        lookup = found_status.assign(
            patient_id=found_status["patient_id"].astype(object)
        ).set_index("patient_id")["status"]
        found = lookup.reindex(group["patient_id"].astype(object).to_numpy()).to_numpy()
        parts.append(pd.Series(found, index=group.index))
    status = pd.concat(parts).reindex(data.index)
    return pd.DataFrame(
        {
            "outcome": (status == "NEDA").astype(float),
            "evaluable": status.isin(["NEDA", "activity"]),
        }
    )


def proportion_comparison(
    cohort: Cohort, spec: EmulationSpec, data: pd.DataFrame
) -> ProportionComparison:
    """CDI and NEDA at the spec's landmark in the matched or weighted sample.

    ``data`` is the analysed entries of :func:`emulate_trial` (``weight``, ``cluster``,
    ``treated``, ``arm``, ``anchor_date``, ``entry_group``). Entries with weight 0 are
    left out; so are those not evaluable at the landmark (counted), whose weights are not
    redistributed to the rest of their matched set.
    """
    cdi_definition, neda_definition = spec.proportion_definitions()
    landmark = spec.outcomes.landmark_years
    codes = pd.factorize(data["cluster"])[0]
    weights = data["weight"].to_numpy(dtype=float)
    treated = data["treated"].to_numpy(dtype=bool)
    arms = {"treated": spec.treated.name, "control": spec.control.name}
    rows = []
    outcomes: dict[str, tuple[str, Callable[..., pd.DataFrame]]] = {
        "cdi": (f"Confirmed disability improvement by {landmark:g} years", _cdi),
        "neda": (f"{neda_definition.title or neda_definition.name} over {landmark:g} years", _neda),
    }
    definitions = {"cdi": cdi_definition, "neda": neda_definition}
    analysed = weights > 0
    for key, (title, compute) in outcomes.items():
        frame = compute(cohort, spec, definitions[key], data).reindex(data.index)
        evaluable = frame["evaluable"].to_numpy(dtype=bool)
        y = frame["outcome"].to_numpy(dtype=float)
        use = analysed & evaluable
        result = weighted_proportions(
            y[use], treated[use], weights[use], codes[use], conf_level=spec.conf_level
        )
        for arm, mine in (
            ("treated", analysed & treated),
            ("control", analysed & ~treated),
            ("difference", analysed),
        ):
            counted = mine & evaluable
            rows.append(
                [
                    key,
                    title,
                    landmark,
                    arms.get(arm, "difference"),
                    int(mine.sum()),
                    int(counted.sum()),
                    int((mine & ~evaluable).sum()),
                    int(y[counted].sum()),
                    *result.loc[arm].to_numpy(dtype=float).tolist(),
                ]
            )
    return ProportionComparison(
        pd.DataFrame(rows, columns=COLUMNS),
        landmark,
        spec.conf_level,
        "weighted linear probability model with cluster-robust sandwich variance "
        "(clusters: matched sets or patients)",
    )
