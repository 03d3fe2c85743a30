"""Eligibility criteria as declarative rules on a patient profile.

A rule reads one or more :class:`~msreboot.protocols.PatientProfile` fields and answers
met (``True``), not met (``False``) or unknown (``None``, a field it needs is missing),
with the reason in words. Rules combine with three-valued logic: ``any_of`` is met when one
part is met and fails only when every part fails; ``all_of`` fails when one part fails and
is met only when every part is met.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from msreboot.protocols._profile import (
    BOOL_FIELDS,
    FIELD_LABELS,
    NUMERIC_FIELDS,
    PatientProfile,
    Phenotype,
    ProfileField,
)
from msreboot.protocols._sources import Basis, Citation

__all__ = [
    "AllOfRule",
    "AnyOfRule",
    "CriteriaSet",
    "Criterion",
    "EqualsRule",
    "InSetRule",
    "RangeRule",
    "RelapsesInWindowRule",
    "Rule",
    "RuleOutcome",
]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What a rule says about one profile: met (``None`` = unknown) and why."""

    met: bool | None
    reason: str


def _num(field: str, value: float) -> str:
    return f"{value:.1f}" if field == "edss" else f"{value:g}"


def _show(field: str, value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _num(field, value)
    return str(value)


def _unknown(field: str) -> RuleOutcome:
    return RuleOutcome(None, f"{FIELD_LABELS[field][0]} is not in the profile, so unknown")


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RangeRule(_Rule):
    """A numeric field within bounds: ``min <= value <= max`` (each bound optional, each
    inclusive unless ``min_inclusive`` / ``max_inclusive`` is false)."""

    kind: Literal["range"] = "range"
    field: ProfileField
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.field not in NUMERIC_FIELDS:
            raise ValueError(
                f"a range rule needs a numeric field ({', '.join(sorted(NUMERIC_FIELDS))}); "
                f"got {self.field!r}."
            )
        if self.min is None and self.max is None:
            raise ValueError("a range rule needs min, max or both; got neither.")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min must be <= max; got min={self.min}, max={self.max}.")
        return self

    def fields(self) -> tuple[ProfileField, ...]:
        return (self.field,)

    def _bounds_text(self) -> str:
        f = self.field
        lo = None if self.min is None else _num(f, self.min)
        hi = None if self.max is None else _num(f, self.max)
        if lo is not None and hi is not None and self.min_inclusive and self.max_inclusive:
            return f"from {lo} to {hi}"
        parts = []
        if lo is not None:
            parts.append(f"at least {lo}" if self.min_inclusive else f"above {lo}")
        if hi is not None:
            parts.append(f"at most {hi}" if self.max_inclusive else f"under {hi}")
        return " and ".join(parts)

    def describe(self) -> str:
        label, unit = FIELD_LABELS[self.field]
        return f"{label} {self._bounds_text()}{unit}"

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        value = profile.get(self.field)
        if value is None:
            return _unknown(self.field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{self.field} must be a number; got {value!r}.")
        label, unit = FIELD_LABELS[self.field]
        shown = f"{label} {_num(self.field, value)}{unit}"
        if self.min is not None:
            low = _num(self.field, self.min)
            if value < self.min or (value == self.min and not self.min_inclusive):
                limit = f"below the minimum {low}" if self.min_inclusive else f"not above {low}"
                return RuleOutcome(False, f"{shown} is {limit}")
        if self.max is not None:
            high = _num(self.field, self.max)
            if value > self.max or (value == self.max and not self.max_inclusive):
                limit = f"above the maximum {high}" if self.max_inclusive else f"not under {high}"
                return RuleOutcome(False, f"{shown} is {limit}")
        return RuleOutcome(True, f"{shown} is {self._bounds_text()}")


class InSetRule(_Rule):
    """The phenotype is one of ``values``."""

    kind: Literal["in_set"] = "in_set"
    field: Literal["phenotype"] = "phenotype"
    values: tuple[Phenotype, ...] = Field(min_length=1)

    def fields(self) -> tuple[ProfileField, ...]:
        return (self.field,)

    def describe(self) -> str:
        return f"phenotype {' or '.join(self.values)}"

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        value = profile.get(self.field)
        if value is None:
            return _unknown(self.field)
        if value in self.values:
            return RuleOutcome(True, f"phenotype is {value}")
        return RuleOutcome(False, f"phenotype {value} is not {' or '.join(self.values)}")


class EqualsRule(_Rule):
    """A yes / no field has the given value."""

    kind: Literal["equals"] = "equals"
    field: ProfileField
    value: bool

    @model_validator(mode="after")
    def _yes_no(self) -> EqualsRule:
        if self.field not in BOOL_FIELDS:
            raise ValueError(
                f"an equals rule needs a yes / no field ({', '.join(sorted(BOOL_FIELDS))}); "
                f"got {self.field!r}."
            )
        return self

    def fields(self) -> tuple[ProfileField, ...]:
        return (self.field,)

    def describe(self) -> str:
        return f"{FIELD_LABELS[self.field][0]}: {_show(self.field, self.value)}"

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        value = profile.get(self.field)
        if value is None:
            return _unknown(self.field)
        label = FIELD_LABELS[self.field][0]
        derived = value is not None and getattr(profile, self.field) is None
        origin = _origin(profile) if derived else ""
        if value == self.value:
            return RuleOutcome(True, f"{label}: {_show(self.field, value)}{origin}")
        return RuleOutcome(
            False,
            f"{label}: {_show(self.field, value)}{origin}, needs {_show(self.field, self.value)}",
        )


def _origin(profile: PatientProfile) -> str:
    """Where a derived MRI activity flag comes from (see :meth:`PatientProfile.get`)."""
    gd12 = profile.gd_lesions_last_12_months
    if gd12 is not None and gd12 > 0:
        return f" (from {gd12} Gd+ lesions in the last 12 months)"
    parts = [
        f"{count} {words}"
        for count, words in ((profile.gd_lesions, "Gd+"), (profile.new_t2_lesions, "new T2"))
        if count
    ]
    return f" (from the last MRI: {' and '.join(parts)} lesions)"


class RelapsesInWindowRule(_Rule):
    """At least ``at_least`` relapses in the last ``months`` months.

    The profile holds relapse counts over the last 12 and 24 months. A count over a window
    that contains ``months`` is an upper bound, over a window inside it a lower bound: the
    rule is met when a lower bound reaches ``at_least``, fails when an upper bound is below
    it, and is unknown otherwise (e.g. 18 months with 1 relapse in 12 and 2 in 24).
    """

    kind: Literal["relapses_in_window"] = "relapses_in_window"
    at_least: int = Field(ge=1)
    months: float = Field(gt=0, le=120)

    def fields(self) -> tuple[ProfileField, ...]:
        return ("relapses_last_12_months", "relapses_last_24_months")

    def describe(self) -> str:
        plural = "s" if self.at_least > 1 else ""
        return f"at least {self.at_least} relapse{plural} in the last {self.months:g} months"

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        counts = {
            12.0: profile.relapses_last_12_months,
            24.0: profile.relapses_last_24_months,
        }
        known = {w: c for w, c in counts.items() if c is not None}
        if not known:
            return RuleOutcome(None, "relapse counts are not in the profile, so unknown")
        need = f"{self.at_least} in {self.months:g} months"
        inside = [(c, w) for w, c in known.items() if w <= self.months]
        if inside and (best := max(inside))[0] >= self.at_least:
            return RuleOutcome(
                True, f"{best[0]} relapses in the last {best[1]:g} months: at least {need}"
            )
        around = [(c, w) for w, c in known.items() if w >= self.months]
        if around and (least := min(around))[0] < self.at_least:
            return RuleOutcome(
                False, f"{least[0]} relapses in the last {least[1]:g} months: fewer than {need}"
            )
        shown = " and ".join(f"{c} in {w:g} months" for w, c in sorted(known.items()))
        return RuleOutcome(None, f"relapses {shown} cannot tell whether there were {need}")


class AnyOfRule(_Rule):
    """At least one of ``rules`` is met."""

    kind: Literal["any_of"] = "any_of"
    rules: tuple[Rule, ...] = Field(min_length=2)

    def fields(self) -> tuple[ProfileField, ...]:
        return _fields(self.rules)

    def describe(self) -> str:
        return " or ".join(_part(r) for r in self.rules)

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        outcomes = [r.evaluate(profile) for r in self.rules]
        for outcome in outcomes:
            if outcome.met:
                return outcome
        if all(o.met is False for o in outcomes):
            return RuleOutcome(False, "; ".join(o.reason for o in outcomes))
        return RuleOutcome(None, "; ".join(o.reason for o in outcomes))


class AllOfRule(_Rule):
    """Every one of ``rules`` is met."""

    kind: Literal["all_of"] = "all_of"
    rules: tuple[Rule, ...] = Field(min_length=2)

    def fields(self) -> tuple[ProfileField, ...]:
        return _fields(self.rules)

    def describe(self) -> str:
        return " and ".join(_part(r) for r in self.rules)

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        outcomes = [r.evaluate(profile) for r in self.rules]
        for outcome in outcomes:
            if outcome.met is False:
                return outcome
        if all(o.met for o in outcomes):
            return RuleOutcome(True, "; ".join(o.reason for o in outcomes))
        return RuleOutcome(None, "; ".join(o.reason for o in outcomes if o.met is None))


AnyRule = RangeRule | InSetRule | EqualsRule | RelapsesInWindowRule | AnyOfRule | AllOfRule
Rule = Annotated[AnyRule, Field(discriminator="kind")]
"""One rule; ``kind`` says which (``range``, ``in_set``, ``equals``,
``relapses_in_window``, ``any_of``, ``all_of``)."""

AnyOfRule.model_rebuild()
AllOfRule.model_rebuild()


def _part(rule: AnyRule) -> str:
    text = rule.describe()
    return f"({text})" if isinstance(rule, AnyOfRule | AllOfRule) else text


def _fields(rules: tuple[Rule, ...]) -> tuple[ProfileField, ...]:
    seen: dict[ProfileField, None] = {}
    for rule in rules:
        seen.update(dict.fromkeys(rule.fields()))
    return tuple(seen)


class Criterion(BaseModel):
    """One published criterion as a rule, with its source.

    Attributes
    ----------
    id, label
        Short id (unique within its set) and the criterion in a few words.
    rule
        The rule on the profile (see :data:`Rule`).
    level
        ``"required"`` criteria decide the verdict; ``"favourable"`` ones (guideline factors
        linked with better outcomes) are reported but never decide it.
    basis, source
        Whether the source states the criterion as encoded (``reported``), it is attributed
        to the source but not checked (``unchecked``), or the rule is a reading of vaguer
        wording (``assumed``, explained in ``note``); the citation key.
    source_text
        The published criterion in words (paraphrased).
    note
        How the rule reads the source where it has to choose.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    rule: Rule
    level: Literal["required", "favourable"] = "required"
    basis: Basis
    source: str = ""
    source_text: str = Field(min_length=1)
    note: str = ""

    @model_validator(mode="after")
    def _provenance(self) -> Criterion:
        if self.basis != "assumed" and not self.source:
            raise ValueError(f"a {self.basis} criterion must name its source; got none.")
        if self.basis == "assumed" and not self.note:
            raise ValueError("an assumed criterion must say how it reads the source in note.")
        return self

    def evaluate(self, profile: PatientProfile) -> RuleOutcome:
        """Met, not met or unknown for ``profile``, and why."""
        return self.rule.evaluate(profile)


class CriteriaSet(BaseModel):
    """The eligibility criteria of one trial or guideline.

    Attributes
    ----------
    name, title
        Short name (``halt_ms``) and a readable title.
    kind
        ``"trial"`` or ``"guideline"``.
    citations
        The sources; every criterion's ``source`` is one of their keys.
    criteria
        The criteria, in order.
    not_encoded
        Published criteria a profile cannot answer (infections, diagnostic criteria,
        judgement calls); an "eligible" verdict never covers them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    kind: Literal["trial", "guideline"]
    citations: tuple[Citation, ...] = ()
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    not_encoded: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> CriteriaSet:
        ids = [c.id for c in self.criteria]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"criterion ids must be unique; got {', '.join(twice)} twice.")
        keys = {c.key for c in self.citations}
        for criterion in self.criteria:
            if criterion.source and criterion.source not in keys:
                raise ValueError(
                    f"criterion {criterion.id!r}: source must be one of the set's citations "
                    f"({', '.join(sorted(keys)) or 'none'}); got {criterion.source!r}."
                )
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion: id, label, rule in words, level, basis, source, the
        published text and the note."""
        return pd.DataFrame(
            [
                {
                    "criteria": self.name,
                    "criterion_id": c.id,
                    "label": c.label,
                    "rule": c.rule.describe(),
                    "level": c.level,
                    "basis": c.basis,
                    "source": c.source,
                    "source_text": c.source_text,
                    "note": c.note,
                }
                for c in self.criteria
            ]
        )

    def summary(self) -> str:
        """The criteria in words, their provenance and what is not encoded."""
        lines = [f"{self.title} [{self.name}, {self.kind}]"]
        for c in self.criteria:
            tag = "" if c.level == "required" else " (favourable, not decisive)"
            lines.append(f"  - {c.label}{tag}: {c.rule.describe()} [{c.basis}; {c.source}]")
            if c.note:
                lines.append(f"      note: {c.note}")
        for text in self.not_encoded:
            lines.append(f"  - not checked from a profile: {text}")
        lines += [f"  source: {c.text()}" for c in self.citations]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        title = f"<p><b>{html.escape(self.title)}</b></p>"
        return title + self.to_frame().to_html(index=False)
