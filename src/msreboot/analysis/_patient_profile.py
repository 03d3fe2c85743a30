"""What a projection needs from a patient profile.

The profile itself is :class:`msreboot.protocols.PatientProfile` (one class for eligibility
and projection, re-exported by ``msreboot.analysis``); this module adds the projection's own
requirements: age, EDSS and phenotype known, and an adult age of 18 to 80.
"""

from __future__ import annotations

from typing import NamedTuple

from msreboot.protocols import PatientProfile

__all__ = ["PROJECTION_AGE_YEARS", "PatientProfile", "ProjectionBasics", "projection_basics"]

PROJECTION_AGE_YEARS: tuple[float, float] = (18.0, 80.0)
"""Ages a projection is made for (assumed: adults, as in the studies behind the numbers)."""


class ProjectionBasics(NamedTuple):
    """The three fields every projection answer needs, known."""

    age_years: float
    edss: float
    phenotype: str


def projection_basics(profile: PatientProfile) -> ProjectionBasics:
    """Age, EDSS and phenotype of ``profile``, checked for a projection.

    Raises
    ------
    ValueError
        Naming the field: one of the three is missing, or the age is outside 18 to 80.

    Examples
    --------
    >>> projection_basics(PatientProfile(age_years=38, edss=4.5, phenotype="RRMS"))
    ProjectionBasics(age_years=38.0, edss=4.5, phenotype='RRMS')
    >>> projection_basics(PatientProfile(age_years=12, edss=4.5, phenotype="RRMS"))
    Traceback (most recent call last):
    ...
    ValueError: age_years must be from 18 to 80 for a projection; got 12. ...
    """
    if not isinstance(profile, PatientProfile):
        raise TypeError(
            f"profile must be a PatientProfile; got {type(profile).__name__}. "
            "Build one with PatientProfile(age_years=..., edss=..., phenotype=...)."
        )
    age, edss, phenotype = profile.age_years, profile.edss, profile.phenotype
    if age is None:
        raise _missing("age_years", "Age is needed for every answer.")
    if edss is None:
        raise _missing("edss", "The EDSS is needed for every answer.")
    if phenotype is None:
        raise _missing("phenotype", "The phenotype is needed for every answer.")
    low, high = PROJECTION_AGE_YEARS
    if not low <= age <= high:
        raise ValueError(
            f"age_years must be from {low:g} to {high:g} for a projection; got {age:g}. "
            f"Projections are for adults aged {low:g} to {high:g}."
        )
    return ProjectionBasics(age, edss, phenotype)


def _missing(name: str, why: str) -> ValueError:
    return ValueError(f"{name} must be given for a projection; got None. {why}")
