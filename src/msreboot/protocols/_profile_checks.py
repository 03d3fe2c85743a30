"""The checks of one patient profile's fields, each naming the field and saying how to fix it.

Used by :class:`~msreboot.protocols.PatientProfile`'s validators; every function takes the
value as given (a number, numeric text from a CSV file, ``None`` for unknown) and returns
the value to keep, or raises ``ValueError`` with ``<field> must be <constraint>; got
<value>. <fix>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import get_args

import numpy as np

from msreboot.protocols._regimens import DMTDrug

__all__ = [
    "COUNT_BOUNDS",
    "DMT_NAMES",
    "NUMBER_BOUNDS",
    "PHENOTYPES",
    "check_count",
    "check_dmt",
    "check_dmts",
    "check_number",
    "check_phenotype",
    "check_sex",
]

DMT_NAMES: tuple[str, ...] = get_args(DMTDrug)
"""The DMT names a profile accepts (the cohort schema's DMT vocabulary)."""
PHENOTYPES: tuple[str, ...] = ("RRMS", "SPMS", "PPMS", "CIS")

NUMBER_BOUNDS: Mapping[str, tuple[float, float, str]] = {
    "age_years": (0, 120, "Give the age in years."),
    "edss": (0, 10, ""),
    "disease_duration_years": (0, 100, "Give years since the first symptoms."),
}
"""Bounds of the decimal fields, with the fix an error suggests."""
COUNT_BOUNDS: Mapping[str, int] = {
    "relapses_last_12_months": 50,
    "relapses_last_24_months": 100,
    "gd_lesions_last_12_months": 1000,
    "gd_lesions": 1000,
    "new_t2_lesions": 1000,
    "failed_dmt_count": 30,
    "hct_ci": 30,
}
"""Upper bounds of the count fields (all from 0)."""

_SEX_CODES = {"f": "female", "female": "female", "w": "female", "m": "male", "male": "male"}
_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _shown(value: object) -> str:
    if isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool):
        return f"{float(value):g}"
    return repr(value)


def _as_number(value: object) -> object:
    """Numeric text (a CSV cell) as a float; anything else as given."""
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return value


def check_number(name: str, value: object) -> float | None:
    """A decimal field within its bounds (the EDSS also on its 0.5 grid)."""
    if value is None:
        return None
    low, high, fix = NUMBER_BOUNDS[name]
    number = _as_number(value)
    if isinstance(number, bool) or not isinstance(number, _NUMBER_TYPES):
        raise ValueError(
            f"{name} must be a number from {low:g} to {high:g}; got {value!r}. "
            f"{fix or 'Leave it out when unknown.'}"
        )
    x = float(number)
    if name == "edss":
        if not (math.isfinite(x) and low <= x <= high and (2 * x).is_integer()):
            near = f"{round(2 * x) / 2:g}" if math.isfinite(x) and low <= x <= high else "4.5"
            raise ValueError(
                f"edss must be a multiple of 0.5 from 0 to 10; got {x:g}. "
                f"Round to the EDSS grid (e.g. {near})."
            )
    elif not (math.isfinite(x) and low <= x <= high):
        raise ValueError(f"{name} must be from {low:g} to {high:g}; got {x:g}. {fix}")
    return x


def check_count(name: str, value: object) -> int | None:
    """A whole number from 0 to the field's bound (``2.0`` and ``"2"`` read as 2)."""
    if value is None:
        return None
    high = COUNT_BOUNDS[name]
    number = _as_number(value)
    whole = (
        not isinstance(number, bool)
        and isinstance(number, _NUMBER_TYPES)
        and math.isfinite(float(number))
        and float(number).is_integer()
    )
    if not whole:
        raise ValueError(
            f"{name} must be a whole number from 0 to {high}; got {_shown(value)}. "
            "Give a count, or leave it out when unknown."
        )
    count = int(float(number))  # type: ignore[arg-type]
    if not 0 <= count <= high:
        raise ValueError(
            f"{name} must be from 0 to {high}; got {count}. "
            "Give a count, or leave it out when unknown."
        )
    return count


def check_phenotype(value: object) -> str | None:
    """``RRMS``, ``SPMS``, ``PPMS`` or ``CIS``, case and spaces ignored."""
    if value is None:
        return None
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in PHENOTYPES:
        raise ValueError(
            f"phenotype must be one of {', '.join(PHENOTYPES)}; got {value!r}. "
            "Relapsing MS ('RMS') is RRMS, or SPMS with relapses."
        )
    return code


def check_sex(value: object) -> str | None:
    """``female`` or ``male`` (``F`` / ``M`` accepted)."""
    if value is None:
        return None
    sex = _SEX_CODES.get(str(value).strip().lower())
    if sex is None:
        raise ValueError(
            f"sex must be 'female' or 'male' (or F / M); got {value!r}. Leave it out when unknown."
        )
    return sex


def check_dmt(name: str, value: object, *, none_allowed: bool = False) -> str | None:
    """A DMT name of the schema's vocabulary, in lower case (``"none"`` where allowed)."""
    if value is None:
        return None
    drug = str(value).strip().lower()
    if none_allowed and drug == "none":
        return drug
    if drug not in DMT_NAMES:
        also = " or 'none'" if none_allowed else ""
        raise ValueError(
            f"{name} must name a DMT ({', '.join(DMT_NAMES)}){also}; got {value!r}. "
            "Use the generic name in lower case, e.g. 'ocrelizumab'."
        )
    return drug


def check_dmts(name: str, value: object) -> tuple[str, ...] | None:
    """A sequence of DMT names (``()`` for none); one name given as text is refused, as a
    string is a sequence of letters."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ValueError(
            f"{name} must be a sequence of DMT names; got {value!r}. "
            f"Write ({str(value)!r},) for one, () for none."
        )
    return tuple(str(check_dmt(name, drug)) for drug in value)
