"""Virtual patients: a disease backbone with a mechanistic treatment layer.

:func:`simulate_cohort` draws patients from a :class:`PopulationSpec`, gives them one
course (:class:`DMTCourse`, :class:`AHSCTCourse`, :class:`MSCCourse` or none), follows
them month by month under :class:`SimulationParameters` and records what a clinic would
see on a :class:`VisitSchedule`: the seven canonical tables of a
:class:`~msreboot.data.Cohort` (day-based, day 0 = enrolment), and on request the
``labs`` of transplanted patients (CD4, naive CD4, CD8, CD19, NK and lymphocyte counts at
:data:`LAB_MONTHS` after the reinfusion), so every endpoint
analyses a virtual cohort as it analyses a real one. The latent truth of every patient
comes with it, for round-trip tests and calibration.

The simulator only writes tables: virtual trials (:mod:`msreboot.trials`) run these
cohorts through the endpoint code, and calibration (:mod:`msreboot.calibration`) fits the
parameters to the published studies.
"""

from msreboot.simulate._labs import LAB_MONTHS, SIMULATED_ANALYTES
from msreboot.simulate._parameters import DEFAULT_SET, ParameterBasis, SimulationParameters
from msreboot.simulate._population import Phenotype, PopulationSpec
from msreboot.simulate._schedule import VisitSchedule
from msreboot.simulate._simulate import SimulatedCohort, simulate_cohort
from msreboot.simulate._switch import FailureKind, SwitchRule
from msreboot.simulate._treatment import (
    AHSCTCourse,
    ConditioningIntensity,
    ConditioningRegimen,
    DMTCourse,
    DMTDrug,
    MSCCourse,
    Treatment,
)

__all__ = [
    "DEFAULT_SET",
    "LAB_MONTHS",
    "SIMULATED_ANALYTES",
    "AHSCTCourse",
    "ConditioningIntensity",
    "ConditioningRegimen",
    "DMTCourse",
    "DMTDrug",
    "FailureKind",
    "MSCCourse",
    "ParameterBasis",
    "Phenotype",
    "PopulationSpec",
    "SimulatedCohort",
    "SimulationParameters",
    "SwitchRule",
    "Treatment",
    "VisitSchedule",
    "simulate_cohort",
]
