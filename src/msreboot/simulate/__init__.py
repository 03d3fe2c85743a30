"""Virtual patients: a disease backbone with a mechanistic treatment layer.

:func:`simulate_cohort` draws patients from a :class:`PopulationSpec`, gives them one
course (:class:`DMTCourse`, :class:`AHSCTCourse`, :class:`MSCCourse` or none), follows
them month by month under :class:`SimulationParameters` and records what a clinic would
see on a :class:`VisitSchedule`: the seven canonical tables of a
:class:`~msreboot.data.Cohort` (day-based, day 0 = enrolment), so every endpoint
analyses a virtual cohort as it analyses a real one. The latent truth of every patient
comes with it, for round-trip tests and calibration.

:func:`run_trial` runs a virtual trial from a :class:`TrialSpec` (a TOML file or a bundled
study: HALT-MS, Burt 2015, Atkins 2016, MIST, Muraro 2017, Sormani 2017, MESEMS):
replicate trials analysed by :mod:`msreboot.endpoints`, power across replicates, the
published values beside the simulated ones, and :func:`sample_size` for a target power.
Trials use the parameter set calibrated to the published studies
(:mod:`msreboot.simulate.calibration`) unless their spec names another
(``parameters = "default"``: the hand-set values).
"""

from msreboot.simulate._parameters import ParameterBasis, SimulationParameters
from msreboot.simulate._population import Phenotype, PopulationSpec
from msreboot.simulate._schedule import VisitSchedule
from msreboot.simulate._simulate import SimulatedCohort, simulate_cohort
from msreboot.simulate._treatment import (
    AHSCTCourse,
    ConditioningIntensity,
    ConditioningRegimen,
    DMTCourse,
    DMTDrug,
    MSCCourse,
    Treatment,
)
from msreboot.simulate._trial import (
    TrialResult,
    TrialSpec,
    load_trial_spec,
    run_trial,
    sample_size,
)

__all__ = [
    "AHSCTCourse",
    "ConditioningIntensity",
    "ConditioningRegimen",
    "DMTCourse",
    "DMTDrug",
    "MSCCourse",
    "ParameterBasis",
    "Phenotype",
    "PopulationSpec",
    "SimulatedCohort",
    "SimulationParameters",
    "Treatment",
    "TrialResult",
    "TrialSpec",
    "VisitSchedule",
    "load_trial_spec",
    "run_trial",
    "sample_size",
    "simulate_cohort",
]
