"""Command-line piece: ``msreboot endpoints``.

The main CLI loads the cohort and calls :func:`run_endpoints`; the estimates go to
stdout, notes to stderr. Every argument problem is a ``ValueError`` with a message the CLI
prints as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from msreboot.data import Cohort, write_frame
from msreboot.endpoints import (
    EndpointDefinition,
    EndpointResults,
    estimate_endpoints,
    load_endpoint_definitions,
)

__all__ = ["choose_definitions", "parse_times", "run_endpoints"]


def parse_times(text: str) -> tuple[float, ...]:
    """Landmark years from ``"2,3,4,5"``."""
    try:
        times = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ValueError(
            f"--times must be years separated by commas, e.g. 2,3,4,5; got {text!r}."
        ) from None
    if not times or any(not t >= 0 for t in times):
        raise ValueError(f"--times must be years >= 0 separated by commas; got {text!r}.")
    return times


def choose_definitions(
    names: Sequence[str], definitions_file: Path | None
) -> list[EndpointDefinition]:
    """The definitions asked for: presets and those of a file, by name; none named: every
    definition of the file, or every preset without a file."""
    available = EndpointDefinition.presets()
    from_file: dict[str, EndpointDefinition] = {}
    if definitions_file is not None:
        from_file = load_endpoint_definitions(definitions_file)
        available = {**available, **from_file}
    if not names:
        return list((from_file or available).values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"--endpoint must name a preset or a definition of --definitions; got "
            f"{', '.join(unknown)}. Known: {', '.join(available)}."
        )
    return [available[n] for n in names]


def run_endpoints(
    cohort: Cohort,
    definitions: Sequence[EndpointDefinition],
    *,
    times_years: Sequence[float],
    anchor: str,
    by: str | None,
    out_file: Path | None,
) -> EndpointResults:
    """Estimate the endpoints and write the tidy table when asked."""
    if out_file is not None and out_file.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--out must end in .csv or .parquet; got {out_file.name}.")
    results = estimate_endpoints(
        cohort, list(definitions), times_years=times_years, anchor=anchor, by=by
    )
    if out_file is not None:
        write_frame(results.to_frame(), out_file)
    return results
