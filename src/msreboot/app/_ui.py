"""The dashboard's pages (Shiny user interface), built per request for the user's role."""

from __future__ import annotations

from typing import Any, cast, get_args, get_type_hints

__all__ = ["build_ui"]

#: An empty numeric input (Shiny draws ``None`` as an empty box; its stubs say float).
_EMPTY = cast(float, None)

_GROUPS = {
    "none": "No grouping",
    "treatment": "Treatment group",
    "sex": "Sex",
    "phenotype": "Phenotype",
    "centre": "Centre",
}


def build_ui(sources: dict[str, str], presets: list[str], trials: list[str], role: str) -> Any:
    """The navbar page of every page the role may see."""
    from shiny import ui

    from msreboot.app._benefit import benefit_page
    from msreboot.endpoints import BaselineRule
    from msreboot.simulate import DMTDrug

    dmts = list(get_args(DMTDrug))
    baselines = list(get_args(get_type_hints(BaselineRule)["kind"]))
    analyst = role == "analyst"
    data_page = ui.nav_panel(
        "Data",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_select("source", "Cohort", sources),
                ui.input_action_button("open", "Open", class_="btn-primary"),
                *(
                    [
                        ui.hr(),
                        ui.input_file(
                            "upload",
                            "Validate files (CSV, Parquet, Excel)",
                            multiple=True,
                            accept=[".csv", ".parquet", ".xlsx"],
                        ),
                        ui.input_action_button("import_store", "Import into a store"),
                    ]
                    if analyst
                    else []
                ),
                width=320,
            ),
            ui.h4("Cohort"),
            ui.output_code("description"),
            ui.h4("Table 1"),
            ui.output_data_frame("table_one"),
            ui.h4("Completeness"),
            ui.output_data_frame("completeness"),
            *(
                [
                    ui.h4("Validation of the uploaded files"),
                    ui.output_code("validation_summary"),
                    ui.output_data_frame("problems"),
                    ui.download_button("problems_csv", "Download problems (CSV)"),
                    ui.h4("Import"),
                    ui.output_code("import_status"),
                ]
                if analyst
                else []
            ),
        ),
        value="data",
    )
    endpoints_page = ui.nav_panel(
        "Endpoints",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_select("preset", "Endpoint preset", presets),
                ui.input_select(
                    "death",
                    "Deaths",
                    {
                        "preset": "as the preset",
                        "event": "are events",
                        "censor": "censor",
                        "competing": "compete",
                    },
                ),
                ui.input_select(
                    "censor",
                    "Censoring",
                    {
                        "preset": "as the preset",
                        "all_components": "all components assessed",
                        "last_contact": "last contact",
                    },
                ),
                ui.input_numeric(
                    "confirmation_days", "Disability confirmation (days; 0: preset)", 0, min=0
                ),
                ui.input_select(
                    "baseline_kind",
                    "Disability baseline",
                    {"preset": "as the preset", **{k: k.replace("_", " ") for k in baselines}},
                ),
                ui.input_select(
                    "after_relapse",
                    "Re-baseline after a relapse",
                    {"preset": "as the preset", "yes": "yes", "no": "no"},
                ),
                ui.input_numeric(
                    "buffer_baseline", "Relapse buffer: baseline (days; empty: preset)", _EMPTY
                ),
                ui.input_numeric(
                    "buffer_confirmation",
                    "Relapse buffer: confirmation (days; empty: preset)",
                    _EMPTY,
                ),
                ui.input_numeric(
                    "buffer_event", "Relapse buffer: event (days; empty: preset)", _EMPTY
                ),
                ui.input_numeric("min_gd", "MRI: Gd+ lesions counted from (0: preset)", 0, min=0),
                ui.input_numeric("conf_level", "Interval level", 0.95, min=0.5, max=0.999),
                ui.input_select("group", "Group by", _GROUPS),
                ui.input_text("landmarks", "Landmark years", "2, 3, 4, 5"),
                width=320,
            ),
            ui.output_text("methods"),
            ui.output_plot("curves", height="520px"),
            ui.div(
                ui.download_button("endpoint_csv", "CSV"),
                ui.download_button("endpoint_svg", "SVG"),
                ui.download_button("endpoint_png", "PNG"),
            ),
            ui.h4("Landmarks"),
            ui.output_data_frame("landmark_table"),
        ),
        value="endpoints",
    )
    patients_page = ui.nav_panel(
        "Patients",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_text("search", "Search patient ID", ""),
                ui.input_select("patient", "Patient", []),
                ui.download_button("patient_timeline_csv", "Download the timeline (CSV)"),
                ui.download_button("patients_csv", "Download the list (CSV)"),
                width=320,
            ),
            ui.output_plot("timeline", height="560px"),
            ui.h4("Disability events (msprog rules)"),
            ui.output_data_frame("patient_events"),
            ui.h4("Patients"),
            ui.output_data_frame("patient_list"),
        ),
        value="patients",
    )
    evidence_page = ui.nav_panel(
        "Evidence",
        ui.layout_sidebar(
            ui.sidebar(ui.input_text("study_filter", "Filter studies", ""), width=320),
            ui.layout_columns(
                ui.div(
                    ui.h4("Transplant-related mortality: the cohort beside the published studies"),
                    ui.output_ui("forest"),
                ),
                ui.div(
                    ui.h4("Funnel plot and Egger's test: every published TRM arm"),
                    ui.output_ui("funnel"),
                    ui.output_code("egger"),
                ),
            ),
            ui.h4("Landmarks beside the published ones"),
            ui.output_data_frame("evidence_landmarks"),
            ui.h4("Studies"),
            ui.output_data_frame("studies"),
        ),
        value="evidence",
    )
    comparison_page = ui.nav_panel(
        "Comparison",
        ui.output_code("emulation_summary"),
        ui.layout_columns(
            ui.output_plot("love", height="520px"),
            ui.output_plot("emulation_curves", height="520px"),
        ),
        ui.output_data_frame("hazard_ratios"),
        value="comparison",
    )
    trial_page = ui.nav_panel(
        "Trial designer",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_select("trial", "Trial", trials),
                ui.input_numeric("replicates", "Replicates", 2, min=1, max=200),
                ui.input_numeric("seed", "Seed (0: the spec's)", 0, min=0),
                ui.input_numeric("follow_up", "Follow-up years (0: the spec's)", 0, min=0),
                ui.input_action_button("run_trial", "Run", class_="btn-primary"),
                ui.input_action_button("cancel_trial", "Cancel"),
                ui.output_text("trial_progress"),
                ui.hr(),
                ui.input_numeric("target_power", "Target power", 0.8, min=0.05, max=0.99),
                ui.input_numeric("n_low", "Patients per arm from", 10, min=2),
                ui.input_numeric("n_high", "to", 200, min=3),
                ui.input_numeric("power_replicates", "Replicates per size", 20, min=2, max=500),
                ui.input_action_button("run_power", "Power curve", class_="btn-primary"),
                ui.input_action_button("cancel_power", "Cancel"),
                ui.output_ui("power_progress"),
                width=320,
            ),
            ui.output_code("trial_summary"),
            ui.h4("Published vs simulated"),
            ui.output_data_frame("trial_published"),
            ui.h4("Power curve (trials of two arms or more)"),
            ui.output_plot("power_curve", height="480px"),
            ui.output_code("power_summary"),
            ui.output_data_frame("power_table"),
        ),
        value="trial",
    )
    pages = [data_page, endpoints_page]
    if analyst:
        pages.append(patients_page)
    pages += [evidence_page, comparison_page, trial_page]
    if analyst:
        pages.append(benefit_page(dmts))
    return ui.page_navbar(
        *pages,
        ui.nav_spacer(),
        ui.head_content(
            ui.tags.link(rel="icon", href="data:,"),
            ui.tags.style(
                "#egger, #power_summary, #projection_summary, #projection_trm, "
                "#import_status, #trial_summary { white-space: pre-wrap; }"
            ),
        ),
        ui.nav_control(ui.a(f"Log out ({role})", href="/logout", id="logout")),
        title="msreboot",
        id="page",
    )
