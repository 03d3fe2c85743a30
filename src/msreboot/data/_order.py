"""Whether a table is already in the order a stable sort would give (the sort is skipped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["in_order"]


def in_order(table: pd.DataFrame, sort_by: list[str]) -> bool:
    """True when the rows are already sorted by ``sort_by`` with no missing key, i.e. when
    a stable sort would leave them where they are (one vectorised pass, no sort)."""
    if len(table) < 2:
        return True
    ordered = np.zeros(len(table) - 1, dtype=bool)
    tied = np.ones(len(table) - 1, dtype=bool)
    for name in sort_by:
        column = table[name]
        if column.isna().any():
            return False
        if pd.api.types.is_string_dtype(column.dtype):  # text: code point order, as sorted
            values = column.to_numpy(dtype=object)
        elif column.dtype == "Int64":
            values = column.to_numpy(dtype="int64")
        elif pd.api.types.is_datetime64_ns_dtype(column.dtype):
            values = column.to_numpy()
        else:
            return False  # any other key: sorted as before
        before, after = values[:-1], values[1:]
        try:
            ordered |= tied & (before < after)
            tied &= before == after
        except TypeError:  # text mixed with other cells: sorted as before
            return False
    return bool((ordered | tied).all())
