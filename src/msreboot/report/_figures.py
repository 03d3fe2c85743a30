"""Figures of the report: one house style, saved as SVG and PNG and inlined as SVG.

matplotlib is imported on use (Agg backend, never a window). Every figure goes through
:class:`FigureWriter`, which writes ``<name>.svg`` and ``<name>.png`` into the report's
figure folder, closes the figure and returns the SVG markup to inline, with its element
ids prefixed by the figure's name so that several figures can share one HTML page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msreboot.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PALETTE", "STYLE", "FigureWriter", "RenderedFigure", "new_figure", "plot_context"]

PALETTE = ("#1f4e79", "#c0504d", "#2e7d32", "#7f6000", "#6a3d9a", "#00838f", "#5d4037")
"""Colour-blind-distinguishable line colours, in order of use."""

STYLE: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: selectable, searchable, editable
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "lines.linewidth": 1.6,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
}
"""matplotlib settings shared by every report figure."""

_SVG_HEAD = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')
_REFERENCE = re.compile(r'url\(#([^)]+)\)|href="#([^"]+)"')


@dataclass(frozen=True)
class RenderedFigure:
    """A figure written to disk and ready to inline.

    Attributes
    ----------
    name
        File stem, unique within the report (``km_halt_ms_efs``).
    svg
        The SVG markup to inline (no XML prolog, no metadata, ids prefixed by ``name``).
    svg_path, png_path
        Where the figure was written, beside the report.
    """

    name: str
    svg: str
    svg_path: Path
    png_path: Path


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError(
            "the report needs matplotlib; install it with `pip install matplotlib`."
        ) from exc
    return matplotlib


@contextmanager
def plot_context(name: str) -> Iterator[None]:
    """The house style, with SVG ids hashed from ``name`` (reproducible output)."""
    mpl = _matplotlib()
    with mpl.rc_context({**STYLE, "svg.hashsalt": f"msreboot-{name}"}):
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A figure not attached to any GUI backend (no pyplot state, nothing to close)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")


def inline_svg(markup: str, prefix: str) -> str:
    """SVG markup ready to sit in an HTML page beside other figures.

    Drops the XML prolog, DOCTYPE and metadata, and prefixes every element id (and each
    reference to it) with ``prefix`` so that ids stay unique across figures.
    """
    body = _METADATA.sub("", _SVG_HEAD.sub("", markup, count=1))
    ids = set(_ID.findall(body))
    if not ids:
        return body

    def rename(match: re.Match[str]) -> str:
        return f'id="{prefix}-{match.group(1)}"'

    def refer(match: re.Match[str]) -> str:
        url, href = match.groups()
        if url is not None:
            return f"url(#{prefix}-{url})" if url in ids else match.group(0)
        return f'href="#{prefix}-{href}"' if href in ids else match.group(0)

    body = _ID.sub(rename, body)
    # one pass over the markup for every reference (a replace per id was quadratic)
    return _REFERENCE.sub(refer, body)


class FigureWriter:
    """Writes every figure of one report into one folder.

    Parameters
    ----------
    folder
        Where the SVG and PNG files go (a staging folder while the report is built).
    final_folder
        Where the files will be once the report is complete (paths reported to the user).
    dpi
        Resolution of the PNG files.
    """

    def __init__(self, folder: Path, final_folder: Path, *, dpi: int = 200) -> None:
        self.folder = folder
        self.final_folder = final_folder
        self.dpi = dpi
        self.written: list[RenderedFigure] = []

    def save(self, fig: Figure, name: str) -> RenderedFigure:
        """Write ``fig`` as ``name``.svg and ``name``.png and return its inline SVG."""
        if any(f.name == name for f in self.written):
            raise ValueError(f"figure names must be unique in a report; {name!r} appears twice.")
        mpl = _matplotlib()
        with mpl.rc_context({**STYLE, "svg.hashsalt": f"msreboot-{name}"}):
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "msreboot"})
            markup = buffer.getvalue()
            (self.folder / f"{name}.svg").write_text(markup, encoding="utf-8")
            fig.savefig(
                self.folder / f"{name}.png",
                format="png",
                dpi=self.dpi,
                metadata={"Software": "msreboot"},
            )
        rendered = RenderedFigure(
            name,
            inline_svg(markup, name),
            self.final_folder / f"{name}.svg",
            self.final_folder / f"{name}.png",
        )
        self.written.append(rendered)
        return rendered

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every file written, SVG then PNG per figure, in order."""
        return tuple(p for f in self.written for p in (f.svg_path, f.png_path))
