"""One self-contained HTML report of a cohort: every section, figure and table in one file.

:func:`build_report` computes the results with :mod:`msreboot.endpoints` and
:mod:`msreboot.evidence`, draws the figures (inline SVG in the page, and SVG and PNG files
beside it), renders the Jinja2 template and writes the page atomically. The page loads
nothing from anywhere: styles are inline, figures are inline SVG, there are no scripts.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from msreboot._version import __version__
from msreboot.data import atomic_write_text, replace_directory
from msreboot.report._content import ReportSection, SectionContent
from msreboot.report._figures import FigureWriter
from msreboot.report._methods import methods_section

if TYPE_CHECKING:
    from msreboot.analysis import CohortAnalysis
    from msreboot.endpoints import EndpointResults

__all__ = ["Progress", "Report", "build_report"]

Progress = Callable[[int, int, str], None]
"""A progress callback: ``(steps done, steps in all, what runs next)``."""

_ANCHOR_LABELS = {"ahsct": "AHSCT", "msc": "MSC", "dmt": "DMT"}


@dataclass(frozen=True)
class Report:
    """A written report.

    Attributes
    ----------
    path
        The HTML file.
    title
        Its title.
    sections
        Its sections in order (id, title, figure files, notes).
    figures
        Every figure file written beside it (SVG and PNG), in order.
    generated
        When it was written (UTC).
    endpoints
        The endpoint estimates it shows (``None`` when none could be estimated).
    """

    path: Path
    title: str
    sections: tuple[ReportSection, ...]
    figures: tuple[Path, ...]
    generated: datetime
    endpoints: EndpointResults | None = field(default=None, repr=False)

    @property
    def figure_folder(self) -> Path:
        """The folder holding the separate SVG and PNG files."""
        return figure_folder(self.path)

    def to_frame(self) -> pd.DataFrame:
        """One row per section: ``id``, ``title``, ``figures`` (files), ``notes``."""
        return pd.DataFrame(
            [
                {"id": s.id, "title": s.title, "figures": len(s.figures), "notes": len(s.notes)}
                for s in self.sections
            ]
        )

    def summary(self) -> str:
        lines = [
            f"{self.title}: {self.path}",
            f"  {len(self.sections)} sections, {len(self.figures) // 2} figures "
            f"(SVG and PNG in {self.figure_folder})",
        ]
        for s in self.sections:
            lines.append(f"  - {s.title} (#{s.id}): {len(s.figures) // 2} figure(s)")
            lines += [f"      note: {n}" for n in s.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.summary())}</pre>"


def figure_folder(path: Path) -> Path:
    """Where the figure files of the report ``path`` go: ``<stem>_files`` beside it."""
    return path.with_name(f"{path.stem}_files")


def _check_out(out: str | Path) -> Path:
    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"out must be an .html file; got {path.name!r}. Try report.html.")
    if path.exists() and path.is_dir():
        raise ValueError(f"out must be a file; got the folder {path}.")
    return path


def _render(title: str, subtitle: str, sections: Sequence[SectionContent], footer: str) -> str:
    from jinja2 import Environment, StrictUndefined

    folder = resources.files("msreboot.report") / "templates"
    env = Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True)
    template = env.from_string((folder / "report.html.j2").read_text(encoding="utf-8"))
    return template.render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        footer=footer,
        version=__version__,
        css=(folder / "report.css").read_text(encoding="utf-8"),
    )


def build_report(
    analysis: CohortAnalysis,
    *,
    out: str | Path,
    title: str = "Cohort report",
    source: str | Path | None = None,
    command: str | None = None,
    progress: Progress | None = None,
    full_paths: bool = False,
) -> Report:
    """Write a self-contained HTML report of an analysed cohort, with its figures beside it.

    Parameters
    ----------
    analysis
        The cohort's analysis (:func:`~msreboot.analysis.analyse_cohort`), with its virtual
        trial when one was run; the report computes nothing itself.
    out
        The HTML file to write (``.html``). The figures go to ``<stem>_files/`` beside it
        as SVG and PNG files.
    title
        The report's title.
    source
        The file or folder the cohort was read from: its files' SHA-256 checksums go in the
        provenance block.
    command
        The command line that asked for the report (provenance).
    progress
        Called before each step with ``(done, total, description)``.
    full_paths
        Print the input and the command's paths in full in the provenance block; by
        default only their last part (file or folder name) is shown.

    Returns
    -------
    Report

    Raises
    ------
    ValueError
        A bad argument (``out`` not ``.html``, ``source`` missing). Nothing is written then,
        and an error while building leaves earlier files as they were.

    Notes
    -----
    The page makes no network request: CSS is inline, figures are inline SVG, there is no
    script and no external font. Sections: cohort description (Table 1 by treatment group,
    follow-up, completeness, validation warnings), time-to-event endpoints (Kaplan-Meier
    figures with numbers at risk, landmark estimates), the comparison of treatment groups
    when there are several (the emulated trial of the analysis: balance, love plot, curves
    per arm, hazard ratios, relapse-rate ratio), disease course (EDSS trajectories,
    relapse rates, MRI activity), transplant outcomes, immune reconstitution (blood counts
    by months since AHSCT, or a note that there are none), the other measures after AHSCT
    (timed 25-foot walk, nine-hole peg test, SDMT, serum NfL, MRI volumes, questionnaires;
    or a note that there are none), published evidence, the virtual
    trial when there is one, and methods with provenance.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from msreboot.analysis import analyse_cohort
    >>> from msreboot.datasets import load_example
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> analysis = analyse_cohort(load_example(), definitions=["halt_ms_efs"])
    >>> report = build_report(analysis, out=out)
    >>> [s.id for s in report.sections]  # doctest: +NORMALIZE_WHITESPACE
    ['cohort', 'survival', 'comparison', 'trajectories', 'transplant', 'reconstitution',
     'measures', 'evidence', 'methods']
    """
    from msreboot.report._cohort import cohort_section
    from msreboot.report._comparison import comparison_section
    from msreboot.report._evidence import evidence_section
    from msreboot.report._measures import measures_section
    from msreboot.report._reconstitution import reconstitution_section
    from msreboot.report._survival import survival_section
    from msreboot.report._trajectories import trajectories_section
    from msreboot.report._transplant import transplant_section
    from msreboot.report._trial import trial_section

    path = _check_out(out)
    source_path = Path(source) if source is not None else None
    if source_path is not None and not source_path.exists():
        raise ValueError(f"source must be an existing file or folder; got {source_path}.")
    trial = analysis.trial
    compare = analysis.emulation is not None or len(analysis.description.group_counts()) > 1
    anchor_label = _ANCHOR_LABELS.get(analysis.anchor, analysis.anchor)
    generated = datetime.now(UTC)
    steps = [
        "describing the cohort",
        "drawing the endpoints",
        *(["comparing the treatment groups"] if compare else []),
        "drawing the disease course",
        "transplant outcomes",
        "immune reconstitution",
        "other measures after AHSCT",
        "setting the cohort beside the evidence",
        *(["the virtual trial"] if trial is not None else []),
        "writing methods and provenance",
        f"writing {path.name}",
    ]
    step = iter(range(len(steps)))

    def advance() -> None:
        i = next(step)
        if progress is not None:
            progress(i, len(steps), steps[i])

    final = figure_folder(path)
    with replace_directory(final) as staging:
        writer = FigureWriter(staging, final)
        advance()
        sections = [cohort_section(analysis.description, analysis.records)]
        advance()
        sections.append(
            survival_section(
                analysis.endpoints,
                writer,
                anchor_label=anchor_label,
                x_max=analysis.x_max_years,
                skipped=list(analysis.skipped),
                comparisons=analysis.comparisons,
                by=analysis.by,
            )
        )
        if compare:
            advance()
            sections.append(
                comparison_section(
                    analysis.emulation,
                    analysis.emulation_note,
                    writer,
                    x_max=analysis.x_max_years,
                )
            )
        advance()
        sections.append(
            trajectories_section(
                analysis.course, writer, anchor_label=anchor_label, x_max=analysis.x_max_years
            )
        )
        advance()
        sections.append(
            transplant_section(
                analysis.transplant,
                analysis.trm,
                analysis.transplant_note,
                writer,
                records=analysis.records,
            )
        )
        advance()
        sections.append(reconstitution_section(analysis.reconstitution, writer))
        advance()
        sections.append(measures_section(analysis.measures, writer))
        advance()
        sections.append(evidence_section(analysis.evidence, writer))
        if trial is not None:
            advance()
            sections.append(trial_section(trial, writer))
        advance()
        sections.append(
            methods_section(
                analysis.definitions,
                analysis.cohort,
                anchor_label=anchor_label,
                source=source_path,
                command=command,
                trial=trial,
                citations=analysis.citations,
                generated=generated,
                full_paths=full_paths,
            )
        )
        advance()
        stamp = generated.strftime("%Y-%m-%d %H:%M UTC")
        page = _render(
            title,
            f"{analysis.cohort.n_patients} patients \u00b7 generated {stamp} \u00b7 "
            f"msreboot {__version__}",
            sections,
            f"Generated by msreboot {__version__} on {stamp}. Research software: the results "
            "describe the data supplied and are not medical advice.",
        )
    atomic_write_text(path, page)
    if progress is not None:
        progress(len(steps), len(steps), "done")
    endpoints: EndpointResults | None = analysis.endpoints
    return Report(
        path,
        title,
        tuple(
            ReportSection(
                s.id,
                s.title,
                tuple(p for f in s.figures for p in (f.svg_path, f.png_path)),
                s.notes,
            )
            for s in sections
        ),
        writer.paths,
        generated,
        endpoints,
    )
