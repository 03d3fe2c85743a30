"""Messages of an invalid trial spec: each names the key path as written in the file
(``population.duration_median``, ``arms.0.n``), what is wrong, and the fix, with the closest
valid key (did you mean?) for an unknown one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ValidationError

__all__ = ["closest", "describe_spec_errors", "unknown_keys_message"]

# A message that starts with a key path ("population.age_median: ...", "edss_mean must be")
# is reported under that path.
_LEADING_PATH = re.compile(r"^[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*(?::\s|\s+must\b)")

# The tables of a spec file, by pydantic location, and the models whose keys they hold.
_TABLE_NAMES = {
    "": "[trial]",
    "arms": "[[arm]]",
    "analysis": "[analysis]",
    "published": "[[published]]",
    "subpopulations": "[[subpopulation]]",
}


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to ``word`` (``None`` when nothing is close)."""
    options = sorted(set(choices))
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if found:
        return found[0]
    prefixed = [c for c in options if c.startswith(word) or word.startswith(c)]
    return prefixed[0] if len(prefixed) == 1 else None


def unknown_keys_message(table: str, unknown: Sequence[str], valid: Iterable[str]) -> str:
    """``<key>: unknown key of <table>; ... Did you mean <closest>?`` for the first unknown
    key (the others are listed)."""
    options = sorted(set(valid))
    first = unknown[0]
    guess = closest(first, options)
    hint = f"Did you mean {guess}?" if guess else f"Valid keys: {', '.join(options)}."
    more = f" (also unknown: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
    return (
        f"{first}: keys of {table} must be known; got unknown key {first!r}{more}. {hint} "
        "See docs/reference/trial-spec.md."
    )


def describe_spec_errors(error: ValidationError, models: dict[str, type[BaseModel]]) -> str:
    """A pydantic error of a trial spec as ``key.path: message; ...``.

    ``models`` maps a location's table (``""`` for the top level, ``"arms"``,
    ``"analysis"``, ``"published"``) to the model whose keys it holds, for did-you-mean.
    """
    items = error.errors()
    located = {str(i["loc"][0]) for i in items if len(i["loc"]) > 1}
    problems: list[str] = []
    for item in items:
        loc = [str(p) for p in item["loc"]]
        kind = str(item["type"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if kind == "too_short" and loc and loc[0] in located:
            continue  # "arms: should have at least 1 item" after an invalid arm
        if kind == "extra_forbidden":
            table = loc[0] if len(loc) > 1 else ""
            model = models.get(table)
            valid = list(model.model_fields) if model is not None else []
            if table == "":
                valid += ["arm", "trial", "subpopulation"]
                valid.remove("base_dir")
            where = _TABLE_NAMES.get(table, f"[{table}]")
            text = unknown_keys_message(where, [loc[-1]], valid)
            problems.append(".".join([*loc[:-1], text]))
            continue
        if kind == "missing":
            message = f"is required; got nothing. Add {loc[-1]} = ... to the table."
        if kind == "value_error" and _LEADING_PATH.match(message) is not None:
            # "edss_median must lie in ..." or "analysis.primary: ..." from a validator
            problems.append("".join(f"{p}." for p in loc) + message)
            continue
        field = ".".join(loc) or "trial"
        problems.append(f"{field}: {message}")
    return "; ".join(problems)
