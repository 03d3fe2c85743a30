"""The Trial designer's power curve: a sample-size search
(:meth:`msreboot.analysis.CohortExplorer.sample_size`) in the background with a progress
bar and a cancel button, drawn with its intervals and summarised from its table."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd

from msreboot.app._figures import power_figure
from msreboot.app._state import Cancelled, TrialRun

__all__ = ["power_server", "power_text"]


def power_text(table: pd.DataFrame) -> str:
    """A sample-size search's answer in words, from its table's ``attrs``."""
    a = table.attrs
    level = f"{100 * a['conf_level']:g}%"

    def n(value: float) -> str:
        return "not reached" if value != value else f"{value:.0f}"

    lines = [
        f"Patients per arm for {100 * a['target_power']:g}% power ({a['method']}, "
        f"{a['sides']}-sided, alpha {a['alpha']:g}, {a['replicates']} replicates per size):",
        f"  smallest size tried with power >= target: {n(a['n_per_arm'])}",
        f"  fitted curve: {n(a['n_per_arm_fitted'])}"
        + (
            ""
            if a["n_per_arm_fitted"] != a["n_per_arm_fitted"]
            else f" ({level} CI {a['n_per_arm_low']:.0f} to {a['n_per_arm_high']:.0f})"
        ),
        f"  Schoenfeld's formula: {n(a['n_per_arm_schoenfeld'])}",
        f"The power intervals include {a['ranges_include']}.",
    ]
    return "\n".join(lines)


def power_server(input: Any) -> None:
    """The Trial designer's power curve: a sample-size search in the background."""
    from shiny import reactive, render, ui

    from msreboot.analysis import CohortExplorer

    run = TrialRun()

    @reactive.extended_task
    async def power_task(spec: Any, options: dict[str, Any], state: TrialRun) -> Any:
        def work() -> Any:
            try:
                return CohortExplorer.sample_size(spec, progress=state.progress, **options)
            except Cancelled:
                return "Cancelled."
            except ValueError as exc:
                return str(exc)

        return await asyncio.to_thread(work)

    @reactive.effect
    @reactive.event(input.run_power)
    def _run() -> None:
        from msreboot.trials import TrialSpec

        nonlocal run
        spec = TrialSpec.preset(input.trial())
        if input.follow_up():
            spec = spec.with_(follow_up_years=float(input.follow_up()))
        if input.seed():
            spec = spec.with_(seed=int(input.seed()))
        options = {
            "target_power": float(input.target_power() or 0.8),
            "n_range": (int(input.n_low() or 10), int(input.n_high() or 200)),
            "replicates": int(input.power_replicates() or 20),
        }
        run = TrialRun()
        power_task(spec, options, run)

    @reactive.effect
    @reactive.event(input.cancel_power)
    def _cancel() -> None:
        run.cancel.set()

    def table() -> pd.DataFrame | None:
        if power_task.status() != "success":
            return None
        result = power_task.result()
        return result if isinstance(result, pd.DataFrame) else None

    @render.ui
    def power_progress() -> Any:
        status = power_task.status()
        if status == "running":
            reactive.invalidate_later(0.5)
            return ui.div(
                ui.tags.progress(value=str(run.done), max=str(max(run.total, 1))),
                ui.span(f" Running: {run.done} of {run.total or '?'} replicates"),
            )
        if status == "success" and isinstance(power_task.result(), str):
            return ui.span(str(power_task.result()))
        return ui.span(
            {"initial": "Not run yet.", "success": "Done.", "error": "Failed."}.get(status, status)
        )

    @render.plot
    def power_curve() -> Any:
        frame = table()
        return None if frame is None else power_figure(frame)

    @render.code
    def power_summary() -> str:
        frame = table()
        return "" if frame is None else power_text(frame)

    @render.data_frame
    def power_table() -> Any:
        frame = table()
        return render.DataGrid(pd.DataFrame() if frame is None else frame.round(3))
