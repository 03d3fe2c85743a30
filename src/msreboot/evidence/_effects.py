"""Study-level effect sizes (proportions, rates) and their back-transformations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from msreboot.evidence._checks import EvidenceError, FloatArray

__all__ = [
    "Measure",
    "ProportionMeasure",
    "RateMeasure",
    "back_transform",
    "proportion_effects",
    "rate_effects",
]

ProportionMeasure = Literal["PLO", "PR", "PFT"]
RateMeasure = Literal["IRLN"]
Measure = Literal[
    "GEN", "PLO", "PR", "PFT", "IRLN", "RR", "OR", "HR", "IRR", "RoM", "RD", "MD", "SMD"
]

PROPORTION_MEASURES: tuple[str, ...] = ("PLO", "PR", "PFT")
RATIO_MEASURES: tuple[str, ...] = ("RR", "OR", "HR", "IRR", "RoM", "IRLN")

_CONTINUITY = 0.5


def proportion_effects(
    events: FloatArray, n: FloatArray, measure: ProportionMeasure
) -> tuple[FloatArray, FloatArray]:
    """Effect sizes ``yi`` and sampling variances ``vi`` for single proportions.

    Notes
    -----
    ``PLO``: log odds ``log(x / (n - x))``, ``vi = 1/x + 1/(n - x)``.
    ``PR``: raw proportion ``x / n``, ``vi = p (1 - p) / n``.
    For both, studies with ``x = 0`` or ``x = n`` get 1/2 added to events and non-events
    (metafor's ``add = 1/2, to = "only0"``), so ``n`` grows by 1 for those studies only.
    ``PFT``: Freeman-Tukey double arcsine on the half scale,
    ``(asin(sqrt(x / (n + 1))) + asin(sqrt((x + 1) / (n + 1)))) / 2``, ``vi = 1 / (4n + 2)``;
    defined at 0 and n, so no continuity correction.

    References
    ----------
    Freeman MF, Tukey JW. Transformations related to the angular and the square root.
    Ann Math Stat 1950;21:607-11. doi:10.1214/aoms/1177729756.
    """
    if measure == "PFT":
        yi = 0.5 * (
            np.arcsin(np.sqrt(events / (n + 1))) + np.arcsin(np.sqrt((events + 1) / (n + 1)))
        )
        vi = 1.0 / (4.0 * n + 2.0)
        return yi, vi
    x = events.astype(np.float64).copy()
    m = n - events
    edge = (x == 0) | (m == 0)
    x[edge] += _CONTINUITY
    m = m.astype(np.float64)
    m[edge] += _CONTINUITY
    total = x + m
    if measure == "PLO":
        return np.log(x / m), 1.0 / x + 1.0 / m
    if measure == "PR":
        p = x / total
        return p, p * (1.0 - p) / total
    raise EvidenceError(
        f"measure must be one of PLO, PR, PFT; got {measure!r}. Use PLO (logit) by default."
    )


def rate_effects(events: FloatArray, time: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Log incidence rates ``log(x / t)`` with ``vi = 1 / x`` (metafor's ``IRLN``).

    Studies with no events get 1/2 added to the event count (``to = "only0"``).
    """
    x = events.astype(np.float64).copy()
    x[x == 0] += _CONTINUITY
    return np.log(x / time), 1.0 / x


def _ilogit(t: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-t)), dtype=np.float64)


def ipft_harmonic(t: FloatArray, n_harmonic: float) -> FloatArray:
    """Invert the (half-scale) Freeman-Tukey transform at sample size ``n_harmonic``.

    Miller's (1978) inversion, evaluated at the harmonic mean of the study sizes:
    ``p = (1 - sign(cos 2t) sqrt(1 - (sin 2t + (sin 2t - 1/sin 2t) / n)^2)) / 2``,
    with values below the transform of 0 events mapped to 0 and above that of n events
    mapped to 1.

    References
    ----------
    Miller JJ. The inverse of the Freeman-Tukey double arcsine transformation.
    Am Stat 1978;32:138. doi:10.1080/00031305.1978.10479283.
    """
    t = np.asarray(t, dtype=np.float64)
    n = n_harmonic
    lo = 0.5 * (np.arcsin(0.0) + np.arcsin(np.sqrt(1.0 / (n + 1))))
    hi = 0.5 * (np.arcsin(np.sqrt(n / (n + 1))) + np.arcsin(1.0))
    s = np.sin(2.0 * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = 1.0 - (s + (s - 1.0 / s) / n) ** 2
        p = 0.5 * (1.0 - np.sign(np.cos(2.0 * t)) * np.sqrt(np.clip(inner, 0.0, None)))
    p = np.where(t <= lo, 0.0, p)
    p = np.where(t >= hi, 1.0, p)
    return np.asarray(p, dtype=np.float64)


def back_transform(measure: str, n: FloatArray | None = None) -> Callable[[FloatArray], FloatArray]:
    """Return the function mapping the analysis scale to the natural scale."""
    if measure in ("PLO",):
        return _ilogit
    if measure in RATIO_MEASURES:
        return lambda t: np.asarray(np.exp(t), dtype=np.float64)
    if measure == "PFT":
        if n is None:  # pragma: no cover - internal misuse
            raise EvidenceError("PFT back-transformation needs the study sizes n.")
        n_hm = float(n.size / np.sum(1.0 / n))
        return lambda t: ipft_harmonic(t, n_hm)
    return lambda t: np.asarray(t, dtype=np.float64)
