"""One cohort's results on demand, for an interactive front end (the dashboard).

:class:`CohortExplorer` computes what the dashboard shows when a user asks for it: the
cohort's analysis (once), an endpoint under an edited definition by a grouping, every
patient's disability events (once), the patient list with record counts and one patient's
records, and a virtual trial. The dashboard only renders these results.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.analysis._analysis import CohortAnalysis
    from msreboot.analysis._patient_profile import PatientProfile
    from msreboot.analysis._patient_projection import PatientProjection
    from msreboot.data import Cohort
    from msreboot.endpoints import EndpointDefinition, EndpointEstimate
    from msreboot.evidence import EggerTest, PooledEstimate
    from msreboot.trials import TrialResult, TrialSpec

__all__ = ["EXPLORER_GROUPS", "PATIENT_TABLES", "CohortExplorer"]

#: Groupings an endpoint can be shown by: ``"treatment"`` (AHSCT / MSC / DMT only, from
#: :func:`treatment_groups`) or a patients-table column.
EXPLORER_GROUPS = ("treatment", "sex", "phenotype", "centre")
#: The per-patient tables counted in :meth:`CohortExplorer.patient_list` and returned by
#: :meth:`CohortExplorer.patient_records`.
PATIENT_TABLES = ("treatments", "edss", "relapses", "mri", "adverse_events", "deaths")


@dataclass(frozen=True)
class CohortExplorer:
    """A cohort with its results computed on request (and the costly ones kept).

    Attributes
    ----------
    cohort
        The validated cohort.
    definitions
        The endpoint definitions of :meth:`analysis` (default ``("halt_ms_efs",)``).

    Examples
    --------
    >>> from msreboot.datasets import load_example
    >>> explorer = CohortExplorer(load_example())
    >>> sorted(explorer.endpoint("halt_ms_efs", by="sex"))
    ['F', 'M']
    """

    cohort: Cohort = field(repr=False)
    definitions: tuple[str, ...] = ("halt_ms_efs",)
    _kept: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._kept:
                self._kept[key] = make()
            return self._kept[key]

    def analysis(self) -> CohortAnalysis:
        """The cohort's :func:`analyse_cohort` (description, evidence, emulated trial), once."""
        from msreboot.analysis._analysis import analyse_cohort

        result: CohortAnalysis = self._once(
            "analysis", lambda: analyse_cohort(self.cohort, definitions=list(self.definitions))
        )
        return result

    def endpoint(
        self,
        definition: EndpointDefinition | str,
        *,
        by: str | None = None,
        times_years: Sequence[float] = (2.0, 3.0, 4.0, 5.0),
    ) -> dict[str, EndpointEstimate]:
        """An endpoint's estimates (:func:`~msreboot.endpoints.estimate_endpoint`), by group.

        Parameters
        ----------
        definition
            A preset's name or an (edited) definition.
        by
            One of :data:`EXPLORER_GROUPS` present in the cohort; ``None``: all patients,
            labelled ``"All patients"``.
        times_years
            Landmark years from day 0 (the first AHSCT reinfusion).

        Returns
        -------
        dict of str to EndpointEstimate
            One estimate per group label, in the order of the groups.

        Raises
        ------
        ValueError
            ``by`` not one of :data:`EXPLORER_GROUPS` nor a patients-table column.
        """
        from msreboot.analysis._description import treatment_groups
        from msreboot.endpoints import estimate_endpoint

        grouping: Any = None
        if by == "treatment":
            grouping = treatment_groups(self.cohort)
        elif by is not None:
            if by not in self.cohort.patients:
                raise ValueError(
                    f"by must be one of {', '.join(EXPLORER_GROUPS)} or a patients-table "
                    f"column; got {by!r}. Leave it empty for all patients."
                )
            grouping = by
        result = estimate_endpoint(
            self.cohort, definition, times_years=list(times_years), by=grouping
        )
        if not isinstance(result, dict):
            return {"All patients": result}
        return {str(k): v for k, v in result.items()}

    def disability_events(self) -> pd.DataFrame:
        """Every patient's disability events under the default (msprog) rules, once
        (:meth:`~msreboot.endpoints.DisabilityEvents.to_frame`)."""
        from msreboot.endpoints import detect_disability_events

        frame: pd.DataFrame = self._once(
            "events", lambda: detect_disability_events(self.cohort).to_frame()
        )
        return frame

    def patient_list(self) -> pd.DataFrame:
        """One row per patient: ``patient_id``, ``sex``, ``phenotype`` and the number of
        records in each of :data:`PATIENT_TABLES`."""

        def make() -> pd.DataFrame:
            frame: pd.DataFrame = self.cohort.patients[["patient_id", "sex", "phenotype"]].copy()
            for table in PATIENT_TABLES:
                counts = self.cohort.tables[table]["patient_id"].value_counts()
                frame[table] = frame["patient_id"].map(counts).fillna(0).astype(int)
            return frame.reset_index(drop=True)

        frame: pd.DataFrame = self._once("patients", make)
        return frame

    def patient_records(self, patient_id: str) -> pd.DataFrame:
        """Every record of one patient in :data:`PATIENT_TABLES`, a ``table`` column first
        (empty when the patient is unknown)."""
        parts = []
        for table in PATIENT_TABLES:
            frame = self.cohort.tables[table]
            part = frame[frame["patient_id"].astype(str) == str(patient_id)].copy()
            part.insert(0, "table", table)
            parts.append(part)
        out: pd.DataFrame = pd.concat(parts, ignore_index=True)
        return out

    @staticmethod
    def virtual_trial(
        spec: TrialSpec, progress: Callable[[int], None] | None = None
    ) -> TrialResult:
        """Run a virtual trial (:func:`msreboot.trials.run_trial`); ``progress`` gets the
        finished replicate count and may raise to stop the run."""
        from msreboot.trials import run_trial

        return run_trial(spec, progress=progress)

    @staticmethod
    def sample_size(
        spec: TrialSpec,
        *,
        target_power: float = 0.8,
        n_range: tuple[int, int] = (10, 200),
        replicates: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:
        """The power curve of a trial of two arms or more and the patients per arm for
        ``target_power`` (:func:`msreboot.trials.sample_size`: every size tried with the
        Clopper-Pearson interval of its power, the fitted logistic curve and its size with
        that size's interval in ``attrs``); ``progress`` gets ``(replicates done,
        planned)`` and may raise to stop the search."""
        from msreboot.trials import sample_size

        return sample_size(
            spec,
            target_power=target_power,
            n_range=n_range,
            replicates=replicates,
            progress=progress,
        )

    @staticmethod
    def patient_projection(
        profile: PatientProfile,
        *,
        draws: int = 10,
        patients_per_draw: int = 200,
        progress: Callable[[int, int], None] | None = None,
    ) -> PatientProjection:
        """One person's benefit and risk (:func:`project_patient` with every option that
        applies); ``progress`` gets ``(simulations done, planned)`` and may raise to stop
        the run."""
        from msreboot.analysis._patient_projection import project_patient

        return project_patient(
            profile, draws=draws, patients_per_draw=patients_per_draw, progress=progress
        )

    @staticmethod
    def trm_pool() -> PooledEstimate:
        """Every sourced single-study AHSCT arm with a TRM count (:func:`trm_studies`, the
        studies the patient projection's TRM meta-regression rests on), pooled on the logit
        scale with REML (:func:`msreboot.evidence.pool_proportions`), for the funnel plot
        and Egger's test.

        The arms report TRM under different definitions (each label names its own); a
        tau^2 truncated at 0 is recorded in ``tau2_truncated`` instead of warned about.
        """
        from msreboot.analysis._patient_trm import trm_studies
        from msreboot.evidence import pool_proportions

        studies = trm_studies()
        studies = studies[studies["status"] != "unsourced"]
        labels = [
            f"{a} ({d})" for a, d in zip(studies["label"], studies["definition_id"], strict=True)
        ]
        with _tau2_truncation_recorded():
            return pool_proportions(studies["events"], studies["n"], labels=labels)

    def trm_funnel(self) -> Figure:
        """The contour-enhanced funnel plot (:func:`msreboot.evidence.funnel_plot`) of
        :meth:`trm_pool`."""
        from msreboot.evidence import funnel_plot

        with _tau2_truncation_recorded():
            return funnel_plot(
                self.trm_pool(),
                title="Transplant-related mortality: published AHSCT arms",
                xlabel="TRM, logit proportion",
            )

    def trm_egger(self) -> EggerTest | None:
        """Egger's regression test (:func:`msreboot.evidence.egger_test`, metafor's
        ``regtest`` default) of :meth:`trm_pool`; ``None`` with fewer than 3 arms."""
        from msreboot.evidence import egger_test

        pooled = self.trm_pool()
        if pooled.k < 3:
            return None
        with _tau2_truncation_recorded():
            return egger_test(pooled)

    @staticmethod
    def studies() -> pd.DataFrame:
        """The published study arms (:func:`msreboot.evidence.load_studies`)."""
        from msreboot.evidence import load_studies

        return load_studies()

    def to_frame(self) -> pd.DataFrame:
        """The patient list (:meth:`patient_list`)."""
        return self.patient_list()

    def summary(self) -> str:
        """How many patients, and which results are kept."""
        kept = ", ".join(sorted(self._kept)) or "none yet"
        return f"Cohort explorer: {len(self.cohort.patients)} patients; results kept: {kept}"


@contextmanager
def _tau2_truncation_recorded() -> Iterator[None]:
    """Silence the truncated-tau^2 warning (the pool records it in ``tau2_truncated``)."""
    from msreboot.evidence import TruncatedTau2Warning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        yield
