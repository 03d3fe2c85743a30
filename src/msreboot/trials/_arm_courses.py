"""The courses each arm of a trial spec gives its patients: a bundled or user protocol
(split by its regimens' shares), an explicit course, or a mixture of either, with the arm's
overrides applied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import pandas as pd

from msreboot.simulate import AHSCTCourse, DMTCourse, DMTDrug, MSCCourse, Treatment
from msreboot.trials._spec_errors import closest, unknown_keys_message

if TYPE_CHECKING:
    from msreboot.trials._spec import ArmSpec

__all__ = ["course_of", "protocol_rows", "split_counts", "treatments_of_arm"]

_COURSES: dict[str, type[AHSCTCourse] | type[DMTCourse] | type[MSCCourse]] = {
    "ahsct": AHSCTCourse,
    "dmt": DMTCourse,
    "msc": MSCCourse,
}
# Treatments-table column names of the MSC fields (protocol rows use them).
_SCHEMA_NAMES = {
    "msc_source": "source",
    "msc_route": "route",
    "msc_dose_1e6_per_kg": "dose_1e6_per_kg",
    "msc_infusions": "infusions",
    "msc_infusion_interval_days": "interval_days",
    "msc_pretreated": "pretreated",
}


def _course(kind: str, fields: Mapping[str, Any], label: str | None) -> Treatment:
    """A course of ``kind`` from its fields (course names or treatments-table names);
    missing values and fields the course does not have are left out."""
    if kind not in _COURSES:
        raise ValueError(f"treatment kind must be ahsct, dmt or msc; got {kind!r}")
    course = _COURSES[kind]
    accepted = {f.name for f in dataclass_fields(course)} - {"protocol"}
    args = {}
    for key, value in fields.items():
        name = _SCHEMA_NAMES.get(key, key)
        if name in accepted and value is not None and not pd.isna(value):
            args[name] = value.item() if isinstance(value, np.generic) else value
    return course(**args, protocol=label)


def treatments_of_arm(arm: ArmSpec) -> list[tuple[int, Treatment]]:
    """The courses of an arm with their patient counts (a protocol mixture is split by
    its shares, largest remainders first), with the arm's overrides applied."""
    courses = _courses(arm)
    if not arm.overrides:
        return courses
    try:
        return [(n, replace(c, **arm.overrides) if c is not None else c) for n, c in courses]
    except (TypeError, ValueError) as error:
        raise ValueError(f"arm {arm.name!r}: overrides: {error}") from None


def _courses(arm: ArmSpec) -> list[tuple[int, Treatment]]:
    if arm.mixture:
        return _mixture(arm)
    if arm.protocol is None and arm.treatment is None:
        return [(arm.n, None)]
    if arm.treatment is not None:
        return [(arm.n, course_of(arm.treatment, arm.name, "treatment"))]
    rows = protocol_rows(str(arm.protocol), arm.protocols_file, arm.name)
    out = []
    for count, (_, row) in zip(split_counts(arm.n, rows["share"]), rows.iterrows(), strict=True):
        if count:
            fields = {str(k): v for k, v in row.items()}
            out.append((int(count), _course(str(row["kind"]), fields, arm.protocol)))
    return out


def split_counts(n: int, shares: Any) -> list[int]:
    """``n`` patients split by ``shares`` (normalised), largest remainders first."""
    weights = np.asarray(shares, dtype=float)
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return [int(c) for c in counts]


def course_of(fields: Mapping[str, Any], label: str, key: str) -> Treatment:
    try:
        return _course(str(fields.get("kind")), dict(fields), label)
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(f"{key}: {error}") from None


def protocol_rows(name: str, protocols_file: str | None, arm: str) -> pd.DataFrame:
    """A protocol's treatment rows: bundled, or from the user's catalogue file."""
    from msreboot.protocols import load_protocols

    try:
        catalogue = load_protocols(protocols_file)
    except (ValueError, FileNotFoundError) as error:
        raise ValueError(f"protocols_file: {error}") from None
    names = list(catalogue.protocols)
    if name not in catalogue.protocols:
        if name in get_args(DMTDrug):
            raise ValueError(
                f"protocol must name a protocol; got {name!r}, which is a DMT. Write "
                f'treatment = {{kind = "dmt", drug = "{name}"}} instead of protocol.'
            )
        guess = closest(name, names)
        raise ValueError(
            f"protocol must be one of {', '.join(names)}"
            + (" (bundled and protocols_file)" if protocols_file else "")
            + f"; got {name!r}. "
            + (f"Did you mean {guess}? " if guess else "")
            + "A protocol of your own goes in protocols_file (see `msreboot protocols list`)."
        )
    return catalogue.protocols[name].treatment_fields()


def _mixture(arm: ArmSpec) -> list[tuple[int, Treatment]]:
    parts: list[tuple[float, list[tuple[float, Treatment]]]] = []
    for i, entry in enumerate(arm.mixture):
        key = f"mixture.{i}"
        unknown = sorted(set(entry) - {"share", "protocol", "treatment"})
        if unknown:
            raise ValueError(
                unknown_keys_message(
                    f"arm {arm.name} {key}", unknown, ("share", "protocol", "treatment")
                )
            )
        share = entry.get("share")
        if not isinstance(share, (int, float)) or not share > 0:
            raise ValueError(
                f"{key}.share must be a number > 0; got {share!r}. Give each part's share."
            )
        if ("protocol" in entry) == ("treatment" in entry):
            raise ValueError(
                f"{key}: each mixture part must have one of protocol or treatment; got "
                f"{'both' if 'protocol' in entry else 'neither'}. Keep one."
            )
        if "treatment" in entry:
            parts.append(
                (
                    float(share),
                    [(1.0, course_of(entry["treatment"], arm.name, f"{key}.treatment"))],
                )
            )
            continue
        name = str(entry["protocol"])
        rows = protocol_rows(name, arm.protocols_file, arm.name)
        weights = rows["share"].to_numpy(dtype=float)
        courses = [
            (float(w), _course(str(row["kind"]), {str(k): v for k, v in row.items()}, name))
            for w, (_, row) in zip(weights / weights.sum(), rows.iterrows(), strict=True)
        ]
        parts.append((float(share), courses))
    total = sum(share for share, _ in parts)
    flat = [(share / total * w, c) for share, courses in parts for w, c in courses]
    counts = split_counts(arm.n, [w for w, _ in flat])
    return [(n, c) for n, (_, c) in zip(counts, flat, strict=True) if n]
