"""A one-page benefit-and-risk sheet for one person, rendered from a projection.

The sheet computes nothing: every number comes from a
:class:`~msreboot.analysis.PatientProjection`. It is one self-contained HTML file (inline
CSS and SVG, no scripts, no network requests) that prints on A4 with the disclaimer on
every page.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from msreboot.data import atomic_write_text

if TYPE_CHECKING:
    from msreboot.analysis import PatientProjection

__all__ = ["patient_sheet_html", "write_patient_sheet"]

_AHSCT_COLOURS = ("#b2182b", "#d6604d", "#f4a582")
_DMT_COLOURS = ("#2166ac", "#4393c3", "#5aae61", "#1b7837", "#762a83", "#9970ab", "#542788")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
  max-width: 1000px; margin: 0 auto; padding: 1rem 1.5rem 4rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; } h2 { font-size: 1.15rem; margin: 1.2rem 0 0.4rem;
  border-bottom: 1px solid #ccc; }
.disclaimer { background: #fff4d6; border: 1px solid #e0b040; padding: 0.5rem 0.8rem;
  font-weight: 600; }
.footer { margin-top: 1.5rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.3rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.icons { display: flex; flex-wrap: wrap; gap: 1rem; }
.icons figure { margin: 0; width: 150px; font-size: 0.8rem; }
.flag { color: #8a1c1c; } .note { color: #555; font-size: 0.85rem; }
.muted { color: #666; font-size: 0.85rem; }
@media print {
  body { max-width: none; padding: 0 0 2.5rem; font-size: 10pt; }
  .disclaimer.footer { position: fixed; bottom: 0; left: 0; right: 0; margin: 0; }
  h2 { break-after: avoid; } figure, table { break-inside: avoid; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(value: float) -> str:
    return "" if math.isnan(value) else f"{100 * value:.0f}%"


def _colours(projection: PatientProjection) -> dict[str, str]:
    out: dict[str, str] = {}
    ahsct = [o for o in projection.options if o.kind == "ahsct"]
    other = [o for o in projection.options if o.kind != "ahsct"]
    for i, option in enumerate(ahsct):
        out[option.name] = _AHSCT_COLOURS[i % len(_AHSCT_COLOURS)]
    for i, option in enumerate(other):
        out[option.name] = _DMT_COLOURS[i % len(_DMT_COLOURS)]
    return out


def _icon_array(count: int, colour: str, label: str) -> str:
    """100 people: ``count`` filled, the others outlined (10 x 10)."""
    cells = []
    for i in range(100):
        x, y = 7 + (i % 10) * 14, 7 + (i // 10) * 14
        fill = colour if i < count else "#ffffff"
        cells.append(
            f'<circle cx="{x}" cy="{y}" r="5.5" fill="{fill}" stroke="{colour}" stroke-width="1"/>'
        )
    return (
        f'<svg viewBox="0 0 140 140" width="140" height="140" role="img" '
        f'aria-label="{_e(label)}">' + "".join(cells) + "</svg>"
    )


def _curves_svg(projection: PatientProjection, colours: dict[str, str]) -> str:
    curves = projection.curves
    width, height, left, bottom, top, right = 640, 300, 48, 36, 12, 12
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(years: float) -> float:
        return left + plot_w * years / 10.0

    def py(p: float) -> float:
        return top + plot_h * (1.0 - p)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-label="Probability of staying free of confirmed worsening, by option">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = py(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{100 * tick:.0f}%</text>"
        )
    for year in range(0, 11, 2):
        x = px(year)
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="11" '
            f'text-anchor="middle">{year}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 4}" font-size="11" '
        'text-anchor="middle">years from the start of the option</text>'
    )
    for option in projection.options:
        curve = curves[curves["option"] == option.name].sort_values("years")
        if curve.empty:
            continue
        colour = colours[option.name]
        upper = " ".join(
            f"{px(t):.1f},{py(v):.1f}"
            for t, v in zip(curve["years"], curve["cri_high"], strict=True)
        )
        lower = " ".join(
            f"{px(t):.1f},{py(v):.1f}"
            for t, v in zip(curve["years"][::-1], curve["cri_low"][::-1], strict=True)
        )
        parts.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.10"/>')
        line = " ".join(
            f"{px(t):.1f},{py(v):.1f}"
            for t, v in zip(curve["years"], curve["estimate"], strict=True)
        )
        dash = "" if option.kind == "ahsct" else ' stroke-dasharray="5 3"'
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}>'
            f"<title>{_e(option.label)}</title></polyline>"
        )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/></svg>'
    )
    legend = "".join(
        f'<span style="display:inline-block;margin-right:1rem"><span style="display:inline-block;'
        f'width:18px;height:3px;background:{colours[o.name]};vertical-align:middle"></span> '
        f"{_e(o.label)}</span>"
        for o in projection.options
    )
    return "".join(parts) + f'<div class="muted">{legend}</div>'


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _options_table(projection: PatientProjection) -> str:
    o = projection.outcomes
    rows: list[dict[str, Any]] = []
    for option in projection.options:
        for outcome in dict.fromkeys(o["outcome"]):
            cells: dict[str, Any] = {"option": option.label, "outcome": outcome.replace("_", " ")}
            part = o[(o["option"] == option.name) & (o["outcome"] == outcome)]
            for rec in part.to_dict("records"):
                if outcome == "expected_edss":
                    text = f"{rec['estimate']:.1f} ({rec['cri_low']:.1f}-{rec['cri_high']:.1f})"
                else:
                    text = (
                        f"{100 * rec['estimate']:.0f}% "
                        f"({100 * rec['cri_low']:.0f}-{100 * rec['cri_high']:.0f})"
                    )
                cells[f"{rec['years']:g} years"] = text
            rows.append(cells)
    return _table(pd.DataFrame(rows))


def _risks_table(projection: PatientProjection) -> str:
    risks = projection.risks.copy()
    risks["value"] = [
        "not available"
        if math.isnan(est)
        else f"{100 * est:.1f}% ({100 * low:.1f}-{100 * high:.1f})"
        for est, low, high in zip(risks["estimate"], risks["low"], risks["high"], strict=True)
    ]
    labels = {o.name: o.label for o in projection.options}
    risks["option"] = risks["option"].map(labels)
    return _table(risks[["option", "risk", "source", "value", "interval", "note"]])


def patient_sheet_html(projection: PatientProjection) -> str:
    """The benefit-and-risk sheet of ``projection`` as one self-contained HTML page.

    Parameters
    ----------
    projection
        The result of :func:`msreboot.analysis.project_patient`.

    Returns
    -------
    str
        HTML with inline CSS and SVG: the disclaimer (at the top, and as a footer on every
        printed page), the profile, a plain-language summary written from the numbers,
        icon arrays (100 people like this person, free of confirmed worsening at 10
        years, per option), the curves of staying free of worsening, the options table,
        the risks, eligibility with its reasons, flags, notes and the sources.
    """
    p = projection
    colours = _colours(p)
    disclaimer = f'<p class="disclaimer">{_e(p.disclaimer)}</p>'
    body = [
        disclaimer,
        "<h1>Benefit and risk: information for a discussion</h1>",
        f"<p>{_e(p.profile.summary())}</p>",
        "<h2>In plain words</h2><ul>",
        *(f"<li>{_e(line)}</li>" for line in p.plain_language()),
        "</ul>",
    ]
    if p.flags:
        body.append("<h2>Where the data do not describe people like you</h2><ul>")
        body += [f'<li class="flag">{_e(flag)}</li>' for flag in p.flags]
        body.append("</ul>")
    if not p.outcomes.empty:
        horizon = max(p.outcomes["years"])
        body.append(
            f"<h2>100 people like you: free of confirmed worsening after {horizon:g} years</h2>"
            '<div class="icons">'
        )
        for option in p.options:
            value = p.value(option.name, "no_confirmed_worsening", horizon)
            if math.isnan(value):
                continue
            count = round(100 * value)
            body.append(
                "<figure>"
                + _icon_array(count, colours[option.name], f"{count} of 100: {option.label}")
                + f"<figcaption><b>{count} of 100</b> {_e(option.label)}</figcaption></figure>"
            )
        body.append("</div>")
        if p.trm is not None:
            per100 = 100 * p.trm.probability
            body.append(
                f'<p class="muted">Transplant-related death in the published studies: about '
                f"{per100:.1f} in 100 (95% CI {100 * p.trm.ci_low:.1f} to "
                f"{100 * p.trm.ci_high:.1f}); these people are not among the ones shown "
                "free of worsening.</p>"
            )
        body.append("<h2>Staying free of confirmed worsening</h2>")
        body.append(_curves_svg(p, colours))
        body.append(
            '<p class="muted">Solid lines: AHSCT; dashed: DMT. Bands: 90% posterior interval '
            "(how uncertain the simulator's parameters are).</p>"
        )
        body.append("<h2>Options compared (estimate, 90% posterior interval)</h2>")
        body.append(_options_table(p))
        body.append(
            f'<p class="muted">{p.settings.get("draws")} parameter draws from the calibration '
            f"posterior x {p.settings.get('patients_per_draw')} virtual patients each; the "
            "Monte Carlo error of each estimate is in the projection's table (mc_se).</p>"
        )
    else:
        body.append(f"<h2>Options</h2><p>{_e(p.simulation_unknown)}</p>")
    body.append("<h2>Risks</h2>")
    body.append(_risks_table(p))
    body.append("<h2>Eligibility under published criteria</h2>")
    verdicts = p.eligibility.verdicts()[["title", "verdict", "not_met", "unknown"]]
    body.append(_table(verdicts))
    reasons = p.eligibility.to_frame()
    reasons = reasons[reasons["status"] != "met"][["criteria", "label", "status", "reason"]]
    if not reasons.empty:
        body.append("<p class='muted'>Criteria not met or unknown, with the reasons:</p>")
        body.append(_table(reasons))
    if p.notes:
        body.append("<h2>Notes</h2><ul>")
        body += [f'<li class="note">{_e(note)}</li>' for note in p.notes]
        body.append("</ul>")
    if p.trm is not None:
        similar = p.trm.studies[
            ["label", "events", "n", "edss", "edss_minus_person", "age", "age_minus_person"]
        ].rename(
            columns={
                "label": "TRM study",
                "edss": "median or mean EDSS",
                "edss_minus_person": "EDSS minus yours",
                "age": "median or mean age",
                "age_minus_person": "age minus yours",
            }
        )
        body.append("<h2>The TRM studies, beside you</h2>")
        body.append(_table(similar.astype(object).where(similar.notna(), "not reported")))
    body.append("<h2>Sources</h2><ol>")
    body += [
        f"<li>{_e(r['citation'])} <span class='muted'>({_e(r['kind'])}: {_e(r['key'])})</span></li>"
        for r in p.sources.to_dict("records")
    ]
    body.append("</ol>")
    body.append(f'<p class="disclaimer footer">{_e(p.disclaimer)}</p>')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Benefit and risk sheet</title>"
        f"<style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


def write_patient_sheet(projection: PatientProjection, path: str | Path) -> Path:
    """Write :func:`patient_sheet_html` to ``path`` (atomically) and return the path."""
    target = Path(path)
    atomic_write_text(target, patient_sheet_html(projection))
    return target
