"""Rule objects for confirmed disability worsening / improvement, with published presets.

Each rule is a frozen dataclass with documented defaults; a :class:`DisabilityDefinition`
bundles them. Presets name the publication they reproduce. The defaults are those of the
reference implementation msprog (Montobbio et al. 2024), so ``DisabilityDefinition()``
gives msprog's default first-CDW analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from msreboot.endpoints._disability_measures import HANDS, MEASURES, Hand, Measure
from msreboot.endpoints._disability_methods import methods_text
from msreboot.endpoints._disability_rule_parts import (
    BASELINE_KINDS,
    DIRECTIONS,
    EVENT_MODES,
    LOCAL_EXTREMA,
    PRECEDING_VISITS,
    SUB_THRESHOLDS,
    BaselineKind,
    BaselineRule,
    Bound,
    ConfirmationRule,
    Direction,
    EventMode,
    MergeRule,
    PIRARule,
    RelapseBuffer,
    check_choice,
)
from msreboot.endpoints._disability_thresholds import ThresholdRule
from msreboot.endpoints._presets import preset_names, published

__all__ = [  # the parts are re-exported: one place to import a definition's rules from
    "BASELINE_KINDS",
    "EVENT_MODES",
    "LOCAL_EXTREMA",
    "MIST_2019",
    "MURARO_2017",
    "PRECEDING_VISITS",
    "SUB_THRESHOLDS",
    "BaselineKind",
    "BaselineRule",
    "Bound",
    "ConfirmationRule",
    "DisabilityDefinition",
    "EventMode",
    "MergeRule",
    "PIRARule",
    "RelapseBuffer",
    "ThresholdRule",
]

BERN_2025 = "Bsteh G et al. Mult Scler Relat Disord 2025;93:106215. doi:10.1016/j.msard.2024.106215"
MURARO_2017 = "Muraro PA et al. JAMA Neurol 2017;74:459-69. doi:10.1001/jamaneurol.2016.5867"
MIST_2019 = "Burt RK et al. JAMA 2019;321:165-74. doi:10.1001/jama.2018.18743"
_WORSE_WHEN = {"t25fw": "increase", "9hpt": "increase", "sdmt": "decrease"}


@dataclass(frozen=True)
class DisabilityDefinition:
    """Every rule of a disability-event analysis, with a name for reports.

    The default is msprog's default analysis: first confirmed worsening, fixed baseline,
    msprog thresholds, 12-week confirmation with (7, 730.5) days tolerance, 30-day relapse
    buffers for baseline and confirmation, RAW/PIRA not classified.

    ``impute_last_visit``: an unconfirmed worsening at the last visit counts as an event
    (deterministic; ``impute_within_days`` limits it to events within that many days of the
    first visit, e.g. early discontinuations). ``direction``: ``increase`` when higher
    scores are worse (EDSS).

    ``unconfirmed_worsening`` (default off) is a sensitivity analysis: a candidate
    worsening that is not confirmed is still an event, dated at the candidate visit, with
    the candidate as the new roving reference and no confirmation columns; the events
    table then has a ``confirmed`` column and the patients table a ``cdw_unconfirmed``
    count (Bsteh et al. 2025 report such unconfirmed worsening beside confirmed events).
    Improvements still need confirmation. With separate general and RAW/PIRA references
    every candidate worsening is an event at its own score, with no confirmation sought
    (the Bern engine without confirmation).

    ``measure`` (default ``edss``) is the score scanned: with a Cohort, ``t25fw`` reads
    ``timed_walk``, ``9hpt`` reads ``peg_test`` (``hand``: the worse hand of the day, or one
    hand) and ``sdmt`` reads ``sdmt`` (:func:`~._disability_measures.measure_frame`; a
    test not completed counts as worse than any time). Each measure runs through the same
    scan with its own threshold (relative thresholds: :class:`ThresholdRule` ``relative``)
    and direction: ``increase`` for the times, ``decrease`` for the SDMT.

    ``merge`` (default ``None``: off): a :class:`MergeRule` that merges continuous,
    stepwise RAW or PIRA worsening into one event (needs separate general and RAW/PIRA
    references, ``BaselineRule(raw_pira_reference="separate")``); the events table then
    has ``merged_to_date`` / ``merged_to_value`` (the last visit joined and the merged
    event's score).
    """

    name: str = "msprog"
    event: EventMode = "first_cdw"
    classify_raw_pira: bool = False
    threshold: ThresholdRule = field(default_factory=ThresholdRule.msprog)
    improvement_threshold: ThresholdRule | None = None
    confirmation: ConfirmationRule = field(default_factory=ConfirmationRule)
    baseline: BaselineRule = field(default_factory=BaselineRule)
    relapse_buffer: RelapseBuffer = field(default_factory=RelapseBuffer)
    pira: PIRARule = field(default_factory=PIRARule)
    impute_last_visit: bool = False
    impute_within_days: float = math.inf
    unconfirmed_worsening: bool = False
    direction: Direction = "increase"
    citation: str = "Montobbio N et al. Mult Scler 2024. doi:10.1177/13524585241243157"
    measure: Measure = "edss"
    hand: Hand = "worse"
    merge: MergeRule | None = None

    def __post_init__(self) -> None:
        check_choice("event", self.event, EVENT_MODES)
        check_choice("direction", self.direction, DIRECTIONS)
        check_choice("measure", self.measure, MEASURES)
        check_choice("hand", self.hand, HANDS)
        worse = _WORSE_WHEN.get(self.measure)
        if worse is not None and self.direction != worse:
            raise ValueError(
                f"direction must be {worse!r} for measure {self.measure!r} (a "
                f"{'longer time' if worse == 'increase' else 'lower score'} is worse); got "
                f"{self.direction!r}. Set direction={worse!r}."
            )
        if not self.impute_within_days > 0:
            raise ValueError(
                f"impute_within_days must be > 0 (inf: no limit); got {self.impute_within_days}."
            )
        _check_references(self)

    @property
    def raw_pira(self) -> bool:
        """Whether worsening events are classified (always for first PIRA / first RAW)."""
        if self.event in ("first_pira", "first_raw"):
            return True
        return self.classify_raw_pira and self.event != "first_cdi"

    def with_(self, **changes: object) -> DisabilityDefinition:
        """A copy with some fields changed (``definition.with_(event="all")``)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def presets(cls) -> tuple[str, ...]:
        """Names of the published presets, in declaration order.

        >>> DisabilityDefinition.presets()[:2]
        ('msprog', 'mueller_2023')
        """
        return preset_names(cls)

    @classmethod
    def preset(cls, name: str) -> DisabilityDefinition:
        """A published preset by name (``DisabilityDefinition.preset("kappos_2020")``)."""
        names = cls.presets()
        if name not in names:
            raise ValueError(f"disability preset must be one of {', '.join(names)}; got {name!r}.")
        definition: DisabilityDefinition = getattr(cls, name)()
        return definition

    @classmethod
    @published
    def msprog(cls) -> DisabilityDefinition:
        """The msprog defaults (Montobbio 2024): the same as ``DisabilityDefinition()``."""
        return cls()

    @classmethod
    @published
    def mueller_2023(cls) -> DisabilityDefinition:
        """All events, roving baseline, RAW within 90 days, PIRA by the Mueller 2023 intervals."""
        return cls(
            "mueller_2023",
            event="all",
            classify_raw_pira=True,
            baseline=BaselineRule(kind="roving"),
            pira=PIRARule.mueller_2023(),
            citation=PIRARule.mueller_2023().citation,
        )

    @classmethod
    @published
    def kappos_2020(cls) -> DisabilityDefinition:
        """Kappos 2020 PIRA: +1.0 / +0.5 thresholds, 12-week confirmation, re-baselining
        after every relapse with a never-lower reference, PIRA intervals of Kappos 2020."""
        return cls(
            "kappos_2020",
            event="all",
            classify_raw_pira=True,
            threshold=ThresholdRule.kappos_2020(),
            baseline=BaselineRule(kind="roving", after_relapse=True, not_lower=True),
            pira=PIRARule.kappos_2020(),
            citation=PIRARule.kappos_2020().citation,
        )

    @classmethod
    @published
    def kalincik_2015(cls) -> DisabilityDefinition:
        """MSBase: roving baseline, MSBase thresholds for worsening and improvement,
        12-week confirmation, all events."""
        return cls(
            "kalincik_2015",
            event="all",
            threshold=ThresholdRule.kalincik_2015(),
            improvement_threshold=ThresholdRule.msbase_improvement(),
            baseline=BaselineRule(kind="roving"),
            citation=ThresholdRule.kalincik_2015().citation,
        )

    @classmethod
    @published
    def muraro_2017(cls) -> DisabilityDefinition:
        """EBMT registry PFS component (Muraro 2017), partly assumed.

        Published (as summarised in a news report of the paper; the paper's methods were
        not re-read): progression is an increase of 1 point on the EDSS confirmed at 12
        months against the pre-treatment baseline. This preset keeps the fixed
        pre-transplant baseline and the 1.0 step, and assumes the rest: the 0.5 step from
        a baseline of 6.0 (Kappos 2020 thresholds), confirmation 6 months later instead
        of 12, and 30-day relapse buffers. The Atkins 2016 and Sormani 2017 calibration
        targets reuse it under the same assumptions."""
        return cls(
            "muraro_2017",
            threshold=ThresholdRule.kappos_2020(),
            confirmation=ConfirmationRule(days=182, tolerance_days=(30, 730.5)),
            citation=MURARO_2017,
        )

    @classmethod
    @published
    def mist_2019(cls) -> DisabilityDefinition:
        """MIST progression: EDSS increase >= 1.0 from the pre-randomisation baseline,
        confirmed on two evaluations 6 months apart. Assumed: +/- 30 days tolerance; the
        "after at least 1 year" condition is applied by anchoring plus a minimum follow-up."""
        return cls(
            "mist_2019",
            threshold=ThresholdRule("mist_2019", ((math.inf, 1.0),)),
            confirmation=ConfirmationRule(days=182, tolerance_days=(30, 30)),
            citation=MIST_2019,
        )

    @classmethod
    @published
    def bern_2025(cls) -> DisabilityDefinition:
        """The defaults of the Bern engine (Bsteh et al. 2025).

        All worsening events; msprog thresholds (+1.5 from 0, +1.0 up to 5.0, +0.5 above);
        confirmation at the first assessment at least 180 days later with every score in
        between (no upper limit); a running-minimum roving reference confirmed over 30
        days; after an event the reference is the lowest confirmed score, dated at the
        event; separate general and RAW/PIRA references, a relapse resetting the RAW/PIRA
        one only when it leaves residual disability, and undefined worsening looked for
        only at the first visit after a relapse's RAW window (the engine's "re-baselining
        only"); RAW when the event lies within 90 days after or 30 days before a relapse;
        PIRA with relapse during confirmation reported separately (a relapse from the event
        to 30 days after the confirmation); no relapse buffers. Checked against the engine
        on 300 relapse-free and 300 relapsing seeded patients (``tests/reference/disability/``).
        """
        return cls(
            "bern_2025",
            event="all",
            classify_raw_pira=True,
            confirmation=ConfirmationRule(180, (0, math.inf)),
            baseline=BaselineRule(
                kind="running_minimum",
                reference_confirmation_days=30,
                post_event_reference="lowest_confirmed",
                raw_pira_reference="separate",
            ),
            relapse_buffer=RelapseBuffer(baseline=0, event=0, confirmation=0),
            pira=PIRARule(
                "bern_2025",
                raw_days=(90.0, 30.0),
                preceding=(0.0, 0.0),
                event=(0.0, None),
                confirmation=(None, 30.0),
                report_relapse_during_confirmation=True,
                citation=BERN_2025,
            ),
            citation=BERN_2025,
        )

    @classmethod
    @published
    def kappos_2020_t25fw(cls) -> DisabilityDefinition:
        """Kappos 2020 rules over the T25FW: a 20% longer time, confirmed as the EDSS
        (12 weeks), with the same reference and PIRA rules (assumed for this component; the
        paper's composite used the T25FW with the 20% rule)."""
        return cls.kappos_2020().with_(
            name="kappos_2020_t25fw",
            measure="t25fw",
            threshold=ThresholdRule.relative_20_percent(),
        )

    @classmethod
    @published
    def kappos_2020_9hpt(cls) -> DisabilityDefinition:
        """Kappos 2020 rules over the 9HPT of the worse hand: a 20% longer time (the hand
        rule, and the reference and PIRA rules for this component, are assumed)."""
        return cls.kappos_2020().with_(
            name="kappos_2020_9hpt",
            measure="9hpt",
            threshold=ThresholdRule.relative_20_percent(),
        )

    @classmethod
    @published
    def sdmt_4_points(cls) -> DisabilityDefinition:
        """SDMT worsening: a drop of 4 points or 10% (whichever is reached first) from a
        roving reference, confirmed at 12 weeks, RAW/PIRA by the Mueller 2023 intervals
        (the thresholds: Benedict 2017; the other rules are msreboot's choice, assumed)."""
        return cls.mueller_2023().with_(
            name="sdmt_4_points",
            measure="sdmt",
            direction="decrease",
            threshold=ThresholdRule.sdmt_4_points_or_10_percent(),
            citation=ThresholdRule.sdmt_4_points_or_10_percent().citation,
        )

    def methods_text(self) -> str:
        """A methods paragraph stating exactly the criteria used."""
        return methods_text(self)


def _check_references(d: DisabilityDefinition) -> None:
    """The options of the separate-references scan, and what that scan needs."""
    b, c, p = d.baseline, d.confirmation, d.pira
    separate_only = [
        name
        for name, on in (
            ("merge", d.merge is not None),
            ("ConfirmationRule(minimal_distance_backtrack=True)", c.minimal_distance_backtrack),
            ("ConfirmationRule(sustained_after_days=...)", c.sustained_after_days is not None),
            (f"PIRARule(undefined_worsening={p.undefined_worsening!r})",
             p.undefined_worsening != "rebaseline_only"),
            (f"PIRARule(undefined_reference={p.undefined_reference!r})",
             p.undefined_reference != "any"),
        )
        if on
    ]  # fmt: skip
    if b.raw_pira_reference != "separate":
        if separate_only:
            raise ValueError(
                f"{', '.join(separate_only)} needs separate general and RAW/PIRA references; "
                'set baseline=BaselineRule(raw_pira_reference="separate", ...) (the Bern '
                "engine's scan, Bsteh 2025)."
            )
        return
    wrong = [
        what
        for what, bad in (
            ("RAW/PIRA classification (classify_raw_pira=True)", not d.raw_pira),
            ("a worsening event mode (not 'first_cdi')", d.event == "first_cdi"),
            ("event 'all' for undefined_worsening='end'",
             p.undefined_worsening == "end" and d.event != "all"),
            ("baseline kind 'running_minimum' or 'roving_worsening'",
             b.kind not in ("running_minimum", "roving_worsening")),
            ("post_event_reference='lowest_confirmed'",
             b.post_event_reference != "lowest_confirmed"),
            ("sub_threshold='none'", b.sub_threshold != "none"),
            ("skip_local_extrema='none'", b.skip_local_extrema != "none"),
            ("after_relapse=False (relapses reset the RAW/PIRA reference themselves)",
             b.after_relapse),
            ("one confirmation period", len(c.days) != 1),
            ("sustained_days=0 (use sustained_after_days)", c.sustained_days != 0),
            ("no relapse buffers (RelapseBuffer(0, 0, 0))",
             any(v != 0 for v in (*d.relapse_buffer.baseline, *d.relapse_buffer.event,
                                  *d.relapse_buffer.confirmation))),
        )
        if bad
    ]  # fmt: skip
    if wrong:
        raise ValueError(
            "separate general and RAW/PIRA references (BaselineRule(raw_pira_reference="
            f"'separate')) need {'; '.join(wrong)}."
        )
