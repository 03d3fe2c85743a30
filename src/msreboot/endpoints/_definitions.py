"""Composite time-to-event endpoints as declarative definitions, with published presets.

An :class:`EndpointDefinition` lists its components (relapses, confirmed disability
events, MRI activity), each with the day from which it counts, and says what a death is
(an event, a censoring or a competing risk). The trial definitions of HALT-MS, Atkins 2016,
the EBMT registry (Muraro 2017), MIST and Burt 2015, NEDA-3 and the single components are
named presets; where a published detail is not known, the preset's ``assumptions`` say
what was chosen. Users write their own in a TOML file (:func:`load_endpoint_definitions`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from msreboot.data import describe_validation_errors, read_toml
from msreboot.endpoints._disability_rules import (
    MIST_2019,
    MURARO_2017,
    ConfirmationRule,
    DisabilityDefinition,
    ThresholdRule,
)
from msreboot.endpoints._disability_thresholds import KAPPOS_2020
from msreboot.endpoints._endpoint_components import (
    FLAT_1,
    Component,
    DisabilityComponent,
    MRIComponent,
    RelapseComponent,
)
from msreboot.endpoints._presets import preset_names, published

__all__ = [
    "DisabilityComponent",
    "EndpointDefinition",
    "MRIComponent",
    "RelapseComponent",
    "load_endpoint_definitions",
]

HALT_MS = (
    "Nash RA et al. JAMA Neurol 2015;72:159-69; Nash RA et al. Neurology 2017;88:842. NCT00288626"
)
ATKINS_2016 = "Atkins HL et al. Lancet 2016;388:576. NCT01099930"
BURT_2015 = "Burt RK et al. JAMA 2015;313:275-84"
NEDA_3 = "Giovannoni G et al. Mult Scler Relat Disord 2015;4:329-33"
CADAVID_2017 = "Cadavid D et al. Mult Scler 2017;23:94-105 (EDSS-Plus; DOI not checked)"
_CDA_ASSUMPTIONS = (
    "each measure is confirmed by its own rule and the first confirmed worsening of any "
    "counts; a test not completed counts as worse than any time; patients are censored "
    "at their last contact (a patient without T25FW or 9HPT results has EDSS only)."
)


class EndpointDefinition(BaseModel):
    """A time-to-event endpoint: the first of its components, and what a death is.

    Attributes
    ----------
    name, title
        Short name (used in tables and files) and a readable title.
    components
        The events that end event-free follow-up; none: the endpoint is death alone
        (overall survival).
    death
        ``"event"`` (event-free survival), ``"censor"`` (follow-up ends at death) or
        ``"competing"`` (cumulative incidence with death as a competing risk).
    measure
        ``"event_free"`` reports the probability of no event (Kaplan-Meier);
        ``"cumulative_incidence"`` the probability of the event (1 - Kaplan-Meier, or
        Aalen-Johansen when death competes). Improvement endpoints use the latter.
    conf_level
        Interval level the study reported (HALT-MS: 0.90).
    censor
        ``"all_components"``: a patient alive without an event is censored at the last day
        on which every component was assessed (last relapse-free contact, last EDSS, last
        assessed MRI), so no one is counted event-free beyond what was observed.
        ``"last_contact"``: censored at the last record of any kind (a common simpler rule).
    citation, assumptions
        Where the definition comes from, and the details chosen where it is silent.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = ""
    components: tuple[Component, ...] = ()
    death: Literal["event", "censor", "competing"] = "event"
    measure: Literal["event_free", "cumulative_incidence"] = "event_free"
    conf_level: float = Field(0.95, gt=0, lt=1)
    censor: Literal["all_components", "last_contact"] = "all_components"
    citation: str = ""
    assumptions: str = ""

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str, info: Any) -> str:
        if info.data.get("death") == "competing" and value != "cumulative_incidence":
            raise ValueError(
                "with death as a competing risk the measure must be 'cumulative_incidence'."
            )
        return value

    def with_(self, **changes: Any) -> EndpointDefinition:
        """A copy with some fields changed, validated again."""
        return type(self).model_validate({**dict(self), **changes})

    def describe(self) -> str:
        """One sentence: what counts as an event."""
        events = [c.describe() for c in self.components]
        if self.death == "event":
            events.append("death from any cause")
        if len(events) > 1:
            events = [*events[:-2], f"{events[-2]}; or {events[-1]}"]
        text = "Event: " + ("; ".join(events) if events else "none") + "."
        if self.death == "censor":
            text += " Deaths censor follow-up."
        elif self.death == "competing":
            text += " Death is a competing risk."
        return text

    def methods_text(self) -> str:
        """A methods paragraph: the events, censoring, measure, interval, citation and
        assumptions."""
        pct = f"{100 * self.conf_level:g}%"
        censor = (
            "Patients alive without an event were censored at the last day on which every "
            "component had been assessed."
            if self.censor == "all_components"
            else "Patients alive without an event were censored at their last contact."
        )
        estimate = (
            "cumulative incidence (Aalen-Johansen) with death as a competing risk"
            if self.death == "competing"
            else (
                "the Kaplan-Meier estimate"
                if self.measure == "event_free"
                else "one minus the Kaplan-Meier estimate"
            )
        )
        text = (
            f"{self.title or self.name}: time from day 0 to the first event. {self.describe()} "
            f"{censor} Estimates are {estimate}, with {pct} pointwise log-log intervals."
        )
        if self.citation:
            text += f" Definition: {self.citation}."
        if self.assumptions:
            text += f" Assumed where the source is silent: {self.assumptions}"
        return text

    # Presets --------------------------------------------------------------------------

    @classmethod
    def presets(cls) -> dict[str, EndpointDefinition]:
        """Every published preset, by name."""
        return {d.name: d for d in (getattr(cls, name)() for name in preset_names(cls))}

    @classmethod
    def preset(cls, name: str) -> EndpointDefinition:
        """A preset by name (``EndpointDefinition.preset("halt_ms_efs")``)."""
        presets = cls.presets()
        if name not in presets:
            raise ValueError(f"endpoint must be one of {', '.join(presets)}; got {name!r}.")
        return presets[name]

    @classmethod
    @published
    def halt_ms_efs(cls) -> EndpointDefinition:
        """HALT-MS event-free survival (Nash 2015, 2017): death, EDSS increase > 0.5 from
        the pre-transplant baseline, relapse, or new brain MRI lesions from 1 year; 90% CIs."""
        return _halt_ms(
            "halt_ms_efs",
            "HALT-MS event-free survival",
            (_HALT_RELAPSE, _halt_disability(), _HALT_MRI),
        )

    @classmethod
    @published
    def halt_ms_pfs(cls) -> EndpointDefinition:
        """HALT-MS progression-free survival: the EDSS component of its EFS, or death."""
        return _halt_ms("halt_ms_pfs", "HALT-MS progression-free survival", (_halt_disability(),))

    @classmethod
    @published
    def halt_ms_rfs(cls) -> EndpointDefinition:
        """HALT-MS relapse-free survival: a relapse lasting over 48 hours, or death."""
        return _halt_ms("halt_ms_rfs", "HALT-MS relapse-free survival", (_HALT_RELAPSE,))

    @classmethod
    @published
    def halt_ms_mri_free(cls) -> EndpointDefinition:
        """HALT-MS MRI-activity-free survival: new brain lesions from 1 year, or death."""
        return _halt_ms("halt_ms_mri_free", "HALT-MS MRI-activity-free survival", (_HALT_MRI,))

    @classmethod
    @published
    def atkins_2016_afs(cls) -> EndpointDefinition:
        """Atkins 2016 MS-activity-free survival: relapse, a new T2 or Gd+ lesion, sustained
        EDSS progression, or death."""
        return cls(
            name="atkins_2016_afs",
            title="Atkins 2016 MS-activity-free survival",
            components=(
                RelapseComponent(),
                DisabilityComponent(
                    definition=DisabilityDefinition.muraro_2017().with_(
                        name="atkins_2016", citation=ATKINS_2016
                    )
                ),
                MRIComponent(min_gd=1, min_new_t2=1),
            ),
            citation=ATKINS_2016,
            assumptions=(
                "sustained progression read as an EDSS increase of >= 1.0 (0.5 from a "
                "baseline of 6.0) confirmed 6 months later (182 days, -30/+730.5); every "
                "scan after day 0 counts; death is an event."
            ),
        )

    @classmethod
    @published
    def muraro_2017_pfs(cls) -> EndpointDefinition:
        """EBMT registry progression-free survival (Muraro 2017): confirmed EDSS worsening
        from the pre-transplant baseline, or death. Published: +1.0 confirmed at 12
        months; assumed here: +0.5 from a baseline of 6.0 and a 6-month confirmation
        (see :meth:`DisabilityDefinition.muraro_2017`)."""
        return cls(
            name="muraro_2017_pfs",
            title="EBMT registry progression-free survival (Muraro 2017)",
            components=(DisabilityComponent(definition=DisabilityDefinition.muraro_2017()),),
            citation=MURARO_2017,
            assumptions=(
                "published (news report of the paper): +1.0 EDSS confirmed at 12 months "
                "against the pre-transplant baseline; assumed: +0.5 from a baseline of 6.0, "
                "confirmation 6 months later (182 days, -30/+730.5 days); relapse buffers "
                "of 30 days (msprog defaults)."
            ),
        )

    @classmethod
    @published
    def mist_2019_progression(cls) -> EndpointDefinition:
        """MIST disease progression (Burt 2019): EDSS increase >= 1.0 after at least 1 year,
        confirmed on two evaluations 6 months apart. Deaths censor (none occurred)."""
        return cls(
            name="mist_2019_progression",
            title="MIST disease progression (Burt 2019)",
            components=(
                DisabilityComponent(definition=DisabilityDefinition.mist_2019(), from_days=365),
            ),
            death="censor",
            measure="cumulative_incidence",
            citation=MIST_2019,
            assumptions=(
                "'after at least 1 year' read as: EDSS visits between day 0 and day 365 are "
                "not used, so progression from the pre-treatment baseline is first seen from "
                "1 year; confirmation 182 days +/- 30; deaths censor."
            ),
        )

    @classmethod
    @published
    def burt_2015_pfs(cls) -> EndpointDefinition:
        """Burt 2015 progression-free survival: EDSS increase >= 1.0, or death."""
        return cls(
            name="burt_2015_pfs",
            title="Burt 2015 progression-free survival",
            components=(DisabilityComponent(definition=_burt_disability()),),
            citation=BURT_2015,
            assumptions=_BURT_ASSUMPTIONS,
        )

    @classmethod
    @published
    def burt_2015_rfs(cls) -> EndpointDefinition:
        """Burt 2015 relapse-free survival: a relapse, or death."""
        return cls(
            name="burt_2015_rfs",
            title="Burt 2015 relapse-free survival",
            components=(RelapseComponent(),),
            citation=BURT_2015,
            assumptions="death is an event (none occurred in the study).",
        )

    @classmethod
    @published
    def burt_2015_improvement(cls) -> EndpointDefinition:
        """Burt 2015 EDSS improvement: cumulative proportion with a confirmed decrease of
        >= 1.0 from the pre-transplant baseline. Deaths censor."""
        return cls(
            name="burt_2015_improvement",
            title="Burt 2015 EDSS improvement >= 1.0",
            components=(DisabilityComponent(definition=_burt_disability(), event="cdi"),),
            death="censor",
            measure="cumulative_incidence",
            citation=BURT_2015,
            assumptions=_BURT_ASSUMPTIONS,
        )

    @classmethod
    @published
    def kappos_2020_cda(cls) -> EndpointDefinition:
        """Composite confirmed disability accumulation of Kappos 2020's PIRA analysis: the
        first confirmed worsening of the EDSS (+1.0 up to 5.5, +0.5 above), the T25FW or the
        9HPT (each >= 20% longer), 12-week confirmation. Deaths censor."""
        return cls(
            name="kappos_2020_cda",
            title="Kappos 2020 composite confirmed disability accumulation",
            components=(
                DisabilityComponent(definition=DisabilityDefinition.kappos_2020()),
                DisabilityComponent(definition=DisabilityDefinition.kappos_2020_t25fw()),
                DisabilityComponent(definition=DisabilityDefinition.kappos_2020_9hpt()),
            ),
            death="censor",
            censor="last_contact",
            citation=KAPPOS_2020,
            assumptions="the 9HPT of the worse hand and the Kappos 2020 reference and "
            "relapse rules for the T25FW and 9HPT components; " + _CDA_ASSUMPTIONS,
        )

    @classmethod
    @published
    def cadavid_2017_edss_plus(cls) -> EndpointDefinition:
        """EDSS-Plus (Cadavid 2017): the first confirmed worsening of the EDSS (+1.0 up to
        5.5, +0.5 above), the T25FW (>= 20%) or the 9HPT of either hand (>= 20%, each hand
        against its own reference), from the fixed baseline, confirmed 6 months later.
        Deaths censor."""
        rules = DisabilityDefinition(
            name="cadavid_2017",
            threshold=ThresholdRule.kappos_2020(),
            confirmation=ConfirmationRule(days=182, tolerance_days=(30, 730.5)),
            citation=CADAVID_2017,
        )
        timed = rules.with_(threshold=ThresholdRule.relative_20_percent())
        return cls(
            name="cadavid_2017_edss_plus",
            title="EDSS-Plus (EDSS, T25FW or 9HPT)",
            components=(
                DisabilityComponent(definition=rules),
                DisabilityComponent(definition=timed.with_(measure="t25fw")),
                DisabilityComponent(definition=timed.with_(measure="9hpt", hand="dominant")),
                DisabilityComponent(definition=timed.with_(measure="9hpt", hand="non_dominant")),
            ),
            death="censor",
            censor="last_contact",
            citation=CADAVID_2017,
            assumptions="confirmation 182 days later with -30 / +730.5 days tolerance, the "
            "msprog relapse buffers, the either-hand 9HPT rule (as recalled, not checked "
            "against the paper's text); " + _CDA_ASSUMPTIONS,
        )

    @classmethod
    @published
    def neda_3(cls) -> EndpointDefinition:
        """Time to loss of NEDA-3: a relapse, confirmed disability worsening (msprog rules),
        or MRI activity (any Gd+ or new / enlarging T2 lesion). Deaths censor."""
        return cls(
            name="neda_3",
            title="NEDA-3 (no evidence of disease activity)",
            components=(
                RelapseComponent(),
                DisabilityComponent(),
                MRIComponent(min_gd=1, min_new_t2=1),
            ),
            death="censor",
            citation=NEDA_3,
            assumptions="worsening under msprog defaults from the pre-treatment baseline; "
            "deaths censor.",
        )

    @classmethod
    @published
    def relapse_free(cls) -> EndpointDefinition:
        """Relapse-free survival: time from day 0 to the first relapse, or death."""
        return cls(
            name="relapse_free", title="Relapse-free survival", components=(RelapseComponent(),)
        )

    @classmethod
    @published
    def mri_activity_free(cls) -> EndpointDefinition:
        """MRI-activity-free survival: any Gd+ or new / enlarging T2 lesion, or death."""
        return cls(
            name="mri_activity_free",
            title="MRI-activity-free survival",
            components=(MRIComponent(),),
        )

    @classmethod
    @published
    def overall_survival(cls) -> EndpointDefinition:
        """Overall survival: death from any cause."""
        return cls(name="overall_survival", title="Overall survival")


_HALT_RELAPSE = RelapseComponent(min_duration_days=2)
_HALT_MRI = MRIComponent(
    min_gd=None, min_new_t2=2, regions=("brain", "brain_and_spine"), from_days=365
)
_HALT_ASSUMPTIONS = (
    "EDSS increase > 0.5 read as >= 1.0 at every baseline, confirmed >= 3 months later "
    "(91 days, -0/+730.5), fixed pre-transplant baseline; relapse lasting > 48 hours read as "
    "an end date >= 2 days after the onset (relapses without an end date count); '>= 2 new "
    "lesions' read as >= 2 new or enlarging T2 lesions on one brain scan from day 365 (Gd+ "
    "lesions are not added: they are new T2 lesions too); death is an event."
)
_BURT_ASSUMPTIONS = (
    "change of >= 1.0 at every baseline, confirmed 6 months later (182 days, -30/+730.5), "
    "fixed pre-transplant baseline; death is an event for progression-free survival."
)


def _halt_ms(name: str, title: str, components: tuple[Component, ...]) -> EndpointDefinition:
    """A HALT-MS definition: its citation, assumptions and 90% intervals."""
    return EndpointDefinition(
        name=name,
        title=title,
        components=components,
        conf_level=0.90,
        citation=HALT_MS,
        assumptions=_HALT_ASSUMPTIONS,
    )


def _halt_disability() -> DisabilityComponent:
    return DisabilityComponent(
        definition=DisabilityDefinition(
            name="halt_ms",
            threshold=FLAT_1,
            confirmation=ConfirmationRule(days=91, tolerance_days=(0, 730.5)),
            citation=HALT_MS,
        )
    )


def _burt_disability() -> DisabilityDefinition:
    return DisabilityDefinition(
        name="burt_2015",
        threshold=FLAT_1,
        improvement_threshold=FLAT_1,
        confirmation=ConfirmationRule(days=182, tolerance_days=(30, 730.5)),
        citation=BURT_2015,
    )


def as_definition(definition: EndpointDefinition | str) -> EndpointDefinition:
    """A definition, or the preset of that name."""
    return EndpointDefinition.preset(definition) if isinstance(definition, str) else definition


def load_endpoint_definitions(path: str | Path) -> dict[str, EndpointDefinition]:
    """Endpoint definitions from a TOML file: one ``[[endpoint]]`` table per definition.

    Each table has the fields of :class:`EndpointDefinition`; ``components`` is a list of
    tables with ``kind = "relapse" | "disability" | "mri"`` and that component's fields.
    A disability component's ``definition`` is a preset name (``"muraro_2017"``) or a table
    with ``preset`` and overrides (``threshold``, ``confirmation_days``, ``tolerance_days``,
    ``baseline``). ``based_on = "<preset>"`` starts from a published preset.

    Raises
    ------
    ValueError
        A file that is not valid TOML, or a definition with an unknown or invalid field,
        naming the file, the definition and the field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = '''
    ... [[endpoint]]
    ... name = "pfs_24w"
    ... death = "event"
    ... [[endpoint.components]]
    ... kind = "disability"
    ... definition = {preset = "muraro_2017", confirmation_days = 168}
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp, "endpoints.toml")
    ...     _ = path.write_text(text)
    ...     defs = load_endpoint_definitions(path)
    >>> defs["pfs_24w"].components[0].definition.confirmation.days
    (168.0,)
    """
    path = Path(path)
    document = read_toml(path, what="endpoint definitions file")
    tables = document.get("endpoint")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"{path} must hold one or more [[endpoint]] tables; got none.")
    out: dict[str, EndpointDefinition] = {}
    for number, table in enumerate(tables, start=1):
        label = f"{path}, endpoint {table.get('name', number)!r}"
        spec = dict(table)
        base = spec.pop("based_on", None)
        if base is not None:
            try:
                spec = {**dict(EndpointDefinition.preset(base)), **spec}
            except ValueError as error:
                raise ValueError(f"{label}: based_on: {error}") from error
        try:
            definition = EndpointDefinition.model_validate(spec)
        except ValidationError as error:
            raise ValueError(f"{label}: {describe_validation_errors(error, 'endpoint')}") from None
        if definition.name in out:
            raise ValueError(f"{label}: the name {definition.name!r} is used twice.")
        out[definition.name] = definition
    return out
