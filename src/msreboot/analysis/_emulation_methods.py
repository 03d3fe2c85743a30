"""The methods paragraph of an emulated trial, written from its spec."""

from __future__ import annotations

from collections.abc import Sequence

from msreboot.analysis._emulation_spec import EMULATION_COVARIATES, EmulationSpec

__all__ = ["methods_text"]


def methods_text(spec: EmulationSpec, caveats: Sequence[str] = ()) -> str:
    """The methods paragraph of an emulated trial, written from its spec."""
    e, a = spec.eligibility, spec.adjustment
    crit = []
    if e.phenotypes:
        crit.append("phenotype " + " or ".join(e.phenotypes))
    if e.edss_min is not None or e.edss_max is not None:
        low, high = e.edss_min or 0.0, 10.0 if e.edss_max is None else e.edss_max
        crit.append(f"EDSS {low:g} to {high:g}")
    if e.age_min is not None or e.age_max is not None:
        low, high = e.age_min or 0.0, 120.0 if e.age_max is None else e.age_max
        crit.append(f"age {low:g} to {high:g} years")
    if e.disease_duration_max_years is not None:
        crit.append(f"disease duration at most {e.disease_duration_max_years:g} years")
    window = f"in the {e.activity_years:g} year(s) before time zero"
    if e.min_relapses:
        crit.append(f"at least {e.min_relapses} relapse(s) {window}")
    if e.require_mri_activity:
        crit.append(f"an active MRI scan {window}")
    if e.require_relapse_or_mri_activity:
        crit.append(f"a relapse or an active MRI scan {window}")
    if e.min_prior_dmts:
        crit.append(f"at least {e.min_prior_dmts} prior DMT(s)")
    drugs = ", ".join(d.replace("_", " ") for d in spec.control.drugs) or "any DMT"
    regimens = f" ({', '.join(spec.treated.regimens)})" if spec.treated.regimens else ""
    zero = (
        "each patient entered once, at their first eligible time zero (AHSCT on a tie)"
        if spec.time_zero == "first"
        else "every eligible DMT start entered, so that patients could contribute several "
        "entries; variances are clustered by patient"
    )
    covs = "; ".join(EMULATION_COVARIATES[c] for c in a.covariates)
    if a.method == "matching":
        adj = (
            f"1:{a.ratio} nearest-neighbour matching on the logit of the propensity score, "
            + ("with" if a.replace else "without")
            + " replacement"
            + (f", caliper {a.caliper_sd:g} SD of the logit" if a.caliper_sd else "")
            + (f", exact on {', '.join(a.exact)}" if a.exact else "")
        )
    elif a.method == "iptw":
        adj = (
            f"inverse probability of treatment weights for the {a.estimand.upper()}"
            + (" (stabilised)" if a.stabilize and a.estimand == "ate" else "")
            + (f", truncated at the {a.trim_quantile:g} quantile" if a.trim_quantile else "")
        )
    else:
        adj = "overlap weights"
    fu = (
        "intention to treat (follow-up continues after a switch)"
        if spec.follow_up.analysis == "itt"
        else f"per protocol (censored at a switch, or {spec.follow_up.grace_days} days after "
        "the comparator DMT stopped)"
    )
    text = (
        f"We emulated a target trial of {spec.treated.name}{regimens} against "
        f"{spec.control.name} ({drugs}). Time zero was the AHSCT reinfusion (day 0) or the "
        f"start of the comparator DMT; {zero}. Eligibility at time zero: "
        f"{'; '.join(crit) or 'no restriction'}. The propensity of receiving "
        f"{spec.treated.name} was modelled by logistic regression on ({covs}), and the arms "
        f"were compared after {adj}. Balance was judged by standardised mean differences "
        f"(|SMD| <= {a.max_abs_smd:g}). Hazard ratios come from Cox models (Efron ties) with "
        "cluster-robust (sandwich) variance in the adjusted sample; survival curves are "
        "weighted Kaplan-Meier estimates; relapse rates were compared with a weighted "
        "Poisson model with robust variance; the E-value of the primary hazard ratio follows "
        f"VanderWeele and Ding (2017). Analysis: {fu}"
        + (f", up to {spec.follow_up.max_years:g} years" if spec.follow_up.max_years else "")
        + f". Primary endpoint: {spec.definitions()[spec.primary].title or spec.primary}."
    )
    o = spec.outcomes
    if o.proportions:
        t = f"{o.landmark_years:g}"
        cdi = o.improvement_endpoint or "the default disability rules"
        text += (
            f" At {t} years we compared the proportions with confirmed disability improvement "
            f"(the first CDI under {cdi}, from the last EDSS at time zero; deaths censor) and "
            f"with {o.neda_endpoint} (no relapse, worsening or MRI activity over the window, "
            "each component assessed to its end). An entry was evaluable at "
            f"{t} years when it had the outcome-defining event before then (a CDI; loss of "
            "NEDA) or was followed (every component assessed) to then; entries not evaluable "
            "were left out and counted. Proportions and their risk difference are weighted "
            "means from a weighted linear probability model with cluster-robust (sandwich) "
            "variance and Wald intervals; NEDA windows are not cut at a switch or at the "
            "follow-up limit."
        )
    if caveats:
        text += " Caveats: " + "; ".join(caveats) + "."
    return text
