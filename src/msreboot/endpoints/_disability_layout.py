"""Layout of the compiled disability scans: option codes, option slots, output columns.

The compiled scans (:mod:`._disability_kernel`, :mod:`._milestone_kernel`, with the checks
of :mod:`._disability_checks`) read integer codes, not strings. Each option's codes are
its allowed values numbered in the order of their ``Literal`` type in
:mod:`._disability_rules` (``EVENT_CODES["first_pira"]``), so a value added there gets a
code here and nowhere else. The scans read the constants below as compile-time globals;
:data:`FINGERPRINT` (a checksum of every constant and of the scans' source files) is
compiled into each scan module, so that :func:`._disability_cache.ensure_fresh` can drop a
cached compilation made with other codes or other helpers (numba's cache only notices
changes to a function's own file).
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np

from msreboot.endpoints._disability_rule_parts import UNDEFINED_REFERENCES, UNDEFINED_WORSENING
from msreboot.endpoints._disability_rules import (
    BASELINE_KINDS,
    EVENT_MODES,
    LOCAL_EXTREMA,
    PRECEDING_VISITS,
    SUB_THRESHOLDS,
    DisabilityDefinition,
)

__all__ = ["FINGERPRINT", "kernel_options"]


def _codes(options: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(options)}


# Option codes, from the allowed values of each rule field
EVENT_CODES = _codes(EVENT_MODES)
BASELINE_CODES = _codes(BASELINE_KINDS)
SUB_THRESHOLD_CODES = _codes(SUB_THRESHOLDS)
EXTREMA_CODES = _codes(LOCAL_EXTREMA)
PRECEDING_CODES = _codes(PRECEDING_VISITS)
UNDEFINED_CODES = _codes(UNDEFINED_WORSENING)
UNDEFINED_REFERENCE_CODES = _codes(UNDEFINED_REFERENCES)

MODE_FIRST_CDW = EVENT_CODES["first_cdw"]
MODE_FIRST_CDI = EVENT_CODES["first_cdi"]
MODE_FIRST = EVENT_CODES["first"]
MODE_FIRST_PIRA = EVENT_CODES["first_pira"]
MODE_FIRST_RAW = EVENT_CODES["first_raw"]
MODE_ALL = EVENT_CODES["all"]
BL_FIXED = BASELINE_CODES["fixed"]
BL_ROVING = BASELINE_CODES["roving"]
BL_ROVING_IMPR = BASELINE_CODES["roving_improvement"]
BL_ROVING_WORS = BASELINE_CODES["roving_worsening"]
BL_RUNNING_MIN = BASELINE_CODES["running_minimum"]
ST_NONE = SUB_THRESHOLD_CODES["none"]
ST_EVENT = SUB_THRESHOLD_CODES["event"]
ST_IMPROVEMENT = SUB_THRESHOLD_CODES["improvement"]
ST_WORSENING = SUB_THRESHOLD_CODES["worsening"]
EXT_NONE = EXTREMA_CODES["none"]
EXT_STRICT = EXTREMA_CODES["strict"]
EXT_ALL = EXTREMA_CODES["all"]
PREC_BASELINE = PRECEDING_CODES["baseline"]
PREC_LAST = PRECEDING_CODES["last"]
PREC_LAST_DELTA = PRECEDING_CODES["last_delta"]
UND_REBASELINE = UNDEFINED_CODES["rebaseline_only"]
UND_ALL = UNDEFINED_CODES["all"]
UND_END = UNDEFINED_CODES["end"]
UND_NEVER = UNDEFINED_CODES["never"]
UND_GENERAL_ONLY = len(UNDEFINED_CODES)  # the second pass of "end": undefined only
UREF_ANY = UNDEFINED_REFERENCE_CODES["any"]
UREF_NOT_LOWER = UNDEFINED_REFERENCE_CODES["not_lower"]
UREF_HIGHER = UNDEFINED_REFERENCE_CODES["higher"]

# Integer options (``ip``)
IP_MODE = 0
IP_BASELINE = 1
IP_PROCEED_EVENT = 2
IP_SUB_THRESHOLD = 3
IP_SKIP_EXTREMA = 4
IP_PREC_TYPE = 5
IP_CHECK_INTERMEDIATE = 6
IP_RAW_PIRA = 7
IP_RELAPSE_REBASELINE = 8
IP_NOT_LOWER = 9
IP_IMPUTE = 10
IP_USE_END_DATES = 11
IP_RELAPSE_IN_CONFIRMATION = 12
IP_MONOTONIC = 13
IP_UNCONFIRMED = 14
IP_LOWEST_CONFIRMED = 15
IP_DISTANCE_PREVIOUS = 16
IP_RESIDUAL_ONLY = 17
IP_SEPARATE = 18  # separate general and RAW/PIRA references (_disability_references)
IP_UNDEFINED = 19
IP_UNDEFINED_REFERENCE = 20
IP_BACKTRACK = 21
IP_MERGE = 22
IP_SUSTAINED_AFTER = 23
N_IP = 24

# Float options (``fp``); NaN stands for "no bound"
FP_BL_LAST, FP_BL_NEXT, FP_EV_LAST, FP_EV_NEXT, FP_CF_LAST, FP_CF_NEXT = 0, 1, 2, 3, 4, 5
FP_RAW_LAST, FP_RAW_NEXT, FP_SUST_DAYS, FP_IMPUTE_MAX_FU = 6, 7, 8, 9
FP_P0, FP_P1, FP_E0, FP_E1, FP_C0, FP_C1 = 10, 11, 12, 13, 14, 15
FP_REF_CONF_DAYS = 16
FP_MIN_DISTANCE = 17
FP_SUSTAINED_AFTER, FP_MERGE_REPETITION, FP_MERGE_MAX_DISTANCE = 18, 19, 20
N_FP = 21

# Event type codes (CDW: a worsening not classified, or "undefined" when classified;
# EV_PIRA_RELAPSE: "PIRA with relapse during confirmation", reported on request)
EV_CDI, EV_CDW, EV_RAW, EV_PIRA, EV_PIRA_RELAPSE = 1, 2, 3, 4, 5

# Columns of the integer event output
OUT_TYPE, OUT_CHANGE, OUT_BASELINE, OUT_LAST_DELTA, OUT_SUSTAINED_TO = 0, 1, 2, 3, 4
OUT_MERGED_TO = 5  # the last visit merged into the event (-1: no merging)
N_OUT_FIXED = 6  # then one confirmation column per period, then one PIRA column per period
# Columns of the value output: baseline, event, last-delta and merged event score, then
# one value per confirmation column
VAL_MERGED = 3
N_VAL_FIXED = 4

# Kernel status codes
STATUS_OK, STATUS_OVERFLOW, STATUS_UNCONFIRMED_TRUNCATED = 0, 1, 2

SCAN_MODULES = (
    "_disability_checks",
    "_disability_chunks",
    "_disability_kernel",
    "_disability_order",
    "_disability_references",
    "_milestone_kernel",
)
"""The compiled modules, which compile :data:`FINGERPRINT` in."""


def kernel_options(
    definition: DisabilityDefinition,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A definition as the scans read it: integer options, float options and the
    confirmation windows (lower and upper lag, days)."""
    d = definition
    ip = np.zeros(N_IP, dtype=np.int64)
    ip[IP_MODE] = EVENT_CODES[d.event]
    ip[IP_BASELINE] = BASELINE_CODES[d.baseline.kind]
    ip[IP_PROCEED_EVENT] = int(d.baseline.proceed_from == "event")
    ip[IP_SUB_THRESHOLD] = SUB_THRESHOLD_CODES[d.baseline.sub_threshold]
    ip[IP_SKIP_EXTREMA] = EXTREMA_CODES[d.baseline.skip_local_extrema]
    ip[IP_PREC_TYPE] = PRECEDING_CODES[d.pira.preceding_visit]
    ip[IP_CHECK_INTERMEDIATE] = int(d.confirmation.check_intermediate)
    ip[IP_RAW_PIRA] = int(d.raw_pira)
    ip[IP_RELAPSE_REBASELINE] = int(d.baseline.after_relapse)
    ip[IP_NOT_LOWER] = int(d.baseline.not_lower)
    ip[IP_IMPUTE] = int(d.impute_last_visit)
    ip[IP_USE_END_DATES] = int(d.pira.use_end_dates)
    ip[IP_RELAPSE_IN_CONFIRMATION] = int(d.pira.report_relapse_during_confirmation)
    ip[IP_MONOTONIC] = int(d.confirmation.monotonic)
    ip[IP_UNCONFIRMED] = int(d.unconfirmed_worsening)
    ip[IP_LOWEST_CONFIRMED] = int(d.baseline.post_event_reference == "lowest_confirmed")
    ip[IP_DISTANCE_PREVIOUS] = int(d.confirmation.minimal_distance_to == "previous")
    ip[IP_RESIDUAL_ONLY] = int(d.baseline.residual_only)
    ip[IP_SEPARATE] = int(d.baseline.raw_pira_reference == "separate")
    ip[IP_UNDEFINED] = UNDEFINED_CODES[d.pira.undefined_worsening]
    ip[IP_UNDEFINED_REFERENCE] = UNDEFINED_REFERENCE_CODES[d.pira.undefined_reference]
    ip[IP_BACKTRACK] = int(d.confirmation.minimal_distance_backtrack)
    ip[IP_MERGE] = int(d.merge is not None)
    ip[IP_SUSTAINED_AFTER] = int(d.confirmation.sustained_after_days is not None)
    fp = np.zeros(N_FP)
    rb = d.relapse_buffer
    fp[FP_BL_LAST], fp[FP_BL_NEXT] = rb.baseline
    fp[FP_EV_LAST], fp[FP_EV_NEXT] = rb.event
    fp[FP_CF_LAST], fp[FP_CF_NEXT] = rb.confirmation
    fp[FP_RAW_LAST], fp[FP_RAW_NEXT] = d.pira.raw_days
    fp[FP_SUST_DAYS] = d.confirmation.sustained_days
    fp[FP_IMPUTE_MAX_FU] = d.impute_within_days
    fp[FP_REF_CONF_DAYS] = d.baseline.reference_confirmation_days
    fp[FP_MIN_DISTANCE] = d.confirmation.minimal_distance_days
    fp[FP_SUSTAINED_AFTER] = d.confirmation.sustained_after_days or 0.0
    if d.merge is not None:
        fp[FP_MERGE_REPETITION] = d.merge.repetition_days
        fp[FP_MERGE_MAX_DISTANCE] = d.merge.max_distance_days
    for (lo_i, hi_i), pair in (
        ((FP_P0, FP_P1), d.pira.preceding),
        ((FP_E0, FP_E1), d.pira.event),
        ((FP_C0, FP_C1), d.pira.confirmation),
    ):
        fp[lo_i] = np.nan if pair[0] is None else pair[0]
        fp[hi_i] = np.nan if pair[1] is None else pair[1]
    lo, hi = d.confirmation.windows()
    return ip, fp, lo, hi


def _fingerprint() -> int:
    """A checksum of every constant the scans read and of the scans' source files."""
    constants = sorted(
        (name, value)
        for name, value in vars(sys.modules[__name__]).items()
        if name.isupper() and isinstance(value, int) and not isinstance(value, bool)
    )
    parts = [repr(constants).encode()]
    folder = Path(__file__).parent
    for stem in SCAN_MODULES:
        source = folder / f"{stem}.py"
        parts.append(source.read_bytes() if source.is_file() else stem.encode())
    return zlib.crc32(b"|".join(parts))


FINGERPRINT = _fingerprint()
