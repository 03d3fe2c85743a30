"""Laboratory analytes: a controlled vocabulary with LOINC codes and exact unit conversions.

The ``labs`` table holds one result per row: an analyte of :data:`ANALYTES`, a value and
the unit it was given in. On reading, every value is converted to the analyte's canonical
unit by an exact factor (``10^9/L`` is 1000 cells/uL); a unit the analyte does not list is
an error, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from msreboot.exceptions import Problem

__all__ = ["ANALYTES", "Analyte", "convert_lab_units"]

_COUNT_PER_UL: Mapping[str, float] = {
    "cells/ul": 1.0,
    "/ul": 1.0,
    "cells/mm3": 1.0,
    "/mm3": 1.0,
    "10^6/l": 0.001,
    "10^9/l": 1000.0,
    "g/l": 1000.0,  # giga per litre (SI prefix), as laboratories print 10^9/L
    "10^3/ul": 1000.0,
}
_COUNT_PER_NL: Mapping[str, float] = {
    "10^9/l": 1.0,
    "g/l": 1.0,
    "10^3/ul": 1.0,
    "/nl": 1.0,
    "cells/ul": 0.001,
    "/ul": 0.001,
    "cells/mm3": 0.001,
    "/mm3": 0.001,
}


@dataclass(frozen=True, slots=True)
class Analyte:
    """One laboratory analyte of the ``labs`` table.

    Attributes
    ----------
    code
        The canonical code (the ``analyte`` column).
    name
        What it measures.
    unit
        The canonical unit every value is converted to.
    units
        Accepted units (lower case, ``x`` and spaces removed, ``µ`` as ``u``) and the exact
        factor that converts a value in that unit to :attr:`unit`.
    loinc
        The LOINC code of the measurement in blood or serum, or ``None`` when no code was
        checked (add it from loinc.org).
    """

    code: str
    name: str
    unit: str
    units: Mapping[str, float]
    loinc: str | None = None


def _a(code: str, name: str, unit: str, units: Mapping[str, float], loinc: str | None) -> Analyte:
    return Analyte(code, name, unit, MappingProxyType(dict(units)), loinc)


ANALYTES: Mapping[str, Analyte] = MappingProxyType(
    {
        a.code: a
        for a in (
            _a("cd4", "CD3+CD4+ T cells, blood count", "cells/uL", _COUNT_PER_UL, "24467-3"),
            _a("cd8", "CD3+CD8+ T cells, blood count", "cells/uL", _COUNT_PER_UL, "14135-8"),
            _a("cd19", "CD19+ B cells, blood count", "cells/uL", _COUNT_PER_UL, "8116-6"),
            _a("nk", "CD16+CD56+ NK cells, blood count", "cells/uL", _COUNT_PER_UL, "20402-4"),
            _a("lymphocytes", "Lymphocytes, blood count", "cells/uL", _COUNT_PER_UL, "26474-7"),
            _a(
                "cd4_naive",
                "Naive CD4+ T cells (CD45RA+, e.g. CD45RA+CCR7+), blood count",
                "cells/uL",
                _COUNT_PER_UL,
                None,
            ),
            _a(
                "recent_thymic_emigrants",
                "Recent thymic emigrants (CD4+CD45RA+CD31+), blood count",
                "cells/uL",
                _COUNT_PER_UL,
                None,
            ),
            _a("neutrophils", "Neutrophils, blood count", "10^9/L", _COUNT_PER_NL, "26499-4"),
            _a("platelets", "Platelets, blood count", "10^9/L", _COUNT_PER_NL, "26515-7"),
            _a(
                "nfl_serum",
                "Neurofilament light chain, serum",
                "pg/mL",
                {"pg/ml": 1.0, "ng/l": 1.0},
                None,
            ),
        )
    }
)
"""The analytes of the ``labs`` table, by code. LOINC codes were read from public LOINC
value sets (not from loinc.org itself); ``None`` where none was checked."""


def unit_key(unit: str) -> str:
    """A unit as compared: lower case, without spaces, ``x`` before a power, ``µ`` as ``u``."""
    text = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace(" ", "")
    text = text.replace("*", "^").replace("\u00d7", "x")  # multiplication sign
    text = re.sub(r"^x(?=10)", "", text)
    return re.sub(r"10e(\d)", r"10^\1", text)


def convert_lab_units(
    table: pd.DataFrame,
    pid: pd.Series,
    found: list[Problem],
    unconvertible: set[tuple[int, str]] | None = None,
) -> pd.DataFrame:
    """Convert every value to its analyte's canonical unit; an unknown unit is an error.

    ``table`` is the typed ``labs`` table (``analyte``, ``value``, ``unit``); rows whose
    analyte or unit is missing are left to the other checks; rows with an unknown unit are
    added to ``unconvertible`` (not reported twice). Returns the converted table,
    the ``unit`` column holding the canonical unit wherever the conversion was made.
    """
    if table.empty:
        return table
    # the unit key and the analyte's factor are worked out once per distinct (analyte,
    # unit) pair, not once per row: a million results hold a few dozen pairs
    a_codes, a_uniques = pd.factorize(table["analyte"].to_numpy(dtype=object))
    u_codes, u_uniques = pd.factorize(table["unit"].to_numpy(dtype=object))
    k_codes, k_uniques = pd.factorize(np.array([unit_key(str(u)) for u in u_uniques], dtype=object))
    key_codes = np.where(u_codes >= 0, np.append(k_codes, -1)[u_codes], -1)
    both = (a_codes >= 0) & (key_codes >= 0)  # rows missing either are left to other checks
    pair_codes = np.where(both, a_codes.astype("int64") * (len(k_uniques) + 1) + key_codes, -1)
    pairs, inverse = np.unique(pair_codes, return_inverse=True)
    inverse = inverse.reshape(-1)
    factors = np.full(len(pairs), np.nan)
    canonicals = np.full(len(pairs), None, dtype=object)
    failing: list[tuple[str, str, int]] = []
    for k, code in enumerate(pairs):
        if code < 0:
            continue
        analyte = str(a_uniques[code // (len(k_uniques) + 1)])
        unit = str(k_uniques[code % (len(k_uniques) + 1)])
        spec = ANALYTES.get(analyte)
        if spec is None:
            continue  # an unknown analyte is reported by the category check
        value = spec.units.get(unit)
        if value is not None:
            factors[k] = value
            canonicals[k] = spec.unit
        else:
            failing.append((analyte, unit, k))
    for analyte, _, k in sorted(failing):  # in (analyte, unit) order, rows in table order
        spec = ANALYTES[analyte]
        for row in table.index[inverse == k]:
            if unconvertible is not None:
                unconvertible.add((int(row), "unit"))
            given = table.at[row, "unit"]
            found.append(
                Problem(
                    "labs",
                    int(row),
                    None if pd.isna(pid[row]) else str(pid[row]),
                    "unit",
                    str(given),
                    f"unit must be one that converts {analyte} exactly to {spec.unit} "
                    f"({', '.join(sorted(spec.units))}); got {given!r}. Give the value in "
                    "one of these units (a percentage is not a count)",
                )
            )
    factor = pd.Series(factors[inverse], index=table.index)
    canonical = pd.Series(canonicals[inverse], index=table.index, dtype=object)
    known = factor.notna().to_numpy()
    out = table.copy()
    out.loc[known, "value"] = table.loc[known, "value"].astype("float64") * factor[known]
    out.loc[known, "unit"] = canonical[known].astype("string")
    return out
