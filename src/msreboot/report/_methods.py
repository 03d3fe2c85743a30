"""The report's methods, written from the definitions used, and its provenance block."""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from msreboot._version import __version__
from msreboot.data import TABLE_SUFFIXES, Cohort, cohort_checksum
from msreboot.endpoints import DisabilityComponent, EndpointDefinition
from msreboot.report._content import KeyValues, MethodsText, SectionContent, Subheading

if TYPE_CHECKING:
    from msreboot.trials import TrialResult

__all__ = ["file_checksums", "methods_section"]

_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "lifelines",
    "statsmodels",
    "duckdb",
    "numba",
    "matplotlib",
    "jinja2",
    "tableone",
)


def file_checksums(source: Path) -> list[tuple[str, str]]:
    """``(file name, SHA-256)`` of a source file, or of every table file in a folder."""
    if source.is_dir():
        files = sorted(
            p for p in source.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
        )
    else:
        files = [source]
    out = []
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        out.append((path.name, digest.hexdigest()))
    return out


def _command_text(command: str | None, full_paths: bool) -> str:
    """The command line, with each path argument cut to its last part unless ``full_paths``."""
    import shlex

    if command is None:
        return "msreboot.report.build_report (Python)"
    if full_paths:
        return command
    try:
        parts = shlex.split(command)
    except ValueError:
        return command
    return shlex.join(Path(p).name if "/" in p or "\\" in p else p for p in parts)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _disability_methods(definitions: Sequence[EndpointDefinition]) -> list[str]:
    seen: dict[str, str] = {}
    for d in definitions:
        for component in d.components:
            if isinstance(component, DisabilityComponent):
                rule = component.engine_definition()
                seen.setdefault(rule.name, rule.methods_text())
    return list(seen.values())


def methods_section(
    definitions: Sequence[EndpointDefinition],
    cohort: Cohort,
    *,
    anchor_label: str,
    source: Path | None,
    command: str | None,
    trial: TrialResult | None,
    citations: Sequence[str],
    generated: datetime,
    full_paths: bool = False,
) -> SectionContent:
    """Methods paragraphs for every definition used, then the provenance block.

    The input is named by its file or folder name and the command's path arguments by
    their last part (paths often carry names or record numbers); ``full_paths`` prints
    them absolute.
    """
    paragraphs = [
        "Cohort tables were validated against the msreboot canonical schema (every problem "
        "located by table, row, patient and column) before any analysis.",
        f"Time zero for the endpoints is each patient's first {anchor_label} (day 0). "
        "Kaplan-Meier estimates use the Greenwood variance and pointwise log-log intervals; "
        "cumulative incidence with competing death uses the exact Aalen-Johansen estimator. "
        "These statistics are checked against R's survival and cmprsk packages.",
        *(d.methods_text() for d in definitions),
        *_disability_methods(definitions),
        "Disease course: EDSS assessments are shown in years from day 0; the mean trajectory "
        "averages each patient's mean EDSS within half-year bins, with a t-based 95% interval. "
        "Annualised relapse rates are relapses per patient-year before day 0 (from MS onset, "
        "or the first record) and after it (to the last record), with exact Poisson "
        "intervals. MRI activity counts Gd+ and new or enlarging T2 lesions per scan, with "
        "exact Poisson and Clopper-Pearson intervals.",
        "Transplant outcomes are those of each patient's first AHSCT course: transplant-"
        "related mortality is death from any cause within 100 days of reinfusion, with an "
        "exact (Clopper-Pearson) interval; engraftment and hospital days are summarised by "
        "median and quartiles; adverse events by phase, with exact intervals.",
        "Published evidence: proportions are pooled on the logit scale by random-effects "
        "meta-analysis (REML), with metafor's conventions (1/2 added to zero cells); the "
        "cohort is compared with the pool by z = (y - mu) / sqrt(v + SE(mu)^2 + tau^2).",
        "Table 1 was built with the tableone package; figures with matplotlib.",
    ]
    if trial is not None:
        spec = trial.spec
        paragraphs.append(
            f"Virtual trial: {spec.title or spec.name} ({spec.citation}); {spec.replicates} "
            f"replicates from seed {spec.seed} (one random stream per patient, spawned from "
            f"the seed), parameter set '{spec.parameters}'."
        )
    items: list[tuple[str, str]] = [
        ("Generated", generated.isoformat(timespec="seconds")),
        ("msreboot", __version__),
        ("Python", f"{platform.python_version()} ({sys.implementation.name})"),
        *((name, _version(name)) for name in _PACKAGES),
        ("Platform", platform.platform()),
        ("Command", _command_text(command, full_paths)),
    ]
    if source is not None:
        items.append(("Input", str(source.resolve()) if full_paths else source.name))
        items += [(f"SHA-256 {name}", digest) for name, digest in file_checksums(source)]
    items.append(("Cohort content SHA-256", cohort_checksum(cohort)))
    items.append(
        (
            "Dates",
            "whole days from each patient's origin"
            if cohort.time_unit == "day"
            else "calendar dates; partial dates "
            + {
                None: "refused",
                "first": "completed to the first day of the month or year (--partial-dates first)",
                "mid": "completed to the 15th of the month or 1 July (--partial-dates mid)",
            }[cohort.partial_dates],
        )
    )
    if trial is not None:
        spec = trial.spec
        items.append(
            (
                "Virtual trial",
                f"{spec.name}: seed {spec.seed}, {spec.replicates} replicates, "
                f"parameters '{spec.parameters}'",
            )
        )
    blocks = (
        MethodsText(tuple(paragraphs)),
        Subheading("References"),
        MethodsText(tuple(citations)),
        Subheading("Provenance"),
        KeyValues(tuple(items)),
    )
    return SectionContent("methods", "Methods and provenance", blocks)
