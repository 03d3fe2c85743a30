"""A disability definition from the settings of an endpoint file: a preset and overrides.

``definition = {preset = "bern_2025", raw_pira_reference = "separate", merge = true}``;
the keys and their meaning are in ``docs/reference/endpoint-definitions.md``. Each key
changes one field of one rule of the preset (:class:`DisabilityDefinition`); unknown keys
are an error naming the keys allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from msreboot.endpoints._disability_rules import (
    BaselineRule,
    ConfirmationRule,
    DisabilityDefinition,
    MergeRule,
    ThresholdRule,
)

__all__ = ["SETTINGS", "definition_from_settings"]

# key -> the rule it changes and that rule's field (``None``: the definition itself)
_FIELDS: dict[str, tuple[str | None, str]] = {
    "unconfirmed_worsening": (None, "unconfirmed_worsening"),
    "check_intermediate": ("confirmation", "check_intermediate"),
    "monotonic": ("confirmation", "monotonic"),
    "minimal_distance_days": ("confirmation", "minimal_distance_days"),
    "minimal_distance_to": ("confirmation", "minimal_distance_to"),
    "minimal_distance_backtrack": ("confirmation", "minimal_distance_backtrack"),
    "sustained_after_days": ("confirmation", "sustained_after_days"),
    "reference_confirmation_days": ("baseline", "reference_confirmation_days"),
    "post_event_reference": ("baseline", "post_event_reference"),
    "after_relapse": ("baseline", "after_relapse"),
    "residual_only": ("baseline", "residual_only"),
    "raw_pira_reference": ("baseline", "raw_pira_reference"),
    "undefined_worsening": ("pira", "undefined_worsening"),
    "undefined_reference": ("pira", "undefined_reference"),
    "report_relapse_during_confirmation": ("pira", "report_relapse_during_confirmation"),
}
SETTINGS: tuple[str, ...] = (
    "preset",
    "threshold",
    "confirmation_days",
    "tolerance_days",
    "baseline",
    *_FIELDS,
    "merge",
)
"""Every key a ``definition`` table may have, in the order the reference lists them."""


def definition_from_settings(
    spec: Mapping[str, Any], thresholds: Mapping[str, Callable[[], ThresholdRule]]
) -> DisabilityDefinition:
    """The preset named by ``spec["preset"]`` (default msprog) with the other keys applied.

    ``baseline`` starts a new :class:`BaselineRule` of that kind (the preset's other
    baseline settings are not kept); the baseline keys of ``_FIELDS`` then change it.
    ``merge`` is ``true`` (the :class:`MergeRule` defaults), ``false`` or a table of
    ``repetition_days`` and ``max_distance_days``.
    """
    spec = dict(spec)
    unknown = sorted(set(spec) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown disability settings {unknown}; allowed: {', '.join(SETTINGS)}.")
    d = DisabilityDefinition.preset(spec.pop("preset", "msprog"))
    changes: dict[str, Any] = {}
    if "threshold" in spec:
        name = spec.pop("threshold")
        if name not in thresholds:
            raise ValueError(f"threshold must be one of {', '.join(thresholds)}; got {name!r}.")
        changes["threshold"] = thresholds[name]()
    if "confirmation_days" in spec or "tolerance_days" in spec:
        old = d.confirmation
        changes["confirmation"] = ConfirmationRule(
            days=spec.pop("confirmation_days", old.days),
            tolerance_days=spec.pop("tolerance_days", old.tolerance_days[0]),
            check_intermediate=old.check_intermediate,
            sustained_days=old.sustained_days,
            monotonic=old.monotonic,
            minimal_distance_days=old.minimal_distance_days,
            minimal_distance_to=old.minimal_distance_to,
            minimal_distance_backtrack=old.minimal_distance_backtrack,
            sustained_after_days=old.sustained_after_days,
        )
    if "baseline" in spec:
        changes["baseline"] = BaselineRule(kind=spec.pop("baseline"))
    if "merge" in spec:
        changes["merge"] = _merge(spec.pop("merge"))
    parts: dict[str, dict[str, Any]] = {}
    for key, value in spec.items():
        rule, field = _FIELDS[key]
        if rule is None:
            changes[field] = value
        else:
            parts.setdefault(rule, {})[field] = value
    for rule, fields in parts.items():
        current = changes.get(rule, getattr(d, rule))
        if rule == "confirmation":  # its constructor normalises the periods
            keep = {k: getattr(current, k) for k in current.__dataclass_fields__}
            changes[rule] = ConfirmationRule(**{**keep, **fields})
        else:
            changes[rule] = replace(current, **fields)
    return d.with_(**changes) if changes else d


def _merge(value: Any) -> MergeRule | None:
    if value is True:
        return MergeRule()
    if value is False:
        return None
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"repetition_days", "max_distance_days"})
        if unknown:
            raise ValueError(
                f"unknown merge settings {unknown}; allowed: repetition_days, max_distance_days."
            )
        return MergeRule(
            float(value.get("repetition_days", 30.0)),
            float(value.get("max_distance_days", math.inf)),
        )
    raise ValueError(
        f"merge must be true, false or a table of repetition_days and max_distance_days; "
        f"got {value!r}."
    )
