"""Published therapy protocols, built from the catalogue's steps, and the loader.

The bundled catalogue (``protocols/data/*.toml``) holds the citations, the AHSCT steps,
MSC regimens, DMTs, the study protocols and the eligibility criteria. A user's TOML file in
the same format adds to it (:func:`load_protocols`).
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from msreboot.protocols._criteria import CriteriaSet
from msreboot.protocols._regimens import (
    DMT,
    Conditioning,
    Graft,
    Mobilisation,
    MSCRegimen,
    Step,
)
from msreboot.protocols._sources import Citation, Sourced, describe_errors, read_documents

__all__ = [
    "ConditioningShare",
    "DMTShare",
    "Protocol",
    "ProtocolCatalogue",
    "criteria_set",
    "load_protocols",
]

_SHARE_TOLERANCE = 1e-3


class ConditioningShare(BaseModel):
    """One conditioning regimen of a protocol and the share of patients who received it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regimen: Conditioning
    share: Sourced[float]


class DMTShare(BaseModel):
    """One DMT of a comparator arm and its share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dmt: DMT
    share: Sourced[float]


def _check_shares(name: str, shares: tuple[ConditioningShare, ...] | tuple[DMTShare, ...]) -> None:
    if not shares:
        return
    values = [s.share.value for s in shares]
    if any(not 0 < v <= 1 for v in values):
        raise ValueError(f"{name} shares must be in (0, 1]; got {values}.")
    if abs(sum(values) - 1) > _SHARE_TOLERANCE:
        raise ValueError(
            f"{name} shares must sum to 1 (within {_SHARE_TOLERANCE:g}); got {sum(values):.4f}."
        )


class Protocol(BaseModel):
    """A published therapy protocol: its steps, with shares where patients got different
    regimens, its citations and the name of its eligibility criteria.

    Attributes
    ----------
    name, title
        Short name (``halt_ms``) and a readable title.
    therapy
        ``"ahsct"``, ``"msc"`` or ``"dmt"``.
    citations
        The sources.
    mobilisation, graft
        AHSCT steps (``None`` where they varied or are not recorded).
    conditioning
        AHSCT conditioning: one regimen with share 1, or a mixture whose shares sum to 1.
    msc
        The MSC course (MSC protocols).
    dmts
        The DMTs of a comparator arm, with shares.
    eligibility
        Name of the protocol's criteria set (:func:`criteria_set`), if any.
    note
        Population and what the protocol leaves open.

    Examples
    --------
    >>> halt = Protocol.preset("halt_ms")
    >>> halt.conditioning[0].regimen.intensity.value
    'intermediate_myeloablative'
    >>> halt.graft.cd34_selected.value
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    therapy: Literal["ahsct", "msc", "dmt"]
    citations: tuple[Citation, ...] = Field(min_length=1)
    mobilisation: Mobilisation | None = None
    graft: Graft | None = None
    conditioning: tuple[ConditioningShare, ...] = ()
    msc: MSCRegimen | None = None
    dmts: tuple[DMTShare, ...] = ()
    eligibility: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        ahsct = (self.mobilisation, self.graft, self.conditioning)
        if self.therapy == "ahsct" and not self.conditioning:
            raise ValueError("an ahsct protocol needs at least one conditioning regimen.")
        if self.therapy != "ahsct" and any(ahsct):
            raise ValueError(
                f"a {self.therapy} protocol has no mobilisation, graft or conditioning."
            )
        if (self.therapy == "msc") != (self.msc is not None):
            raise ValueError("msc is required for an msc protocol and only for one.")
        if (self.therapy == "dmt") != bool(self.dmts):
            raise ValueError("dmts are required for a dmt protocol and only for one.")
        _check_shares("conditioning", self.conditioning)
        _check_shares("dmts", self.dmts)
        return self

    # Presets ------------------------------------------------------------------------

    @classmethod
    def presets(cls) -> dict[str, Protocol]:
        """Every bundled protocol, by name."""
        return dict(load_protocols().protocols)

    @classmethod
    def preset(cls, name: str) -> Protocol:
        """A bundled protocol by name (``Protocol.preset("halt_ms")``).

        Raises
        ------
        ValueError
            ``name`` is not a bundled protocol.
        """
        return load_protocols()[name]

    def criteria(self) -> CriteriaSet | None:
        """The protocol's eligibility criteria, if it has a set."""
        return None if self.eligibility is None else criteria_set(self.eligibility)

    # Views ---------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Step, Sourced[float] | None]]:
        """Every step as ``(kind, step, share)``; share is ``None`` for single steps."""
        out: list[tuple[str, Step, Sourced[float] | None]] = []
        if self.mobilisation is not None:
            out.append(("mobilisation", self.mobilisation, None))
        if self.graft is not None:
            out.append(("graft", self.graft, None))
        out += [("conditioning", c.regimen, c.share) for c in self.conditioning]
        if self.msc is not None:
            out.append(("msc", self.msc, None))
        out += [("dmt", d.dmt, d.share) for d in self.dmts]
        return out

    def to_frame(self) -> pd.DataFrame:
        """Every sourced fact of the protocol, one row each (tidy).

        Columns: ``protocol``, ``step`` (mobilisation, graft, conditioning, msc, dmt),
        ``component`` (the step's key), ``field`` (with its unit in the name; ``share`` for
        a mixture component), ``value``, ``low``, ``high``, ``basis``, ``source``, ``note``.
        """
        rows = []
        for kind, step, share in self.steps():
            facts = dict(step.facts())
            if share is not None:
                facts = {"share": share, **facts}
            for field, fact in facts.items():
                rows.append(
                    {
                        "protocol": self.name,
                        "step": kind,
                        "component": step.key,
                        "field": field,
                        "value": fact.value,
                        "low": fact.low,
                        "high": fact.high,
                        "basis": fact.basis,
                        "source": fact.source,
                        "note": fact.note,
                    }
                )
        return pd.DataFrame(rows, columns=list(_FACT_COLUMNS))

    def treatment_fields(self) -> pd.DataFrame:
        """The protocol as rows of the cohort schema's treatments table.

        One row per conditioning regimen or DMT (with ``share``), or one row; columns are
        ``kind``, ``protocol`` and the treatments columns the protocol sets
        (``mobilisation_regimen``, ``cd34_selected``, ``conditioning_regimen``,
        ``conditioning_intensity``, ``msc_*``, ``drug``). A simulator samples a row by share.

        Examples
        --------
        >>> Protocol.preset("burt_2015").treatment_fields()[["conditioning_regimen", "share"]]
          conditioning_regimen   share
        0            cy200_atg  0.8543
        1       cy_alemtuzumab  0.1457
        """
        base: dict[str, Any] = {"kind": self.therapy, "protocol": self.name}
        if self.mobilisation is not None:
            base["mobilisation_regimen"] = self.mobilisation.regimen
        if self.graft is not None:
            base["cd34_selected"] = self.graft.cd34_selected.value
        if self.msc is not None:
            return pd.DataFrame(_msc_rows(base, self.msc))
        rows = [
            base
            | {
                "conditioning_regimen": c.regimen.regimen,
                "conditioning_intensity": c.regimen.intensity.value,
                "share": c.share.value,
            }
            for c in self.conditioning
        ]
        rows += [base | {"drug": d.dmt.key, "share": d.share.value} for d in self.dmts]
        return pd.DataFrame(rows or [base | {"share": 1.0}])

    def summary(self) -> str:
        """The protocol step by step, with shares, key values, criteria and citations."""
        lines = [f"{self.title} [{self.name}, {self.therapy}]"]
        for kind, step, share in self.steps():
            weight = ""
            if share is not None and share.value != 1:
                weight = f" ({100 * share.value:.1f}%, {share.basis})"
            lines.append(f"  {kind}: {step.label}{weight}")
            for field, fact in step.facts().items():
                lines.append(f"    {field}: {fact.describe()}")
        if self.eligibility:
            lines.append(f"  eligibility criteria: {self.eligibility}")
        if self.note:
            lines.append(f"  note: {self.note}")
        lines += [f"  source: {c.text()}" for c in self.citations]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p><b>{html.escape(self.title)}</b></p>" + self.to_frame().to_html(index=False)


_FACT_COLUMNS = (
    "protocol",
    "step",
    "component",
    "field",
    "value",
    "low",
    "high",
    "basis",
    "source",
    "note",
)


@dataclass(frozen=True)
class ProtocolCatalogue:
    """Everything the catalogue holds, by key: read-only mappings of citations, AHSCT
    steps, MSC regimens, DMTs, protocols and eligibility criteria sets.

    ``catalogue["halt_ms"]`` is the protocol of that name.
    """

    citations: Mapping[str, Citation]
    mobilisation: Mapping[str, Mobilisation]
    grafts: Mapping[str, Graft]
    conditioning: Mapping[str, Conditioning]
    msc: Mapping[str, MSCRegimen]
    dmts: Mapping[str, DMT]
    protocols: Mapping[str, Protocol]
    criteria: Mapping[str, CriteriaSet]

    def __getitem__(self, name: str) -> Protocol:
        if name not in self.protocols:
            raise ValueError(f"protocol must be one of {', '.join(self.protocols)}; got {name!r}.")
        return self.protocols[name]

    def to_frame(self) -> pd.DataFrame:
        """One row per protocol: name, therapy, title, mobilisation, graft, conditioning
        regimens and intensities (with shares), MSC route and dose, DMTs, eligibility
        criteria and citations."""
        rows = []
        for p in self.protocols.values():
            mix = [(c.regimen, c.share.value) for c in p.conditioning]
            rows.append(
                {
                    "protocol": p.name,
                    "therapy": p.therapy,
                    "title": p.title,
                    "mobilisation": "" if p.mobilisation is None else p.mobilisation.regimen,
                    "cd34_selected": None if p.graft is None else p.graft.cd34_selected.value,
                    "conditioning": _mixture((r.regimen, s) for r, s in mix),
                    "intensity": _mixture((r.intensity.value, s) for r, s in mix),
                    "msc_route": "" if p.msc is None else p.msc.msc_route.value,
                    "msc_dose_1e6_per_kg": None
                    if p.msc is None
                    else p.msc.msc_dose_1e6_per_kg.value,
                    "dmts": _mixture((d.dmt.key, d.share.value) for d in p.dmts),
                    "eligibility": p.eligibility or "",
                    "citations": "; ".join(c.text() for c in p.citations),
                }
            )
        return pd.DataFrame(rows)

    def sources_frame(self) -> pd.DataFrame:
        """Every sourced fact of every step (whether a protocol uses it or not), one row
        each: ``section``, ``component``, ``field``, ``value``, ``low``, ``high``,
        ``basis``, ``source``, ``citation`` (the reference) and ``note``."""
        sections: dict[str, Mapping[str, Step]] = {
            "mobilisation": self.mobilisation,
            "graft": self.grafts,
            "conditioning": self.conditioning,
            "msc": self.msc,
            "dmt": self.dmts,
        }
        rows = []
        for section, steps in sections.items():
            for key, step in steps.items():
                for field, fact in step.facts().items():
                    cited = self.citations.get(fact.source)
                    rows.append(
                        {
                            "section": section,
                            "component": key,
                            "field": field,
                            "value": fact.value,
                            "low": fact.low,
                            "high": fact.high,
                            "basis": fact.basis,
                            "source": fact.source,
                            "citation": "" if cited is None else cited.text(),
                            "note": fact.note,
                        }
                    )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """Counts, the protocols and criteria sets, and the share of assumed values."""
        facts = self.sources_frame()
        counts = facts["basis"].value_counts()
        lines = [
            f"Protocol catalogue: {len(self.protocols)} protocols, {len(self.criteria)} "
            f"eligibility criteria sets, {len(self.citations)} sources.",
            "Values: "
            + ", ".join(f"{counts.get(b, 0)} {b}" for b in ("reported", "unchecked", "assumed"))
            + " (assumed values are priors or conventions, not published numbers).",
            "Protocols:",
        ]
        lines += [f"  {p.name}: {p.title}" for p in self.protocols.values()]
        lines.append("Eligibility criteria:")
        lines += [f"  {c.name}: {c.title}" for c in self.criteria.values()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def _mixture(parts: Any) -> str:
    items = list(parts)
    if len(items) == 1:
        return str(items[0][0])
    return ", ".join(f"{name} ({share:.0%})" for name, share in items)


def load_protocols(path: str | Path | None = None) -> ProtocolCatalogue:
    """The protocol catalogue: the bundled one, plus the entries of a user's TOML file.

    Parameters
    ----------
    path
        Optional TOML file with tables ``[citation.<key>]``, ``[mobilisation.<key>]``,
        ``[graft.<key>]``, ``[conditioning.<key>]``, ``[msc.<key>]``, ``[dmt.<drug>]``,
        ``[protocol.<name>]`` and ``[criteria.<name>]`` in the format of the bundled files
        (``msreboot/protocols/data/``). Its entries may refer to bundled ones by key;
        redefining a bundled key is an error.

    Returns
    -------
    ProtocolCatalogue
        Read-only mappings, by key, of every entry with references resolved.

    Raises
    ------
    ValueError
        Invalid TOML, an unknown table, a missing or invalid field, a value without a
        source, an unknown reference, or shares that do not sum to 1, naming the file
        section, entry and field.
    FileNotFoundError
        ``path`` does not exist.

    Examples
    --------
    >>> catalogue = load_protocols()
    >>> catalogue["mist_ahsct"].conditioning[0].regimen.cyclophosphamide_mg_per_kg.value
    200.0
    >>> catalogue.dmts["natalizumab"].relapse_rate_ratio_vs_placebo.value
    0.32
    """
    if path is None:
        return _bundled()
    return _build(read_documents(path), label=str(path))


def criteria_set(name: str) -> CriteriaSet:
    """A bundled eligibility criteria set by name (``criteria_set("halt_ms")``).

    Raises
    ------
    ValueError
        ``name`` is not a bundled criteria set.
    """
    sets = _bundled().criteria
    if name not in sets:
        raise ValueError(f"criteria must be one of {', '.join(sets)}; got {name!r}.")
    return sets[name]


@functools.cache
def _bundled() -> ProtocolCatalogue:
    return _build(read_documents(None), label="bundled catalogue")


def _build(docs: Mapping[str, Mapping[str, Any]], label: str) -> ProtocolCatalogue:
    citations = _section(docs, "citation", Citation, label)
    steps: dict[str, dict[str, Any]] = {
        "mobilisation": _section(docs, "mobilisation", Mobilisation, label),
        "graft": _section(docs, "graft", Graft, label),
        "conditioning": _section(docs, "conditioning", Conditioning, label),
        "msc": _section(docs, "msc", MSCRegimen, label),
        "dmt": _section(docs, "dmt", DMT, label),
    }
    for section, entries in steps.items():
        for key, step in entries.items():
            for field, fact in step.facts().items():
                if fact.source and fact.source not in citations:
                    raise ValueError(
                        f"{label}: [{section}.{key}] {field}: source must be a citation key; "
                        f"got {fact.source!r}."
                    )
    criteria = {}
    for name, table in docs["criteria"].items():
        spec = dict(table)
        spec["citations"] = _cite(spec.get("citations", ()), citations, f"[criteria.{name}]", label)
        spec["criteria"] = spec.pop("criterion", ())
        criteria[name] = _validate(CriteriaSet, {"name": name, **spec}, f"[criteria.{name}]", label)
    protocols = {}
    for name, table in docs["protocol"].items():
        where = f"[protocol.{name}]"
        spec = dict(table)
        spec["citations"] = _cite(spec.get("citations", ()), citations, where, label)
        for field, section in (
            ("mobilisation", "mobilisation"),
            ("graft", "graft"),
            ("msc", "msc"),
        ):
            if field in spec:
                spec[field] = _ref(steps[section], spec[field], f"{where} {field}", label)
        spec["conditioning"] = [
            {
                **item,
                "regimen": _ref(
                    steps["conditioning"], item.get("regimen"), f"{where} conditioning", label
                ),
            }
            for item in spec.get("conditioning", ())
        ]
        spec["dmts"] = [
            {
                "share": item.get("share"),
                "dmt": _ref(steps["dmt"], item.get("drug"), f"{where} dmts", label),
            }
            for item in spec.get("dmts", ())
        ]
        eligibility = spec.get("eligibility")
        if eligibility is not None and eligibility not in criteria:
            raise ValueError(
                f"{label}: {where} eligibility must be a criteria set "
                f"({', '.join(criteria)}); got {eligibility!r}."
            )
        protocols[name] = _validate(Protocol, {"name": name, **spec}, where, label)
    frozen = {k: MappingProxyType(v) for k, v in steps.items()}
    return ProtocolCatalogue(
        citations=MappingProxyType(citations),
        mobilisation=frozen["mobilisation"],
        grafts=frozen["graft"],
        conditioning=frozen["conditioning"],
        msc=frozen["msc"],
        dmts=frozen["dmt"],
        protocols=MappingProxyType(protocols),
        criteria=MappingProxyType(criteria),
    )


def _validate(model: Any, spec: Mapping[str, Any], where: str, label: str) -> Any:
    try:
        return model.model_validate(spec)
    except ValidationError as error:
        raise ValueError(f"{label}: {where}: {describe_errors(error)}") from None


def _section(
    docs: Mapping[str, Mapping[str, Any]], section: str, model: Any, label: str
) -> dict[str, Any]:
    return {
        key: _validate(model, {"key": key, **table}, f"[{section}.{key}]", label)
        for key, table in docs[section].items()
    }


def _cite(keys: Any, citations: Mapping[str, Citation], where: str, label: str) -> list[Citation]:
    out = []
    for key in keys:
        if key not in citations:
            raise ValueError(f"{label}: {where} citations: unknown citation key {key!r}.")
        out.append(citations[key])
    return out


def _ref(entries: Mapping[str, Any], key: Any, where: str, label: str) -> Any:
    if key not in entries:
        raise ValueError(f"{label}: {where} must be one of {', '.join(entries)}; got {key!r}.")
    return entries[key]


def _msc_rows(base: dict[str, Any], m: MSCRegimen) -> list[dict[str, Any]]:
    """An MSC course as treatment rows: one, or two when only a share is re-treated (the
    others keep the first infusion only). ``msc_infusion_interval_days`` (days between
    infusions, whole days) is given for a course of several infusions."""
    row = base | {
        "msc_source": m.msc_source.value,
        "msc_route": m.msc_route.value,
        "msc_dose_1e6_per_kg": m.msc_dose_1e6_per_kg.value,
        "msc_infusions": m.msc_infusions.value,
        "msc_pretreated": m.msc_pretreated.value,
    }
    if m.infusion_interval_days is not None and m.msc_infusions.value > 1:
        row["msc_infusion_interval_days"] = round(m.infusion_interval_days.value)
    if m.retreated_share is None:
        return [row | {"share": 1.0}]
    share = m.retreated_share.value
    once = {k: v for k, v in row.items() if k != "msc_infusion_interval_days"}
    return [once | {"msc_infusions": 1, "share": 1.0 - share}, row | {"share": share}]
