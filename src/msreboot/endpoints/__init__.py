"""Outcomes computed from a cohort with named, published definitions.

For now: transplant-related mortality. Disability (CDW / CDI / PIRA / RAW), relapses, MRI,
NEDA, the trial composites and the survival statistics join this package.
"""

from msreboot.endpoints._transplant import (
    TransplantMortality,
    exact_binomial_ci,
    transplant_mortality,
)

__all__ = ["TransplantMortality", "exact_binomial_ci", "transplant_mortality"]
