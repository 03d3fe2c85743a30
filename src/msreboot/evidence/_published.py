"""One published figure of the evidence dataset, by its ``outcome_id``: the single home
of the numbers that virtual-trial specs and calibration targets are compared with."""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import pandas as pd

from msreboot.evidence._checks import EvidenceError
from msreboot.evidence._studies import load_outcomes

__all__ = ["PublishedOutcome", "endpoint_presets", "published_outcome"]


@dataclass(frozen=True)
class PublishedOutcome:
    """One row of :func:`load_outcomes` with its numbers typed (``None``: not reported).

    Attributes
    ----------
    outcome_id, study_id, arm, outcome, effect_type
        Keys and codes as in the evidence dataset.
    timepoint_years
        When the figure was reported, in years.
    estimate, ci_low, ci_high, ci_level
        The published figure and its interval (``ci_level`` a fraction).
    events, n
        The counts behind it, where held.
    endpoint_preset
        The endpoint preset that reproduces the outcome's definition, where one does.
    source
        The paper the number was read from.
    status, locator, definition_id, reading
        Provenance: ``verified`` / ``secondary`` / ``unsourced``
        (:data:`~msreboot.evidence.STATUSES`), where in the source, the endpoint
        definition and how the number was read (reported, from a figure, derived).
    """

    outcome_id: str
    study_id: str
    arm: str
    outcome: str
    effect_type: str
    timepoint_years: float | None
    estimate: float
    ci_low: float | None
    ci_high: float | None
    ci_level: float | None
    events: int | None
    n: int | None
    endpoint_preset: str | None
    source: str
    status: str = "unsourced"
    locator: str = ""
    definition_id: str = ""
    reading: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The outcome as a one-row table."""
        return pd.DataFrame([asdict(self)])

    def summary(self) -> str:
        interval = ""
        if self.ci_low is not None and self.ci_high is not None:
            interval = f" ({self.ci_low:g} to {self.ci_high:g}, {100 * (self.ci_level or 0.95):g}%)"
        return f"{self.outcome_id}: {self.estimate:g}{interval}; {self.source} [{self.status}]"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def _number(value: Any) -> float | None:
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    )


@cache
def _outcomes() -> dict[str, PublishedOutcome]:
    found = {}
    for row in load_outcomes(include_unsourced=True).to_dict("records"):
        events, n = _number(row["events"]), _number(row["n"])
        found[row["outcome_id"]] = PublishedOutcome(
            outcome_id=row["outcome_id"],
            study_id=row["study_id"],
            arm=row["arm"],
            outcome=row["outcome"],
            effect_type=row["effect_type"],
            timepoint_years=_number(row["timepoint_years"]),
            estimate=float(row["estimate"]),
            ci_low=_number(row["ci_low"]),
            ci_high=_number(row["ci_high"]),
            ci_level=_number(row["ci_level"]),
            events=None if events is None else int(events),
            n=None if n is None else int(n),
            endpoint_preset=row["endpoint_preset"] or None,
            source=row["source"],
            status=row["status"],
            locator=row["locator"],
            definition_id=row["definition_id"],
            reading=row["reading"],
        )
    return found


def published_outcome(outcome_id: str) -> PublishedOutcome:
    """The published figure with this ``outcome_id`` in the bundled evidence dataset.

    Every row is found, ``unsourced`` ones too (``status`` says which); callers that
    compare with published figures (calibration targets) refuse unsourced rows.

    Raises
    ------
    EvidenceError
        No such outcome (with the closest ids).

    Examples
    --------
    >>> published_outcome("nash2017_haltms:ahsct:efs:002").ci_level
    0.9
    """
    outcomes = _outcomes()
    if outcome_id not in outcomes:
        close = difflib.get_close_matches(str(outcome_id), list(outcomes), n=3)
        hint = f"Did you mean {', '.join(close)}?" if close else "See load_outcomes()."
        raise EvidenceError(
            f"outcome_id must be an outcome of the evidence dataset; got {outcome_id!r}. {hint}"
        )
    return outcomes[outcome_id]


def endpoint_presets() -> dict[tuple[str, str], str]:
    """``(study_id, outcome) -> endpoint preset`` for every published outcome whose
    definition an endpoint preset reproduces (the ``endpoint_preset`` column); unsourced
    rows are left out.

    Examples
    --------
    >>> endpoint_presets()[("nash2017_haltms", "efs")]
    'halt_ms_efs'
    """
    return {
        (o.study_id, o.outcome): o.endpoint_preset
        for o in _outcomes().values()
        if o.endpoint_preset is not None and o.status != "unsourced"
    }
