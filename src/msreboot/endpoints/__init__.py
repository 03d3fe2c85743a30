"""Outcomes computed from a cohort with named, published definitions.

Disability events (confirmed worsening / improvement, RAW, PIRA) under published rule
sets, and transplant-related mortality. Relapses, MRI, NEDA, the trial composites and the
survival statistics join this package.
"""

from msreboot.endpoints._disability import DisabilityEvents, detect_disability_events
from msreboot.endpoints._disability_rules import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    EventMode,
    PIRARule,
    RelapseBuffer,
    ThresholdRule,
)
from msreboot.endpoints._milestone import MilestoneResult, time_to_milestone
from msreboot.endpoints._transplant import (
    TransplantMortality,
    exact_binomial_ci,
    transplant_mortality,
)

__all__ = [
    "BaselineRule",
    "ConfirmationRule",
    "DisabilityDefinition",
    "DisabilityEvents",
    "EventMode",
    "MilestoneResult",
    "PIRARule",
    "RelapseBuffer",
    "ThresholdRule",
    "TransplantMortality",
    "detect_disability_events",
    "exact_binomial_ci",
    "time_to_milestone",
    "transplant_mortality",
]
