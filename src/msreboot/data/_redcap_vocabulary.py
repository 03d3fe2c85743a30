"""Words that point a REDCap field or form at a canonical table, column or code.

Used by :func:`~msreboot.data.mapping_from_dictionary` to propose a mapping. Each phrase is a
set of words (lower case); a field matches a phrase when every word of it occurs in the
field's name or label. The lists are deliberately plain so that a data manager can read why
a field was matched, and every match is written into the draft as a comment to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from msreboot.data._schema import TreatmentKind

__all__ = [
    "COLUMN_PHRASES",
    "FORM_PHRASES",
    "GENERIC_WORDS",
    "STOPWORDS",
    "TOKEN_SYNONYMS",
    "VALUE_PHRASES",
]

STOPWORDS = frozenset(
    {"of", "the", "a", "an", "at", "in", "on", "to", "for", "by", "with", "was", "is", "if"}
    | {"and", "or", "pt", "patient", "please", "enter", "yyyy", "mm", "dd", "select"}
)

GENERIC_WORDS = frozenset({"date", "visit", "score", "type", "kind", "event", "total", "new"})
"""Words that weigh half in a match: they occur in many fields."""

TOKEN_SYNONYMS: Mapping[str, str] = MappingProxyType(
    {
        "gender": "sex",
        "dob": "birth",
        "born": "birth",
        "birthdate": "birth",
        "center": "centre",
        "mobilization": "mobilisation",
        "cyclophosphamide": "cy",
        "busulfan": "bu",
        "busulphan": "bu",
        "thymoglobulin": "atg",
        "antithymocyte": "atg",
        "gcsf": "g_csf",
        "filgrastim": "g_csf",
        "hsct": "transplant",
        "ahsct": "transplant",
        "asct": "transplant",
        "bmt": "transplant",
        "transplantation": "transplant",
        "reinfusion": "infusion",
        "gadolinium": "gd",
        "enhancing": "gd",
        "deceased": "death",
        "died": "death",
        "mortality": "death",
        "therapies": "therapy",
        "medications": "medication",
        "relapses": "relapse",
        "attack": "relapse",
        "exacerbation": "relapse",
        "complications": "complication",
        "events": "event",
        "stopping": "stop",
        "ceased": "stop",
        "lesion": "lesions",
        "commenced": "start",
        "started": "start",
        "initiation": "start",
        "stopped": "stop",
        "discontinued": "stop",
        "discontinuation": "stop",
        "ended": "end",
        "diagnosed": "diagnosis",
        "dx": "diagnosis",
        "admitted": "admission",
        "discharged": "discharge",
        "comments": "notes",
        "comment": "notes",
        "remarks": "notes",
        "note": "notes",
    }
)
"""Words read as another before matching (``gender`` as ``sex``, ``hsct`` as ``transplant``)."""

_FormKey = tuple[str, TreatmentKind | None]

FORM_PHRASES: tuple[tuple[str, _FormKey], ...] = (
    ("laboratory", ("labs", None)),
    ("lab", ("labs", None)),
    ("lymphocyte", ("labs", None)),
    ("t25fw", ("timed_walk", None)),
    ("walk", ("timed_walk", None)),
    ("9hpt", ("peg_test", None)),
    ("peg", ("peg_test", None)),
    ("sdmt", ("sdmt", None)),
    ("symbol", ("sdmt", None)),
    ("adverse", ("adverse_events", None)),
    ("complication", ("adverse_events", None)),
    ("ae", ("adverse_events", None)),
    ("infection", ("adverse_events", None)),
    ("toxicity", ("adverse_events", None)),
    ("death", ("deaths", None)),
    ("survival", ("deaths", None)),
    ("mesenchymal", ("treatments", "msc")),
    ("msc", ("treatments", "msc")),
    ("transplant", ("treatments", "ahsct")),
    ("stem", ("treatments", "ahsct")),
    ("dmt", ("treatments", "dmt")),
    ("dmd", ("treatments", "dmt")),
    ("therapy", ("treatments", "dmt")),
    ("medication", ("treatments", "dmt")),
    ("drug", ("treatments", "dmt")),
    ("edss", ("edss", None)),
    ("disability", ("edss", None)),
    ("neurological", ("edss", None)),
    ("neuro", ("edss", None)),
    ("visit", ("edss", None)),
    ("relapse", ("relapses", None)),
    ("mri", ("mri", None)),
    ("imaging", ("mri", None)),
    ("scan", ("mri", None)),
    ("demographics", ("patients", None)),
    ("demography", ("patients", None)),
    ("baseline", ("patients", None)),
    ("enrolment", ("patients", None)),
    ("enrollment", ("patients", None)),
    ("registration", ("patients", None)),
    ("diagnosis", ("patients", None)),
)
"""A word of a form (instrument) name and the table (and treatment kind) it suggests, most
specific first."""


def _p(*phrases: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(p.split()) for p in phrases)


COLUMN_PHRASES: Mapping[str, Mapping[str, tuple[frozenset[str], ...]]] = MappingProxyType(
    {
        "patients": {
            "sex": _p("sex"),
            "birth_date": _p("birth"),
            "birth_year": _p("birth year", "yob"),
            "onset_date": _p("onset", "first symptom", "first symptoms"),
            "diagnosis_date": _p("diagnosis"),
            "phenotype": _p("phenotype", "ms type", "course", "subtype", "ms form"),
            "prior_dmt_count": _p("prior dmt", "previous dmt", "prior dmts", "previous dmts")
            + _p("number dmt", "number dmts", "prior therapy", "previous therapy"),
            "hct_ci": _p("hct ci", "hctci", "comorbidity index", "sorror", "comorbidity"),
            "centre": _p("centre", "site", "hospital"),
            "notes": _p("notes"),
            "spms_conversion_date": _p("conversion", "spms conversion", "spms date"),
            "oligoclonal_bands": _p("oligoclonal", "ocb", "oligoclonal bands"),
        },
        "treatments": {
            "start_date": _p("infusion", "transplant", "day 0", "start", "first dose"),
            "end_date": _p("end", "stop", "last dose", "last infusion"),
            "protocol": _p("protocol", "trial"),
            "drug": _p("drug", "dmt", "agent", "medication", "therapy"),
            "stop_reason": _p("reason", "why stop"),
            "mobilisation_regimen": _p("mobilisation", "mobilisation regimen"),
            "mobilisation_date": _p("mobilisation"),
            "cd34_dose_1e6_per_kg": _p("cd34", "cd34 dose", "cd34 kg"),
            "cd34_selected": _p("selected", "selection", "cd34 selection", "cd34 selected"),
            "conditioning_regimen": _p("conditioning", "conditioning regimen"),
            "conditioning_intensity": _p("intensity", "conditioning intensity"),
            "conditioning_start_date": _p("conditioning", "conditioning start"),
            "admission_date": _p("admission"),
            "engraftment_date": _p("engraftment", "neutrophil", "anc"),
            "discharge_date": _p("discharge"),
            "msc_source": _p("source", "tissue", "msc source"),
            "msc_route": _p("route"),
            "msc_dose_1e6_per_kg": _p("dose", "msc dose", "cells kg"),
            "msc_infusions": _p("infusions", "number infusions"),
            "msc_pretreated": _p("pretreated", "primed", "pre treated"),
            "platelet_engraftment_date": _p("platelet", "platelets", "platelet engraftment"),
            "apheresis_cd34_yield_1e6_per_kg": _p("apheresis", "yield", "harvest", "collected")
            + _p("cd34 yield", "cd34 collected"),
            "atg_type": _p("atg", "atg type", "atg product", "atg preparation"),
            "atg_dose_mg_per_kg": _p("atg", "atg dose", "atg kg"),
            "g_csf_dose_ug_per_kg_per_day": _p("g csf", "g csf dose", "g csf kg"),
            "cmv_serostatus": _p("cmv", "cmv serostatus", "cmv igg", "cmv serology"),
            "weight_kg": _p("weight", "body weight"),
            "karnofsky": _p("karnofsky", "kps"),
            "ecog": _p("ecog", "who performance"),
        },
        "edss": {
            "date": _p("date", "visit", "assessment date", "exam date"),
            "edss": _p("edss", "edss score", "score", "disability status"),
            "fs_visual": _p("visual", "fs visual", "optic"),
            "fs_brainstem": _p("brainstem", "brain stem", "fs brainstem"),
            "fs_pyramidal": _p("pyramidal", "fs pyramidal"),
            "fs_cerebellar": _p("cerebellar", "fs cerebellar"),
            "fs_sensory": _p("sensory", "fs sensory"),
            "fs_bowel_bladder": _p("bowel", "bladder", "fs bowel", "bowel bladder"),
            "fs_cerebral": _p("cerebral", "mental", "fs cerebral"),
            "valid_for_confirmation": _p("valid", "confirmation", "scheduled"),
        },
        "relapses": {
            "onset_date": _p("onset", "date", "relapse date", "start"),
            "end_date": _p("end", "resolution", "resolved", "recovery"),
            "severity": _p("severity", "severe"),
            "steroid_treated": _p("steroid", "steroids", "corticosteroids", "corticosteroid")
            + _p("methylprednisolone", "ivmp"),
        },
        "mri": {
            "date": _p("date", "scan date", "mri date"),
            "region": _p("region", "area", "location", "scanned"),
            "gd_lesions": _p("gd", "gd lesions", "contrast"),
            "new_t2_lesions": _p("new", "new t2", "enlarging", "new enlarging"),
            "t2_lesions_total": _p("total", "t2 total", "total t2", "t2 lesions", "t2 count"),
            "brain_volume_ml": _p("brain volume", "nbv", "sienax", "bpf"),
            "t2_lesion_volume_ml": _p("lesions volume", "t2 volume", "t2 lesions volume"),
            "t1_hypointense_lesions": _p("t1", "hypointense", "black holes", "t1 hypointense"),
        },
        "adverse_events": {
            "onset_date": _p("onset", "date", "start"),
            "end_date": _p("end", "resolution", "resolved"),
            "category": _p("category", "type", "kind", "event"),
            "grade": _p("grade", "ctcae", "severity"),
            "pathogen": _p("pathogen", "organism", "virus", "agent"),
            "serious": _p("serious", "sae"),
            "detail": _p("detail", "details", "description", "describe", "notes"),
        },
        "deaths": {
            "date": _p("death", "death date", "date"),
            "cause": _p("cause", "cause death"),
            "transplant_related": _p("transplant related", "trm", "related transplant")
            + _p("transplant", "treatment related"),
        },
        # one row per result: a repeating instrument with an analyte field and a value
        # field maps (a form with a field per analyte does not, and is left to the user)
        "labs": {
            "date": _p("draw date", "blood draw", "lab date", "sample date", "date"),
            "analyte": _p("analyte", "lab test", "test name", "test"),
            "value": _p("result value", "result", "value"),
            "unit": _p("unit", "units", "unit result"),
        },
        # a form with a field per item: left for the user to map
        "proms": {},
        "timed_walk": {
            "date": _p("t25fw date", "walk date"),
            "seconds": _p("t25fw", "25 foot", "timed walk", "t25fw seconds"),
            "trials": _p("t25fw trials", "walk trials"),
            "walking_aid": _p("walking aid", "assistive device", "aid"),
            "unable_to_complete": _p("t25fw unable", "walk unable", "walk not completed"),
        },
        "peg_test": {
            "date": _p("9hpt date", "peg date"),
            "hand": _p("hand", "9hpt hand", "peg hand"),
            "seconds": _p("9hpt", "peg", "nine hole", "9hpt seconds"),
            "trials": _p("9hpt trials", "peg trials"),
            "unable_to_complete": _p("9hpt unable", "peg unable", "peg not completed"),
        },
        "sdmt": {
            "date": _p("sdmt date"),
            "score": _p("sdmt", "symbol digit", "sdmt score"),
            "version": _p("sdmt version", "oral written", "sdmt mode"),
            "form": _p("sdmt form", "alternate form"),
        },
    }
)
"""Per table and column, the phrases that point a field at it (words, any order)."""

VALUE_PHRASES: Mapping[str, Mapping[str, tuple[frozenset[str], ...]]] = MappingProxyType(
    {
        "sex": {
            "F": _p("female", "woman", "f", "girl"),
            "M": _p("male", "man", "m", "boy"),
            "X": _p("other", "diverse", "intersex", "x", "not stated", "prefer not"),
        },
        "phenotype": {
            "RRMS": _p("relapsing remitting", "rrms", "rr", "relapsing"),
            "SPMS": _p("secondary progressive", "spms", "sp", "secondary"),
            "PPMS": _p("primary progressive", "ppms", "pp", "primary"),
            "CIS": _p("clinically isolated", "cis"),
        },
        "region": {
            "brain": _p("brain", "head", "cerebral"),
            "spine": _p("spine", "spinal", "cord"),
            "brain_and_spine": _p("brain spine", "brain spinal", "both", "whole neuraxis"),
        },
        "category": {
            "viral_reactivation": _p("reactivation", "viral reactivation"),
            "secondary_autoimmunity": _p("autoimmunity", "autoimmune", "secondary autoimmune"),
            "malignancy": _p("malignancy", "cancer", "tumour", "tumor", "neoplasm"),
            "infusion_reaction": _p("infusion reaction", "infusion"),
        },
        "cause": {
            "ms": _p("ms", "multiple sclerosis", "disease progression"),
            "transplant_toxicity": _p("transplant toxicity", "treatment toxicity", "toxicity")
            + _p("transplant related", "treatment related", "trm"),
            "malignancy": _p("malignancy", "cancer", "tumour", "tumor"),
            "cardiovascular": _p("cardiovascular", "cardiac", "heart", "stroke"),
            "suicide": _p("suicide"),
        },
        "conditioning_regimen": {
            "cy200_atg": _p("cy 200 atg", "cy atg", "cy200 atg"),
            "bu_cy_atg": _p("bu cy atg", "bucy atg"),
            "cy_alemtuzumab": _p("cy alemtuzumab"),
            "cy_low": _p("low cy", "cy low"),
            "tbi_based": _p("tbi"),
        },
        "stop_reason": {
            "inefficacy": _p("efficacy", "breakthrough", "failure", "inefficacy"),
            "adverse_event": _p("adverse", "side effects", "intolerance", "safety"),
            "patient_choice": _p("choice", "wish", "preference"),
            "transplant": _p("transplant"),
        },
        "atg_type": {
            "thymoglobulin": _p("atg", "rabbit"),
            "grafalon": _p("grafalon", "fresenius", "atg fresenius", "anti t cell"),
            "atgam": _p("atgam", "horse"),
        },
        "cmv_serostatus": {
            "positive": _p("positive", "reactive", "igg positive"),
            "negative": _p("negative", "non reactive", "igg negative"),
        },
        "oligoclonal_bands": {
            "positive": _p("present", "detected", "positive"),
            "negative": _p("absent", "not detected", "negative"),
        },
        "walking_aid": {
            "no_aid": _p("none", "no aid", "without aid", "unaided"),
            "unilateral": _p("unilateral", "one cane", "cane", "crutch", "one crutch"),
            "bilateral": _p("bilateral", "two canes", "two crutches", "walker", "rollator"),
        },
        "hand": {
            "dominant": _p("dominant"),
            "non_dominant": _p("non dominant", "nondominant"),
        },
        "drug": {
            "interferon_beta": _p("interferon", "ifn", "avonex", "rebif", "betaferon"),
            "glatiramer": _p("glatiramer", "copaxone"),
            "teriflunomide": _p("aubagio"),
            "dimethyl_fumarate": _p("dimethyl fumarate", "tecfidera", "dmf"),
            "diroximel_fumarate": _p("diroximel", "vumerity"),
            "fingolimod": _p("gilenya"),
            "cladribine": _p("mavenclad"),
            "natalizumab": _p("tysabri"),
            "ocrelizumab": _p("ocrevus"),
            "ofatumumab": _p("kesimpta"),
            "alemtuzumab": _p("lemtrada"),
            "cyclophosphamide": _p("cy", "endoxan"),
        },
    }
)
"""Per column, choice-label phrases for codes whose label is not simply the code's words
(brand names, abbreviations); the code's own words (``dimethyl_fumarate``: dimethyl,
fumarate) always match too."""
