"""The report's comparison section: an emulated trial of AHSCT against a DMT, rendered.

Table 1 by arm with standardised mean differences before and after adjustment, a love
plot, the propensity overlap, Kaplan-Meier curves per arm on one axis with the numbers at
risk per arm, hazard ratios crude and adjusted, cumulative incidence of the event and of
competing death, the relapse-rate ratio, the proportions with confirmed disability
improvement and NEDA at a landmark, and the methods written from the spec. Everything
shown was computed by :func:`msreboot.analysis.emulate_trial`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from msreboot.report._content import (
    Block,
    FigureBlock,
    MethodsText,
    Notes,
    Paragraph,
    SectionContent,
    Subheading,
    TableBlock,
    fmt_number,
)
from msreboot.report._figures import PALETTE, FigureWriter, new_figure, plot_context

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from msreboot.analysis import EmulatedTrial, EndpointContrast

__all__ = ["comparison_section"]


def _hr(estimate: float, low: float, high: float) -> str:
    if not np.isfinite(estimate):
        return "\u2013"
    return f"{estimate:.2f} ({low:.2f}\u2013{high:.2f})"


def _p(value: float) -> str:
    if not np.isfinite(value):
        return "\u2013"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _balance_table(trial: EmulatedTrial) -> TableBlock:
    b = trial.balance
    treated, control = trial.arms

    def mean(value: float, binary: bool) -> str:
        return fmt_number(100 * value, 1) + "%" if binary else fmt_number(value, 2)

    rows = tuple(
        (
            term,
            mean(b.mean_treated_before[i], bool(b.binary[i])),
            mean(b.mean_control_before[i], bool(b.binary[i])),
            fmt_number(b.smd_before[i], 3),
            mean(b.mean_treated_after[i], bool(b.binary[i])),
            mean(b.mean_control_after[i], bool(b.binary[i])),
            fmt_number(b.smd_after[i], 3),
            "" if b.binary[i] else fmt_number(b.var_ratio_after[i], 2),
        )
        for i, term in enumerate(b.terms)
    )
    how = "matched" if trial.matching is not None else "weighted"
    return TableBlock(
        "Table 1 by arm: covariates at time zero, before and after adjustment",
        (
            "Covariate",
            f"{treated} before",
            f"{control} before",
            "SMD before",
            f"{treated} {how}",
            f"{control} {how}",
            "SMD after",
            "Variance ratio after",
        ),
        rows,
        notes=(
            f"Means (binary terms: %) of {b.n_treated} {treated} and {b.n_control} {control} "
            f"entries; effective sample sizes after adjustment {b.ess_treated:.1f} and "
            f"{b.ess_control:.1f}. SMD: standardised mean difference "
            f"({'treated' if b.estimand == 'att' else 'pooled'} SD); balance is judged at "
            f"|SMD| <= {b.rule.max_abs_smd:g}.",
        ),
    )


def _love_figure(trial: EmulatedTrial) -> Figure:
    b = trial.balance
    fig = new_figure(6.4, 1.2 + 0.3 * len(b.terms))
    ax = fig.add_subplot()
    y = np.arange(len(b.terms))[::-1].astype(float)
    ax.plot(np.abs(b.smd_before), y, "o", color=PALETTE[1], label="Before adjustment")
    ax.plot(np.abs(b.smd_after), y, "s", color=PALETTE[0], label="After adjustment")
    ax.axvline(b.rule.max_abs_smd, color="#777777", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, list(b.terms))
    ax.set_xlim(0, max(0.3, float(np.nanmax(np.abs(b.smd_before))) * 1.1))
    ax.set_xlabel("Absolute standardised mean difference")
    ax.set_title("Covariate balance (love plot)", loc="left")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right")
    return fig


def _overlap_figure(trial: EmulatedTrial) -> Figure:
    data = trial.data
    treated, control = trial.arms
    fig = new_figure(6.4, 3.0)
    ax = fig.add_subplot()
    bins = np.linspace(0, 1, 26)
    t = data["treated"].to_numpy(dtype=bool)
    ps = data["ps"].to_numpy(dtype=float)
    h1, _ = np.histogram(ps[t], bins)
    h0, _ = np.histogram(ps[~t], bins)
    width = np.diff(bins)
    ax.bar(bins[:-1], h1, width=width, align="edge", color=PALETTE[0], alpha=0.8, label=treated)
    ax.bar(bins[:-1], -h0, width=width, align="edge", color=PALETTE[1], alpha=0.8, label=control)
    ax.axhline(0, color="#333333", linewidth=0.6)
    ax.yaxis.set_major_formatter(lambda v, _: f"{abs(v):.0f}")
    ax.set_xlabel(f"Propensity score (probability of {treated})")
    ax.set_ylabel("Entries")
    ax.set_title("Propensity score overlap", loc="left")
    ax.legend(loc="upper center", ncols=2)
    return fig


def _km_figure(trial: EmulatedTrial, contrast: EndpointContrast, x_max: float) -> Figure:
    import matplotlib.ticker as mticker

    arms = trial.arms
    ticks = np.arange(0.0, x_max + 0.5, 1.0)
    fig = new_figure(6.4, 4.8)
    grid = fig.add_gridspec(2, 1, height_ratios=[5.0, 1.0])
    ax = fig.add_subplot(grid[0])
    risk = fig.add_subplot(grid[1], sharex=ax)
    incidence = contrast.definition.measure == "cumulative_incidence"
    for i, arm in enumerate(arms):
        curve = contrast.curves.curves[arm]
        colour = PALETTE[i]
        times = np.concatenate([[0.0], np.asarray(curve.times, dtype=float)])
        value = np.concatenate([[1.0], np.asarray(curve.survival, dtype=float)])
        low = np.concatenate([[1.0], np.asarray(curve.ci_low, dtype=float)])
        high = np.concatenate([[1.0], np.asarray(curve.ci_high, dtype=float)])
        if incidence:  # 1 - Kaplan-Meier (deaths censored)
            value, low, high = 1 - value, 1 - high, 1 - low
        ax.fill_between(times, low, high, step="post", color=colour, alpha=0.14, linewidth=0)
        ax.step(times, value, where="post", color=colour, label=f"{arm} (n = {curve.n})")
        censored = np.asarray(curve.n_censored) > 0
        ax.plot(
            np.asarray(curve.times)[censored],
            value[1:][censored],
            linestyle="none",
            marker="|",
            markersize=6,
            color=colour,
        )
        at = curve.at(ticks, extend=True).n_at_risk
        for x, n in zip(ticks, at, strict=True):
            risk.text(x, 1 - i, str(int(n)), ha="center", va="center", fontsize=8, color=colour)
    ax.plot([], [], linestyle="none", marker="|", color="#333333", label="Censored")
    model = contrast.adjusted
    if model is not None:
        pct = f"{100 * trial.spec.conf_level:g}%"
        ax.text(
            0.98,
            0.96,
            f"Adjusted HR {_hr(model.hazard_ratio[0], model.ci_low[0], model.ci_high[0])}"
            f" [{pct} CI], p {_p(float(model.pvalue[0]))}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
    d = contrast.definition
    ax.set_xlim(0, x_max)
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylabel("Cumulative incidence (%)" if incidence else "Event-free probability (%)")
    ax.set_title(f"{d.title or d.name}: {arms[0]} vs {arms[1]}", loc="left")
    ax.legend(loc="upper left" if incidence else "lower left")
    ax.set_xticks(ticks)
    ax.set_xlabel("Years since time zero")
    risk.set_ylim(-0.5, 1.5)
    risk.set_yticks([1, 0], list(arms))
    risk.tick_params(axis="y", length=0, pad=12)
    risk.tick_params(axis="x", bottom=False, labelbottom=False)
    risk.set_title("Number at risk", loc="left", fontsize=8, fontweight="normal")
    risk.grid(False)
    for side in ("left", "top", "right", "bottom"):
        risk.spines[side].set_visible(False)
    return fig


def _incidence_figure(trial: EmulatedTrial, contrast: EndpointContrast, x_max: float) -> Figure:
    import matplotlib.ticker as mticker

    fig = new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    styles = {"event": "-", "death": "--"}
    d = contrast.definition
    names = {"event": d.title or d.name, "death": "Death without the event"}
    for cause, curves in (contrast.incidence or {}).items():
        for i, arm in enumerate(trial.arms):
            c = curves.curves[arm]
            times = np.concatenate([[0.0], np.asarray(c.times, dtype=float)])
            value = np.concatenate([[0.0], np.asarray(c.estimate, dtype=float)])
            ax.step(
                times,
                value,
                where="post",
                color=PALETTE[i],
                linestyle=styles[cause],
                label=f"{names[cause]}: {arm}",
            )
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, None)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylabel("Cumulative incidence (%)")
    ax.set_xlabel("Years since time zero")
    ax.set_title("Competing risks (weighted Aalen-Johansen)", loc="left")
    ax.legend(loc="upper left", fontsize=7)
    return fig


def _competing_note(trial: EmulatedTrial, contrast: EndpointContrast) -> str:
    parts = []
    if contrast.gray is not None:
        parts.append(f"Gray's test (crude) p {_p(float(contrast.gray.pvalue[0]))}")
    fg = contrast.fine_gray
    if fg is not None:
        hr = _hr(float(fg.hazard_ratio[0]), float(fg.ci_low[0]), float(fg.ci_high[0]))
        parts.append(
            f"Fine-Gray subdistribution HR {trial.arms[0]} vs {trial.arms[1]} (crude) {hr}"
        )
    return (" " + "; ".join(parts) + ".") if parts else ""


def _outcome_table(trial: EmulatedTrial) -> TableBlock:
    treated, control = trial.arms
    pct = f"{100 * trial.spec.conf_level:g}%"
    rows = tuple(
        (
            str(r["title"]),
            f"{r['events_treated']}/{r['entries_treated']}",
            f"{r['events_control']}/{r['entries_control']}",
            _hr(r["hr_crude"], r["hr_crude_ci_low"], r["hr_crude_ci_high"]),
            _p(r["hr_crude_p"]),
            _hr(r["hr_adjusted"], r["hr_adjusted_ci_low"], r["hr_adjusted_ci_high"]),
            _p(r["hr_adjusted_p"]),
            _p(r["ph_p"]),
            "\u2013"
            if not np.isfinite(r["rmst_difference_years"])
            else f"{r['rmst_difference_years']:.2f} ({r['rmst_ci_low']:.2f}\u2013"
            f"{r['rmst_ci_high']:.2f}) at {r['rmst_tau_years']:.1f} y",
        )
        for r in trial.outcomes.to_dict("records")
    )
    return TableBlock(
        f"Hazard ratios, {treated} vs {control} ({pct} CI)",
        (
            "Endpoint",
            f"Events/entries {treated}",
            f"Events/entries {control}",
            "HR crude",
            "p crude",
            "HR adjusted",
            "p adjusted",
            "PH test p",
            "RMST difference, years",
        ),
        rows,
        notes=(
            "Events and entries in the analysed (matched or weighted) sample. Crude: Cox "
            "model of the arm in every eligible entry; adjusted: in the matched or weighted "
            "sample, with cluster-robust (sandwich) variance. Deaths competing with an "
            "endpoint censor it (cause-specific hazards). PH test: scaled Schoenfeld "
            "residuals of the adjusted model (R cox.zph, KM time scale); a small p means the "
            "hazard ratio changes over time. RMST difference: restricted mean event-free "
            "time, treated minus control, from the weighted curves.",
        ),
    )


def _relapse_table(trial: EmulatedTrial) -> TableBlock | None:
    rates = trial.relapse_rate
    if rates is None:
        return None
    treated, control = trial.arms
    rows = tuple(
        (
            str(r["analysis"]),
            f"{r['rate_treated']:.3f} ({r['relapses_treated']} in {r['years_treated']:.0f} py)",
            f"{r['rate_control']:.3f} ({r['relapses_control']} in {r['years_control']:.0f} py)",
            _hr(r["rate_ratio"], r["ci_low"], r["ci_high"]),
            _p(r["p_value"]),
        )
        for r in rates.table.to_dict("records")
    )
    return TableBlock(
        "Annualised relapse rates after time zero",
        ("Analysis", f"Rate {treated}", f"Rate {control}", "Rate ratio (CI)", "p"),
        rows,
        notes=(f"{rates.variance}. Adjusted rates are weighted; py: patient-years.",),
    )


def _pct(estimate: float, low: float, high: float) -> str:
    if not np.isfinite(estimate):
        return "\u2013"
    return f"{100 * estimate:.1f}% ({100 * low:.1f}\u2013{100 * high:.1f})"


def _proportion_table(trial: EmulatedTrial) -> TableBlock | None:
    shares = trial.proportions
    if shares is None:
        return None
    treated, control = trial.arms
    rows = []
    for _, part in shares.table.groupby("outcome", sort=False):
        by = {str(r["arm"]): r for r in part.to_dict("records")}
        t, c, d = by[treated], by[control], by["difference"]
        diff = (
            "\u2013"
            if not np.isfinite(d["estimate"])
            else f"{100 * d['estimate']:+.1f} ({100 * d['ci_low']:+.1f} to "
            f"{100 * d['ci_high']:+.1f})"
        )
        rows.append(
            (
                str(t["title"]),
                f"{_pct(t['estimate'], t['ci_low'], t['ci_high'])}; "
                f"{t['with_outcome']}/{t['evaluable']}",
                f"{_pct(c['estimate'], c['ci_low'], c['ci_high'])}; "
                f"{c['with_outcome']}/{c['evaluable']}",
                diff,
                _p(d["p_value"]),
                f"{t['not_evaluable']} / {c['not_evaluable']}",
            )
        )
    pct = f"{100 * shares.conf_level:g}%"
    return TableBlock(
        f"Proportions at {shares.landmark_years:g} years (weighted, {pct} CI)",
        (
            "Outcome",
            treated,
            control,
            "Difference, points (CI)",
            "p",
            f"Not evaluable ({treated} / {control})",
        ),
        tuple(rows),
        notes=(
            f"{shares.variance}; Wald intervals. Counts (with the outcome / evaluable) are "
            "unweighted. An entry is evaluable when it had the event (a CDI; loss of NEDA) "
            "before the landmark or was followed to it; the others are left out.",
        ),
    )


def _flow_table(trial: EmulatedTrial) -> TableBlock:
    flow = trial.population.flow
    rows = tuple(
        (str(r["step"]), str(r["arm"]), str(r["patients"]), str(r["entries"]))
        for r in flow.to_dict("records")
    )
    counts = trial.arm_counts()
    extra = tuple(
        (
            "analysed (complete covariates, matched or weight > 0)",
            arm,
            "",
            str(counts[f"{arm} (analysed)"]),
        )
        for arm in trial.arms
    )
    return TableBlock("Entries at each step", ("Step", "Arm", "Patients", "Entries"), rows + extra)


def comparison_section(
    trial: EmulatedTrial | None, note: str, writer: FigureWriter, *, x_max: float
) -> SectionContent:
    """The emulated trial's balance, curves and effect estimates (or why there is none)."""
    if trial is None:
        return SectionContent(
            "comparison",
            "Comparison",
            (Notes("No treatment comparison", (note or "No comparison was run.",), "warning"),),
        )
    treated, control = trial.arms
    spec = trial.spec
    blocks: list[Block] = [
        Paragraph(
            f"{spec.title or spec.name}: {treated} against {control}, as an emulated target "
            "trial. The crude estimates compare every eligible entry; the adjusted estimates "
            "compare the matched or weighted sample, in which the arms should resemble each "
            "other at time zero (see the balance table and love plot)."
        ),
        _flow_table(trial),
        Subheading("Balance"),
        _balance_table(trial),
    ]
    name = spec.name
    with plot_context(f"love_{name}"):
        fig = _love_figure(trial)
    blocks.append(
        FigureBlock(
            writer.save(fig, f"love_{name}"),
            "Absolute standardised mean differences before (circles) and after (squares) "
            "adjustment; the dashed line is the balance threshold.",
        )
    )
    with plot_context(f"overlap_{name}"):
        fig = _overlap_figure(trial)
    blocks.append(
        FigureBlock(
            writer.save(fig, f"overlap_{name}"),
            f"Propensity scores of {treated} (up) and {control} (down) entries: "
            f"{100 * trial.overlap.outside_treated:.0f}% of {treated} and "
            f"{100 * trial.overlap.outside_control:.0f}% of {control} entries lie outside the "
            "common support.",
        )
    )
    blocks += [Subheading("Outcomes"), _outcome_table(trial)]
    for endpoint, contrast in trial.contrasts.items():
        stem = f"compare_km_{name}_{endpoint}"
        with plot_context(stem):
            fig = _km_figure(trial, contrast, x_max)
        blocks.append(
            FigureBlock(
                writer.save(fig, stem),
                f"{contrast.definition.title or endpoint}: weighted Kaplan-Meier curves per "
                "arm (log-log pointwise intervals shaded), censored entries as ticks, numbers "
                "at risk per arm under the axis.",
            )
        )
        if contrast.incidence is not None:
            stem = f"compare_cif_{name}_{endpoint}"
            with plot_context(stem):
                fig = _incidence_figure(trial, contrast, x_max)
            blocks.append(
                FigureBlock(
                    writer.save(fig, stem),
                    "Cumulative incidence of the endpoint (solid) and of death without it "
                    "(dashed) per arm, weighted." + _competing_note(trial, contrast),
                )
            )
    relapses = _relapse_table(trial)
    if relapses is not None:
        blocks.append(relapses)
    proportions = _proportion_table(trial)
    if proportions is not None:
        blocks.append(proportions)
    if trial.e_value is not None:
        blocks.append(
            Paragraph(
                f"Sensitivity to unmeasured confounding: {trial.e_value.summary()} for the "
                "primary adjusted hazard ratio (VanderWeele & Ding 2017): an unmeasured "
                "confounder would need a risk ratio at least this large with both the "
                "treatment and the outcome to explain the estimate away."
            )
        )
    if trial.warnings:
        blocks.append(Notes("Caveats of this comparison", trial.warnings, "warning"))
    blocks += [Subheading("Methods of the comparison"), MethodsText((trial.methods(),))]
    primary = trial.outcomes[trial.outcomes["endpoint"] == spec.primary]
    intro = ""
    if len(primary):
        r = primary.iloc[0]
        intro = (
            f"Primary endpoint {r['title']}: HR {treated} vs {control} crude "
            f"{_hr(r['hr_crude'], r['hr_crude_ci_low'], r['hr_crude_ci_high'])}, adjusted "
            f"{_hr(r['hr_adjusted'], r['hr_adjusted_ci_low'], r['hr_adjusted_ci_high'])}."
        )
    return SectionContent("comparison", "Comparison", tuple(blocks), intro)
