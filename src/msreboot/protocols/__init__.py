"""Therapy protocols and eligibility: the published regimens of AHSCT (mobilisation, graft,
conditioning), MSC and DMT, with every value's source, and the eligibility criteria of
trials and guidelines checked against patient profiles.

Eligibility results are information for a discussion with a neurologist, never a medical
decision.
"""

from msreboot.protocols._catalogue import (
    ConditioningShare,
    DMTShare,
    Protocol,
    ProtocolCatalogue,
    criteria_set,
    load_protocols,
)
from msreboot.protocols._criteria import (
    AllOfRule,
    AnyOfRule,
    CriteriaSet,
    Criterion,
    EqualsRule,
    InSetRule,
    RangeRule,
    RelapsesInWindowRule,
)
from msreboot.protocols._eligibility import (
    DISCLAIMER,
    Assessment,
    CriterionCheck,
    EligibilityResult,
    check_eligibility,
)
from msreboot.protocols._profile import PatientProfile
from msreboot.protocols._regimens import (
    DMT,
    Conditioning,
    ConditioningIntensity,
    ConditioningRegimen,
    DMTDrug,
    Graft,
    Mobilisation,
    MobilisationRegimen,
    MSCRegimen,
    MSCRoute,
    MSCSource,
)
from msreboot.protocols._sources import Citation, Sourced

__all__ = [
    "DISCLAIMER",
    "DMT",
    "AllOfRule",
    "AnyOfRule",
    "Assessment",
    "Citation",
    "Conditioning",
    "ConditioningIntensity",
    "ConditioningRegimen",
    "ConditioningShare",
    "CriteriaSet",
    "Criterion",
    "CriterionCheck",
    "DMTDrug",
    "DMTShare",
    "EligibilityResult",
    "EqualsRule",
    "Graft",
    "InSetRule",
    "MSCRegimen",
    "MSCRoute",
    "MSCSource",
    "Mobilisation",
    "MobilisationRegimen",
    "PatientProfile",
    "Protocol",
    "ProtocolCatalogue",
    "RangeRule",
    "RelapsesInWindowRule",
    "Sourced",
    "check_eligibility",
    "criteria_set",
    "load_protocols",
]
