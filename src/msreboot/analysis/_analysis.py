"""One cohort analysed once: every section a front end shows, as named results."""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from msreboot.analysis._course import DiseaseCourse, disease_course
from msreboot.analysis._description import CohortDescription, describe_groups
from msreboot.analysis._emulation import EmulatedTrial, emulate_trial
from msreboot.analysis._emulation_spec import AdjustmentSpec, EmulationSpec
from msreboot.analysis._evidence import EvidenceBeside, evidence_citations, set_beside_evidence
from msreboot.analysis._measures import MeasuresAfterAHSCT, measures_after_ahsct
from msreboot.analysis._reconstitution import ImmuneReconstitution, immune_reconstitution
from msreboot.analysis._records import RecordedCharacteristics, recorded_characteristics
from msreboot.data import Cohort
from msreboot.endpoints import (
    EndpointComparison,
    EndpointDefinition,
    EndpointEstimate,
    EndpointResults,
    TransplantMortality,
    TransplantOutcomes,
    compare_endpoint,
    estimate_endpoint,
    transplant_mortality,
    transplant_outcomes,
)

if TYPE_CHECKING:
    from msreboot.trials import TrialResult

__all__ = [
    "DEFAULT_EMULATION",
    "DEFAULT_ENDPOINTS",
    "MAX_AXIS_YEARS",
    "CohortAnalysis",
    "analyse_cohort",
    "time_axis_years",
]

DEFAULT_ENDPOINTS = (
    "halt_ms_efs",
    "halt_ms_pfs",
    "halt_ms_rfs",
    "muraro_2017_pfs",
    "neda_3",
    "overall_survival",
)
"""The endpoints an analysis estimates unless told otherwise."""

MAX_AXIS_YEARS = 10
"""Time axes end at most this many years after time zero."""

DEFAULT_EMULATION = EmulationSpec(
    name="ahsct_vs_dmt",
    title="AHSCT vs high-efficacy DMT (default comparison)",
    adjustment=AdjustmentSpec(method="iptw", estimand="att"),
)
"""The comparison an analysis runs when the cohort has AHSCT and DMT-only patients and no
emulation spec is given: AHSCT against any high-efficacy DMT start, each patient once,
inverse probability of treatment weights (ATT) on age, sex, EDSS, disease duration, prior
relapses and prior DMTs, HALT-MS event-free survival."""


@dataclass(frozen=True, eq=False)
class CohortAnalysis:
    """Everything computed about one cohort, once, for the report, the CLI and the dashboard.

    Attributes
    ----------
    cohort
        The cohort analysed.
    definitions
        The endpoint definitions estimated, in order.
    times_years
        Landmark years from time zero.
    anchor
        Time zero: each patient's first course of this kind (``"ahsct"``: reinfusion).
    description
        Treatment groups, Table 1, follow-up, completeness and validation warnings.
    endpoints
        Landmark estimates of every definition that could be estimated (``None`` when none
        could); ``skipped`` says why the others could not.
    skipped
        One line per endpoint that could not be estimated or compared, with the reason.
    by
        The patients-table column the endpoints are compared by (``None``: no comparison).
    comparisons
        Per endpoint, its estimates by group with hazard ratios against the reference
        group and the log-rank test (empty without ``by``).
    course
        EDSS trajectories, relapse rates and MRI activity around time zero.
    transplant, trm
        Transplant outcomes and transplant-related mortality of the first AHSCT course
        (``None`` without AHSCT courses; ``transplant_note`` says why).
    transplant_note
        Why there are no transplant outcomes (empty when there are).
    evidence
        The cohort beside the published studies.
    citations
        References of the published studies used, and the evidence dataset's version.
    x_max_years
        Where time axes end: whole years covering the endpoints' follow-up (at most
        :data:`MAX_AXIS_YEARS`) and at least the last landmark; the last landmark when no
        endpoint could be estimated. The disease course is computed up to it.
    trial
        A virtual trial run beside the cohort, when one was given.
    emulation
        The emulated trial of AHSCT against a DMT (:func:`emulate_trial`), when one was
        asked for or the cohort has AHSCT and DMT-only patients (``None`` otherwise;
        ``emulation_note`` says why).
    emulation_note
        Why there is no emulated trial (empty when there is).
    reconstitution
        Lymphocyte-subset counts by months since AHSCT from the labs table
        (:func:`immune_reconstitution`; without patients when there are no such results).
    measures
        The functional tests, MRI volumes, serum NfL and questionnaires by months since
        AHSCT (:func:`measures_after_ahsct`; without patients when there are none).
    records
        What the first AHSCT courses and the relapses record (mobilisation, graft,
        conditioning, ATG, G-CSF, CMV, weight, performance status; relapse severity and
        steroids), :func:`recorded_characteristics`.
    """

    cohort: Cohort = field(repr=False)
    definitions: tuple[EndpointDefinition, ...]
    times_years: tuple[float, ...]
    anchor: str
    description: CohortDescription = field(repr=False)
    endpoints: EndpointResults | None = field(repr=False)
    skipped: tuple[str, ...]
    by: str | None
    comparisons: Mapping[str, EndpointComparison] = field(repr=False)
    course: DiseaseCourse = field(repr=False)
    transplant: TransplantOutcomes | None = field(repr=False)
    trm: TransplantMortality | None = field(repr=False)
    transplant_note: str
    evidence: EvidenceBeside = field(repr=False)
    citations: tuple[str, ...] = field(repr=False)
    x_max_years: float
    trial: TrialResult | None = field(default=None, repr=False)
    emulation: EmulatedTrial | None = field(default=None, repr=False)
    emulation_note: str = ""
    reconstitution: ImmuneReconstitution | None = field(default=None, repr=False)
    measures: MeasuresAfterAHSCT | None = field(default=None, repr=False)
    records: RecordedCharacteristics | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The endpoint landmark estimates as one tidy table (empty when there are none)."""
        if self.endpoints is None:
            return pd.DataFrame()
        return self.endpoints.to_frame()

    def summary(self) -> str:
        """Each section's summary, as text."""
        parts = [self.description.summary()]
        if self.endpoints is not None:
            parts.append(self.endpoints.summary())
        parts += [f"not estimated: {s}" for s in self.skipped]
        for name, comparison in self.comparisons.items():
            parts.append(f"{name} by {self.by}:\n{comparison.summary()}")
        parts.append(self.course.summary())
        if self.trm is not None:
            parts.append(self.trm.summary())
        if self.reconstitution is not None and self.reconstitution.available:
            parts.append(self.reconstitution.summary())
        if self.measures is not None and self.measures.available:
            parts.append(self.measures.summary())
        elif self.transplant_note:
            parts.append(f"transplant outcomes: {self.transplant_note}")
        parts.append(self.evidence.summary())
        if self.trial is not None:
            parts.append(self.trial.summary())
        if self.emulation is not None:
            parts.append(self.emulation.summary())
        elif self.emulation_note:
            parts.append(f"treatment comparison: {self.emulation_note}")
        return "\n\n".join(parts)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def time_axis_years(results: EndpointResults) -> float:
    """The common x-axis length of the figures: whole years covering the follow-up (at most
    ``MAX_AXIS_YEARS``) and at least the last landmark."""
    longest = 0.0
    for name in results:
        for estimate in results.by_group(name).values():
            times = estimate.times.patients["time_years"].to_numpy(dtype=float)
            if len(times):
                longest = max(longest, float(np.nanmax(times)))
    last = max(results.times_years, default=1.0)
    return float(max(min(math.ceil(longest), MAX_AXIS_YEARS), math.ceil(last), 1))


def _check_times(times_years: Sequence[float]) -> tuple[float, ...]:
    times = tuple(float(t) for t in times_years)
    if not times or any(not (np.isfinite(t) and t >= 0) for t in times):
        raise ValueError(f"times_years must be years >= 0; got {list(times_years)}.")
    return tuple(sorted(set(times)))


def _definitions(
    endpoints: Sequence[EndpointDefinition | str] | None,
) -> tuple[EndpointDefinition, ...]:
    chosen = list(DEFAULT_ENDPOINTS if endpoints is None else endpoints)
    if not chosen:
        raise ValueError("endpoints must name at least one endpoint; got an empty list.")
    out = [d if isinstance(d, EndpointDefinition) else EndpointDefinition.preset(d) for d in chosen]
    names = [d.name for d in out]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ValueError(f"endpoint names must be unique; {dup!r} appears twice.")
    return tuple(out)


def _estimate(
    cohort: Cohort,
    definitions: Sequence[EndpointDefinition],
    times: tuple[float, ...],
    anchor: str,
) -> tuple[EndpointResults | None, tuple[str, ...]]:
    estimates: dict[str, EndpointEstimate | Mapping[Hashable, EndpointEstimate]] = {}
    skipped = []
    for d in definitions:
        try:
            estimates[d.name] = estimate_endpoint(cohort, d, times_years=times, anchor=anchor)
        except ValueError as exc:
            skipped.append(f"{d.title or d.name}: {exc}")
    if not estimates:
        return None, tuple(skipped)
    return EndpointResults(estimates, times, anchor), tuple(skipped)


def analyse_cohort(
    cohort: Cohort,
    *,
    definitions: Sequence[EndpointDefinition | str] | None = None,
    times_years: Sequence[float] = (2.0, 3.0, 4.0, 5.0),
    anchor: str = "ahsct",
    by: str | None = None,
    trial: TrialResult | None = None,
    emulation: EmulationSpec | None = None,
    compare_treatments: bool = True,
) -> CohortAnalysis:
    """Analyse a cohort once: every result the report, the CLI and the dashboard show.

    Parameters
    ----------
    cohort
        A validated cohort (:func:`~msreboot.data.read_cohort`,
        :func:`~msreboot.data.read_store`).
    definitions
        Endpoint presets or definitions; default :data:`DEFAULT_ENDPOINTS`.
    times_years
        Landmark years from time zero.
    anchor
        Time zero: each patient's first course of this kind (``"ahsct"``: reinfusion).
    by
        A column of the patients table (``"phenotype"``, ``"sex"``, ...) to compare every
        endpoint by (:func:`~msreboot.endpoints.compare_endpoint`: estimates per group,
        Cox hazard ratios against the first group, log-rank test); ``None``: no comparison.
    trial
        A virtual trial (:func:`msreboot.trials.run_trial`) to keep beside the cohort.
    emulation
        An emulated trial of AHSCT against a DMT to run (:class:`EmulationSpec`); when
        ``None`` and ``compare_treatments``, :data:`DEFAULT_EMULATION` runs whenever the
        cohort has both AHSCT and DMT-only patients.
    compare_treatments
        Run the default comparison when no ``emulation`` is given.

    Returns
    -------
    CohortAnalysis

    Raises
    ------
    ValueError
        An unknown endpoint, duplicate endpoint names, a negative landmark, or ``by`` not a
        column of the patients table. A part that
        cannot be computed for this cohort (no AHSCT course, no relapse follow-up) is not an
        error: it is ``None`` with the reason beside it.

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> analysis = analyse_cohort(load_example(), definitions=["halt_ms_efs"])
    >>> analysis.description.group_counts()
    {'AHSCT': 180, 'DMT only': 120}
    >>> print(analysis.endpoints["halt_ms_efs"].landmarks[["time_years", "estimate"]].round(3))
       time_years  estimate
    0         2.0     0.776
    ...
    """
    times = _check_times(times_years)
    chosen = _definitions(definitions)
    description = describe_groups(cohort)
    if by is not None and (by not in cohort.patients.columns or by == "patient_id"):
        columns = ", ".join(c for c in cohort.patients.columns if c != "patient_id")
        raise ValueError(f"by must be a column of the patients table ({columns}); got {by!r}.")
    endpoints, skipped = _estimate(cohort, chosen, times, anchor)
    comparisons: dict[str, EndpointComparison] = {}
    if by is not None:
        for d in chosen:
            try:
                comparisons[d.name] = compare_endpoint(
                    cohort, d, by, times_years=times, anchor=anchor
                )
            except ValueError as exc:
                skipped += (f"{d.title or d.name} by {by}: {exc}",)
    x_max = float(max(times)) if endpoints is None else time_axis_years(endpoints)
    course = disease_course(cohort, anchor=anchor, years_before=2.0, years_after=x_max)
    outcomes: TransplantOutcomes | None = None
    trm: TransplantMortality | None = None
    note = ""
    try:
        outcomes = transplant_outcomes(cohort)
        trm = transplant_mortality(cohort)
    except ValueError as exc:
        outcomes, trm, note = None, None, str(exc)
    emulated, emulation_note = _emulate(cohort, description, emulation, compare_treatments)
    return CohortAnalysis(
        cohort=cohort,
        definitions=chosen,
        times_years=times,
        anchor=anchor,
        description=description,
        endpoints=endpoints,
        skipped=skipped,
        by=by,
        comparisons=comparisons,
        course=course,
        transplant=outcomes,
        trm=trm,
        transplant_note=note,
        evidence=set_beside_evidence(cohort, trm),
        citations=evidence_citations(),
        x_max_years=x_max,
        trial=trial,
        emulation=emulated,
        emulation_note=emulation_note,
        reconstitution=immune_reconstitution(cohort),
        measures=measures_after_ahsct(cohort),
        records=recorded_characteristics(cohort),
    )


def _emulate(
    cohort: Cohort,
    description: CohortDescription,
    spec: EmulationSpec | None,
    compare_treatments: bool,
) -> tuple[EmulatedTrial | None, str]:
    if spec is None:
        groups = description.group_counts()
        if not compare_treatments:
            return None, ""
        if "AHSCT" not in groups or "DMT only" not in groups:
            return None, (
                "the cohort needs AHSCT and DMT-only patients for a comparison; it has "
                + (", ".join(groups) or "none")
            )
        spec = DEFAULT_EMULATION
    try:
        return emulate_trial(cohort, spec, warn=False), ""
    except ValueError as exc:
        return None, str(exc)
