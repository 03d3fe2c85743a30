"""The minimum clinically meaningful change of a disability score, with published tables.

Part of the rule objects of :mod:`._disability_rules` (which re-exports it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from msreboot.endpoints._presets import preset_names, published

__all__ = ["KAPPOS_2020", "ThresholdRule"]

KAPPOS_2020 = "Kappos L et al. JAMA Neurol 2020;77:1132-40. doi:10.1001/jamaneurol.2020.1568"
SDMT_BENEDICT_2017 = "Benedict RHB et al. Mult Scler 2017;23:721-33. doi:10.1177/1352458517690821"
RELATIVE_MARGIN = 1e-9  # relative thresholds: a change of exactly the fraction counts


@dataclass(frozen=True)
class ThresholdRule:
    """Minimum clinically meaningful EDSS change, as a function of the reference EDSS.

    ``steps`` is a table of ``(upper_reference, delta)`` rows read top to bottom: the first
    row whose upper reference is >= the reference EDSS gives the threshold. A change counts
    when ``|x - reference| >= delta`` (inclusive). ``function`` replaces the table with any
    callable (a custom threshold).

    ``relative`` (default 0: off) is a threshold as a fraction of the reference score
    (0.2: a 20% change, the rule of the pivotal trials for the timed 25-foot walk and the
    nine-hole peg test). With steps as well, a change counts when it reaches either (the
    smaller threshold: "4 points or 10%" for the SDMT). A relative threshold of a
    reference of 0 is undefined: only the steps apply, and without steps nothing counts.
    Relative thresholds allow a relative rounding margin of 1e-9, so that a change of
    exactly 20% counts whatever its floating-point representation.

    Examples
    --------
    >>> ThresholdRule.msprog().delta(np.array([0.0, 1.0, 5.0, 5.5]))
    array([1.5, 1. , 1. , 0.5])
    >>> ThresholdRule.kappos_2020().delta(np.array([0.0, 5.5, 6.0]))
    array([1. , 1. , 0.5])
    >>> ThresholdRule.sdmt_4_points_or_10_percent().delta(np.array([30.0, 50.0])).round(6)
    array([3., 4.])
    """

    name: str
    steps: tuple[tuple[float, float], ...] = ()
    function: Callable[[float], float] | None = None
    citation: str = ""
    relative: float = 0.0

    def __post_init__(self) -> None:
        if not (self.relative >= 0 and math.isfinite(self.relative)):
            raise ValueError(
                f"relative must be a fraction >= 0 (0.2: a 20% change); got {self.relative}."
            )
        if self.function is not None and self.relative > 0:
            raise ValueError(
                "ThresholdRule takes a function or a relative threshold, not both; got both. "
                "Put the relative part into the function."
            )
        if self.function is None and not self.steps and self.relative == 0:
            raise ValueError(
                "ThresholdRule needs steps, a relative threshold or a function; got none."
            )
        if self.function is None and self.steps and self.steps[-1][0] != math.inf:
            raise ValueError(
                f"the last step of {self.name!r} must cover every reference (upper bound inf); "
                f"got {self.steps[-1][0]}."
            )

    @classmethod
    def presets(cls) -> tuple[str, ...]:
        """Names of the published thresholds, in declaration order."""
        return preset_names(cls)

    @classmethod
    @published
    def msprog(cls) -> ThresholdRule:
        """+1.5 from 0, +1.0 up to 5.0, +0.5 from 5.5 (msprog's default; Mueller 2023)."""
        return cls(
            "msprog",
            ((0.0, 1.5), (5.0, 1.0), (math.inf, 0.5)),
            citation="Montobbio N et al. Mult Scler 2024. doi:10.1177/13524585241243157",
        )

    @classmethod
    @published
    def kalincik_2015(cls) -> ThresholdRule:
        """+1.5 from 0, +1.0 up to 5.5, +0.5 from 6.0 (MSBase)."""
        return cls(
            "kalincik_2015",
            ((0.0, 1.5), (5.5, 1.0), (math.inf, 0.5)),
            citation="Kalincik T et al. Brain 2015;138:3287-98. doi:10.1093/brain/awv258",
        )

    @classmethod
    @published
    def kappos_2020(cls) -> ThresholdRule:
        """+1.0 up to 5.5, +0.5 from 6.0 (no 1.5 step; also the EBMT registry rule)."""
        return cls(
            "kappos_2020",
            ((5.5, 1.0), (math.inf, 0.5)),
            citation=KAPPOS_2020,
        )

    @classmethod
    @published
    def msbase_improvement(cls) -> ThresholdRule:
        """Improvement: -1.5 up to 1.5, -1.0 up to 6.0, -0.5 above (MSBase)."""
        return cls(
            "msbase_improvement",
            ((1.5, 1.5), (6.0, 1.0), (math.inf, 0.5)),
            citation="Kalincik T et al. Brain 2015;138:3287-98. doi:10.1093/brain/awv258",
        )

    @classmethod
    @published
    def relative_20_percent(cls) -> ThresholdRule:
        """A 20% change from the reference: the T25FW and 9HPT rule of the pivotal trials
        (ORATORIO, OPERA; Kappos 2020's composite confirmed disability accumulation)."""
        return cls("relative_20_percent", relative=0.2, citation=KAPPOS_2020)

    @classmethod
    @published
    def sdmt_4_points(cls) -> ThresholdRule:
        """A change of 4 points of the SDMT (the change commonly taken as clinically
        meaningful; Benedict RHB et al. Mult Scler 2017;23:721-33,
        doi:10.1177/1352458517690821)."""
        return cls("sdmt_4_points", ((math.inf, 4.0),), citation=SDMT_BENEDICT_2017)

    @classmethod
    @published
    def sdmt_4_points_or_10_percent(cls) -> ThresholdRule:
        """A change of 4 points or 10% of the SDMT, whichever is reached first (both
        thresholds are in use; Benedict 2017)."""
        return cls(
            "sdmt_4_points_or_10_percent",
            ((math.inf, 4.0),),
            relative=0.1,
            citation=SDMT_BENEDICT_2017,
        )

    @classmethod
    def custom(cls, function: Callable[[float], float], name: str = "custom") -> ThresholdRule:
        """Any function of the reference value returning a positive threshold."""
        return cls(name, function=function)

    def delta(self, reference: np.ndarray) -> np.ndarray:
        """Threshold for each reference value (float array)."""
        ref = np.asarray(reference, dtype=float)
        if self.function is not None:
            uniq, inverse = np.unique(ref, return_inverse=True)
            values = np.array([float(self.function(float(v))) for v in uniq], dtype=float)
            bad = ~(values > 0) | ~np.isfinite(values)
            if bad.any():
                raise ValueError(
                    f"threshold function {self.name!r} must return a positive finite number; "
                    f"got {values[bad][0]!r} for reference {uniq[bad][0]!r}."
                )
            return values[inverse].reshape(ref.shape)
        if self.steps:
            bounds = np.array([b for b, _ in self.steps])
            deltas = np.array([d for _, d in self.steps])
            out = deltas[np.searchsorted(bounds, ref, side="left")]
        else:
            out = np.full(ref.shape, np.inf)
        if self.relative > 0:
            part = self.relative * np.abs(ref) * (1.0 - RELATIVE_MARGIN)
            out = np.where(part > 0, np.minimum(out, part), out)
        return np.asarray(out, dtype=float)

    def describe(self) -> str:
        if self.function is not None:
            return f"a custom threshold ({self.name})"
        parts = []
        if self.relative > 0:
            parts.append(f"{100 * self.relative:g}% of the reference")
        lower = None
        for bound, delta in self.steps:
            if lower is None:
                where = f"reference <= {bound:g}" if bound != math.inf else "any reference"
            elif bound == math.inf:
                where = f"reference > {lower:g}"
            else:
                where = f"{lower:g} < reference <= {bound:g}"
            parts.append(f"{delta:g} ({where})")
            lower = bound
        return (" or " if self.relative > 0 else ", ").join(parts)
