"""Provenance of the evidence dataset: every row has a status, sourced rows a citation and a
locator, unsourced rows stay out of pools and targets, and the corrections of issue 16 hold."""

from __future__ import annotations

import math
import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from msreboot.calibration import load_targets
from msreboot.evidence import (
    STATUSES,
    EvidenceError,
    load_definitions,
    load_outcomes,
    load_studies,
    published_outcome,
    select_outcomes,
)
from msreboot.evidence._studies import _check_provenance
from msreboot.trials import TrialSpec


@pytest.fixture(scope="module")
def everything() -> pd.DataFrame:
    return load_outcomes(include_unsourced=True)


def _readme() -> str:
    path = resources.files("msreboot.evidence").joinpath("data", "README.md")
    return path.read_text(encoding="utf-8")


# -- every row: a status, and a citation and locator unless unsourced ------------------------


def test_every_row_has_a_status(everything: pd.DataFrame) -> None:
    assert set(everything["status"]) <= set(STATUSES)
    assert set(load_studies()["status"]) <= set(STATUSES)


def test_sourced_rows_have_a_citation_a_locator_and_a_reading(everything: pd.DataFrame) -> None:
    sourced = everything[everything["status"] != "unsourced"]
    for column in ("source", "locator", "read_from", "published_definition", "reading"):
        assert (sourced[column] != "").all(), column
    unsourced = everything[everything["status"] == "unsourced"]
    assert (unsourced["locator"] == "").all()  # nothing was read, so nothing is located


def test_every_definition_id_is_documented(everything: pd.DataFrame) -> None:
    definitions = load_definitions()
    assert definitions["definition_id"].is_unique
    assert set(everything["definition_id"]) == set(definitions["definition_id"])
    assert (definitions["description"].str.len() > 20).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"status": ""}, "status must be one of", id="no-status"),
        pytest.param({"status": "checked"}, "status must be one of", id="bad-status"),
        pytest.param({"locator": ""}, "must have a source .citation. and a locator", id="locator"),
        pytest.param({"source": ""}, "must have a source .citation. and a locator", id="source"),
        pytest.param({"definition_id": "trm_x"}, "definition_id must be one of", id="definition"),
    ],
)
def test_the_schema_check_refuses_a_row_without_provenance(
    everything: pd.DataFrame, change: dict[str, str], message: str
) -> None:
    frame = everything.astype({"status": str}).copy()
    row = frame.index[frame["outcome_id"] == "nash2017_haltms:ahsct:efs:002"][0]
    for column, value in change.items():
        frame.loc[row, column] = value
    with pytest.raises(EvidenceError, match=message) as info:
        _check_provenance(frame)
    assert "nash2017_haltms:ahsct:efs:002" in str(info.value)


def test_an_unsourced_row_needs_no_locator(everything: pd.DataFrame) -> None:
    frame = everything.copy()
    row = frame.index[frame["outcome_id"] == "nash2017_haltms:ahsct:efs:002"][0]
    frame.loc[row, ["status", "locator"]] = ["unsourced", ""]
    _check_provenance(frame)


def test_the_readme_counts_are_the_datasets(everything: pd.DataFrame) -> None:
    text = _readme()
    for label, frame in (("Outcome rows", everything), ("Study arms", load_studies())):
        found = re.search(
            rf"{label}: (\d+) \((\d+) verified, (\d+) secondary, (\d+) unsourced\)", text
        )
        assert found is not None, label
        counts = frame["status"].value_counts()
        expected = [len(frame), *(int(counts.get(s, 0)) for s in STATUSES)]
        assert [int(g) for g in found.groups()] == expected, label


# -- unsourced rows are left out unless asked for --------------------------------------------


def test_unsourced_rows_are_left_out_by_default(everything: pd.DataFrame) -> None:
    default = load_outcomes()
    assert "unsourced" not in set(default["status"])
    assert len(default) == int((everything["status"] != "unsourced").sum())
    assert "burt2015_northwestern:ahsct:trm:009" not in set(default["outcome_id"])
    rows = select_outcomes("trm", include_unsourced=True, mixed_definitions=True)
    assert "burt2015_northwestern" in set(rows["study_id"])
    assert "burt2015_northwestern" not in set(
        select_outcomes("trm", mixed_definitions=True)["study_id"]
    )


def test_no_calibration_target_or_trial_spec_rests_on_an_unsourced_row() -> None:
    for target in load_targets():
        assert target.outcome_id is not None
        assert published_outcome(target.outcome_id).status != "unsourced", target.id
    for name in TrialSpec.presets():
        for value in TrialSpec.preset(name).published:
            assert value.outcome_id is not None
            assert published_outcome(value.outcome_id).status != "unsourced", name


def test_a_target_naming_an_unsourced_row_is_refused() -> None:
    from msreboot.calibration import CalibrationTarget

    with pytest.raises(ValueError, match="whose status is unsourced"):
        CalibrationTarget.model_validate(
            {
                "id": "t",
                "outcome_id": "burt2015_northwestern:ahsct:trm:009",
                "study": "burt_2015",
                "statistic": "transplant_mortality",
            }
        )


# -- TRM is pooled within one definition --------------------------------------------------


def test_trm_rows_of_several_definitions_are_not_pooled_unless_asked() -> None:
    with pytest.raises(EvidenceError, match="must share one definition"):
        select_outcomes("trm")
    one = select_outcomes("trm", definition_id="trm_related")
    assert list(one["study_id"]) == ["atkins2016_canadian"]
    assert not one["mixed_definitions"].any()
    mixed = select_outcomes("trm", mixed_definitions=True)
    assert set(mixed["definition_id"]) == {"trm_100d", "trm_related", "deaths_any"}
    assert mixed["mixed_definitions"].all()


def test_a_mixed_pool_labels_each_row_with_its_definition() -> None:
    from msreboot.evidence import study_label

    mixed = select_outcomes("trm", mixed_definitions=True)
    labels = [study_label(r) for _, r in mixed.iterrows()]
    assert "Muraro 2017 [trm_100d]" in labels
    assert "MIST 2019 [deaths_any]" in labels
    alone = select_outcomes("trm", definition_id="trm_100d")
    assert [study_label(r) for _, r in alone.iterrows()] == ["Muraro 2017"]


# -- the corrections of issue 16, each pinned with its source --------------------------------


def test_mist_progression_is_a_count_over_follow_up_not_a_2_year_value() -> None:
    """Burt 2019 abstract: progression in 3 (AHSCT) and 34 (DMT) patients over a median
    follow-up of 2 years (mean 2.8, 23 followed for 5 years); DMT median time to
    progression 24 months (IQR 18-48); HR 0.07 (0.02-0.24) (error 1)."""
    for arm, events in (("ahsct", 3), ("dmt", 34)):
        number = "019" if arm == "ahsct" else "020"
        row = published_outcome(f"burt2019_mist:{arm}:progression:{number}")
        assert (row.events, row.n, row.effect_type) == (events, 55, "crude_proportion")
        assert row.timepoint_years is None
        assert row.status == "secondary"
    frame = load_outcomes().set_index("outcome_id")
    assert (
        "median 2 years, mean 2.8 years"
        in frame.loc["burt2019_mist:dmt:progression:020", "followup"]
    )
    median = published_outcome("burt2019_mist:dmt:progression:059")
    assert (median.estimate, median.timepoint_years, median.effect_type) == (
        0.5,
        2.0,
        "cumulative_incidence",
    )
    assert median.reading.startswith("derived:")
    assert "24 months" in frame.loc["burt2019_mist:dmt:progression:059", "published_definition"]
    hr = published_outcome("burt2019_mist:ahsct:progression:021")
    assert (hr.estimate, hr.ci_low, hr.ci_high, hr.timepoint_years) == (0.07, 0.02, 0.24, None)


def test_mist_targets_and_spec_use_the_corrected_rows() -> None:
    targets = {t.id: t for t in load_targets()}
    assert "mist_2019_progression_ahsct" not in targets
    dmt = targets["mist_2019_progression_dmt"]
    assert (dmt.outcome_id, dmt.value, dmt.time_years) == (
        "burt2019_mist:dmt:progression:059",
        0.5,
        2.0,
    )
    assert targets["mist_2019_progression_hr"].value == 0.07
    published = TrialSpec.preset("mist_2019").published
    landmarks = [p for p in published if p.statistic == "landmark"]
    assert [p.outcome_id for p in landmarks] == ["burt2019_mist:dmt:progression:059"]
    assert landmarks[0].value == 0.5
    # the other figures set beside the trial are sourced rows (TRM, mean EDSS at 1 year)
    assert [p.outcome_id for p in published if p.statistic != "landmark"] == [
        "burt2019_mist:ahsct:trm:024",
        "burt2019_mist:ahsct:edss_mean:025",
        "burt2019_mist:dmt:edss_mean:026",
    ]


def test_lyon_rows_are_confavreux_2000_relapsing_onset_irreversible_dss() -> None:
    """NEJM 2000;343:1430 abstract: 1,562 patients with a relapsing-remitting onset, medians
    11.4 / 23.1 / 33.1 years to DSS 4 / 6 / 7 (error 2)."""
    rows = load_outcomes().query("study_id == 'lyon_nh'").set_index("outcome")
    assert rows.loc[
        ["time_to_edss_4", "time_to_edss_6", "time_to_edss_7"], "estimate"
    ].tolist() == [
        11.4,
        23.1,
        33.1,
    ]
    assert set(rows["population"]) == {"relapsing-remitting onset"}
    assert (rows["n"] == 1562).all()
    assert rows["definition"].str.contains("irreversible").all()
    assert rows["source"].str.contains("Confavreux").all()
    assert rows["source"].str.contains("343").all()
    study = load_studies().query("study_id == 'lyon_nh'").iloc[0]
    assert (study["journal"], study["year"], study["n"]) == ("N Engl J Med", 2000.0, 1562.0)


def test_muraro_progression_rule_says_what_is_published_and_what_assumed() -> None:
    """Muraro 2017: +1 EDSS point confirmed at 12 months against the pre-treatment baseline
    (news report of the paper); the preset's 0.5 step and 6 months are assumptions (error 3)."""
    from msreboot.endpoints import DisabilityDefinition, EndpointDefinition

    definitions = load_definitions().set_index("definition_id")
    assert "confirmed at 12 months" in definitions.loc["pfs_edss_1_0_12m", "description"]
    muraro = load_outcomes().query("study_id == 'muraro2017_ebmt' and outcome == 'pfs'")
    assert set(muraro["definition_id"]) == {"pfs_edss_1_0_12m"}
    doc = DisabilityDefinition.muraro_2017.__doc__ or ""
    assert "12" in doc
    assert "assumes" in doc
    assumptions = EndpointDefinition.muraro_2017_pfs().assumptions
    assert "published" in assumptions
    assert "12 months" in assumptions
    assert "assumed" in assumptions


def test_halt_ms_mri_activity_does_not_claim_new_t2_or_gd_lesions() -> None:
    """The registry's MRI event is >= 2 new lesions from 1 year, not any new T2 or Gd+
    lesion (error 4); the row says what was read and what was not."""
    row = load_outcomes().set_index("outcome_id").loc["nash2017_haltms:ahsct:mri_activity_free:005"]
    assert "new T2 or Gd+" not in row["definition"]
    assert "2 new brain lesions" in row["note"]
    assert row["definition_id"] == "mri_free_haltms"
    assert row["estimate"] == 0.863


def test_mist_trm_counts_the_52_transplanted() -> None:
    """3 of the 55 randomised to AHSCT were withdrawn before transplant (error 5)."""
    row = published_outcome("burt2019_mist:ahsct:trm:024")
    assert (row.events, row.n, row.definition_id) == (0, 52, "deaths_any")


def test_minor_corrections() -> None:
    """Error 8: Sormani's years are publication years; Nash 2017's DOI; the HALT-MS 3-year
    EFS interval is not invented; TRM definitions are data."""
    studies = load_studies().drop_duplicates("study_id").set_index("study_id")
    assert studies.loc["sormani2017_meta", "treatment_years"] == ""
    assert math.isnan(studies.loc["sormani2017_meta", "treatment_year_mid"])
    assert "publication years" in studies.loc["sormani2017_meta", "notes"]
    assert studies.loc["nash2017_haltms", "doi"] == "10.1212/WNL.0000000000003660"
    efs3 = published_outcome("nash2017_haltms:ahsct:efs:001")
    assert efs3.ci_low is None
    assert efs3.ci_high is None
    assert efs3.status == "secondary"
    trm = load_outcomes().query("outcome == 'trm'")
    assert trm["definition_id"].nunique() >= 3


def test_new_rows_are_sourced_as_read() -> None:
    nabizadeh = load_outcomes().query("study_id == 'nabizadeh2022_meta'").set_index("outcome")
    assert nabizadeh.loc["pfs", ["estimate", "ci_low", "ci_high"]].tolist() == [0.73, 0.69, 0.77]
    assert set(nabizadeh["status"]) == {"verified"}
    harris = load_outcomes().query("study_id == 'harris2024_msc_np'").set_index("arm")
    assert harris.loc[["msc_np", "placebo"], "estimate"].tolist() == [0.33, 0.37]
    assert np.isnan(harris["events"]).all()  # only percentages were read
    ram = load_studies().query("study_id == 'ram_ms'")
    assert set(ram["registry_id"]) == {"NCT03477500"}
    assert load_outcomes(include_unsourced=True).query("study_id == 'ram_ms'").empty


def test_dois_of_the_issue_are_filled_or_said_to_be_read_elsewhere() -> None:
    studies = load_studies().drop_duplicates("study_id").set_index("study_id")
    assert studies.loc["atkins2016_canadian", "doi"] == "10.1016/S0140-6736(16)30169-6"
    assert studies.loc["burt2015_northwestern", "doi"] == "10.1001/jama.2014.17986"
    for sid in ("atkins2016_canadian", "burt2015_northwestern"):
        assert "reference list" in studies.loc[sid, "notes"]
    assert "10.1001/jamaneurol.2014.3780" in studies.loc["nash2017_haltms", "notes"]


@pytest.mark.parametrize(
    ("outcome_id", "estimate", "interval", "status"),
    [
        pytest.param(
            "cohen2012_care_ms_i:alemtuzumab:arr:067",
            0.45,
            (0.32, 0.63),
            "verified",
            id="care-ms-i",
        ),
        pytest.param(
            "hauser2017_opera:ocrelizumab:progression:085",
            0.60,
            (0.45, 0.81),
            "secondary",
            id="opera",
        ),
        pytest.param(
            "montalban2017_oratorio:ocrelizumab:progression:091",
            0.76,
            (0.59, 0.98),
            "secondary",
            id="oratorio",
        ),
        pytest.param("bmt2020_meta:pooled:trm:121", 0.01, (None, None), "verified", id="bmt-2020"),
    ],
)
def test_comparator_and_meta_analysis_rows_hold_the_numbers_read(
    outcome_id: str, estimate: float, interval: tuple[float | None, float | None], status: str
) -> None:
    row = published_outcome(outcome_id)
    assert row.estimate == estimate
    assert (row.ci_low, row.ci_high) == interval
    assert row.status == status


def test_trial_designs_have_no_results() -> None:
    everything = load_outcomes(include_unsourced=True)
    studies = load_studies()
    for sid in ("beat_ms", "star_ms", "ram_ms", "astims", "kappos2018_expand"):
        assert sid in set(studies["study_id"]), sid
        assert sid not in set(everything["study_id"]), sid
    beat = studies.query("study_id == 'beat_ms'")
    assert beat["n"].sum() == 156
    assert set(beat["registry_id"]) == {"NCT04047628"}


def test_one_arm_under_two_definitions_asks_for_a_definition() -> None:
    with pytest.raises(EvidenceError, match="several definitions for one arm"):
        select_outcomes("progression", therapy="dmt", population="pooled OPERA I and II")
    rows = select_outcomes(
        "progression", therapy="dmt", population="pooled OPERA I and II", definition_id="cdp_12w"
    )
    assert sorted(rows["estimate"]) == [0.091, 0.136]


@pytest.mark.parametrize(
    ("outcome_id", "value", "n", "status", "definition_id"),
    [
        pytest.param(
            "silfverberg2024_sweden:ahsct:neda:129",
            (5.0, 0.73, 0.66, 0.81),
            174,
            "verified",
            "neda_named",
            id="sweden-5y",
        ),
        pytest.param(
            "silfverberg2024_sweden:ahsct:neda:130",
            (10.0, 0.65, 0.57, 0.75),
            174,
            "verified",
            "neda_named",
            id="sweden-10y",
        ),
        pytest.param(
            "silfverberg2024_sweden:beam_atg:neda:131",
            (5.0, 0.81, 0.68, 0.96),
            33,
            "secondary",
            "neda_named",
            id="sweden-beam",
        ),
        pytest.param(
            "silfverberg2024_sweden:cy_atg:neda:132",
            (5.0, 0.71, 0.63, 0.80),
            141,
            "secondary",
            "neda_named",
            id="sweden-cy",
        ),
        pytest.param(
            "burman2014_sweden:ahsct:neda:133",
            (5.0, 0.68, None, None),
            41,
            "verified",
            "dfs_burman",
            id="burman",
        ),
        pytest.param(
            "zhukovsky2021_alemtuzumab:ahsct:neda:135",
            (3.0, 0.88, None, None),
            69,
            "secondary",
            "neda_named",
            id="zhukovsky",
        ),
        pytest.param(
            "uk2025_real_world:ahsct:neda:138",
            (5.0, 0.462, None, None),
            271,
            "secondary",
            "neda3_edss_6m_pretreatment",
            id="uk-5y",
        ),
    ],
)
def test_neda_rows_of_individual_cohorts_hold_the_numbers_read(
    outcome_id: str,
    value: tuple[float, float, float | None, float | None],
    n: int,
    status: str,
    definition_id: str,
) -> None:
    row = published_outcome(outcome_id)
    assert (row.timepoint_years, row.estimate, row.ci_low, row.ci_high) == value
    assert (row.n, row.status, row.definition_id) == (n, status, definition_id)
    assert row.locator.startswith("abstract")
    families = load_definitions().set_index("definition_id")["outcome_family"]
    assert families[definition_id] == "neda"


def test_kvistad_sustained_neda_is_a_count_over_follow_up(everything: pd.DataFrame) -> None:
    row = everything.set_index("outcome_id").loc["kvistad2024_norway:ahsct:neda:139"]
    assert (row["events"], row["n"], row["effect_type"]) == (20, 29, "crude_proportion")
    assert "70 months" in row["followup"]
