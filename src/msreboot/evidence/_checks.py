"""Input checks and the warning class shared by the evidence modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from msreboot import stats
from msreboot.exceptions import MsrebootError

__all__ = [
    "EvidenceError",
    "HeterogeneityWarning",
    "Tau2Method",
    "TestKind",
    "TruncatedTau2Warning",
]

FloatArray = npt.NDArray[np.float64]
Tau2Method = Literal["REML", "ML", "DL", "PM", "FE", "EE", "CE"]
TestKind = Literal["z", "knha"]

TAU2_METHODS: tuple[str, ...] = ("REML", "ML", "DL", "PM", "FE")
#: metafor 4's names for the common-effect model ("equal effects", "common effect").
COMMON_EFFECT_ALIASES: tuple[str, ...] = ("EE", "CE")
TESTS: tuple[str, ...] = ("z", "knha")


class EvidenceError(MsrebootError, ValueError):
    """Invalid input to a meta-analysis or an evidence-dataset query."""


class HeterogeneityWarning(UserWarning):
    """A pool of two studies with high heterogeneity (I^2 above 50%).

    With two studies tau^2 rests on one degree of freedom and the pooled interval is
    unreliable; a pool of two studies that disagree is better reported study by study.
    """


class TruncatedTau2Warning(UserWarning):
    """The between-study variance tau^2 was truncated at zero.

    Raised when an estimator's unconstrained solution is negative (DerSimonian-Laird,
    Paule-Mandel) or when the (restricted) likelihood is maximised at the boundary
    tau^2 = 0 (ML, REML). The pooled estimate then equals the common-effect one.
    """


def check_conf_level(conf_level: float) -> float:
    """Return ``conf_level`` as a float after checking it lies in (0, 1) (the shared check
    of :mod:`msreboot.stats`, raising :class:`EvidenceError`)."""
    return stats.check_conf_level(conf_level, EvidenceError)


def check_counts(name: str, arr: FloatArray) -> None:
    """Raise unless every value in ``arr`` is a whole number >= 0 (the shared check of
    :mod:`msreboot.stats`, raising :class:`EvidenceError`)."""
    stats.check_counts(name, arr, EvidenceError)


def check_method(method: str) -> Tau2Method:
    """Return ``method`` upper-cased after checking it names a tau^2 estimator.

    metafor 4's ``"EE"`` (equal effects) and ``"CE"`` (common effect) are the
    common-effect model and return ``"FE"``.
    """
    upper = str(method).upper()
    if upper in COMMON_EFFECT_ALIASES:
        return "FE"
    if upper not in TAU2_METHODS:
        raise EvidenceError(
            f"method must be one of {', '.join(TAU2_METHODS + COMMON_EFFECT_ALIASES)}; got "
            f"{method!r}. REML is the default (as in metafor); EE and CE name the "
            "common-effect model (FE)."
        )
    return upper  # type: ignore[return-value]


def check_test(test: str) -> TestKind:
    """Return ``test`` after checking it is ``"z"`` or ``"knha"``."""
    lower = str(test).lower()
    if lower not in TESTS:
        raise EvidenceError(
            f"test must be 'z' (Wald) or 'knha' (Hartung-Knapp); got {test!r}. "
            "Use test='knha' for Hartung-Knapp-Sidik-Jonkman intervals."
        )
    return lower  # type: ignore[return-value]


def as_vector(name: str, values: Sequence[float] | npt.ArrayLike) -> FloatArray:
    """Convert ``values`` to a finite 1-d float array (the pandas index is ignored)."""
    arr = np.asarray(getattr(values, "to_numpy", lambda: values)(), dtype=np.float64)
    if arr.ndim != 1:
        raise EvidenceError(f"{name} must be one-dimensional; got shape {arr.shape}.")
    if arr.size == 0:
        raise EvidenceError(f"{name} must hold at least one study; got none.")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise EvidenceError(
            f"{name} must be finite; got {arr[bad[0]]!r} at position {int(bad[0])}. "
            "Drop or impute studies with missing values first."
        )
    return arr


def check_same_length(**arrays: FloatArray) -> int:
    """Return the common length of ``arrays`` or raise naming the mismatch."""
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{n}={k}" for n, k in lengths.items())
        raise EvidenceError(
            f"inputs must have one value per study; got lengths {shown}. Pass aligned sequences."
        )
    return int(next(iter(lengths.values())))


def check_positive(name: str, arr: FloatArray, *, allow_zero: bool = False) -> None:
    """Raise unless every value in ``arr`` is positive (or non-negative)."""
    bad = np.flatnonzero(arr < 0) if allow_zero else np.flatnonzero(arr <= 0)
    if bad.size:
        what = "non-negative" if allow_zero else "positive"
        raise EvidenceError(
            f"{name} must be {what}; got {arr[bad[0]]!r} at position {int(bad[0])}. "
            "Check the study's input values."
        )


#: Bounds within which a pool is computed reliably in double precision.
MAX_ABS_EFFECT = 1e100
MIN_VARIANCE = 1e-300
MAX_VARIANCE = 1e100
MAX_VARIANCE_RATIO = 1e10


def check_effects(yi: FloatArray, vi: FloatArray) -> None:
    """Raise unless effects and variances lie where a pool is reliable in floating point.

    ``|yi| <= 1e100``, ``1e-300 <= vi <= 1e100`` and ``max(vi) / min(vi) <= 1e10``: beyond
    these, squared residuals or weights overflow, or the trace of the projection loses
    every digit to cancellation (metafor then prints tau^2 = 0 and SE = 0 without a word).
    """
    big = np.flatnonzero(np.abs(yi) > MAX_ABS_EFFECT)
    if big.size:
        i = int(big[0])
        raise EvidenceError(
            f"yi must be within +/-{MAX_ABS_EFFECT:g}; got {yi[i]:g} at position {i}. "
            "Effects are on the analysis scale (e.g. log ratios); check the study's effect."
        )
    out = np.flatnonzero((vi < MIN_VARIANCE) | (vi > MAX_VARIANCE))
    if out.size:
        i = int(out[0])
        raise EvidenceError(
            f"vi must be in [{MIN_VARIANCE:g}, {MAX_VARIANCE:g}]; got {vi[i]:g} at position "
            f"{i}. Variances are squared standard errors; check the study's variance."
        )
    lo, hi = int(np.argmin(vi)), int(np.argmax(vi))
    if vi[hi] > MAX_VARIANCE_RATIO * vi[lo]:
        raise EvidenceError(
            f"vi must span at most a factor of {MAX_VARIANCE_RATIO:g}; got {vi[lo]:g} at "
            f"position {lo} and {vi[hi]:g} at position {hi}. Such weights cannot be pooled "
            "reliably in floating point; check those studies' variances."
        )


def labels_or_default(labels: Sequence[str] | None, k: int) -> tuple[str, ...]:
    """Return study labels, defaulting to ``"study 1"`` ... ``"study k"``."""
    if labels is None:
        return tuple(f"study {i + 1}" for i in range(k))
    out = tuple(str(x) for x in labels)
    if len(out) != k:
        raise EvidenceError(
            f"labels must have one entry per study; got {len(out)} for k={k} studies."
        )
    return out
