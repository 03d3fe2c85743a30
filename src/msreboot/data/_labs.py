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
from typing import cast

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
    keys = table["unit"].astype(object).map(lambda u: None if pd.isna(u) else unit_key(str(u)))
    pairs = pd.DataFrame({"analyte": table["analyte"].astype(object), "unit": keys})
    factor = pd.Series(np.nan, index=table.index)
    canonical = pd.Series(None, index=table.index, dtype=object)
    pairs = pairs[pairs.notna().all(axis=1).to_numpy()]  # .groups keeps missing keys
    groups = pairs.groupby(["analyte", "unit"]).groups
    for pair, rows in groups.items():
        analyte, unit = (str(v) for v in cast("tuple[object, object]", pair))
        spec = ANALYTES.get(analyte)
        if spec is None:
            continue  # an unknown analyte is reported by the category check
        value = spec.units.get(unit)
        if value is not None:
            factor[rows] = value
            canonical[rows] = spec.unit
            continue
        for row in rows:
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
    known = factor.notna().to_numpy()
    out = table.copy()
    out.loc[known, "value"] = table.loc[known, "value"].astype("float64") * factor[known]
    out.loc[known, "unit"] = canonical[known].astype("string")
    return out
