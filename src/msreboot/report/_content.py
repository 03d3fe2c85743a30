"""What a report section is made of: paragraphs, tables, figures and notes.

Section builders return these frozen blocks; the Jinja2 template alone turns them into
HTML (escaping every value), so no section writes markup by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from msreboot.report._figures import RenderedFigure

__all__ = [
    "Block",
    "FigureBlock",
    "KeyValues",
    "MethodsText",
    "Notes",
    "Paragraph",
    "ReportSection",
    "SectionContent",
    "Subheading",
    "TableBlock",
    "fmt_number",
    "fmt_pct",
    "fmt_pct_ci",
    "table_from_frame",
]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str
    kind: str = field(default="paragraph", init=False)


@dataclass(frozen=True)
class TableBlock:
    """A table of text cells.

    Attributes
    ----------
    caption
        Shown above the table.
    columns
        Header cells.
    rows
        Body rows, one text per column.
    css_class
        Extra class for the table (``"risk-table"`` for numbers at risk).
    notes
        Footnotes shown under the table.
    group_rows
        Row indices that start a group (drawn with a rule above them).
    """

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    css_class: str = ""
    notes: tuple[str, ...] = ()
    group_rows: tuple[int, ...] = ()
    kind: str = field(default="table", init=False)


@dataclass(frozen=True)
class FigureBlock:
    """An inline SVG figure with its caption and an optional table under it."""

    figure: RenderedFigure
    caption: str
    table: TableBlock | None = None
    kind: str = field(default="figure", init=False)

    @property
    def svg_file(self) -> str:
        return f"{self.figure.svg_path.parent.name}/{self.figure.svg_path.name}"

    @property
    def png_file(self) -> str:
        return f"{self.figure.png_path.parent.name}/{self.figure.png_path.name}"


@dataclass(frozen=True)
class Notes:
    """A list of short notes (validation warnings, skipped analyses), with a heading."""

    heading: str
    items: tuple[str, ...]
    tone: str = "info"  # "info" or "warning"
    kind: str = field(default="notes", init=False)


@dataclass(frozen=True)
class Subheading:
    """A heading inside a section."""

    text: str
    kind: str = field(default="subheading", init=False)


@dataclass(frozen=True)
class MethodsText:
    """Methods paragraphs, shown as prose."""

    paragraphs: tuple[str, ...]
    kind: str = field(default="methods", init=False)


@dataclass(frozen=True)
class KeyValues:
    """A list of labelled values (the provenance block)."""

    items: tuple[tuple[str, str], ...]
    kind: str = field(default="provenance", init=False)


Block = Paragraph | Subheading | TableBlock | FigureBlock | Notes | MethodsText | KeyValues


@dataclass(frozen=True)
class SectionContent:
    """One section as the template renders it."""

    id: str
    title: str
    blocks: tuple[Block, ...]
    intro: str = ""

    @property
    def figures(self) -> tuple[RenderedFigure, ...]:
        return tuple(b.figure for b in self.blocks if isinstance(b, FigureBlock))

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(i for b in self.blocks if isinstance(b, Notes) for i in b.items)


@dataclass(frozen=True)
class ReportSection:
    """One section of a written report.

    Attributes
    ----------
    id
        The section's HTML id (``cohort``, ``survival``, ``comparison``, ``trajectories``,
        ``transplant``, ``reconstitution``, ``evidence``, ``trial``, ``methods``).
    title
        Its heading.
    figures
        The SVG and PNG files of its figures.
    notes
        Notes shown in it (analyses skipped and why, validation warnings).
    """

    id: str
    title: str
    figures: tuple[Path, ...]
    notes: tuple[str, ...]


def fmt_number(value: Any, digits: int = 1) -> str:
    """A number with ``digits`` decimals; missing values as an en dash."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "\u2013"
    number = float(value)
    if np.isnan(number):
        return "\u2013"
    return f"{number:.{digits}f}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A proportion as a percentage."""
    text = fmt_number(value if value is None else 100 * float(value), digits)
    return text if text == "\u2013" else f"{text}%"


def fmt_pct_ci(estimate: Any, low: Any, high: Any, digits: int = 1) -> str:
    """``78.4% (69.2-85.1)``; missing parts as an en dash."""
    est = fmt_pct(estimate, digits)
    if est == "\u2013":
        return est
    lo, hi = fmt_number(100 * float(low), digits), fmt_number(100 * float(high), digits)
    if "\u2013" in (lo, hi):
        return est
    return f"{est} ({lo}\u2013{hi})"


def table_from_frame(
    frame: pd.DataFrame,
    caption: str,
    *,
    formats: dict[str, Callable[[Any], str]] | None = None,
    headers: dict[str, str] | None = None,
    notes: Sequence[str] = (),
    css_class: str = "",
) -> TableBlock:
    """A table block from a DataFrame: columns renamed by ``headers``, cells formatted by
    ``formats`` (default: ``str``, missing values as an en dash)."""
    formats = formats or {}
    headers = headers or {}

    def cell(column: str, value: Any) -> str:
        if column in formats:
            return formats[column](value)
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
            return "\u2013"
        return str(value)

    rows = tuple(
        tuple(cell(str(c), v) for c, v in zip(frame.columns, record, strict=True))
        for record in frame.itertuples(index=False, name=None)
    )
    return TableBlock(
        caption,
        tuple(headers.get(str(c), str(c)) for c in frame.columns),
        rows,
        css_class=css_class,
        notes=tuple(notes),
    )
