"""Checking patient profiles against the eligibility criteria of protocols and guidelines.

Information for a discussion with a neurologist, never a medical decision: published
criteria are simplified into rules, some cannot be checked from a profile at all, and the
treating team decides.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import pandas as pd

from msreboot.protocols._catalogue import criteria_set, load_protocols
from msreboot.protocols._criteria import CriteriaSet
from msreboot.protocols._profile import FIELD_LABELS, PatientProfile, profiles_from_frame
from msreboot.protocols._sources import Basis

__all__ = [
    "DISCLAIMER",
    "Assessment",
    "CriterionCheck",
    "EligibilityResult",
    "Status",
    "Verdict",
    "check_eligibility",
]

Verdict = Literal["eligible", "not eligible", "undetermined"]
"""``eligible``: every required criterion that can be checked is met (criteria listed as
not encoded are never checked); ``not eligible``: at least one required criterion is not
met; ``undetermined``: none fails but at least one cannot be checked (a field is missing)."""

Status = Literal["met", "not met", "unknown"]

DISCLAIMER = (
    "This is information for a discussion with a neurologist, not a medical decision: "
    "published criteria are simplified into rules, some cannot be checked from a profile, "
    "and the treating team decides."
)


@dataclass(frozen=True)
class CriterionCheck:
    """One criterion checked against one profile.

    Attributes
    ----------
    criteria, criterion_id, label
        The criteria set's name, the criterion's id and its words.
    rule
        The rule in words.
    level
        ``"required"`` or ``"favourable"`` (never decides the verdict).
    basis
        ``"reported"``, ``"unchecked"`` or ``"assumed"`` (see the criterion's note).
    met
        ``True``, ``False``, or ``None`` when a field the rule needs is missing.
    values
        The profile's values of the fields the rule reads (``None`` = missing).
    reason
        Why, in words.
    source_text
        The published criterion in words.
    """

    criteria: str
    criterion_id: str
    label: str
    rule: str
    level: Literal["required", "favourable"]
    basis: Basis
    met: bool | None
    values: Mapping[str, object]
    reason: str
    source_text: str

    @property
    def status(self) -> Status:
        """``"met"``, ``"not met"`` or ``"unknown"``."""
        return "unknown" if self.met is None else ("met" if self.met else "not met")

    @property
    def value(self) -> str:
        """The patient's value(s) as text (``"4.5"``; ``"relapses in the last 12 months 1,
        ..."`` for rules on several fields; ``"missing"`` when not in the profile)."""
        shown = {f: _show(f, v) for f, v in self.values.items()}
        if len(shown) == 1:
            return next(iter(shown.values()))
        return "; ".join(f"{FIELD_LABELS[f][0]} {v}" for f, v in shown.items())


def _show(field: str, value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}" if field == "edss" else f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Assessment:
    """One profile against one criteria set: every check and the verdict.

    Attributes
    ----------
    row
        1-based position of the profile in the input.
    patient_id
        The profile's id, if it has one.
    criteria
        The criteria set.
    checks
        One :class:`CriterionCheck` per criterion, in the set's order.
    """

    row: int
    patient_id: str | None
    criteria: CriteriaSet
    checks: tuple[CriterionCheck, ...]

    @property
    def required(self) -> tuple[CriterionCheck, ...]:
        """The checks of required criteria."""
        return tuple(c for c in self.checks if c.level == "required")

    @property
    def not_met(self) -> tuple[CriterionCheck, ...]:
        """Required criteria not met."""
        return tuple(c for c in self.required if c.met is False)

    @property
    def unknown(self) -> tuple[CriterionCheck, ...]:
        """Required criteria that cannot be checked from the profile."""
        return tuple(c for c in self.required if c.met is None)

    @property
    def verdict(self) -> Verdict:
        """See :data:`Verdict`."""
        if self.not_met:
            return "not eligible"
        return "undetermined" if self.unknown else "eligible"

    def to_frame(self) -> pd.DataFrame:
        """One row per criterion (see :meth:`EligibilityResult.to_frame`)."""
        return pd.DataFrame(
            [
                {
                    "row": self.row,
                    "patient_id": self.patient_id,
                    "criteria": c.criteria,
                    "criterion_id": c.criterion_id,
                    "label": c.label,
                    "level": c.level,
                    "basis": c.basis,
                    "rule": c.rule,
                    "value": c.value,
                    "status": c.status,
                    "reason": c.reason,
                    "source_text": c.source_text,
                }
                for c in self.checks
            ],
            columns=list(_CHECK_COLUMNS),
        )

    def summary(self) -> str:
        """The verdict and every criterion with its status and reason."""
        who = f" for {self.patient_id}" if self.patient_id else ""
        lines = [f"{self.criteria.title}{who}: {self.verdict}"]
        for c in self.checks:
            tag = "" if c.level == "required" else " (favourable, not decisive)"
            basis = "" if c.basis == "reported" else f" [{c.basis}]"
            lines.append(f"  [{c.status}] {c.label}{tag}{basis}: {c.reason}")
        if self.criteria.not_encoded:
            lines.append("  Not checked from a profile:")
            lines += [f"    - {text}" for text in self.criteria.not_encoded]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<p><b>{html.escape(self.criteria.title)}</b>: {html.escape(self.verdict)}</p>"
        return head + self.to_frame().to_html(index=False) + f"<p><i>{DISCLAIMER}</i></p>"


_CHECK_COLUMNS = (
    "row",
    "patient_id",
    "criteria",
    "criterion_id",
    "label",
    "level",
    "basis",
    "rule",
    "value",
    "status",
    "reason",
    "source_text",
)


@dataclass(frozen=True)
class EligibilityResult:
    """Profiles checked against criteria sets: one :class:`Assessment` per profile and set.

    Read one verdict with ``result.verdict`` (one profile, one set) or
    ``result["halt_ms"].verdict`` (one profile); tables with :meth:`verdicts` (one row per
    profile and set) and :meth:`to_frame` (one row per profile and criterion).
    """

    assessments: tuple[Assessment, ...]

    @property
    def n_profiles(self) -> int:
        """Number of profiles checked."""
        return len({a.row for a in self.assessments})

    @property
    def verdict(self) -> Verdict:
        """The verdict, when one profile was checked against one criteria set.

        Raises
        ------
        ValueError
            The result holds more than one assessment.
        """
        if len(self.assessments) != 1:
            raise ValueError(
                "verdict needs one profile checked against one criteria set; got "
                f"{self.n_profiles} profile(s) x {len(self._names())} set(s). Use "
                "result['<criteria>'].verdict or result.verdicts()."
            )
        return self.assessments[0].verdict

    def _names(self) -> list[str]:
        return list(dict.fromkeys(a.criteria.name for a in self.assessments))

    def __getitem__(self, criteria: str) -> Assessment:
        """The assessment against ``criteria`` (a result for one profile)."""
        if self.n_profiles != 1:
            raise ValueError(
                f"result[criteria] needs a result for one profile; got {self.n_profiles}. "
                "Use result.verdicts() or result.to_frame()."
            )
        for assessment in self.assessments:
            if assessment.criteria.name == criteria:
                return assessment
        raise ValueError(f"criteria must be one of {', '.join(self._names())}; got {criteria!r}.")

    def verdicts(self) -> pd.DataFrame:
        """One row per profile and criteria set.

        Columns: ``row``, ``patient_id``, ``criteria``, ``title``, ``verdict``,
        ``n_required``, ``n_met``, ``n_not_met``, ``n_unknown`` (required criteria),
        ``not_met`` and ``unknown`` (their ids), ``favourable_met`` ("2 of 3").
        """
        rows = []
        for a in self.assessments:
            favourable = [c for c in a.checks if c.level == "favourable"]
            rows.append(
                {
                    "row": a.row,
                    "patient_id": a.patient_id,
                    "criteria": a.criteria.name,
                    "title": a.criteria.title,
                    "verdict": a.verdict,
                    "n_required": len(a.required),
                    "n_met": sum(c.met is True for c in a.required),
                    "n_not_met": len(a.not_met),
                    "n_unknown": len(a.unknown),
                    "not_met": ", ".join(c.criterion_id for c in a.not_met),
                    "unknown": ", ".join(c.criterion_id for c in a.unknown),
                    "favourable_met": (
                        f"{sum(c.met is True for c in favourable)} of {len(favourable)}"
                        if favourable
                        else ""
                    ),
                }
            )
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per profile and criterion: ``row``, ``patient_id``, ``criteria``,
        ``criterion_id``, ``label``, ``level``, ``basis``, ``rule``, ``value`` (text),
        ``status`` (met / not met / unknown), ``reason``, ``source_text``."""
        frames = [a.to_frame() for a in self.assessments]
        if not frames:
            return pd.DataFrame(columns=list(_CHECK_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> str:
        """For one profile, every set with every criterion; for several, the verdicts
        counted per set. Always ends with the reminder that this is not a medical
        decision."""
        if self.n_profiles == 1:
            body = "\n\n".join(a.summary() for a in self.assessments)
        else:
            table = self.verdicts()
            counts = (
                table.groupby("criteria", sort=False)["verdict"]
                .value_counts()
                .unstack(fill_value=0)
                .reindex(columns=["eligible", "not eligible", "undetermined"], fill_value=0)
            )
            lines = [f"{self.n_profiles} profiles:"]
            for name, row in counts.iterrows():
                parts = ", ".join(f"{int(row[v])} {v}" for v in counts.columns)
                lines.append(f"  {name}: {parts}")
            body = "\n".join(lines)
        return f"{body}\n\n{DISCLAIMER}"

    def _repr_html_(self) -> str:
        table = self.verdicts() if self.n_profiles > 1 else self.to_frame()
        return table.to_html(index=False) + f"<p><i>{html.escape(DISCLAIMER)}</i></p>"


ProfileInput = PatientProfile | Mapping[str, object]


def check_eligibility(
    profiles: ProfileInput | Sequence[ProfileInput] | pd.DataFrame,
    criteria: str | CriteriaSet | Sequence[str | CriteriaSet] | None = None,
    *,
    patient_id_col: str = "patient_id",
) -> EligibilityResult:
    """Check patient profiles against the eligibility criteria of protocols and guidelines.

    Information for a discussion with a neurologist, not a medical decision.

    Parameters
    ----------
    profiles
        One :class:`PatientProfile` (or a mapping of its fields), a sequence of them, or a
        DataFrame with one row per patient and columns named as the profile's fields
        (missing values are unknown fields; the index is ignored).
    criteria
        A bundled criteria set's name (``"halt_ms"``, ``"atkins_2016"``, ``"mist"``,
        ``"beat_ms"``, ``"ram_ms"``, ``"ebmt_2019"``, ``"ectrims_ebmt_2022"``), a
        :class:`CriteriaSet`, a sequence of these, or ``None`` for every bundled set.
    patient_id_col
        The DataFrame column holding patient ids.

    Returns
    -------
    EligibilityResult
        One assessment per profile and criteria set. A criterion whose field is missing is
        "unknown" (never silently met), and makes the verdict "undetermined" unless
        another required criterion fails.

    Raises
    ------
    ValueError
        An unknown criteria set name, or an invalid profile (pydantic's error names the
        field).
    DataValidationError
        A DataFrame with unknown columns or invalid values: every problem, by row,
        patient and column.

    Examples
    --------
    >>> result = check_eligibility(
    ...     PatientProfile(age_years=38, edss=4.5, phenotype="RRMS", failed_dmt_count=1,
    ...                    relapses_last_12_months=2, disease_duration_years=6),
    ...     "halt_ms",
    ... )
    >>> result.verdict
    'eligible'
    >>> check_eligibility({"age_years": 38, "edss": 6.0}, "halt_ms").verdict
    'not eligible'
    >>> check_eligibility({"age_years": 38, "edss": 4.5}, "halt_ms").verdict
    'undetermined'
    """
    sets = _criteria_sets(criteria)
    if isinstance(profiles, pd.DataFrame):
        people = profiles_from_frame(profiles, patient_id_col=patient_id_col)
    elif isinstance(profiles, PatientProfile | Mapping):
        people = (_profile(profiles),)
    else:
        people = tuple(_profile(p) for p in profiles)
    assessments = tuple(
        _assess(row, person, criteria_set)
        for row, person in enumerate(people, start=1)
        for criteria_set in sets
    )
    return EligibilityResult(assessments)


def _profile(value: ProfileInput) -> PatientProfile:
    if isinstance(value, PatientProfile):
        return value
    if isinstance(value, Mapping):
        return PatientProfile.model_validate(dict(value))
    raise TypeError(
        f"profiles must be PatientProfile objects, mappings or a DataFrame; got "
        f"{type(value).__name__}."
    )


def _criteria_sets(
    criteria: str | CriteriaSet | Sequence[str | CriteriaSet] | None,
) -> tuple[CriteriaSet, ...]:
    if criteria is None:
        return tuple(load_protocols().criteria.values())
    items = [criteria] if isinstance(criteria, str | CriteriaSet) else list(criteria)
    if not items:
        raise ValueError("criteria must name at least one criteria set; got none.")
    return tuple(c if isinstance(c, CriteriaSet) else criteria_set(c) for c in items)


def _assess(row: int, profile: PatientProfile, criteria: CriteriaSet) -> Assessment:
    checks = []
    for criterion in criteria.criteria:
        outcome = criterion.evaluate(profile)
        checks.append(
            CriterionCheck(
                criteria=criteria.name,
                criterion_id=criterion.id,
                label=criterion.label,
                rule=criterion.rule.describe(),
                level=criterion.level,
                basis=criterion.basis,
                met=outcome.met,
                values=MappingProxyType({f: profile.get(f) for f in criterion.rule.fields()}),
                reason=outcome.reason,
                source_text=criterion.source_text,
            )
        )
    return Assessment(row, profile.patient_id, criteria, tuple(checks))
