"""The dashboard's server logic: every output is a result of the lower layers
(:mod:`msreboot.analysis`, :mod:`msreboot.endpoints`, :mod:`msreboot.evidence`,
:mod:`msreboot.trials`, :mod:`msreboot.data`), rendered."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from msreboot.app._benefit import benefit_server
from msreboot.app._config import AppConfig
from msreboot.app._data_import import import_server
from msreboot.app._figures import (
    curve_figure,
    figure_bytes,
    forest_figure,
    love_figure,
    timeline_figure,
)
from msreboot.app._power import power_server
from msreboot.app._state import Cancelled, Cohorts, TrialRun
from msreboot.app._uploads import UploadFolder

if TYPE_CHECKING:
    from msreboot.analysis import CohortExplorer

__all__ = ["make_server"]

_LOG = logging.getLogger("msreboot.app")


def _landmarks(text: str) -> list[float]:
    try:
        values = sorted({float(v) for v in text.replace(";", ",").split(",") if v.strip()})
    except ValueError:
        return [2.0, 3.0, 4.0, 5.0]
    return [v for v in values if v >= 0] or [2.0, 3.0, 4.0, 5.0]


def _edited(
    name: str,
    death: str,
    censor: str,
    days: float,
    min_gd: float,
    level: float,
    *,
    baseline: str = "preset",
    after_relapse: str = "preset",
    buffers: tuple[float | None, float | None, float | None] = (None, None, None),
) -> Any:
    """The preset with the fields the user changed (validated by the definition itself).

    ``baseline`` is a :class:`~msreboot.endpoints.BaselineRule` kind, ``after_relapse``
    ``"yes"`` or ``"no"`` (post-relapse re-baselining), ``buffers`` the relapse buffers
    (days after a relapse onset) of baselines, confirmation visits and event visits;
    ``"preset"`` or ``None`` keeps the preset's value.
    """
    from msreboot.endpoints import BaselineRule, ConfirmationRule, EndpointDefinition, RelapseBuffer

    definition = EndpointDefinition.preset(name)
    changes: dict[str, Any] = {}
    if death in ("event", "censor", "competing"):
        changes["death"] = death
        changes["measure"] = "cumulative_incidence" if death == "competing" else definition.measure
    if censor in ("all_components", "last_contact"):
        changes["censor"] = censor
    if level and 0 < level < 1:
        changes["conf_level"] = float(level)
    components = []
    for component in definition.components:
        if component.kind == "disability":
            dis = component.definition
            rule = dis.confirmation
            edits: dict[str, Any] = {}
            if days and days > 0:
                edits["confirmation"] = ConfirmationRule(
                    days=(float(days),),
                    tolerance_days=rule.tolerance_days[:1],
                    check_intermediate=rule.check_intermediate,
                    sustained_days=rule.sustained_days,
                )
            kept = dis.baseline
            rebase: dict[str, Any] = {}
            if baseline != "preset":
                rebase["kind"] = baseline
            if after_relapse in ("yes", "no"):
                rebase["after_relapse"] = after_relapse == "yes"
                if after_relapse == "no":
                    rebase["not_lower"] = rebase["residual_only"] = False
            if rebase:
                edits["baseline"] = BaselineRule(**{**asdict(kept), **rebase})
            if any(b is not None for b in buffers):
                old = dis.relapse_buffer
                edits["relapse_buffer"] = RelapseBuffer(
                    baseline=old.baseline if buffers[0] is None else (buffers[0], 0.0),
                    confirmation=old.confirmation if buffers[1] is None else (buffers[1], 0.0),
                    event=old.event if buffers[2] is None else (buffers[2], 0.0),
                )
            if edits:
                component = type(component).model_validate(
                    {**dict(component), "definition": dis.with_(**edits)}
                )
        if component.kind == "mri" and min_gd and min_gd >= 1:
            component = type(component).model_validate({**dict(component), "min_gd": int(min_gd)})
        components.append(component)
    changes["components"] = tuple(components)
    return definition.with_(**changes)


def methods_text(definition: Any) -> str:
    """The endpoint's methods paragraph, then each disability component's rules (baseline,
    confirmation, relapse buffers) in words."""
    parts = [str(definition.methods_text())]
    for component in definition.components:
        if component.kind == "disability":
            parts.append(f"Disability rules: {component.definition.methods_text()}")
    return "\n\n".join(parts)


def make_server(cohorts: Cohorts, config: AppConfig) -> Any:
    """The Shiny server function over ``cohorts``."""
    from shiny import reactive, render, ui

    def server(input: Any, output: Any, session: Any) -> None:
        _, role = session.http_conn.scope.get("msreboot.user", ("", "viewer"))
        analyst = role == "analyst"
        uploads = UploadFolder(config.data_dir, config.max_upload_mb * 2**20)
        session.on_ended(uploads.clean)
        opened = reactive.value(next(iter(cohorts.sources())))
        private: dict[str, Path] = {}  # this session's imported stores

        def current() -> CohortExplorer:
            return cohorts.explorer(opened(), private)

        def labels() -> dict[str, str]:
            return {
                **cohorts.sources(),
                **dict.fromkeys(private, "Imported upload (this session only)"),
            }

        @reactive.effect
        @reactive.event(input.open)
        def _open() -> None:
            opened.set(input.source())

        @reactive.calc
        def analysis() -> Any:
            return current().analysis()

        # Data -------------------------------------------------------------------------
        @render.code
        def description() -> str:
            a = analysis()
            return f"{labels()[opened()]}\n{a.description.summary()}"

        @render.data_frame
        def table_one() -> Any:
            return render.DataGrid(analysis().description.table_one.reset_index())

        @render.data_frame
        def completeness() -> Any:
            frame = analysis().description.completeness.copy()
            return render.DataGrid(frame.astype(str))

        @reactive.calc
        def validation() -> Any:
            files = input.upload() if analyst else None
            if not files:
                return None
            from msreboot.data import validate

            saved = []
            uploads.clear_files()  # the new set replaces the earlier one
            try:
                for item in files:
                    saved.append(uploads.save(str(item["name"]), Path(item["datapath"])))
            except ValueError as exc:
                _LOG.warning("upload refused: %s", exc)
                return str(exc)
            finally:
                for item in files:
                    Path(item["datapath"]).unlink(missing_ok=True)
            return validate(uploads.source())

        if analyst:

            @render.code
            def validation_summary() -> str:
                report = validation()
                if report is None:
                    return "No files uploaded."
                return report if isinstance(report, str) else report.summary()

            @render.data_frame
            def problems() -> Any:
                report = validation()
                if report is None or isinstance(report, str):
                    return render.DataGrid(pd.DataFrame())
                return render.DataGrid(report.to_frame().astype(str))

            import_server(input, session, uploads, cohorts, private, labels, validation)

            @render.download_button(filename="problems.csv")
            def problems_csv() -> Any:
                report = validation()
                if report is not None and not isinstance(report, str):
                    yield report.to_frame().to_csv(index=False)

        # Endpoints --------------------------------------------------------------------
        @reactive.calc
        def definition() -> Any:
            from shiny.types import SafeException

            try:
                return _edited(
                    input.preset(),
                    input.death(),
                    input.censor(),
                    input.confirmation_days() or 0,
                    input.min_gd() or 0,
                    input.conf_level() or 0.95,
                    baseline=input.baseline_kind(),
                    after_relapse=input.after_relapse(),
                    buffers=(
                        input.buffer_baseline(),
                        input.buffer_confirmation(),
                        input.buffer_event(),
                    ),
                )
            except ValueError as exc:  # the rule objects name the field and the fix
                raise SafeException(str(exc)) from None

        @reactive.calc
        def estimates() -> dict[str, Any]:
            explorer = current()
            group = input.group()
            by = group if group == "treatment" or group in explorer.cohort.patients else None
            return explorer.endpoint(definition(), by=by, times_years=_landmarks(input.landmarks()))

        @render.text
        def methods() -> str:
            return methods_text(definition())

        def figure() -> Any:
            return curve_figure(estimates(), analysis().x_max_years)

        @render.plot
        def curves() -> Any:
            return figure()

        @render.data_frame
        def landmark_table() -> Any:
            return render.DataGrid(_landmark_frame(estimates()).round(4))

        @render.download_button(filename="endpoint_landmarks.csv")
        def endpoint_csv() -> Any:
            yield _landmark_frame(estimates()).to_csv(index=False)

        @render.download_button(filename="endpoint_curves.svg")
        def endpoint_svg() -> Any:
            yield figure_bytes(figure(), "svg")

        @render.download_button(filename="endpoint_curves.png")
        def endpoint_png() -> Any:
            yield figure_bytes(figure(), "png")

        # Patients (analysts only) -----------------------------------------------------
        if analyst:
            _patients(current, input, session)

        # Evidence ---------------------------------------------------------------------
        @render.ui
        def forest() -> Any:
            trm = analysis().evidence.trm
            if trm is None:
                return None
            figure = forest_figure(trm.pooled.to_frame(), trm.cohort)
            png = base64.b64encode(figure_bytes(figure, "png"))
            return ui.img(
                src="data:image/png;base64," + png.decode(),
                alt="Forest plot of transplant-related mortality",
                style="max-width: 100%",
            )

        @render.ui
        def funnel() -> Any:
            figure = current().trm_funnel()
            png = base64.b64encode(figure_bytes(figure, "png"))
            return ui.img(
                src="data:image/png;base64," + png.decode(),
                alt="Funnel plot of the published transplant-related mortality arms",
                style="max-width: 100%",
            )

        @render.code
        def egger() -> str:
            explorer = current()
            return egger_text(explorer.trm_pool(), explorer.trm_egger())

        @render.data_frame
        def evidence_landmarks() -> Any:
            return render.DataGrid(analysis().evidence.to_frame().round(3))

        @render.data_frame
        def studies() -> Any:
            frame = current().studies()
            text = (input.study_filter() or "").strip().lower()
            if text:
                keep = frame.astype(str).apply(
                    lambda s: s.str.lower().str.contains(text, regex=False)
                )
                frame = frame[keep.any(axis=1)]
            return render.DataGrid(frame.astype(str), filters=True)

        # Comparison -------------------------------------------------------------------
        @render.code
        def emulation_summary() -> str:
            a = analysis()
            return str(a.emulation.summary()) if a.emulation is not None else str(a.emulation_note)

        @render.plot
        def love() -> Any:
            e = analysis().emulation
            return None if e is None else love_figure(e.balance.to_frame())

        @render.plot
        def emulation_curves() -> Any:
            e = analysis().emulation
            if e is None or not e.contrasts:
                return None
            return _arm_curves(next(iter(e.contrasts.values())))

        @render.data_frame
        def hazard_ratios() -> Any:
            e = analysis().emulation
            frame = pd.DataFrame() if e is None else e.outcomes
            return render.DataGrid(frame.round(4))

        # Trial designer ---------------------------------------------------------------
        run = TrialRun()

        @reactive.extended_task
        async def trial_task(spec: Any, state: TrialRun) -> Any:
            from msreboot.analysis import CohortExplorer

            def work() -> Any:
                try:
                    return CohortExplorer.virtual_trial(spec, state.progress)
                except Cancelled:
                    return "Cancelled."

            return await asyncio.to_thread(work)

        @reactive.effect
        @reactive.event(input.run_trial)
        def _run() -> None:
            from msreboot.trials import TrialSpec

            nonlocal run
            spec = TrialSpec.preset(input.trial())
            changes: dict[str, Any] = {"replicates": int(input.replicates() or 1)}
            if input.seed():
                changes["seed"] = int(input.seed())
            if input.follow_up():
                changes["follow_up_years"] = float(input.follow_up())
            spec = spec.with_(**changes)
            run = TrialRun(total=spec.replicates)
            trial_task(spec, run)

        @reactive.effect
        @reactive.event(input.cancel_trial)
        def _cancel() -> None:
            run.cancel.set()

        @render.text
        def trial_progress() -> str:
            status = trial_task.status()
            if status == "running":
                reactive.invalidate_later(0.5)
                return f"Running: {run.done} of {run.total} replicates"
            return {"initial": "Not run yet.", "success": "Done.", "error": "Failed."}.get(
                status, status
            )

        @render.code
        def trial_summary() -> str:
            result = trial_task.result()
            if isinstance(result, str):
                return result
            power = result.power()
            return f"{result.summary()}\npower: {power:.2f}" if power == power else result.summary()

        @render.data_frame
        def trial_published() -> Any:
            result = trial_task.result()
            if isinstance(result, str):
                return render.DataGrid(pd.DataFrame())
            return render.DataGrid(result.compare_published().round(3).astype(str))

        power_server(input)

        if analyst:
            benefit_server(input)

    return server


def egger_text(pooled: Any, test: Any) -> str:
    """Egger's test of the funnel plot's arms in words, with what limits it."""
    arms = "; ".join(pooled.labels)
    lines = [f"{pooled.k} published AHSCT arms with a TRM count: {arms}."]
    if test is None:
        lines.append("Egger's test needs at least 3 arms.")
    else:
        lines.append(test.summary())
    if pooled.k < 10:
        lines.append(
            f"With {pooled.k} arms the test has little power: a p-value above 0.05 does not "
            "show the absence of small-study effects (Sterne et al. 2011, BMJ 343:d4002)."
        )
    if pooled.tau2_truncated:
        lines.append("tau^2 (REML) truncated at 0: the arms are no more variable than chance.")
    lines.append(
        "The arms define TRM differently (each label names its definition); the funnel "
        "plot's asymmetry can have causes other than publication bias."
    )
    return "\n".join(lines)


def _landmark_frame(estimates: dict[str, Any]) -> pd.DataFrame:
    frame: pd.DataFrame = pd.concat([e.to_frame() for e in estimates.values()], ignore_index=True)
    return frame


def _arm_curves(contrast: Any) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5))
    ax = fig.add_subplot()
    frame = contrast.curves.to_frame()
    group = "group" if "group" in frame else frame.columns[0]
    for label, part in frame.groupby(group, sort=False):
        ax.step(part["time"], part["survival"], where="post", label=str(label))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Years from time zero")
    ax.set_ylabel("Probability event-free (adjusted)")
    ax.set_title(contrast.definition.title or contrast.definition.name)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _patients(current: Callable[[], CohortExplorer], input: Any, session: Any) -> None:
    from shiny import reactive, render, ui

    @reactive.calc
    def listing() -> pd.DataFrame:
        return current().patient_list()

    @reactive.calc
    def found() -> pd.DataFrame:
        frame = listing()
        text = (input.search() or "").strip().lower()
        if text:
            frame = frame[
                frame["patient_id"].astype(str).str.lower().str.contains(text, regex=False)
            ]
        return frame

    @reactive.effect
    def _choices() -> None:
        ids = found()["patient_id"].astype(str).tolist()[:500]
        ui.update_select("patient", choices=ids, selected=ids[0] if ids else None, session=session)

    @reactive.calc
    def events() -> pd.DataFrame:
        frame = current().disability_events()
        mine: pd.DataFrame = frame[frame["patient_id"].astype(str) == input.patient()]
        return mine

    @render.plot
    def timeline() -> Any:
        pid = input.patient()
        if not pid:
            return None
        return timeline_figure(pid, current().cohort.tables, events(), show_dates=True)

    @render.data_frame
    def patient_events() -> Any:
        return render.DataGrid(events().astype(str))

    @render.data_frame
    def patient_list() -> Any:
        return render.DataGrid(found())

    @render.download_button(filename="patients.csv")
    def patients_csv() -> Any:
        yield found().to_csv(index=False)

    @render.download_button(filename="patient_timeline.csv")
    def patient_timeline_csv() -> Any:
        yield current().patient_records(input.patient()).to_csv(index=False)
