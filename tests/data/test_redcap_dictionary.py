"""A REDCap mapping proposed from a project's data dictionary (mapping_from_dictionary)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from msreboot.data import Cohort, RedcapMappingDraft, mapping_from_dictionary, read_cohort
from msreboot.data._redcap import load_mapping
from msreboot.data._schema import SCHEMA
from msreboot.datasets import load_example
from msreboot.exceptions import DataValidationError
from tests.data.test_redcap import cohort_to_redcap

# A project built by someone who never saw msreboot's template: its own field names, labels,
# codes and forms. Each field: name, form, type, label, validation, (table, column) it holds,
# and its choices as (code, label, canonical value).
Choice = tuple[str, str, Any]
FIELDS: list[tuple[str, str, str, str, str, tuple[str, str] | None, list[Choice]]] = [
    ("subject_no", "baseline_data", "text", "Subject number", "", None, []),
    (
        "gender",
        "baseline_data",
        "radio",
        "Gender",
        "",
        ("patients", "sex"),
        [("1", "Male", "M"), ("2", "Female", "F"), ("3", "Other / not stated", "X")],
    ),
    (
        "date_birth",
        "baseline_data",
        "text",
        "Date of birth",
        "date_dmy",
        ("patients", "birth_date"),
        [],
    ),
    (
        "sympt_first",
        "baseline_data",
        "text",
        "Date of first symptoms",
        "date_dmy",
        ("patients", "onset_date"),
        [],
    ),
    (
        "ms_dx_dt",
        "baseline_data",
        "text",
        "Date of MS diagnosis",
        "date_ymd",
        ("patients", "diagnosis_date"),
        [],
    ),
    (
        "ms_course",
        "baseline_data",
        "dropdown",
        "Disease course at baseline",
        "",
        ("patients", "phenotype"),
        [
            ("10", "Relapsing-remitting", "RRMS"),
            ("20", "Secondary progressive", "SPMS"),
            ("30", "Primary progressive", "PPMS"),
            ("40", "Clinically isolated syndrome", "CIS"),
        ],
    ),
    (
        "n_prev_tx",
        "baseline_data",
        "text",
        "Number of previous DMTs",
        "integer",
        ("patients", "prior_dmt_count"),
        [],
    ),
    (
        "sorror",
        "baseline_data",
        "text",
        "HCT-CI (Sorror) score",
        "integer",
        ("patients", "hct_ci"),
        [],
    ),
    ("hosp", "baseline_data", "text", "Treating centre", "", ("patients", "centre"), []),
    ("pt_notes", "baseline_data", "notes", "Additional notes", "", ("patients", "notes"), []),
    ("info_txt", "baseline_data", "descriptive", "<b>Enter data from the chart</b>", "", None, []),
    (
        "hsct_d0",
        "hsct_procedure",
        "text",
        "Date of stem-cell reinfusion (day 0)",
        "date_dmy",
        ("treatments", "start_date"),
        [],
    ),
    ("hsct_prot", "hsct_procedure", "text", "Protocol", "", ("treatments", "protocol"), []),
    (
        "mob_reg",
        "hsct_procedure",
        "dropdown",
        "Mobilisation regimen",
        "",
        ("treatments", "mobilisation_regimen"),
        [
            ("1", "G-CSF alone", "g_csf"),
            ("2", "Cyclophosphamide + G-CSF", "cy_g_csf"),
            ("3", "Other", "other"),
        ],
    ),
    (
        "mob_dt",
        "hsct_procedure",
        "text",
        "Mobilisation start date",
        "date_dmy",
        ("treatments", "mobilisation_date"),
        [],
    ),
    (
        "cd34",
        "hsct_procedure",
        "text",
        "CD34+ cells reinfused (x10^6/kg)",
        "number",
        ("treatments", "cd34_dose_1e6_per_kg"),
        [],
    ),
    (
        "cd34_sel",
        "hsct_procedure",
        "yesno",
        "CD34+ selection of the graft",
        "",
        ("treatments", "cd34_selected"),
        [],
    ),
    (
        "cond_reg",
        "hsct_procedure",
        "dropdown",
        "Conditioning regimen",
        "",
        ("treatments", "conditioning_regimen"),
        [
            ("1", "BEAM + ATG", "beam_atg"),
            ("2", "Cyclophosphamide 200 mg/kg + ATG", "cy200_atg"),
            ("3", "Busulfan + cyclophosphamide + ATG", "bu_cy_atg"),
            ("4", "Cyclophosphamide + alemtuzumab", "cy_alemtuzumab"),
            ("5", "Low-dose cyclophosphamide", "cy_low"),
            ("6", "TBI-based", "tbi_based"),
            ("7", "Other", "other"),
        ],
    ),
    (
        "cond_int",
        "hsct_procedure",
        "radio",
        "Conditioning intensity (EBMT)",
        "",
        ("treatments", "conditioning_intensity"),
        [
            ("1", "High", "high"),
            ("2", "Intermediate - myeloablative", "intermediate_myeloablative"),
            ("3", "Intermediate - lymphoablative", "intermediate_lymphoablative"),
            ("4", "Low", "low"),
        ],
    ),
    (
        "cond_dt",
        "hsct_procedure",
        "text",
        "First day of conditioning",
        "date_dmy",
        ("treatments", "conditioning_start_date"),
        [],
    ),
    (
        "adm_dt",
        "hsct_procedure",
        "text",
        "Date of admission",
        "date_dmy",
        ("treatments", "admission_date"),
        [],
    ),
    (
        "anc_dt",
        "hsct_procedure",
        "text",
        "Neutrophil engraftment (ANC > 0.5)",
        "date_dmy",
        ("treatments", "engraftment_date"),
        [],
    ),
    (
        "plt_dt",
        "hsct_procedure",
        "text",
        "Platelet engraftment date",
        "date_dmy",
        ("treatments", "platelet_engraftment_date"),
        [],
    ),
    (
        "dc_dt",
        "hsct_procedure",
        "text",
        "Date of discharge",
        "date_dmy",
        ("treatments", "discharge_date"),
        [],
    ),
    (
        "dmt_drug",
        "disease_modifying_therapy",
        "dropdown",
        "Disease-modifying therapy",
        "",
        ("treatments", "drug"),
        [
            ("1", "Interferon beta-1a/1b", "interferon_beta"),
            ("2", "Glatiramer acetate", "glatiramer"),
            ("3", "Teriflunomide", "teriflunomide"),
            ("4", "Dimethyl fumarate", "dimethyl_fumarate"),
            ("5", "Fingolimod", "fingolimod"),
            ("6", "Cladribine", "cladribine"),
            ("7", "Natalizumab (Tysabri)", "natalizumab"),
            ("8", "Ocrelizumab", "ocrelizumab"),
            ("9", "Alemtuzumab", "alemtuzumab"),
            ("99", "Other", "other"),
        ],
    ),
    (
        "dmt_start",
        "disease_modifying_therapy",
        "text",
        "Start date",
        "date_mdy",
        ("treatments", "start_date"),
        [],
    ),
    (
        "dmt_stop",
        "disease_modifying_therapy",
        "text",
        "Stop date",
        "date_mdy",
        ("treatments", "end_date"),
        [],
    ),
    (
        "dmt_why",
        "disease_modifying_therapy",
        "radio",
        "Reason for stopping",
        "",
        ("treatments", "stop_reason"),
        [
            ("1", "Lack of efficacy", "inefficacy"),
            ("2", "Adverse event", "adverse_event"),
            ("3", "Pregnancy", "pregnancy"),
            ("4", "Patient choice", "patient_choice"),
            ("5", "Transplant", "transplant"),
            ("6", "Planned", "planned"),
            ("7", "Other", "other"),
        ],
    ),
    ("vis_dt", "neurostatus_visit", "text", "Visit date", "date_dmy", ("edss", "date"), []),
    ("edss_step", "neurostatus_visit", "text", "EDSS step", "number", ("edss", "edss"), []),
    (
        "vis_conf",
        "neurostatus_visit",
        "yesno",
        "Visit valid for confirming a change (scheduled)",
        "",
        ("edss", "valid_for_confirmation"),
        [],
    ),
    ("vis_examiner", "neurostatus_visit", "text", "Examiner initials", "", None, []),
    (
        "rel_onset",
        "relapse_log",
        "text",
        "Onset of relapse",
        "date_dmy",
        ("relapses", "onset_date"),
        [],
    ),
    (
        "rel_end",
        "relapse_log",
        "text",
        "Date of recovery",
        "date_dmy",
        ("relapses", "end_date"),
        [],
    ),
    ("mri_dt", "mri_scans", "text", "Scan date", "date_dmy", ("mri", "date"), []),
    (
        "mri_area",
        "mri_scans",
        "dropdown",
        "Region scanned",
        "",
        ("mri", "region"),
        [
            ("1", "Brain", "brain"),
            ("2", "Spinal cord", "spine"),
            ("3", "Brain and spinal cord", "brain_and_spine"),
        ],
    ),
    (
        "mri_gad",
        "mri_scans",
        "text",
        "Gadolinium-enhancing lesions (n)",
        "integer",
        ("mri", "gd_lesions"),
        [],
    ),
    (
        "mri_newt2",
        "mri_scans",
        "text",
        "New or enlarging T2 lesions (n)",
        "integer",
        ("mri", "new_t2_lesions"),
        [],
    ),
    (
        "ae_start",
        "complications",
        "text",
        "Onset date",
        "date_dmy",
        ("adverse_events", "onset_date"),
        [],
    ),
    (
        "ae_type",
        "complications",
        "dropdown",
        "Type of complication",
        "",
        ("adverse_events", "category"),
        [
            ("1", "Infection", "infection"),
            ("2", "Febrile neutropenia", "febrile_neutropenia"),
            ("3", "Viral reactivation", "viral_reactivation"),
            ("4", "Secondary autoimmune disease", "secondary_autoimmunity"),
            ("5", "Other", "other"),
        ],
    ),
    (
        "ae_ctcae",
        "complications",
        "radio",
        "CTCAE grade",
        "",
        ("adverse_events", "grade"),
        [(str(g), f"Grade {g}", g) for g in range(1, 6)],
    ),
    (
        "ae_org",
        "complications",
        "text",
        "Causative organism",
        "",
        ("adverse_events", "pathogen"),
        [],
    ),
    ("ae_descr", "complications", "notes", "Description", "", ("adverse_events", "detail"), []),
    ("ae_crit", "complications", "checkbox", "Seriousness criteria", "", None, []),
    ("dth_dt", "death_report", "text", "Date of death", "date_ymd", ("deaths", "date"), []),
    (
        "dth_cause",
        "death_report",
        "dropdown",
        "Primary cause of death",
        "",
        ("deaths", "cause"),
        [
            ("1", "Multiple sclerosis", "ms"),
            ("2", "Infection", "infection"),
            ("3", "Transplant-related toxicity", "transplant_toxicity"),
            ("4", "Malignancy", "malignancy"),
            ("5", "Cardiovascular", "cardiovascular"),
            ("6", "Suicide", "suicide"),
            ("7", "Accident", "accident"),
            ("8", "Other", "other"),
            ("9", "Unknown", "unknown"),
        ],
    ),
    (
        "dth_trm",
        "death_report",
        "yesno",
        "Death related to transplant?",
        "",
        ("deaths", "transplant_related"),
        [],
    ),
    (
        "tw_date",
        "timed_25_foot_walk",
        "text",
        "Date of the walk test",
        "date_ymd",
        ("timed_walk", "date"),
        [],
    ),
    (
        "tw_time",
        "timed_25_foot_walk",
        "text",
        "T25FW time, mean of 2 trials (seconds)",
        "number",
        ("timed_walk", "seconds"),
        [],
    ),
    (
        "tw_n",
        "timed_25_foot_walk",
        "text",
        "Number of T25FW trials",
        "integer",
        ("timed_walk", "trials"),
        [],
    ),
    (
        "tw_aid",
        "timed_25_foot_walk",
        "radio",
        "Walking aid",
        "",
        ("timed_walk", "walking_aid"),
        [
            ("0", "None", "no_aid"),
            ("1", "One cane or crutch", "unilateral"),
            ("2", "Two canes, crutches or a walker", "bilateral"),
            ("9", "Other", "other"),
        ],
    ),
    (
        "tw_unable",
        "timed_25_foot_walk",
        "yesno",
        "Unable to complete the walk?",
        "",
        ("timed_walk", "unable_to_complete"),
        [],
    ),
    (
        "hpt_date",
        "nine_hole_peg_test",
        "text",
        "Date of the peg test",
        "date_ymd",
        ("peg_test", "date"),
        [],
    ),
    (
        "hpt_hand",
        "nine_hole_peg_test",
        "radio",
        "Hand tested",
        "",
        ("peg_test", "hand"),
        [("1", "Dominant", "dominant"), ("2", "Non-dominant", "non_dominant")],
    ),
    (
        "hpt_time",
        "nine_hole_peg_test",
        "text",
        "9HPT time, mean of 2 trials (seconds)",
        "number",
        ("peg_test", "seconds"),
        [],
    ),
    (
        "hpt_n",
        "nine_hole_peg_test",
        "text",
        "Number of 9HPT trials",
        "integer",
        ("peg_test", "trials"),
        [],
    ),
    (
        "hpt_unable",
        "nine_hole_peg_test",
        "yesno",
        "Unable to complete the peg test?",
        "",
        ("peg_test", "unable_to_complete"),
        [],
    ),
    ("lab_dt", "lymphocyte_panel", "text", "Date of blood draw", "date_ymd", ("labs", "date"), []),
    ("lab_test", "lymphocyte_panel", "text", "Analyte", "", ("labs", "analyte"), []),
    ("lab_result", "lymphocyte_panel", "text", "Result value", "number", ("labs", "value"), []),
    ("lab_units", "lymphocyte_panel", "text", "Unit of the result", "", ("labs", "unit"), []),
    ("sdmt_dt", "sdmt", "text", "SDMT date", "date_ymd", ("sdmt", "date"), []),
    (
        "sdmt_correct",
        "sdmt",
        "text",
        "SDMT score (correct in 90 s)",
        "integer",
        ("sdmt", "score"),
        [],
    ),
    (
        "sdmt_mode",
        "sdmt",
        "radio",
        "SDMT version",
        "",
        ("sdmt", "version"),
        [("1", "Oral", "oral"), ("2", "Written", "written")],
    ),
    ("sdmt_altform", "sdmt", "text", "SDMT alternate form", "", ("sdmt", "form"), []),
]
AE_CRITERIA = "1, Serious adverse event | 2, Required intensive care"
NON_REPEATING = {"baseline_data", "death_report"}
KINDS = {"hsct_procedure": "ahsct", "disease_modifying_therapy": "dmt"}


def dictionary() -> pd.DataFrame:
    """The project's data dictionary, with REDCap's download headers."""
    rows = []
    for name, form, kind, label, validation, _, choices in FIELDS:
        text = " | ".join(f"{code}, {lab}" for code, lab, _ in choices)
        rows.append(
            {
                "Variable / Field Name": name,
                "Form Name": form,
                "Section Header": "",
                "Field Type": kind,
                "Field Label": label,
                "Choices, Calculations, OR Slider Labels": AE_CRITERIA
                if name == "ae_crit"
                else text,
                "Field Note": "",
                "Text Validation Type OR Show Slider Number": validation,
            }
        )
    return pd.DataFrame(rows)


def truth() -> dict[str, Any]:
    """The mapping the project's data manager would write by hand (to make the export)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, dict[str, Any]] = {}
    for name, form, _, _, _, target, choices in FIELDS:
        if target is None:
            continue
        table, column = target
        key = f"{table}:{form if form not in NON_REPEATING else ''}"
        if key not in sources:
            source: dict[str, Any] = {"columns": {}, "values": {}}
            if form not in NON_REPEATING:
                source["instrument"] = form
            if form in KINDS:
                source["constants"] = {"kind": KINDS[form]}
            sources[key] = source
            tables.setdefault(table, []).append(source)
        sources[key]["columns"][column] = name
        if choices:
            sources[key]["values"][column] = {code: value for code, _, value in choices}
    sources["adverse_events:complications"]["checkboxes"] = {"serious": "ae_crit___1"}
    return {"id_field": "subject_no", "tables": tables}


@pytest.fixture(scope="module")
def example() -> Cohort:
    return load_example()


@pytest.fixture(scope="module")
def draft() -> RedcapMappingDraft:
    return mapping_from_dictionary(dictionary())


def test_every_field_goes_to_the_column_it_holds(draft: RedcapMappingDraft) -> None:
    got = draft.to_frame().set_index("field")
    for name, _, _, _, _, target, _ in FIELDS:
        if target is None or name == "ae_crit":
            continue
        assert (got.at[name, "table"], got.at[name, "column"]) == target, name
    assert got.at["ae_crit", "column"] == "serious"
    assert got.at["ae_crit", "export_field"] == "ae_crit___1"
    assert draft.id_field == "subject_no"
    assert {f.field for f in draft.unmatched} == {"info_txt", "vis_examiner"}


def test_example_cohort_round_trips_through_the_drafted_mapping(
    example: Cohort, draft: RedcapMappingDraft, tmp_path: Path
) -> None:
    export = tmp_path / "export.csv"
    cohort_to_redcap(example, truth()).to_csv(export, index=False)
    mapping = draft.write(tmp_path / "mapping.toml")
    cohort = read_cohort(export, redcap_mapping=mapping)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(cohort.table(name), example.table(name), obj=name)
    assert cohort.equals(example)


def test_draft_comments_every_guess_and_lists_unmatched(draft: RedcapMappingDraft) -> None:
    text = draft.text
    assert 'instrument = "hsct_procedure"  # GUESS: a repeating instrument' in text
    assert 'constants = { kind = "ahsct" }' in text
    assert 'sex = "gender"  # GUESS' in text
    assert '"10" = "RRMS"' in text
    assert '"3" = "bu_cy_atg"' in text
    assert "# Unmatched fields (2)" in text
    assert "vis_examiner (form neurostatus_visit, text, 'Examiner initials')" in text
    assert "the raw export writes YYYY-MM-DD" in text
    assert "unmatched: info_txt" in draft.summary()


def test_unknown_choice_is_left_commented_and_reported_at_import(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "field_name": ["record_id", "sex", "course"],
            "form_name": ["demographics"] * 3,
            "field_type": ["text", "radio", "radio"],
            "field_label": ["Record ID", "Sex", "MS course"],
            "select_choices_or_calculations": ["", "1, Female | 2, Male | 9, Unknown", "1, RRMS"],
            "text_validation_type_or_show_slider_number": ["", "", ""],
        }
    )
    draft = mapping_from_dictionary(frame)
    assert '# "9" = ?' in draft.text
    mapping = draft.write(tmp_path / "m.toml")
    load_mapping(mapping)  # a valid mapping file as drafted
    export = tmp_path / "export.csv"
    export.write_text("record_id,sex,course\n1,1,1\n2,9,1\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        read_cohort(export, redcap_mapping=mapping)
    problem = info.value.errors[0]
    assert (problem.table, problem.row, problem.column, problem.value) == (
        "patients",
        2,
        "sex",
        "9",
    )


def test_not_a_dictionary_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("record_id,sex\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must have the columns 'Variable / Field Name'"):
        mapping_from_dictionary(path)
    with pytest.raises(FileNotFoundError, match="must be an existing CSV file"):
        mapping_from_dictionary(tmp_path / "nope.csv")


def test_dictionary_csv_with_html_labels_and_bom(tmp_path: Path) -> None:
    frame = dictionary()
    frame.loc[frame["Variable / Field Name"] == "gender", "Field Label"] = "<b>Gender</b>"
    path = tmp_path / "dictionary.csv"
    path.write_text(frame.to_csv(index=False), encoding="utf-8-sig")
    fields = mapping_from_dictionary(path).to_frame().set_index("field")
    assert fields.at["gender", "column"] == "sex"
    assert fields.at["gender", "label"] == "Gender"


# --- the command ------------------------------------------------------------------------------


def test_cli_writes_the_draft_and_refuses_to_overwrite(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from msreboot.cli import app

    runner = CliRunner()
    path = tmp_path / "dictionary.csv"
    dictionary().to_csv(path, index=False)
    target = tmp_path / "mapping.toml"
    result = runner.invoke(app, ["redcap-mapping", str(path), "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == mapping_from_dictionary(path).text
    assert "unmatched: vis_examiner" in result.stderr
    load_mapping(target)
    again = runner.invoke(app, ["redcap-mapping", str(path), "--out", str(target)])
    assert again.exit_code == 2
    assert "--out must be a new file" in again.stderr
    forced = runner.invoke(app, ["redcap-mapping", str(path), "--out", str(target), "--force"])
    assert forced.exit_code == 0
    printed = runner.invoke(app, ["redcap-mapping", str(path)])
    assert printed.exit_code == 0
    assert printed.stdout == target.read_text(encoding="utf-8")
    bad = tmp_path / "export.csv"
    bad.write_text("record_id,sex\n1,2\n", encoding="utf-8")
    refused = runner.invoke(app, ["redcap-mapping", str(bad)])
    assert refused.exit_code == 2
    assert "must have the columns" in refused.stderr


def test_transplant_mri_relapse_and_patient_columns_are_matched() -> None:
    rows = [
        ("record_id", "baseline", "text", "Record ID", "", ""),
        ("spms_dt", "baseline", "text", "Date of conversion to SPMS", "", "date_ymd"),
        ("csf_ocb", "baseline", "radio", "CSF oligoclonal bands", "1, Present | 0, Absent", ""),
        ("tx_d0", "transplant", "text", "Date of reinfusion (day 0)", "", "date_ymd"),
        ("tx_anc", "transplant", "text", "Neutrophil engraftment date", "", "date_ymd"),
        ("tx_plt", "transplant", "text", "Platelet engraftment date", "", "date_ymd"),
        ("tx_cd34", "transplant", "text", "CD34+ cells reinfused (x10^6/kg)", "", "number"),
        ("tx_yield", "transplant", "text", "CD34+ yield at apheresis (x10^6/kg)", "", "number"),
        (
            "tx_atg",
            "transplant",
            "dropdown",
            "ATG product",
            "1, Thymoglobulin | 2, ATG-Fresenius | 3, ATGAM (horse)",
            "",
        ),
        ("tx_atg_mg", "transplant", "text", "ATG dose (mg/kg)", "", "number"),
        ("tx_gcsf", "transplant", "text", "G-CSF dose (ug/kg/day)", "", "number"),
        ("tx_cmv", "transplant", "radio", "CMV IgG", "1, Positive | 2, Negative", ""),
        ("tx_wt", "transplant", "text", "Weight (kg)", "", "number"),
        ("tx_kps", "transplant", "text", "Karnofsky score", "", "integer"),
        ("tx_ecog", "transplant", "text", "ECOG", "", "integer"),
        ("rel_dt", "relapses", "text", "Relapse onset", "", "date_ymd"),
        ("rel_sev", "relapses", "radio", "Severity", "1, Mild | 2, Moderate | 3, Severe", ""),
        ("rel_ivmp", "relapses", "yesno", "Treated with IV methylprednisolone", "", ""),
        ("mri_dt", "mri", "text", "Scan date", "", "date_ymd"),
        ("mri_bv", "mri", "text", "Brain volume (mL)", "", "number"),
        ("mri_t2v", "mri", "text", "T2 lesion volume (mL)", "", "number"),
        ("mri_t2n", "mri", "text", "Total T2 lesions", "", "integer"),
        ("mri_bh", "mri", "text", "T1 hypointense lesions (black holes)", "", "integer"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "field_name",
            "form_name",
            "field_type",
            "field_label",
            "select_choices_or_calculations",
            "text_validation_type_or_show_slider_number",
        ],
    )
    draft = mapping_from_dictionary(frame)
    got = draft.to_frame().set_index("field")["column"].to_dict()
    assert got == {
        "record_id": None,
        "spms_dt": "spms_conversion_date",
        "csf_ocb": "oligoclonal_bands",
        "tx_d0": "start_date",
        "tx_anc": "engraftment_date",
        "tx_plt": "platelet_engraftment_date",
        "tx_cd34": "cd34_dose_1e6_per_kg",
        "tx_yield": "apheresis_cd34_yield_1e6_per_kg",
        "tx_atg": "atg_type",
        "tx_atg_mg": "atg_dose_mg_per_kg",
        "tx_gcsf": "g_csf_dose_ug_per_kg_per_day",
        "tx_cmv": "cmv_serostatus",
        "tx_wt": "weight_kg",
        "tx_kps": "karnofsky",
        "tx_ecog": "ecog",
        "rel_dt": "onset_date",
        "rel_sev": "severity",
        "rel_ivmp": "steroid_treated",
        "mri_dt": "date",
        "mri_bv": "brain_volume_ml",
        "mri_t2v": "t2_lesion_volume_ml",
        "mri_t2n": "t2_lesions_total",
        "mri_bh": "t1_hypointense_lesions",
    }
    for line in (
        '"1" = "positive"',  # oligoclonal bands present
        '"2" = "grafalon"',
        '"3" = "atgam"',
        '"1" = "thymoglobulin"',
        '"2" = "negative"',  # CMV IgG negative
        '"3" = "severe"',
    ):
        assert line in draft.text, line
    load_mapping_text = tomllib.loads(draft.text)
    assert load_mapping_text["tables"]["treatments"]["constants"] == {"kind": "ahsct"}
