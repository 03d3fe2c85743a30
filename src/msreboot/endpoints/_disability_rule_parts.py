"""The parts of a disability definition: the confirmation, baseline, relapse-buffer and
PIRA/RAW rules, with their published presets and the allowed values of each choice (one
list each: the checks, the compiled scan's codes and the CLI choices all come from these).
:class:`~msreboot.endpoints._disability_rules.DisabilityDefinition` bundles them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from msreboot.endpoints._disability_thresholds import KAPPOS_2020

__all__ = [
    "BASELINE_KINDS",
    "DIRECTIONS",
    "DISTANCES_TO",
    "EVENT_MODES",
    "LOCAL_EXTREMA",
    "POST_EVENT_REFERENCES",
    "PRECEDING_VISITS",
    "PROCEED_FROM",
    "RAW_PIRA_REFERENCES",
    "SUB_THRESHOLDS",
    "UNDEFINED_REFERENCES",
    "UNDEFINED_WORSENING",
    "BaselineKind",
    "BaselineRule",
    "Bound",
    "ConfirmationRule",
    "Direction",
    "DistanceTo",
    "EventMode",
    "LocalExtrema",
    "MergeRule",
    "PIRARule",
    "PostEventReference",
    "PrecedingVisit",
    "ProceedFrom",
    "RawPiraReference",
    "RelapseBuffer",
    "SubThreshold",
    "UndefinedReference",
    "UndefinedWorsening",
    "check_choice",
]

EventMode = Literal["first_cdw", "first_cdi", "first", "first_pira", "first_raw", "all"]
BaselineKind = Literal[
    "fixed", "roving", "roving_improvement", "roving_worsening", "running_minimum"
]
ProceedFrom = Literal["confirmation", "event"]
PostEventReference = Literal["visit", "lowest_confirmed"]
SubThreshold = Literal["none", "event", "improvement", "worsening"]
LocalExtrema = Literal["none", "strict", "all"]
PrecedingVisit = Literal["baseline", "last", "last_delta"]
Direction = Literal["increase", "decrease"]
DistanceTo = Literal["reference", "previous"]
RawPiraReference = Literal["same", "separate"]
UndefinedWorsening = Literal["rebaseline_only", "all", "end", "never"]
UndefinedReference = Literal["any", "not_lower", "higher"]

# The allowed values, read from the types (one list each: the checks, the compiled scan's
# codes and the CLI choices all come from these).
EVENT_MODES: tuple[EventMode, ...] = get_args(EventMode)
BASELINE_KINDS: tuple[BaselineKind, ...] = get_args(BaselineKind)
PROCEED_FROM: tuple[ProceedFrom, ...] = get_args(ProceedFrom)
POST_EVENT_REFERENCES: tuple[PostEventReference, ...] = get_args(PostEventReference)
SUB_THRESHOLDS: tuple[SubThreshold, ...] = get_args(SubThreshold)
LOCAL_EXTREMA: tuple[LocalExtrema, ...] = get_args(LocalExtrema)
PRECEDING_VISITS: tuple[PrecedingVisit, ...] = get_args(PrecedingVisit)
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)
DISTANCES_TO: tuple[DistanceTo, ...] = get_args(DistanceTo)
RAW_PIRA_REFERENCES: tuple[RawPiraReference, ...] = get_args(RawPiraReference)
UNDEFINED_WORSENING: tuple[UndefinedWorsening, ...] = get_args(UndefinedWorsening)
UNDEFINED_REFERENCES: tuple[UndefinedReference, ...] = get_args(UndefinedReference)
Bound = float | None


def _pair(value: float | Sequence[float], what: str, second: float = 0.0) -> tuple[float, float]:
    """One number means (before, ``second``); two numbers are (before, after)."""
    if isinstance(value, (int, float)):
        out = (float(value), float(second))
    else:
        items = [float(v) for v in value]
        if len(items) == 1:
            out = (items[0], float(second))
        elif len(items) == 2:
            out = (items[0], items[1])
        else:
            raise ValueError(f"{what} must be one number or a pair; got {value!r}.")
    if any(math.isnan(v) or v < 0 for v in out):
        raise ValueError(f"{what} must be >= 0 days; got {value!r}.")
    return out


@dataclass(frozen=True)
class ConfirmationRule:
    """How a candidate change is confirmed.

    Parameters
    ----------
    days
        Confirmation period(s) in days (84 = 12 weeks). With several periods any may
        confirm; periods are tried in the order given when the scan moves on.
    tolerance_days
        (before, after) tolerance around each period, inclusive: a visit confirms when its
        lag from the event is in ``[int(days) - before, int(days) + after]``. Default (7,
        730.5): from 77 days to 2 years after the period. ``after`` may be ``inf``. One pair
        for all periods, or one pair per period.
    check_intermediate
        Every visit between the event and the confirmation visit must also show the
        change (default); otherwise only the confirmation visit is tested.
    sustained_days
        The change must also hold for this many days after the event (0: no requirement;
        ``inf``: to the last visit). Events sustained to the last visit always qualify.
    monotonic
        Monotonic confirmation (default off): the confirmation visit (and, with
        ``check_intermediate``, every visit in between) must also be at least as bad as the
        event visit, not only beyond the threshold from the reference (the "monotonic"
        confirmation type of Bsteh et al., Mult Scler Relat Disord 2025;93:106215,
        doi:10.1016/j.msard.2024.106215).
    minimal_distance_days, minimal_distance_to
        A worsening candidate must lie at least ``minimal_distance_days`` days after its
        reference (``reference``, default) or after the previous visit (``previous``);
        closer visits are not candidates (default 0: no requirement; Bsteh 2025).
    minimal_distance_backtrack
        With ``minimal_distance_to="reference"`` (default off): a candidate too close to its
        reference is judged against the latest earlier reference of the same reference
        period (a running-minimum reference moves down in steps; an event or a relapse with
        residual disability starts a new period) that is far enough and low enough for the
        candidate to be a worsening from it (the Bern engine's backtracking, Bsteh 2025).
        Needs ``BaselineRule(raw_pira_reference="separate")``.
    sustained_after_days
        Sustained confirmation (default ``None``: off): instead of a confirmation period,
        every visit from this many days after the event to the last visit confirms (at
        least one such visit, valid for confirmation, must exist; 0: every later visit),
        the Bern engine's "sustained" confirmation with its minimal distance (Bsteh 2025).
        ``days`` and ``tolerance_days`` are then not used. Needs
        ``BaselineRule(raw_pira_reference="separate")``.

    Notes
    -----
    Only the first eligible visit in the windows is tested: a later visit does not rescue
    a failed first one.
    """

    days: tuple[float, ...] = (84.0,)
    tolerance_days: tuple[tuple[float, float], ...] = ((7.0, 730.5),)
    check_intermediate: bool = True
    sustained_days: float = 0.0
    monotonic: bool = False
    minimal_distance_days: float = 0.0
    minimal_distance_to: DistanceTo = "reference"
    minimal_distance_backtrack: bool = False
    sustained_after_days: float | None = None

    def __init__(
        self,
        days: float | Sequence[float] = 84.0,
        tolerance_days: float | Sequence[float] | Sequence[Sequence[float]] = (7.0, 730.5),
        check_intermediate: bool = True,
        sustained_days: float = 0.0,
        monotonic: bool = False,
        minimal_distance_days: float = 0.0,
        minimal_distance_to: DistanceTo = "reference",
        minimal_distance_backtrack: bool = False,
        sustained_after_days: float | None = None,
    ) -> None:
        periods = (float(days),) if isinstance(days, (int, float)) else tuple(map(float, days))
        if not periods or any(not (p > 0 and math.isfinite(p)) for p in periods):
            raise ValueError(f"days must be positive finite numbers; got {days!r}.")
        if len(periods) > 60:
            raise ValueError(f"at most 60 confirmation periods; got {len(periods)}.")
        tol = _tolerances(tolerance_days, len(periods))
        if not sustained_days >= 0:
            raise ValueError(
                f"sustained_days must be >= 0 (inf: to the end); got {sustained_days}."
            )
        object.__setattr__(self, "days", periods)
        object.__setattr__(self, "tolerance_days", tol)
        object.__setattr__(self, "check_intermediate", bool(check_intermediate))
        object.__setattr__(self, "sustained_days", float(sustained_days))
        object.__setattr__(self, "monotonic", bool(monotonic))
        if not (minimal_distance_days >= 0 and math.isfinite(minimal_distance_days)):
            raise ValueError(
                f"minimal_distance_days must be >= 0 and finite; got {minimal_distance_days}."
            )
        check_choice("minimal_distance_to", minimal_distance_to, DISTANCES_TO)
        object.__setattr__(self, "minimal_distance_days", float(minimal_distance_days))
        object.__setattr__(self, "minimal_distance_to", minimal_distance_to)
        if minimal_distance_backtrack and not (
            self.minimal_distance_days > 0 and minimal_distance_to == "reference"
        ):
            raise ValueError(
                "minimal_distance_backtrack needs a minimal distance to the reference; got "
                f"minimal_distance_days={self.minimal_distance_days:g}, "
                f"minimal_distance_to={minimal_distance_to!r}."
            )
        object.__setattr__(self, "minimal_distance_backtrack", bool(minimal_distance_backtrack))
        if sustained_after_days is not None:
            if not (sustained_after_days >= 0 and math.isfinite(sustained_after_days)):
                raise ValueError(
                    f"sustained_after_days must be >= 0 and finite (None: off); got "
                    f"{sustained_after_days}."
                )
            sustained_after_days = float(sustained_after_days)
        object.__setattr__(self, "sustained_after_days", sustained_after_days)

    def windows(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([int(d) - t[0] for d, t in zip(self.days, self.tolerance_days, strict=True)])
        hi = np.array([int(d) + t[1] for d, t in zip(self.days, self.tolerance_days, strict=True)])
        return lo.astype(float), hi.astype(float)


@dataclass(frozen=True)
class BaselineRule:
    """Which visit is the reference for the next event.

    Parameters
    ----------
    kind
        ``fixed``: the first valid visit. ``roving``: moves after every confirmed event;
        ``roving_improvement`` / ``roving_worsening``: only after improvements / worsening.
        ``running_minimum``: a roving reference that moves as a running minimum (Bsteh et
        al. 2025, the Bern engine): any later score below the reference becomes the new
        reference once confirmed (``reference_confirmation_days``), and after a confirmed
        worsening the reference moves as with ``roving_worsening``; improvements are not
        events, they only move the reference.
    proceed_from
        After an event, the baseline moves to (and the search continues after) the first
        confirmation visit (``confirmation``, default) or the event visit (``event``).
    sub_threshold
        With a roving baseline, also re-baseline after confirmed changes below the
        threshold (``event``: either direction; ``improvement``; ``worsening``).
    after_relapse
        Re-baseline after every relapse: the first visit on or after the relapse (subject
        to the baseline buffer) becomes the new baseline (post-relapse re-baselining).
    not_lower
        With ``after_relapse``: a new baseline never has a better score than the previous
        one; the previous value is carried forward (Kappos 2020). The previous value is the
        level the baseline moved to after a confirmed change, even when the relapse buffer
        then moves the baseline to a later, lower visit.
    skip_local_extrema
        The baseline is never placed at a local extremum (``all``) or at one that differs
        from both neighbours by at least the threshold (``strict``); a visit equal to the one
        two visits earlier is not an extremum.
    reference_confirmation_days
        With ``running_minimum``: a lower score becomes the reference only when every
        score after it, up to and including the first visit at least this many days later,
        is also below the current reference; the new reference, dated at the lower score,
        is the highest of these scores (its own confirmation period, shorter than that of
        events; Bsteh 2025 use 30 days). No visit that late: no move. 0 (default): every
        lower score moves the reference at once. Visits not valid for confirmation count.
    post_event_reference
        ``visit`` (default): a roving baseline moves to the visit ``proceed_from`` names,
        with that visit's score. ``lowest_confirmed``: it moves to the event visit, dated
        at the event, with the least changed score of the span that confirmed the event
        (for worsening the lowest of the event, the confirmation visit and, with
        ``check_intermediate``, the visits between; for improvement the highest), and the
        search continues after the event (Bsteh et al. 2025, the Bern engine's
        "confirmed event score").
    residual_only
        With ``after_relapse`` (default off): a relapse moves the reference only when it
        leaves residual disability, i.e. when the first visit after it (outside the
        baseline buffer) is worse than the current reference; otherwise the reference
        stays and the search goes on from that visit. The rule of Müller et al. 2023 as
        the Bern engine (Bsteh 2025) describes it; "worse" is any higher score, not a
        change of the threshold (an assumed reading, not checked against the paper).
    raw_pira_reference
        ``same`` (default): one reference for every event. ``separate``: two references,
        as Mueller et al. 2023 recommend and the Bern engine (Bsteh 2025) implements: the
        RAW/PIRA reference, reset by a relapse only when the first visit after the relapse's
        RAW window is worse than it (residual disability), and the general reference, reset
        only by events; both move down as a running minimum with ``running_minimum``, and
        both move to the event score after every event. Worsening at the first visit after
        a relapse's RAW window is judged against the general reference and is "undefined";
        :class:`PIRARule` ``undefined_worsening`` says where else it is looked for. This runs
        the scan of :mod:`._disability_references`, which needs ``kind`` ``running_minimum``
        (the Bern engine's roving reference) or ``roving_worsening`` (its fixed reference,
        reset after events), ``post_event_reference="lowest_confirmed"``, RAW/PIRA
        classification, one confirmation period and no relapse buffers.
    """

    kind: BaselineKind = "fixed"
    proceed_from: ProceedFrom = "confirmation"
    sub_threshold: SubThreshold = "none"
    after_relapse: bool = False
    not_lower: bool = False
    skip_local_extrema: LocalExtrema = "none"
    post_event_reference: PostEventReference = "visit"
    reference_confirmation_days: float = 0.0
    residual_only: bool = False
    raw_pira_reference: RawPiraReference = "same"

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, BASELINE_KINDS)
        check_choice("raw_pira_reference", self.raw_pira_reference, RAW_PIRA_REFERENCES)
        check_choice("proceed_from", self.proceed_from, PROCEED_FROM)
        check_choice("sub_threshold", self.sub_threshold, SUB_THRESHOLDS)
        check_choice("skip_local_extrema", self.skip_local_extrema, LOCAL_EXTREMA)
        check_choice("post_event_reference", self.post_event_reference, POST_EVENT_REFERENCES)
        if not (
            self.reference_confirmation_days >= 0 and self.reference_confirmation_days < math.inf
        ):
            raise ValueError(
                f"reference_confirmation_days must be >= 0 and finite; got "
                f"{self.reference_confirmation_days}. Use 0 for an unconfirmed running minimum."
            )
        if self.kind == "running_minimum" and self.sub_threshold != "none":
            raise ValueError(
                f"sub_threshold must be 'none' with a running-minimum reference (every lower "
                f"score may move it); got {self.sub_threshold!r}."
            )
        if self.residual_only and not self.after_relapse:
            raise ValueError(
                "residual_only applies to post-relapse re-baselining; got residual_only=True "
                "with after_relapse=False. Set after_relapse=True as well."
            )
        if self.not_lower and not self.after_relapse:
            raise ValueError(
                "not_lower applies to post-relapse re-baselining; got not_lower=True with "
                "after_relapse=False. Set after_relapse=True as well."
            )


@dataclass(frozen=True)
class RelapseBuffer:
    """Minimum distance (days) from relapse onsets, as (after the last, before the next).

    ``baseline``: a baseline visit within the buffer moves to the next visit (default 30
    days after the last relapse). ``event``: an event visit within the buffer is not a
    candidate (default none). ``confirmation``: a visit within the buffer cannot confirm
    (default 30 days). A single number means (that many days after the last relapse, 0).
    Relapses earlier than the first visit minus the baseline buffer are ignored.
    """

    baseline: tuple[float, float] = (30.0, 0.0)
    event: tuple[float, float] = (0.0, 0.0)
    confirmation: tuple[float, float] = (30.0, 0.0)

    def __init__(
        self,
        baseline: float | Sequence[float] = 30.0,
        event: float | Sequence[float] = 0.0,
        confirmation: float | Sequence[float] = 30.0,
    ) -> None:
        object.__setattr__(self, "baseline", _pair(baseline, "baseline"))
        object.__setattr__(self, "event", _pair(event, "event"))
        object.__setattr__(self, "confirmation", _pair(confirmation, "confirmation"))


@dataclass(frozen=True)
class PIRARule:
    """Relapse-associated worsening (RAW) and progression independent of relapses (PIRA).

    A confirmed worsening is RAW when a relapse onset lies within ``raw_days[0]`` days
    before the event (same day included) or ``raw_days[1]`` days after it. Otherwise it is
    PIRA when, for at least one confirmation visit, no relapse lies in the relapse-free
    intervals around three checkpoints: a preceding visit (``preceding_visit``: the
    baseline, the last visit before the event, or the last visit from which the change is
    meaningful), the event and the confirmation visit. Each interval is (days before, days
    after) its checkpoint; ``None`` as an end joins it to the neighbouring checkpoint's
    interval (``preceding=(0, None), event=(None, None), confirmation=(None, 0)`` means "no
    relapse from baseline to confirmation"); (0, 0) ignores the checkpoint. Otherwise the
    worsening is "undefined". With ``use_end_dates`` a relapse occupies onset to end date.

    ``report_relapse_during_confirmation`` (default off: such events stay "undefined"):
    a worsening that is neither RAW nor PIRA, but whose intervals of the preceding visit
    and of the event hold when each is cut at the event day, is reported as "PIRA with
    relapse during confirmation": the only relapses that stop it from being PIRA came
    after the event (during confirmation or around the confirmation visit). Papers report
    this category separately (Bsteh et al. 2025, the Bern engine; Mueller et al. 2023).

    With separate general and RAW/PIRA references (``BaselineRule(raw_pira_reference=
    "separate")``) only: ``undefined_worsening`` says which visits are checked for
    "undefined" worsening against the general reference, with the Bern engine's policies
    (Bsteh 2025): ``rebaseline_only`` (default), only the first visit after a relapse's RAW
    window (the post-relapse re-baselining visit); ``all``, also every other visit that is
    neither RAW nor PIRA against the RAW/PIRA reference; ``end``, as ``rebaseline_only``,
    then every visit after the last RAW/PIRA event (or all visits when there is none),
    searched again from that event's score for undefined worsening only; ``never``: none
    (a re-baselining visit is never an event). ``undefined_reference``: whether such a
    visit, and its confirmation scores, must also be at least (``not_lower``) or above
    (``higher``) the RAW/PIRA reference (default ``any``: no condition).
    """

    name: str = "mueller_2023"
    raw_days: tuple[float, float] = (90.0, 0.0)
    preceding: tuple[Bound, Bound] = (0.0, 0.0)
    event: tuple[Bound, Bound] = (90.0, 30.0)
    confirmation: tuple[Bound, Bound] = (90.0, 30.0)
    preceding_visit: PrecedingVisit = "baseline"
    use_end_dates: bool = False
    report_relapse_during_confirmation: bool = False
    undefined_worsening: UndefinedWorsening = "rebaseline_only"
    undefined_reference: UndefinedReference = "any"
    citation: str = "Mueller J et al. JAMA Neurol 2023;80:1232-45. doi:10.1001/jamaneurol.2023.3331"

    def __post_init__(self) -> None:
        check_choice("preceding_visit", self.preceding_visit, PRECEDING_VISITS)
        check_choice("undefined_worsening", self.undefined_worsening, UNDEFINED_WORSENING)
        check_choice("undefined_reference", self.undefined_reference, UNDEFINED_REFERENCES)
        object.__setattr__(self, "raw_days", _pair(self.raw_days, "raw_days"))
        for what in ("preceding", "event", "confirmation"):
            pair = getattr(self, what)
            if len(pair) != 2 or any(v is not None and not v >= 0 for v in pair):
                raise ValueError(f"{what} must be (days before, days after), each >= 0 or None.")

    @classmethod
    def mueller_2023(cls) -> PIRARule:
        """No relapse from 90 days before to 30 days after the event and the confirmation."""
        return cls()

    @classmethod
    def kappos_2020(cls) -> PIRARule:
        """No relapse from the baseline to 30 days after the event, nor within 30 days of
        the confirmation. Use with post-relapse re-baselining (DisabilityDefinition.kappos_2020)."""
        return cls(
            "kappos_2020",
            preceding=(0.0, None),
            event=(None, 30.0),
            confirmation=(30.0, 30.0),
            citation=KAPPOS_2020,
        )

    @classmethod
    def cagol_2022(cls) -> PIRARule:
        """No relapse between the last visit before the event and the confirmation visit.

        Assumed reading of the published definition (the relapse-free interval runs from
        the last EDSS assessment before the worsening to its confirmation).
        """
        return cls(
            "cagol_2022",
            preceding=(0.0, None),
            event=(None, None),
            confirmation=(None, 0.0),
            preceding_visit="last",
            citation="Cagol A et al. JAMA Neurol 2022;79:682-92. doi:10.1001/jamaneurol.2022.1025",
        )

    @classmethod
    def mueller_2025(cls) -> PIRARule:
        """Mueller 2023 intervals with relapses as periods from onset to end date.

        Assumed: a relapse with a recorded end date blocks PIRA while any part of it
        overlaps an interval; without an end date it is a single day.
        """
        return cls(
            "mueller_2025",
            use_end_dates=True,
            citation="Mueller J et al. 2025 (PIRA definition revision, relapse end dates); assumed",
        )


@dataclass(frozen=True)
class MergeRule:
    """Merge continuous, stepwise worsening into one event (the Bern engine, Bsteh 2025).

    After a RAW or PIRA event (undefined worsening is never merged), each following visit
    joins it while it is itself a confirmed worsening of the same type against the same
    RAW/PIRA reference, no more than ``max_distance_days`` after the last visit joined
    (inclusive), with a score and a confirmed score not below the event's confirmed score
    so far. A visit whose confirmed score only equals it joins when it lies at most
    ``repetition_days`` (inclusive) after the visit where the score stopped rising (a
    repeated measurement); a longer plateau ends the event, and a plateau at the end is
    dropped from it (its visits are searched again). The merged event keeps its first
    visit and reference; its score is the last confirmed score, and the references move
    to that score, dated at the last visit joined (plateau included).
    Needs ``BaselineRule(raw_pira_reference="separate")``.
    """

    repetition_days: float = 30.0
    max_distance_days: float = math.inf

    def __post_init__(self) -> None:
        if not self.repetition_days >= 0 or not math.isfinite(self.repetition_days):
            raise ValueError(
                f"repetition_days must be >= 0 and finite; got {self.repetition_days}."
            )
        if not self.max_distance_days >= 0:
            raise ValueError(
                f"max_distance_days must be >= 0 (inf: no limit); got {self.max_distance_days}."
            )


def _tolerances(value: object, n_periods: int) -> tuple[tuple[float, float], ...]:
    """One tolerance (same both sides), one (before, after) pair, or one pair per period."""
    if isinstance(value, (int, float)):
        return ((float(value), float(value)),) * n_periods
    items = list(value) if isinstance(value, Sequence) else [value]
    if all(isinstance(v, (int, float)) for v in items):
        numbers = [float(v) for v in items]  # type: ignore[arg-type]
        if len(numbers) == 1:
            numbers = numbers * 2
        return (_pair(numbers, "tolerance_days"),) * n_periods
    if len(items) != n_periods or not all(isinstance(v, Sequence) for v in items):
        raise ValueError(
            f"tolerance_days must be one pair or one pair per period ({n_periods}); got {value!r}."
        )
    return tuple(_tolerances(v, 1)[0] for v in items)


def check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    """Refuse a choice outside ``allowed``, naming the field and the values allowed."""
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}.")
