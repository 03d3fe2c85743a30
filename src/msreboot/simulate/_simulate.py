"""Simulate a virtual cohort: the one way in, and its result."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from msreboot._version import __version__
from msreboot.data import Cohort
from msreboot.simulate._cache import ensure_fresh
from msreboot.simulate._kernel import FAILED_POPULATION, OVERFLOW_EVENTS, OVERFLOW_RELAPSES
from msreboot.simulate._kernel_chunk import simulate_chunk
from msreboot.simulate._kernel_common import (
    B_AGE,
    B_ATTEMPTS,
    B_DURATION,
    B_EDSS_LATENT,
    B_EDSS_REVERSIBLE,
    B_FEMALE,
    B_GAMMA,
    B_GD,
    B_HCT_CI,
    B_NEURO,
    B_PHENOTYPE,
    B_PRIOR_DMTS,
    B_PRIOR_RELAPSES,
    B_RECENT,
    B_REMYELINATION,
    B_SP_CLASS,
    B_T2,
    B_THYMIC,
    T_AUTO_6M,
    T_AUTO_12M,
    T_AUTO_24M,
    T_AUTO_60M,
    T_CD4_6M,
    T_CD4_12M,
    T_CD4_24M,
    T_CD34,
    T_DEATH_CAUSE,
    T_DEATH_DAY,
    T_DMT_RESPONSE,
    T_DMT_STOP_DAY,
    T_EDSS3_DAY,
    T_EDSS4_DAY,
    T_EDSS6_DAY,
    T_EDSS8_DAY,
    T_EDSS_END,
    T_ENGRAFT_DAY,
    T_FEBRILE_NEUTROPENIA,
    T_GD_TOTAL,
    T_LAST_DAY,
    T_OBS_END,
    T_REACTIVATION_DAY,
    T_RELAPSES,
    T_SHARE_PROG,
    T_SHARE_RR,
    T_SPMS_DAY,
    T_TRM,
)
from msreboot.simulate._kernel_switch import TX_FAILURE, TX_PRESENT
from msreboot.simulate._labs import DAYS_PER_MONTH, labs_table, normals_per_patient
from msreboot.simulate._parameters import SimulationParameters
from msreboot.simulate._population import PHENOTYPE_CODES, PopulationSpec
from msreboot.simulate._rng import (
    STREAM_MISSED_EDSS,
    STREAM_MISSED_MRI,
    lab_normals,
    seed_prefix,
    stream_uniforms,
)
from msreboot.simulate._schedule import VisitSchedule
from msreboot.simulate._switch import SwitchRule, no_switch
from msreboot.simulate._tables import ChunkOutput, build_tables, compact, patient_ids
from msreboot.simulate._treatment import (
    KIND_AHSCT,
    KIND_NONE,
    TR_D0,
    TR_KIND,
    TR_MOB_DAY,
    TR_START,
    AHSCTCourse,
    Treatment,
    treatment_dict,
    treatment_vector,
)

__all__ = ["SimulatedCohort", "simulate_cohort"]

DEFAULT_CHUNK = 50_000
_DEATH_CAUSES = ("ms", "infection", "transplant_toxicity", "malignancy", "cardiovascular")


@dataclass(frozen=True, eq=False)
class SimulatedCohort:
    """A virtual cohort: the canonical tables, each patient's latent truth, and provenance.

    Attributes
    ----------
    cohort
        The seven canonical tables (and, for an AHSCT course with
        ``VisitSchedule(lab_months=...)``, the ``labs`` table of immune reconstitution) as
        a validated :class:`~msreboot.data.Cohort`
        (``time_unit="day"``: day 0 is each patient's enrolment; birth and onset are
        negative days). Every endpoint function accepts it as it accepts real data.
    truth
        One row per patient: baseline characteristics (observed and latent) and the latent
        course (days to SPMS, to latent EDSS 3 / 4 / 6 / 8, true relapse and Gd+ counts,
        death, and for AHSCT the engraftment day, CD34+ dose, CD4 counts and the
        autoreactive pool relative to before the transplant; for a DMT the response class
        and the day it stops). Days count from enrolment;
        NaN where an event did not happen in follow-up.
    metadata
        Seed (entropy and spawn key: enough to reproduce the cohort), package version,
        parameters, population, treatment, schedule, follow-up and size.
    """

    cohort: Cohort
    truth: pd.DataFrame
    metadata: Mapping[str, object]

    @property
    def n_patients(self) -> int:
        return len(self.truth)

    @property
    def parameters(self) -> SimulationParameters:
        return SimulationParameters.model_validate(self.metadata["parameters"])

    def to_frame(self) -> pd.DataFrame:
        """The truth table (one row per patient)."""
        return self.truth.copy()

    def summary(self) -> str:
        """Size, treatment, follow-up, and observed counts per table (text)."""
        meta = self.metadata
        counts = ", ".join(f"{k} {len(v)}" for k, v in self.cohort.tables.items())
        treatment = meta["treatment"]
        kind = treatment["kind"] if isinstance(treatment, Mapping) else "?"
        return (
            f"SimulatedCohort: {self.n_patients} patients, treatment {kind}, "
            f"{meta['follow_up_years']} years of follow-up, seed {meta['seed_entropy']} "
            f"{meta['seed_spawn_key']}, msreboot {meta['msreboot_version']}\n"
            f"rows: {counts}"
        )

    def _repr_html_(self) -> str:
        lines = self.summary().splitlines()
        return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def _root_seed(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(
            f"seed must be a non-negative integer, a numpy SeedSequence or None; got {seed!r}"
        )
    return np.random.SeedSequence(int(seed))


def _check_parameters(params: SimulationParameters) -> None:
    if params.thymic_output_per_ul_per_day / params.naive_cd4_per_ul >= params.naive_death_per_day:
        raise ValueError(
            "thymic_output_per_ul_per_day / naive_cd4_per_ul must be below naive_death_per_day "
            "(the naive steady state needs some homeostatic proliferation)"
        )
    if (
        params.priming_per_day * params.naive_cd4_per_ul / params.memory_cd4_per_ul
        >= params.memory_death_per_day
    ):
        raise ValueError(
            "priming_per_day * naive_cd4_per_ul / memory_cd4_per_ul must be below "
            "memory_death_per_day (the memory steady state needs some proliferation)"
        )
    if params.spms_slow_share_probability + params.spms_medium_share_probability > 1:
        raise ValueError(
            "spms_slow_share_probability + spms_medium_share_probability must be <= 1; got "
            f"{params.spms_slow_share_probability + params.spms_medium_share_probability:g}"
        )
    if params.gd_ar1_ratio + params.gd_ar2_ratio >= 1:
        raise ValueError("gd_ar1_ratio + gd_ar2_ratio must be below 1 (stationary Gd+ process)")


def simulate_cohort(
    n: int,
    population: PopulationSpec | None = None,
    treatment: Treatment = None,
    schedule: VisitSchedule | None = None,
    follow_up_years: float = 5.0,
    parameters: SimulationParameters | None = None,
    *,
    seed: int | np.random.SeedSequence | None = None,
    id_prefix: str = "V",
    chunk_size: int | None = None,
    validate: bool = True,
    switch: SwitchRule | None = None,
) -> SimulatedCohort:
    """Simulate ``n`` virtual patients from enrolment to the end of follow-up.

    Parameters
    ----------
    n
        Number of patients.
    population
        Case-mix and eligibility (default :class:`PopulationSpec()`).
    treatment
        One course from enrolment: :class:`DMTCourse`, :class:`AHSCTCourse`,
        :class:`MSCCourse`, or ``None`` (untreated natural history).
    schedule
        EDSS visits and MRI scans (default every 6 and 12 months), and for an AHSCT course
        the blood draws of immune reconstitution (``lab_months``; none by default).
    follow_up_years
        Years from enrolment.
    parameters
        Model parameters (default :meth:`SimulationParameters.default`).
    seed
        An integer, a ``numpy.random.SeedSequence`` (e.g. one child of
        ``SeedSequence(seed).spawn(k)`` per replicate or arm) or ``None`` (fresh entropy,
        recorded in the metadata). Patient ``i`` draws from streams keyed by
        ``(i, purpose)`` under this seed, so the same seed gives the same patients
        whatever ``n``, ``chunk_size`` or the number of threads, and the same baseline
        patients whatever the treatment (paired counterfactuals).
    id_prefix
        Prefix of the patient identifiers (``V000001``...); use distinct prefixes for
        arms that will be combined.
    chunk_size
        Patients per compiled call (bounds memory; does not change the result).
    validate
        Validate the tables through :meth:`Cohort.from_frames` (the same checks real data
        get). ``False`` wraps the canonical tables directly (faster, for large runs).
    switch
        A second course on failure of the first (:class:`SwitchRule`: a DMT sequence, or
        a crossover or rescue transplant); it is a second treatments row, and the truth
        gains ``switch_failure_day`` (the day of the failure that started it; NaN when
        no second course began within the record). ``None`` (default): one course, and
        the same result as before the option existed.

    Returns
    -------
    SimulatedCohort

    Raises
    ------
    ValueError
        Invalid sizes or parameters, or eligibility that (almost) no patient meets.

    Notes
    -----
    Day 0 is enrolment; an AHSCT course starts mobilisation after
    ``enrolment_to_mobilisation_days`` and reinfusion (the treatments table's
    ``start_date``, day 0 of the transplant) after mobilisation and conditioning. The
    model is documented in :mod:`msreboot.simulate`.

    Examples
    --------
    >>> from msreboot.simulate import AHSCTCourse, simulate_cohort
    >>> sim = simulate_cohort(200, treatment=AHSCTCourse("beam_atg", cd34_selected=True),
    ...                       follow_up_years=3, seed=1)
    >>> sim.cohort.n_patients, sim.cohort.time_unit
    (200, 'day')
    >>> sim.truth["engraftment_day"].between(5, 20).all()
    np.True_
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n < 2**31:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if not (isinstance(follow_up_years, int | float) and 0 < follow_up_years <= 100):
        raise ValueError(f"follow_up_years must be in (0, 100]; got {follow_up_years!r}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size}")
    population = population or PopulationSpec()
    schedule = schedule or VisitSchedule()
    params = parameters or SimulationParameters.default()
    _check_parameters(params)
    ensure_fresh()
    root = _root_seed(seed)
    pool, hc = seed_prefix(root)
    fp = params.to_array()
    pv = population.to_vector()
    tv = treatment_vector(treatment, params)
    if switch is not None:
        switch.check_first(treatment)
    tv2 = treatment_vector(switch.treatment if switch else None, params)
    sw = switch.vector() if switch else no_switch()
    fu_days = float(follow_up_years) * 365.25
    edss_sched = schedule.edss_days(follow_up_years)
    day0 = course_day(tv)
    mri_sched = schedule.mri_days(follow_up_years, day0)
    reference = schedule.reference_mri_day(day0)
    lab_months = schedule.lab_months if isinstance(treatment, AHSCTCourse) else None
    lab_days = np.array([m * DAYS_PER_MONTH for m in lab_months or ()], dtype=np.float64)
    chunks = [
        _run_chunk(
            first,
            min(chunk_size or DEFAULT_CHUNK, n - first),
            pool,
            hc,
            pv,
            fp,
            tv,
            tv2,
            sw,
            edss_sched,
            mri_sched,
            schedule,
            fu_days,
            reference,
            lab_days,
        )
        for first in range(0, int(n), chunk_size or DEFAULT_CHUNK)
    ]
    ids = patient_ids(id_prefix, int(n))
    tables = build_tables(chunks, ids, treatment, switch.treatment if switch else None)
    if lab_months is not None:
        tables["labs"] = labs_table(
            ids,
            np.concatenate([c.tx[:, TX_PRESENT] == 1 for c in chunks]),
            np.concatenate([c.truth for c in chunks]),
            np.concatenate([c.lab for c in chunks]),
            lab_normals(pool, np.uint64(hc), 0, int(n), normals_per_patient(len(lab_months))),
            lab_months,
            day0,
            int(tv[TR_MOB_DAY]),
            params.naive_cd4_per_ul,
            params.memory_cd4_per_ul,
        )
    if schedule.missed_visit_share > 0:
        _miss_visits(tables, ids, pool, hc, schedule.missed_visit_share)
    if validate:
        cohort = Cohort.from_frames(tables, time_unit="day")
    else:
        cohort = Cohort.from_canonical(tables, "day")
    truth = _truth_frame(chunks, ids)
    if switch is not None:
        failure = np.concatenate([c.tx2[:, TX_FAILURE] for c in chunks]).astype(float)
        present = np.concatenate([c.tx2[:, TX_PRESENT] for c in chunks]) == 1
        truth["switch_failure_day"] = np.where(present, failure, np.nan)
    metadata: dict[str, object] = {
        "seed_entropy": root.entropy,
        "seed_spawn_key": tuple(root.spawn_key),
        "msreboot_version": __version__,
        "n": int(n),
        "follow_up_years": float(follow_up_years),
        "time_unit": "day",
        "day_zero": "enrolment",
        "id_prefix": id_prefix,
        "parameters": params.model_dump(),
        "population": population.to_dict(),
        "treatment": treatment_dict(treatment),
        "schedule": schedule.to_dict(),
    }
    if switch is not None:
        metadata["switch"] = switch.to_dict()
    return SimulatedCohort(cohort=cohort, truth=truth, metadata=metadata)


def _miss_visits(
    tables: dict[str, pd.DataFrame], ids: np.ndarray, pool: np.ndarray, hc: int, share: float
) -> None:
    """Remove each EDSS visit and MRI scan after day 0 with probability ``share``, from
    every patient's own missed-visit stream (the EDSS visits in date order, then the scans),
    so the same seed misses the same visits whatever the chunking."""
    position = {pid: i for i, pid in enumerate(ids)}
    for name in ("edss", "mri"):
        frame = tables[name]
        if frame.empty:
            continue
        order = frame.assign(_p=frame["patient_id"].map(position)).sort_values(
            ["_p", "date"], kind="stable"
        )
        patients, counts = np.unique(order["_p"].to_numpy(dtype=np.int64), return_counts=True)
        stream = STREAM_MISSED_EDSS if name == "edss" else STREAM_MISSED_MRI
        draws = stream_uniforms(pool, np.uint64(hc), patients, counts.astype(np.int64), stream)
        missed = (draws < share) & (order["date"].to_numpy(dtype=np.int64) > 0)
        keep = order.index[~missed]
        tables[name] = frame.loc[frame.index.isin(keep)].reset_index(drop=True)


def _run_chunk(
    first: int,
    size: int,
    pool: np.ndarray,
    hc: int,
    pv: np.ndarray,
    fp: np.ndarray,
    tv: np.ndarray,
    tv2: np.ndarray,
    sw: np.ndarray,
    edss_sched: np.ndarray,
    mri_sched: np.ndarray,
    schedule: VisitSchedule,
    fu_days: float,
    reference: int | None = None,
    lab_days: np.ndarray | None = None,
) -> ChunkOutput:
    years = fu_days / 365.25
    cap_rel = 24 + math.ceil(years * 3)
    cap_ae = 12 + math.ceil(years * 2)
    for _ in range(8):
        raw = simulate_chunk(
            first,
            size,
            pool,
            np.uint64(hc),
            pv,
            fp,
            tv,
            tv2,
            sw,
            edss_sched,
            mri_sched,
            schedule.jitter_days,
            schedule.loss_to_follow_up_per_year,
            fu_days,
            cap_rel,
            cap_ae,
            np.zeros(0) if lab_days is None else lab_days,
        )
        status = raw[3]
        if (status == FAILED_POPULATION).any():
            bad = int(np.flatnonzero(status == FAILED_POPULATION)[0]) + first
            raise ValueError(
                f"population eligibility is too strict: no eligible patient was drawn for "
                f"patient index {bad} in 100,000 attempts; widen the ranges or lower the "
                "minimum relapses / Gd+ lesions"
            )
        if (status == OVERFLOW_RELAPSES).any():
            cap_rel *= 2
            continue
        if (status == OVERFLOW_EVENTS).any():
            cap_ae *= 2
            continue
        chunk = compact(first, raw)
        if reference is not None:
            _mark_reference_scan(chunk, reference - schedule.jitter_days)
        return chunk
    raise RuntimeError("relapse or adverse-event slots kept overflowing")  # pragma: no cover


def course_day(tv: np.ndarray) -> int:
    """The course's day 0 in days from enrolment: the reinfusion of a transplant, the
    first dose of a DMT or MSC, enrolment (0) when untreated."""
    kind = int(tv[TR_KIND])
    if kind == KIND_NONE:
        return 0
    return int(tv[TR_D0] if kind == KIND_AHSCT else tv[TR_START])


def _mark_reference_scan(chunk: ChunkOutput, earliest_day: int) -> None:
    """The re-baseline scan (each patient's first scan after enrolment on or after
    ``earliest_day``) has no new-T2 count: it is the new reference, as the enrolment scan
    is; the kernel counts the next scan's new lesions from it."""
    patient, day, values = chunk.mri
    if len(patient) == 0:
        return
    candidate = np.flatnonzero((day > 0) & (day >= earliest_day))
    _, first = np.unique(patient[candidate], return_index=True)
    values.reshape(-1, 3)[candidate[first], 1] = -1


def _response_names(code: np.ndarray) -> np.ndarray:
    names = np.full(len(code), None, dtype=object)
    known = ~np.isnan(code)
    labels = np.array(["responder", "partial", "non_responder"], dtype=object)
    names[known] = labels[code[known].astype(int)]
    return names


def _truth_frame(chunks: list[ChunkOutput], ids: np.ndarray) -> pd.DataFrame:
    base = np.concatenate([c.base for c in chunks])
    truth = np.concatenate([c.truth for c in chunks])
    phen = np.array(PHENOTYPE_CODES, dtype=object)[base[:, B_PHENOTYPE].astype(int)]
    klass = np.array(["slow", "medium", "fast"], dtype=object)[base[:, B_SP_CLASS].astype(int)]
    cause_code = truth[:, T_DEATH_CAUSE]
    from msreboot.data import DEATH_CAUSES

    causes = np.full(len(ids), None, dtype=object)
    dead = ~np.isnan(cause_code)
    causes[dead] = np.array(DEATH_CAUSES, dtype=object)[cause_code[dead].astype(int)]
    columns = {
        "patient_id": ids,
        "age_years": base[:, B_AGE],
        "sex": np.where(base[:, B_FEMALE] > 0.5, "F", "M"),
        "phenotype": phen,
        "duration_years": base[:, B_DURATION],
        "edss_latent": base[:, B_EDSS_LATENT],
        "edss_recoverable": base[:, B_EDSS_REVERSIBLE],
        "inflammatory_propensity": base[:, B_GAMMA],
        "recent_activity_ratio": base[:, B_RECENT],
        "neurodegeneration_ratio": base[:, B_NEURO],
        "remyelination_capacity": base[:, B_REMYELINATION],
        "thymic_function": base[:, B_THYMIC],
        "progressive_class": klass,
        "prior_relapses": base[:, B_PRIOR_RELAPSES].astype(np.int64),
        "baseline_gd_lesions": base[:, B_GD].astype(np.int64),
        "baseline_t2_lesions": base[:, B_T2].astype(np.int64),
        "prior_dmt_count": base[:, B_PRIOR_DMTS].astype(np.int64),
        "hct_ci": base[:, B_HCT_CI].astype(np.int64),
        "draw_attempts": base[:, B_ATTEMPTS].astype(np.int64),
        "spms_day": truth[:, T_SPMS_DAY],
        "edss_3_day": truth[:, T_EDSS3_DAY],
        "edss_4_day": truth[:, T_EDSS4_DAY],
        "edss_6_day": truth[:, T_EDSS6_DAY],
        "edss_8_day": truth[:, T_EDSS8_DAY],
        "edss_latent_end": truth[:, T_EDSS_END],
        "relapses": truth[:, T_RELAPSES].astype(np.int64),
        "gd_lesions_total": truth[:, T_GD_TOTAL].astype(np.int64),
        "death_day": truth[:, T_DEATH_DAY],
        "death_cause": causes,
        "transplant_related_death": truth[:, T_TRM] > 0.5,
        "last_day": truth[:, T_LAST_DAY],
        "observed_until_day": truth[:, T_OBS_END],
        "engraftment_day": truth[:, T_ENGRAFT_DAY],
        "cd34_dose_1e6_per_kg": truth[:, T_CD34],
        "febrile_neutropenia": truth[:, T_FEBRILE_NEUTROPENIA],
        "cd4_6m_per_ul": truth[:, T_CD4_6M],
        "cd4_12m_per_ul": truth[:, T_CD4_12M],
        "cd4_24m_per_ul": truth[:, T_CD4_24M],
        "autoreactive_6m_ratio": truth[:, T_AUTO_6M],
        "autoreactive_12m_ratio": truth[:, T_AUTO_12M],
        "autoreactive_24m_ratio": truth[:, T_AUTO_24M],
        "autoreactive_60m_ratio": truth[:, T_AUTO_60M],
        "reactivation_day": truth[:, T_REACTIVATION_DAY],
        "dmt_response": _response_names(truth[:, T_DMT_RESPONSE]),
        "dmt_stop_day": truth[:, T_DMT_STOP_DAY],
        "inflammatory_share_relapsing_ratio": truth[:, T_SHARE_RR],
        "inflammatory_share_progressive_ratio": truth[:, T_SHARE_PROG],
    }
    return pd.DataFrame(columns)
