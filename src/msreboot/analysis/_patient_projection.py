"""One person's benefit-and-risk projection: eligibility, TRM, and every option compared.

Information for a discussion with a neurologist, not a medical decision or a
recommendation.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from msreboot.analysis._patient_options import (
    HORIZONS_YEARS,
    OUTCOMES,
    REQUIRED_FOR_SIMULATION,
    OptionRuns,
    TimeZero,
    TreatmentOption,
    simulate_options,
    treatment_options,
)
from msreboot.analysis._patient_profile import PatientProfile, projection_basics
from msreboot.analysis._patient_trm import TRMModerator, TRMPrediction, predict_trm
from msreboot.evidence import load_outcomes, load_studies
from msreboot.protocols import EligibilityResult, check_eligibility, load_protocols

__all__ = ["PROJECTION_DISCLAIMER", "PatientProjection", "project_patient"]

PROJECTION_DISCLAIMER = (
    "This is information for a discussion with a neurologist, not a medical decision or a "
    "recommendation."
)
CREDIBLE = (0.05, 0.95)
RISKS: dict[str, str] = {
    "trm": "transplant-related death",
    "febrile_neutropenia": "febrile neutropenia",
    "viral_reactivation": "viral reactivation",
    "secondary_autoimmunity": "secondary autoimmunity",
    "infertility": "infertility",
}
_RISK_OUTCOME_CODES = {"febrile_neutropenia", "viral_reactivation", "secondary_autoimmunity"}


@dataclass(frozen=True)
class PatientProjection:
    """A person's eligibility, predicted TRM and options compared.

    Attributes
    ----------
    profile
        The person.
    eligibility
        Every bundled protocol's and guideline's criteria checked, with reasons.
    trm
        TRM predicted from the evidence base (``None`` with ``trm_unknown`` saying why).
    outcomes
        One row per option, outcome and horizon: ``option``, ``label``, ``kind``,
        ``outcome``, ``years``, ``estimate`` (mean over posterior draws), ``cri_low`` and
        ``cri_high`` (5th and 95th percentiles over draws: parameter uncertainty, each
        draw also carrying the Monte Carlo noise of its own patients), ``parameter_sd``
        (the spread between draws beyond that noise), ``mc_se`` (Monte Carlo standard
        error of ``estimate``), ``patients`` and ``draws``. Empty when the simulation
        could not run (``simulation_unknown`` says why).
    curves
        Probability of staying free of confirmed worsening: ``option``, ``years``,
        ``estimate``, ``cri_low``, ``cri_high``.
    risks
        ``option``, ``risk``, ``source`` (``evidence`` or ``simulator``), ``estimate``,
        ``low``, ``high``, ``interval`` (what the interval is), ``note``.
    sources
        ``kind``, ``key``, ``citation``: what the numbers rest on.
    flags, notes
        Where the person lies outside the data behind a number; caveats.
    settings
        ``draws``, ``patients_per_draw``, ``seed``.
    """

    profile: PatientProfile
    eligibility: EligibilityResult = field(repr=False)
    trm: TRMPrediction | None = field(repr=False)
    trm_unknown: str | None
    outcomes: pd.DataFrame = field(repr=False)
    curves: pd.DataFrame = field(repr=False)
    risks: pd.DataFrame = field(repr=False)
    sources: pd.DataFrame = field(repr=False)
    options: tuple[TreatmentOption, ...]
    simulation_unknown: str | None
    flags: tuple[str, ...]
    notes: tuple[str, ...]
    settings: Mapping[str, int] = field(default_factory=dict)
    disclaimer: str = PROJECTION_DISCLAIMER

    def to_frame(self) -> pd.DataFrame:
        """The options compared (:attr:`outcomes`), one row per option, outcome, horizon."""
        return self.outcomes.copy()

    def value(self, option: str, outcome: str, years: float) -> float:
        """One estimate (NaN when unknown)."""
        o = self.outcomes
        if o.empty:
            return float("nan")
        hit = o[(o["option"] == option) & (o["outcome"] == outcome) & (o["years"] == years)]
        return float(hit["estimate"].iloc[0]) if len(hit) else float("nan")

    def plain_language(self) -> tuple[str, ...]:
        """The numbers in sentences, written from the results (one sentence each)."""
        lines: list[str] = []
        if self.trm is not None:
            t = self.trm
            lines.append(
                f"In the published studies, about {_per100(t.probability)} in 100 people with "
                f"an EDSS like yours died of transplant-related causes (95% CI "
                f"{_per100(t.ci_low)} to {_per100(t.ci_high)} in 100)."
            )
        elif self.trm_unknown:
            lines.append(f"The published risk of transplant-related death: {self.trm_unknown}")
        if self.simulation_unknown:
            lines.append(f"The options could not be compared: {self.simulation_unknown}")
            return tuple(lines)
        for years in (HORIZONS_YEARS[-1], HORIZONS_YEARS[1]):
            rows = self.outcomes[
                (self.outcomes["outcome"] == "no_confirmed_worsening")
                & (self.outcomes["years"] == years)
            ].sort_values("estimate", ascending=False)
            if rows.empty:
                continue
            parts = [
                f"{r['label']}: about {_per100(r['estimate'])} "
                f"({_per100(r['cri_low'])} to {_per100(r['cri_high'])})"
                for r in _records(rows)
            ]
            lines.append(
                f"Out of 100 virtual people like you, free of confirmed worsening after "
                f"{years:g} years: " + "; ".join(parts) + "."
            )
        relapse = self.outcomes[
            (self.outcomes["outcome"] == "no_relapse") & (self.outcomes["years"] == 5.0)
        ].sort_values("estimate", ascending=False)
        if len(relapse):
            best, worst = relapse.iloc[0], relapse.iloc[-1]
            lines.append(
                f"Alive without a relapse after 5 years: from about {_per100(best.estimate)} "
                f"in 100 ({best.label}) to about {_per100(worst.estimate)} in 100 "
                f"({worst.label})."
            )
        lines.append(
            "The ranges show how uncertain the simulator's calibrated parameters are; they "
            "are not the range of what can happen to one person."
        )
        return tuple(lines)

    def summary(self) -> str:
        """Profile, eligibility verdicts, TRM, the options at each horizon, risks, flags,
        and the statement that this is not a medical decision."""
        lines = [f"Patient projection: {self.profile.summary()}", "", "Eligibility:"]
        for row in _records(self.eligibility.verdicts()):
            extra = f" (not met: {row['not_met']})" if row["not_met"] else ""
            extra += f" (unknown: {row['unknown']})" if row["unknown"] else ""
            lines.append(f"  {row['criteria']}: {row['verdict']}{extra}")
        lines.append("")
        lines.append(self.trm.summary() if self.trm is not None else f"TRM: {self.trm_unknown}")
        lines.append("")
        if self.simulation_unknown:
            lines.append(f"Options: unknown ({self.simulation_unknown})")
        else:
            pct = f"{100 * (CREDIBLE[1] - CREDIBLE[0]):g}%"
            lines.append(
                f"Options ({self.settings.get('draws')} posterior draws x "
                f"{self.settings.get('patients_per_draw')} virtual patients; [{pct} posterior "
                "interval], +/- Monte Carlo SE):"
            )
            for outcome, words in OUTCOMES.items():
                lines.append(f"  {words}")
                table = self.outcomes[self.outcomes["outcome"] == outcome]
                for option in self.options:
                    rows = table[table["option"] == option.name].sort_values("years")
                    cells = [
                        _cell(
                            outcome,
                            r["estimate"],
                            r["cri_low"],
                            r["cri_high"],
                            r["mc_se"],
                            r["years"],
                        )
                        for r in _records(rows)
                    ]
                    lines.append(f"    {option.label:<52}" + "  ".join(cells))
        lines.append("")
        lines.append("Risks:")
        for r in _records(self.risks):
            shown = (
                "not available"
                if np.isnan(r["estimate"])
                else f"{100 * r['estimate']:.1f}% [{100 * r['low']:.1f}-{100 * r['high']:.1f}]"
            )
            risk = RISKS.get(str(r["risk"]), str(r["risk"]))
            lines.append(f"  {r['option']:<22}{risk:<26}{r['source']:<10}{shown}")
        lines += [f"! {flag}" for flag in self.flags]
        lines += [f"note: {note}" for note in self.notes]
        lines += ["", self.disclaimer]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in rec.items()} for rec in frame.to_dict("records")]


def _per100(p: float) -> str:
    value = 100 * float(p)
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"


def _cell(outcome: str, est: float, low: float, high: float, mc: float, years: float) -> str:
    if outcome == "expected_edss":
        return f"{years:g}y {est:.1f} [{low:.1f}-{high:.1f}] +/-{mc:.2f}"
    return f"{years:g}y {100 * est:.0f}% [{100 * low:.0f}-{100 * high:.0f}] +/-{100 * mc:.1f}"


def _resolve_options(
    profile: PatientProfile, options: Sequence[str | TreatmentOption] | None
) -> tuple[TreatmentOption, ...]:
    available = {o.name: o for o in treatment_options(profile)}
    if options is None:
        return tuple(available.values())
    chosen = []
    for item in options:
        if isinstance(item, TreatmentOption):
            chosen.append(item)
        elif item in available:
            chosen.append(available[item])
        else:
            raise ValueError(
                f"options must be names of {', '.join(available)} or TreatmentOption objects; "
                f"got {item!r}."
            )
    if not chosen:
        raise ValueError("options must name at least one option; got none. Leave it as None.")
    return tuple(chosen)


def _calibration_flags(profile: PatientProfile) -> list[str]:
    """Where the person lies outside the AHSCT study populations the simulator was
    calibrated to (their median or mean age and EDSS, from the evidence base)."""
    from msreboot.calibration import load_targets

    studies = load_studies()
    ids = {t.outcome_id.split(":")[0] for t in load_targets() if t.outcome_id}
    arms = studies[studies["study_id"].isin(ids) & (studies["therapy"] == "ahsct")]
    arms = arms[arms["arm"] != "pooled"]
    flags = []
    basics = projection_basics(profile)
    for column, value, word in (("edss", basics.edss, "EDSS"), ("age", basics.age_years, "age")):
        recorded = arms[column].dropna()
        if recorded.empty:
            continue
        low, high = float(recorded.min()), float(recorded.max())
        if not low <= value <= high:
            side = "above" if value > high else "below"
            bound = high if value > high else low
            flags.append(
                f"No AHSCT study the simulator is calibrated to had a median or mean {word} "
                f"{side} {bound:g} ({', '.join(sorted(arms['study_id']))}); this person's "
                f"{value:g} makes the simulated options an extrapolation."
            )
    if profile.phenotype == "PPMS":
        flags.append(
            "The AHSCT studies the simulator is calibrated to enrolled relapsing and secondary "
            "progressive MS; the simulated options for PPMS are an extrapolation."
        )
    return flags


def _simulation_unknown(profile: PatientProfile) -> str | None:
    missing = [f for f in REQUIRED_FOR_SIMULATION if getattr(profile, f) is None]
    if missing:
        return (
            f"unknown because {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing from the profile (the simulator "
            "would otherwise put a population value in their place)."
        )
    if profile.phenotype == "CIS":
        return "unknown because the simulator does not model CIS."
    if projection_basics(profile).edss > 9.5:
        return "unknown because the simulator does not model an EDSS above 9.5."
    return None


def _summarise_draws(runs: Sequence[OptionRuns]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    curve_rows = []
    for run in runs:
        o = run.option
        for key, group in run.outcomes.groupby(["outcome", "years"], sort=False):
            outcome, years = str(key[0]), float(str(key[1]))
            v = group["value"].to_numpy(dtype=float)
            n = group["n"].to_numpy(dtype=float)
            if outcome == "expected_edss":
                within = group["sd"].to_numpy(dtype=float) ** 2 / n
            else:
                within = v * (1 - v) / n
            within = np.nan_to_num(within)
            between = float(np.var(v, ddof=1)) if v.size > 1 else 0.0
            rows.append(
                {
                    "option": o.name,
                    "label": o.label,
                    "kind": o.kind,
                    "outcome": outcome,
                    "years": float(years),
                    "estimate": float(v.mean()),
                    "cri_low": float(np.quantile(v, CREDIBLE[0])),
                    "cri_high": float(np.quantile(v, CREDIBLE[1])),
                    "parameter_sd": float(np.sqrt(max(0.0, between - within.mean()))),
                    "mc_se": float(np.sqrt(within.mean() / v.size)),
                    "patients": int(n.sum()),
                    "draws": int(v.size),
                }
            )
        for at, group in run.curves.groupby("years", sort=True):
            years = float(str(at))
            s = group["survival"].to_numpy(dtype=float)
            curve_rows.append(
                {
                    "option": o.name,
                    "label": o.label,
                    "years": float(years),
                    "estimate": float(s.mean()),
                    "cri_low": float(np.quantile(s, CREDIBLE[0])),
                    "cri_high": float(np.quantile(s, CREDIBLE[1])),
                }
            )
    order = list(OUTCOMES)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["_o"] = frame["outcome"].map(order.index)
        frame = frame.sort_values(["_o", "years"], kind="stable").drop(columns="_o")
    return frame.reset_index(drop=True), pd.DataFrame(curve_rows)


def _risk_rows(
    options: Sequence[TreatmentOption], runs: Sequence[OptionRuns], trm: TRMPrediction | None
) -> pd.DataFrame:
    evidence_codes = set(load_outcomes()["outcome"])
    rows: list[dict[str, object]] = []
    nan = float("nan")
    for option in options:
        if option.kind != "ahsct":
            rows.append(
                {
                    "option": option.name,
                    "risk": "dmt_risks",
                    "source": "evidence",
                    "estimate": nan,
                    "low": nan,
                    "high": nan,
                    "interval": "",
                    "note": "the evidence base holds no DMT safety outcomes: not available",
                }
            )
            continue
        if trm is not None:
            rows.append(
                {
                    "option": option.name,
                    "risk": "trm",
                    "source": "evidence",
                    "estimate": trm.probability,
                    "low": trm.ci_low,
                    "high": trm.ci_high,
                    "interval": "95% CI of the meta-regression (all regimens pooled)",
                    "note": "",
                }
            )
        for risk in ("febrile_neutropenia", "viral_reactivation", "secondary_autoimmunity"):
            if risk not in evidence_codes:
                rows.append(
                    {
                        "option": option.name,
                        "risk": risk,
                        "source": "evidence",
                        "estimate": nan,
                        "low": nan,
                        "high": nan,
                        "interval": "",
                        "note": "not available in the evidence base",
                    }
                )
        rows.append(
            {
                "option": option.name,
                "risk": "infertility",
                "source": "evidence",
                "estimate": nan,
                "low": nan,
                "high": nan,
                "interval": "",
                "note": "not available in the evidence base or the simulator",
            }
        )
    for run in runs:
        if run.option.kind != "ahsct":
            continue
        for key, group in run.risks.groupby("risk", sort=False):
            risk = str(key)
            v = group["value"].to_numpy(dtype=float)
            rows.append(
                {
                    "option": run.option.name,
                    "risk": risk,
                    "source": "simulator",
                    "estimate": float(v.mean()),
                    "low": float(np.quantile(v, CREDIBLE[0])),
                    "high": float(np.quantile(v, CREDIBLE[1])),
                    "interval": "90% posterior interval over draws",
                    "note": "a modelled figure, within 10.5 years of enrolment",
                }
            )
    return pd.DataFrame(
        rows, columns=["option", "risk", "source", "estimate", "low", "high", "interval", "note"]
    )


def _sources(options: Sequence[TreatmentOption], trm: TRMPrediction | None) -> pd.DataFrame:
    rows = []
    if trm is not None:
        outcomes = load_outcomes().set_index("outcome_id")
        for outcome_id in trm.studies["outcome_id"].astype(str):
            rows.append(
                {
                    "kind": "TRM evidence",
                    "key": outcome_id,
                    "citation": str(outcomes.at[outcome_id, "source"]),
                }
            )
    catalogue = load_protocols()
    for option in options:
        if option.protocol:
            protocol = catalogue[option.protocol]
            rows.append(
                {
                    "kind": "protocol",
                    "key": option.protocol,
                    "citation": "; ".join(c.text() for c in protocol.citations),
                }
            )
    rows.append(
        {
            "kind": "simulator",
            "key": "calibrated",
            "citation": "msreboot's simulator with the parameter set calibrated to the "
            "published studies (docs/calibration/README.md); parameter draws from its "
            "ABC-SMC posterior (docs/calibration/posterior.csv)",
        }
    )
    return pd.DataFrame(rows)


def project_patient(
    profile: PatientProfile,
    options: Sequence[str | TreatmentOption] | None = None,
    *,
    draws: int = 10,
    patients_per_draw: int = 200,
    seed: int = 2026,
    trm_moderators: Sequence[TRMModerator] = ("edss",),
    progress: Callable[[int, int], None] | None = None,
    time_zero: TimeZero = "enrolment",
) -> PatientProjection:
    """Eligibility, predicted TRM and every option compared for one person.

    Parameters
    ----------
    profile
        The person (:class:`~msreboot.protocols.PatientProfile`): age (18 to 80), EDSS and
        phenotype are required; a missing other field makes the answers needing it unknown.
    options
        Option names (``"ahsct_cy_atg"``, ``"ahsct_beam_atg"``, ``"ahsct_bu_cy_atg"``,
        ``"stay"``, ``"switch_anti_cd20"``, ``"switch_natalizumab"``,
        ``"switch_alemtuzumab"``, ``"switch_cladribine"``, ``"switch_s1p"``) or
        :class:`TreatmentOption` objects; ``None`` for all that apply.
    draws
        Parameter sets drawn by weight from the calibration posterior.
    patients_per_draw
        Virtual patients like this person per draw (the same patients for every option).
    seed
        Seed of the draws and the virtual patients.
    trm_moderators
        Moderators of the TRM meta-regression (see :func:`predict_trm`).
    progress
        Called with ``(simulations done, simulations planned)`` after each option's
        posterior draw (``options x draws`` in all; not called when the options cannot be
        simulated); an exception it raises stops the projection and propagates.
    time_zero
        ``"enrolment"`` (default): every option's outcomes are counted from the decision,
        day 0, so the weeks from mobilisation to reinfusion count against AHSCT as they
        would for the person. ``"reinfusion"``: AHSCT outcomes are counted from reinfusion,
        as the published AHSCT studies count them (to set a projection beside a study);
        DMT options stay at enrolment, so the options are then not on one clock.

    Returns
    -------
    PatientProjection

    Raises
    ------
    ValueError
        Naming the field: age, EDSS or phenotype missing, an age outside 18 to 80, a bad
        option name or setting.

    Notes
    -----
    Virtual patients have the person's age, sex, phenotype, EDSS, disease duration, number
    of relapses in the last two years (drawn under the current DMT's rate ratio),
    at least the Gd+ lesions of the last MRI on the baseline scan, the number of DMTs
    taken and the HCT-CI; new T2 lesions and the relapses of the last 12 months are used
    for eligibility only. Each option starts at enrolment (day 0); outcomes are read at
    2, 5 and 10 years from the endpoint code real cohorts go through.

    Examples
    --------
    >>> profile = PatientProfile(age_years=38, edss=4.5, phenotype="RRMS")
    >>> projection = project_patient(profile)
    >>> projection.simulation_unknown.startswith("unknown because sex")
    True
    >>> projection.eligibility.verdicts().shape[0] > 0
    True
    """
    if draws < 2:
        raise ValueError(f"draws must be >= 2; got {draws}. Use 10 or more for intervals.")
    if time_zero not in ("enrolment", "reinfusion"):
        raise ValueError(
            f"time_zero must be 'enrolment' or 'reinfusion'; got {time_zero!r}. "
            "Use 'enrolment' to compare options on one clock."
        )
    if patients_per_draw < 10:
        raise ValueError(
            f"patients_per_draw must be >= 10; got {patients_per_draw}. Use 200 or more."
        )
    projection_basics(profile)
    chosen = _resolve_options(profile, options)
    eligibility = check_eligibility(profile)
    notes: list[str] = []
    try:
        trm: TRMPrediction | None = predict_trm(profile, trm_moderators)
        trm_unknown = None
    except ValueError as error:
        trm, trm_unknown = None, f"unknown: {error}"
    flags = list(trm.flags) if trm is not None else []
    if trm is not None:
        notes += list(trm.notes)
    unknown = _simulation_unknown(profile)
    runs: list[OptionRuns] = []
    if unknown is None:
        try:
            runs = simulate_options(
                profile,
                chosen,
                draws=draws,
                patients_per_draw=patients_per_draw,
                seed=seed,
                progress=progress,
                time_zero=time_zero,
            )
        except ValueError as error:
            if "too strict" not in str(error):
                raise
            unknown = (
                "unknown because the simulator could not draw virtual patients with this "
                f"combination of characteristics ({error})."
            )
        flags += _calibration_flags(profile)
    if profile.current_dmt is None:
        notes.append("The current DMT is unknown, so 'stay on the current DMT' is not shown.")
    if time_zero == "reinfusion":
        notes.append(
            "AHSCT outcomes are counted from reinfusion (as the published studies count), DMT "
            "options from enrolment: the options are not compared on one clock."
        )
    outcomes, curves = _summarise_draws(runs)
    return PatientProjection(
        profile=profile,
        eligibility=eligibility,
        trm=trm,
        trm_unknown=trm_unknown,
        outcomes=outcomes,
        curves=curves,
        risks=_risk_rows(chosen, runs, trm),
        sources=_sources(chosen, trm),
        options=chosen,
        simulation_unknown=unknown,
        flags=tuple(flags),
        notes=tuple(notes),
        settings=MappingProxyType(
            {"draws": draws, "patients_per_draw": patients_per_draw, "seed": seed}
        ),
    )
