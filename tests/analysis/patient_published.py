"""Project each bundled study's median patient and set the projection beside the study's
published figures (the honest check of issue 22; the test is ``test_patient_published.py``).

Run ``python -m tests.analysis.patient_published`` from the repository root to print the
table of ``docs/how-to/patient-projection.md``.

The studies are the bundled virtual-trial specs (``src/msreboot/trials/data/*.toml``): their
``[population]`` gives the median (or mean) age, EDSS, disease duration and phenotype mix,
their ``[[published]]`` entries the outcome ids of the evidence base. What a projection
needs and a spec does not say is assumed here, each choice stated in :func:`median_profile`.
Every published entry is either compared (:data:`COMPARED`) or listed with the reason it
is not (:data:`NOT_COMPARED`); the test checks nothing is skipped silently.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from msreboot.analysis import (
    PatientProfile,
    PatientProjection,
    TreatmentOption,
    project_patient,
    treatment_options,
)
from msreboot.evidence import load_outcomes

__all__ = [
    "COMPARED",
    "NOT_COMPARED",
    "Comparison",
    "coverage_table",
    "markdown_table",
    "median_profile",
    "published_entries",
]


@dataclass(frozen=True)
class Comparison:
    """One published figure and the projection output set beside it."""

    study: str  # the trial spec's name
    outcome_id: str
    option: str
    outcome: str  # a projection outcome, or "trm" for the simulator's TRM risk
    years: float | None
    note: str


COMPARED: tuple[Comparison, ...] = (
    Comparison(
        "atkins_2016",
        "atkins2016_canadian:ahsct:trm:015",
        "ahsct_bu_cy_atg",
        "trm",
        None,
        "1/24 over a median 6.7 years; simulator TRM within 10.5 years",
    ),
    Comparison(
        "halt_ms",
        "nash2017_haltms:ahsct:efs:002",
        "ahsct_beam_atg",
        "neda_3",
        5.0,
        "EFS (progression, relapse, new MRI lesions or death) against NEDA-3 (death censored)",
    ),
    Comparison(
        "halt_ms",
        "nash2017_haltms:ahsct:pfs:003",
        "ahsct_beam_atg",
        "no_confirmed_worsening",
        5.0,
        "PFS against free of 12-week confirmed worsening (death censored)",
    ),
    Comparison(
        "halt_ms",
        "nash2017_haltms:ahsct:rfs:004",
        "ahsct_beam_atg",
        "no_relapse",
        5.0,
        "relapse-free survival against alive and relapse-free",
    ),
    Comparison(
        "mist_2019",
        "burt2019_mist:dmt:progression:059",
        "switch_natalizumab",
        "no_confirmed_worsening",
        2.0,
        "the DMT arm's commonest DMT (natalizumab, 29% of courses) stands for the arm; "
        "MIST's progression (EDSS +1 confirmed at 6 months, after year 1) against "
        "12-week confirmed worsening; 0.5 read from the median time to progression",
    ),
    Comparison(
        "mist_2019",
        "burt2019_mist:ahsct:trm:024",
        "ahsct_cy_atg",
        "trm",
        None,
        "no deaths among 52 transplanted; simulator TRM within 10.5 years",
    ),
    Comparison(
        "muraro_2017",
        "muraro2017_ebmt:ahsct:pfs:010",
        "ahsct_beam_atg",
        "no_confirmed_worsening",
        5.0,
        "mixed regimens, BEAM/ATG the commonest (assumed); PFS against free of confirmed worsening",
    ),
    Comparison(
        "muraro_2017",
        "muraro2017_ebmt:ahsct:trm:013",
        "ahsct_beam_atg",
        "trm",
        None,
        "deaths within 100 days against simulator TRM within 10.5 years",
    ),
    Comparison(
        "sormani_2017",
        "sormani2017_meta:pooled:progression:028",
        "ahsct_beam_atg",
        "no_confirmed_worsening",
        2.0,
        "1 - pooled progression; a meta-analysis whose median patient is assumed",
    ),
    Comparison(
        "sormani_2017",
        "sormani2017_meta:pooled:progression:029",
        "ahsct_beam_atg",
        "no_confirmed_worsening",
        5.0,
        "1 - pooled progression; a meta-analysis whose median patient is assumed",
    ),
    Comparison(
        "sormani_2017",
        "sormani2017_meta:pooled:neda:030",
        "ahsct_beam_atg",
        "neda_3",
        2.0,
        "pooled NEDA (its range 70-92% is not a CI)",
    ),
    Comparison(
        "sormani_2017",
        "sormani2017_meta:pooled:trm:027",
        "ahsct_beam_atg",
        "trm",
        None,
        "pooled TRM against simulator TRM within 10.5 years",
    ),
)
"""Each published figure compared, with the projection option and outcome beside it."""

NOT_COMPARED: dict[str, str] = {
    "atkins2016_canadian:ahsct:ms_activity_free:014": "at 3 years; the projection reads "
    "2, 5 and 10 years",
    "burt2015_northwestern:ahsct:rfs:007": "at 4 years; the projection reads 2, 5 and 10 years",
    "nash2017_haltms:ahsct:efs:001": "at 3 years; the projection reads 2, 5 and 10 years",
    "nash2017_haltms:ahsct:mri_activity_free:005": "MRI activity-free survival is not a "
    "projection outcome",
    "burt2019_mist:ahsct:edss_mean:025": "at 1 year; the projection reads 2, 5 and 10 years",
    "burt2019_mist:dmt:edss_mean:026": "at 1 year; the projection reads 2, 5 and 10 years",
}
"""Published figures of the bundled specs not compared, with the reason."""


def _spec(name: str) -> dict[str, object]:
    text = resources.files("msreboot.trials").joinpath("data", f"{name}.toml").read_text()
    return tomllib.loads(text)


def published_entries() -> dict[str, list[dict[str, object]]]:
    """Every bundled spec's ``[[published]]`` entries, by spec name."""
    folder = resources.files("msreboot.trials").joinpath("data")
    names = sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )
    return {name: list(_spec(name).get("published", [])) for name in names}  # type: ignore[call-overload]


def median_profile(name: str) -> tuple[PatientProfile, tuple[str, ...]]:
    """The study's median patient, with the assumptions made beyond the spec.

    Age and EDSS are the spec's median (or mean), the EDSS rounded to its 0.5 grid; the
    disease duration its median; the phenotype the largest share (the first listed on a
    tie). Assumed: female unless the spec's female share is below 0.5; relapses in the last
    24 months the spec's least number of prior relapses (else 1 for RRMS, 0 otherwise), as
    many in the last 12 months when the spec's window is a year or less, else at most 1;
    interferon beta as the current DMT when the spec draws prior relapses under a rate ratio
    (0.7, the calibrated interferon beta rate ratio), else none; no prior DMTs; HCT-CI 0.
    """
    spec = _spec(name)
    population: dict[str, object] = spec["population"]  # type: ignore[assignment]
    assumed: list[str] = []
    age = float(population.get("age_median", population.get("age_mean")))  # type: ignore[arg-type]
    edss_given = float(population.get("edss_median", population.get("edss_mean")))  # type: ignore[arg-type]
    edss = round(2 * edss_given) / 2
    if edss != edss_given:
        assumed.append(f"EDSS {edss_given:g} rounded to {edss:g}")
    shares: dict[str, float] = population["phenotype_shares"]  # type: ignore[assignment]
    phenotype = max(shares, key=lambda k: shares[k])
    female_share = population.get("female_share")
    sex = "male" if female_share is not None and float(female_share) < 0.5 else "female"  # type: ignore[arg-type]
    if female_share is None:
        assumed.append("female")
    least = population.get("min_prior_relapses")
    window = float(population.get("prior_relapse_window_years", 2.0))  # type: ignore[arg-type]
    if least is None:
        r24 = 1 if phenotype == "RRMS" else 0
        assumed.append(f"{r24} relapse(s) in 24 months")
    else:
        r24 = int(least)  # type: ignore[call-overload]
    r12 = r24 if window <= 1.0 else min(r24, 1)
    on_dmt = "prior_relapse_rate_ratio" in population
    assumed.append("on interferon beta" if on_dmt else "no current DMT")
    assumed.append("HCT-CI 0")
    profile = PatientProfile(
        patient_id=f"{name}_median",
        age_years=age,
        edss=edss,
        phenotype=phenotype,  # type: ignore[arg-type]
        sex=sex,  # type: ignore[arg-type]
        disease_duration_years=float(population["duration_median_years"]),  # type: ignore[arg-type]
        relapses_last_12_months=r12,
        relapses_last_24_months=r24,
        prior_dmts=(),
        current_dmt="interferon_beta" if on_dmt else "none",
        hct_ci=0,
    )
    return profile, tuple(assumed)


def transplant_year(name: str) -> int | None:
    """The spec's AHSCT arm's ``transplant_year`` (its era), if it sets one."""
    for arm in _spec(name).get("arm", []):  # type: ignore[attr-defined]
        year = arm.get("overrides", {}).get("transplant_year")
        if year is not None:
            return int(year)
    return None


def _options(profile: PatientProfile, names: list[str], year: int | None) -> list[TreatmentOption]:
    """The named options, AHSCT ones transplanted in ``year`` (the study's era)."""
    by_name = {o.name: o for o in treatment_options(profile)}
    chosen = [by_name[n] for n in names]
    if year is None:
        return chosen
    return [
        dataclasses.replace(o, transplant_year=year) if o.kind == "ahsct" else o for o in chosen
    ]


def _published(outcome_id: str, complement: bool) -> tuple[float, float, float, float | None]:
    row = load_outcomes().set_index("outcome_id").loc[outcome_id]
    value = float(row["estimate"])
    low, high = float(row["ci_low"]), float(row["ci_high"])
    level = None if pd.isna(row["ci_level"]) else float(row["ci_level"])
    if complement:
        value, low, high = 1 - value, 1 - high, 1 - low
    return value, low, high, level


def _projected(projection: PatientProjection, c: Comparison) -> tuple[float, float, float]:
    if c.outcome == "trm":
        r = projection.risks
        hit = r[(r["option"] == c.option) & (r["risk"] == "trm") & (r["source"] == "simulator")]
        row = hit.iloc[0]
        return float(row["estimate"]), float(row["low"]), float(row["high"])
    o = projection.outcomes
    hit = o[(o["option"] == c.option) & (o["outcome"] == c.outcome) & (o["years"] == c.years)]
    row = hit.iloc[0]
    return float(row["estimate"]), float(row["cri_low"]), float(row["cri_high"])


def coverage_table(
    *, draws: int = 10, patients_per_draw: int = 200, seed: int = 2026
) -> pd.DataFrame:
    """One row per compared figure: ``study``, ``outcome_id``, ``option``, ``outcome``,
    ``years``, ``published``, ``published_low`` / ``published_high`` (its interval, NaN
    when none is published, at ``published_level``), ``projected``, ``low`` / ``high`` (the
    projection's 90% posterior interval) and ``inside`` (the published figure within it),
    ``overlap`` (the two intervals overlap; NaN without a published interval), ``as_shown``
    / ``as_shown_low`` / ``as_shown_high`` (the projection ``msreboot patient`` shows),
    ``assumed`` and ``note``.

    ``projected`` is like for like: AHSCT transplanted in the study's era (its spec's
    ``transplant_year``) and counted from reinfusion (``time_zero="reinfusion"``), as the
    studies count. ``as_shown`` is the default projection: a transplant in 2026, every
    option counted from enrolment. Both use :func:`project_patient`'s draws and patients
    unless told."""
    complements = {
        str(e["outcome_id"]): bool(e.get("complement", False))
        for entries in published_entries().values()
        for e in entries
    }
    settings = {"draws": draws, "patients_per_draw": patients_per_draw, "seed": seed}
    rows = []
    for study in dict.fromkeys(c.study for c in COMPARED):
        chosen = [c for c in COMPARED if c.study == study]
        profile, assumed = median_profile(study)
        names = list(dict.fromkeys(c.option for c in chosen))
        era = transplant_year(study)
        like = project_patient(
            profile, _options(profile, names, era), time_zero="reinfusion", **settings
        )
        shown = project_patient(profile, names, **settings)
        for projection in (like, shown):
            if projection.simulation_unknown:
                raise ValueError(f"{study}: {projection.simulation_unknown}")
        for c in chosen:
            value, low, high, level = _published(c.outcome_id, complements[c.outcome_id])
            estimate, p_low, p_high = _projected(like, c)
            as_shown = _projected(shown, c)
            has_ci = not (math.isnan(low) or math.isnan(high))
            rows.append(
                {
                    "study": study,
                    "transplant_year": era,
                    "outcome_id": c.outcome_id,
                    "option": c.option,
                    "outcome": c.outcome,
                    "years": c.years,
                    "published": value,
                    "published_low": low,
                    "published_high": high,
                    "published_level": level,
                    "projected": estimate,
                    "low": p_low,
                    "high": p_high,
                    "inside": p_low <= value <= p_high,
                    "overlap": (max(low, p_low) <= min(high, p_high)) if has_ci else math.nan,
                    "as_shown": as_shown[0],
                    "as_shown_low": as_shown[1],
                    "as_shown_high": as_shown[2],
                    "assumed": "; ".join(assumed),
                    "note": c.note,
                }
            )
    return pd.DataFrame(rows)


def markdown_table(table: pd.DataFrame) -> str:
    """The table as the how-to shows it (percentages)."""

    def pct(x: float) -> str:
        return f"{100 * x:.1f}" if x < 0.1 else f"{100 * x:.0f}"

    lines = [
        "| study | published figure | option | outcome | published | projected [90% interval] "
        "| inside | intervals overlap | as `msreboot patient` shows it |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        when = "" if r["years"] is None or pd.isna(r["years"]) else f" at {r['years']:g} y"
        published = pct(r["published"])
        if not pd.isna(r["published_low"]):
            published += f" ({pct(r['published_low'])}-{pct(r['published_high'])})"
        overlap = "-" if pd.isna(r["overlap"]) else ("yes" if r["overlap"] else "no")
        lines.append(
            f"| {r['study']} | `{r['outcome_id']}` | {r['option']} | {r['outcome']}{when} | "
            f"{published} | {pct(r['projected'])} [{pct(r['low'])}-{pct(r['high'])}] | "
            f"{'yes' if r['inside'] else '**no**'} | {overlap} | {pct(r['as_shown'])} "
            f"[{pct(r['as_shown_low'])}-{pct(r['as_shown_high'])}] |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    result = coverage_table()
    print(markdown_table(result))
    print(f"\ninside: {int(result['inside'].sum())} of {len(result)}")
    for study in dict.fromkeys(result["study"]):
        print(f"{study}: {median_profile(study)[0].summary()}; assumed {median_profile(study)[1]}")
