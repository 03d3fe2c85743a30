"""The methods paragraph of a disability analysis, written from its rules."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from msreboot.endpoints._disability_measures import measure_label

if TYPE_CHECKING:  # the rules call this module; it only reads their fields
    from msreboot.endpoints._disability_rules import Bound, DisabilityDefinition

__all__ = ["methods_text"]

_UNABLE = "A test the patient could not complete counted as worse than any completed time."


def methods_text(definition: DisabilityDefinition) -> str:
    """A methods paragraph stating exactly the criteria of ``definition``."""
    what = {
        "first_cdw": "the first confirmed disability worsening (CDW)",
        "first_cdi": "the first confirmed disability improvement (CDI)",
        "first": "the first confirmed disability event (worsening or improvement)",
        "first_pira": "the first progression independent of relapse activity (PIRA)",
        "first_raw": "the first relapse-associated worsening (RAW)",
        "all": "all confirmed disability worsening (CDW) and improvement (CDI) events",
    }[definition.event]
    conf = definition.confirmation
    periods = " or ".join(f"{d:g} days" for d in conf.days)
    tol = "; ".join(
        f"-{lo:g}/+{'unbounded' if hi == math.inf else f'{hi:g}'} days"
        for lo, hi in conf.tolerance_days
    )
    label = measure_label(definition.measure, definition.hand)
    sentences = [
        f"Disability events were identified from {label} assessments as {what}, "
        f"with the {definition.name} definition.",
        f"A change counted when it reached the threshold of {definition.threshold.describe()} "
        f"from the reference {label if definition.measure == 'edss' else 'score'}"
        + (
            f" (improvement: {definition.improvement_threshold.describe()})."
            if definition.improvement_threshold is not None
            else "."
        ),
        f"Changes were confirmed at the first eligible visit {periods} later "
        f"(tolerance {tol})"
        + (
            ", and every intermediate visit had to show the change."
            if conf.check_intermediate
            else "; intermediate visits were not checked."
        ),
    ]
    if conf.minimal_distance_days > 0:
        sentences.append(
            f"A worsening had to lie at least {conf.minimal_distance_days:g} days after "
            + (
                "its reference"
                + (
                    " (or after the latest earlier reference low and far enough, backtracking)."
                    if conf.minimal_distance_backtrack
                    else "."
                )
                if conf.minimal_distance_to == "reference"
                else "the previous visit."
            )
        )
    if conf.sustained_after_days is not None:
        sentences.append(
            f"Instead of a confirmation period, every visit from {conf.sustained_after_days:g}"
            " days after the event to the last visit had to show the change (sustained)."
        )
    if conf.monotonic:
        sentences.append(
            "Confirmation was monotonic: confirming scores could not be better than the"
            " event score."
        )
    if conf.sustained_days == math.inf:
        sentences.append("Changes had to be sustained to the last visit.")
    elif conf.sustained_days > 0:
        sentences.append(f"Changes had to be sustained for {conf.sustained_days:g} days.")
    bl = definition.baseline
    base = {
        "fixed": "The baseline was fixed at the first valid assessment",
        "roving": "A roving baseline moved after each confirmed event",
        "roving_improvement": "A roving baseline moved after each confirmed improvement",
        "roving_worsening": "A roving baseline moved after each confirmed worsening",
        "running_minimum": (
            "A roving reference moved as a running minimum"
            + (
                f" (a lower score confirmed over {bl.reference_confirmation_days:g} days)"
                if bl.reference_confirmation_days > 0
                else " (any lower score)"
            )
            + " and after each confirmed worsening"
        ),
    }[bl.kind]
    target = "first confirmation visit" if bl.proceed_from == "confirmation" else "event visit"
    sentences.append(
        f"{base}" + (f" (to the {target})" if bl.kind != "fixed" else "") + "; "
        f"the search continued after the {target}."
    )
    if bl.post_event_reference == "lowest_confirmed" and bl.kind != "fixed":
        sentences.append(
            "After an event the reference was dated at the event, with the least changed"
            " score of the visits that confirmed it, and the search continued after the event."
        )
    if bl.sub_threshold != "none" and bl.kind != "fixed":
        sentences.append(
            f"Confirmed sub-threshold changes ({bl.sub_threshold}) also moved the baseline."
        )
    if bl.after_relapse:
        sentences.append(
            "The baseline was reset after every relapse"
            + (" and never took a lower value than the previous one." if bl.not_lower else ".")
        )
        if bl.residual_only:
            sentences.append(
                "A relapse reset the baseline only when it left residual disability (the first"
                " visit after it was worse than the baseline); otherwise the baseline stayed."
            )
    if bl.skip_local_extrema != "none":
        sentences.append(f"Local extrema ({bl.skip_local_extrema}) were not used as baselines.")
    rb = definition.relapse_buffer
    sentences.append(
        f"Baselines had to lie at least {rb.baseline[0]:g} days after a relapse onset and "
        f"confirmation visits at least {rb.confirmation[0]:g} days after one"
        + (f"; event visits at least {rb.event[0]:g} days after one." if rb.event[0] > 0 else ".")
    )
    if definition.raw_pira:
        p = definition.pira
        sentences.append(
            f"Worsening was relapse-associated (RAW) when a relapse began within "
            f"{p.raw_days[0]:g} days before the event"
            + (f" or {p.raw_days[1]:g} days after it" if p.raw_days[1] > 0 else "")
            + f", and independent of relapses (PIRA) by the {p.name} relapse-free intervals "
            f"(preceding visit: {p.preceding_visit}; preceding {_fmt(p.preceding)}, "
            f"event {_fmt(p.event)}, confirmation {_fmt(p.confirmation)} days)"
            + ("; relapses spanned onset to end date." if p.use_end_dates else ".")
        )
        if p.report_relapse_during_confirmation:
            sentences.append(
                "Worsening that was independent of relapses up to the event but had a relapse"
                " during its confirmation was reported as PIRA with relapse during"
                " confirmation, and the remaining worsening as undefined."
            )
    sentences += _separate_sentences(definition)
    if definition.unconfirmed_worsening:
        sentences.append(
            "As a sensitivity analysis, worsening that was not confirmed also counted as an"
            " event (dated at the candidate visit, which became the new roving reference)."
        )
    if definition.impute_last_visit:
        limit = (
            ""
            if definition.impute_within_days == math.inf
            else f" within {definition.impute_within_days:g} days"
        )
        sentences.append(
            f"An unconfirmed worsening at the last visit{limit} was counted as an event."
        )
    sentences.append(f"Reference: {definition.citation}.")
    if definition.measure in ("t25fw", "9hpt"):
        sentences.append(_UNABLE)
    return " ".join(sentences)


def _separate_sentences(definition: DisabilityDefinition) -> list[str]:
    """The sentences of separate general and RAW/PIRA references and their options."""
    if definition.baseline.raw_pira_reference != "separate":
        return []
    p = definition.pira
    where = {
        "rebaseline_only": "only at the first visit after a relapse's RAW window",
        "all": "at the first visit after a relapse's RAW window and at every visit that was"
        " neither RAW nor PIRA",
        "end": "at the first visit after a relapse's RAW window, and at every visit after the"
        " last RAW or PIRA event (searched again from its score)",
        "never": "never (the first visit after a relapse's RAW window was not an event)",
    }[p.undefined_worsening]
    out = [
        "RAW and PIRA were judged against a RAW/PIRA reference that a relapse reset only when"
        " the first visit after its RAW window was worse than it (residual disability); a"
        " general reference, reset only by events, served for undefined worsening, which was"
        f" looked for {where}."
    ]
    if p.undefined_reference != "any":
        out.append(
            "Undefined worsening and its confirmation scores had to be "
            + ("at least" if p.undefined_reference == "not_lower" else "above")
            + " the RAW/PIRA reference."
        )
    m = definition.merge
    if m is not None:
        limit = "" if m.max_distance_days == math.inf else f" within {m.max_distance_days:g} days"
        out.append(
            "Continuous stepwise RAW or PIRA worsening (each step a confirmed worsening of the"
            f" same type from the same reference{limit}) was merged into one event; a"
            f" repeated equal score within {m.repetition_days:g} days did not end it."
        )
    return out


def _fmt(pair: tuple[Bound, Bound]) -> str:
    a, b = pair
    return f"-{'open' if a is None else f'{a:g}'}/+{'open' if b is None else f'{b:g}'}"
