"""The bundled protocol catalogue: loads, is cited, speaks the schema's vocabulary, agrees
with the evidence dataset; user catalogue files add to it or fail with clear errors."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from msreboot.data import SCHEMA
from msreboot.evidence import load_outcomes, load_studies
from msreboot.protocols import (
    Conditioning,
    Protocol,
    ProtocolCatalogue,
    Sourced,
    criteria_set,
    load_protocols,
)
from msreboot.protocols._profile import PROFILE_FIELDS, PatientProfile, Phenotype
from msreboot.protocols._regimens import (
    ConditioningIntensity,
    ConditioningRegimen,
    DMTDrug,
    MobilisationRegimen,
    MSCRoute,
    MSCSource,
)

# DOIs the project's sources give outside the evidence dataset (shared/domain/evidence.md).
DOMAIN_NOTE_DOIS = {"10.1038/s41409-019-0684-0"}  # Sharrack et al., EBMT 2019 guidelines

PRESETS = [
    "halt_ms",
    "burt_2015",
    "burt_2015_atg",
    "burt_2015_alemtuzumab",
    "atkins_2016",
    "mist_ahsct",
    "mist_dmt",
    "muraro_2017",
    "mscims",
    "mesems",
]
CRITERIA = ["halt_ms", "atkins_2016", "mist", "beat_ms", "ram_ms", "ebmt_2019", "ectrims_ebmt_2022"]


@pytest.fixture(scope="module")
def catalogue() -> ProtocolCatalogue:
    return load_protocols()


def _allowed(table: str, column: str) -> tuple[str, ...]:
    allowed = SCHEMA[table][column].allowed
    assert allowed is not None
    return allowed


def _args(literal: object) -> tuple[str, ...]:
    return tuple(literal.__args__)  # type: ignore[attr-defined]


# -- loading and presets ------------------------------------------------------------------


def test_catalogue_loads_every_section(catalogue: ProtocolCatalogue) -> None:
    assert set(PRESETS) <= set(catalogue.protocols)
    assert set(CRITERIA) == set(catalogue.criteria)
    assert {"g_csf", "cy_g_csf"} <= {m.regimen for m in catalogue.mobilisation.values()}
    assert {"beam_atg", "cy200_atg", "bu_cy_atg", "cy_alemtuzumab", "cy_low"} <= {
        c.regimen for c in catalogue.conditioning.values()
    }
    assert load_protocols() is catalogue  # the bundled catalogue is read once


def test_catalogue_is_read_only(catalogue: ProtocolCatalogue) -> None:
    with pytest.raises(TypeError):
        catalogue.protocols["x"] = catalogue.protocols["halt_ms"]  # type: ignore[index]
    with pytest.raises(ValueError, match="frozen"):
        catalogue["halt_ms"].name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_is_one_obvious_way_in(name: str, catalogue: ProtocolCatalogue) -> None:
    assert Protocol.preset(name) is catalogue[name]
    assert Protocol.presets()[name] is catalogue[name]


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"protocol must be one of halt_ms, .*; got 'halt'"):
        Protocol.preset("halt")
    with pytest.raises(ValueError, match=r"criteria must be one of .*; got 'nope'"):
        criteria_set("nope")


def test_every_protocol_and_criteria_set_is_cited(catalogue: ProtocolCatalogue) -> None:
    for protocol in catalogue.protocols.values():
        assert protocol.citations, protocol.name
        for citation in protocol.citations:
            assert citation.authors or citation.registry_id, citation.key
            assert citation.text()
    for criteria in catalogue.criteria.values():
        assert criteria.citations, criteria.name
        for criterion in criteria.criteria:
            assert criterion.source in {c.key for c in criteria.citations}
            assert criterion.source_text


def test_every_value_has_a_source_or_is_assumed_with_a_note(catalogue: ProtocolCatalogue) -> None:
    facts = catalogue.sources_frame()
    assert len(facts) > 50
    assert set(facts["basis"]) == {"reported", "unchecked", "assumed"}
    sourced = facts[facts["basis"] != "assumed"]
    assert (sourced["source"] != "").all()
    assert sourced["source"].isin(list(catalogue.citations)).all()
    assert (sourced["citation"] != "").all()
    assert (facts.loc[facts["basis"] == "assumed", "note"] != "").all()


def test_assumed_values_are_marked_and_reported_ones_match_the_notes(
    catalogue: ProtocolCatalogue,
) -> None:
    # Simulator priors are assumptions, not published numbers.
    for regimen in catalogue.conditioning.values():
        assert regimen.surviving_autoreactive_fraction.basis == "assumed"
        assert regimen.aplasia_days.basis == "assumed"
    graft = catalogue.grafts["cd34_selected_halt_ms"]
    assert graft.lymphocyte_log10_depletion is not None
    assert graft.lymphocyte_log10_depletion.basis == "assumed"
    # HALT-MS's 2.0 x 10^6 CD34+/kg is a collection target: as an infused minimum, assumed.
    assert graft.min_cd34_dose_1e6_per_kg is not None
    assert (graft.min_cd34_dose_1e6_per_kg.value, graft.min_cd34_dose_1e6_per_kg.basis) == (
        2.0,
        "assumed",
    )
    assert "collection target" in graft.min_cd34_dose_1e6_per_kg.note
    mist = catalogue.conditioning["cy200_atg_northwestern"]
    assert mist.cyclophosphamide_mg_per_kg is not None
    assert mist.atg_mg_per_kg is not None
    assert (mist.cyclophosphamide_mg_per_kg.value, mist.atg_mg_per_kg.value) == (200, 6)
    assert mist.cyclophosphamide_mg_per_kg.basis == mist.atg_mg_per_kg.basis == "reported"
    busulfan = catalogue.conditioning["bu_cy_atg_canadian"]
    assert busulfan.cns_penetration.value is True
    assert busulfan.intensity.value == "high"
    assert catalogue.msc["mscims"].msc_dose_1e6_per_kg.value == 1.6


def test_muraro_mixture_shares_are_assumed_and_sum_to_one(catalogue: ProtocolCatalogue) -> None:
    mix = catalogue["muraro_2017"].conditioning
    assert {c.regimen.intensity.value for c in mix} == set(_args(ConditioningIntensity))
    assert {c.share.basis for c in mix} == {"assumed"}
    assert math.isclose(sum(c.share.value for c in mix), 1.0)


def test_burt_2015_has_two_variants_with_reported_shares(catalogue: ProtocolCatalogue) -> None:
    mix = catalogue["burt_2015"].conditioning
    assert [c.regimen.regimen for c in mix] == ["cy200_atg", "cy_alemtuzumab"]
    assert [c.share.value for c in mix] == pytest.approx([129 / 151, 22 / 151], abs=1e-4)
    assert catalogue["burt_2015_atg"].conditioning[0].regimen is mix[0].regimen
    assert catalogue["burt_2015_alemtuzumab"].conditioning[0].regimen is mix[1].regimen


def test_mist_has_an_ahsct_and_a_dmt_arm(catalogue: ProtocolCatalogue) -> None:
    ahsct, dmt = catalogue["mist_ahsct"], catalogue["mist_dmt"]
    assert ahsct.therapy == "ahsct"
    assert dmt.therapy == "dmt"
    assert ahsct.eligibility == dmt.eligibility == "mist"
    assert {d.dmt.key for d in dmt.dmts} >= {"natalizumab", "fingolimod", "interferon_beta"}
    assert math.isclose(sum(d.share.value for d in dmt.dmts), 1.0)


def test_lymphoablation_depth_orders_the_intensities(catalogue: ProtocolCatalogue) -> None:
    depth = {c.intensity.value: c.lymphoablation_log10 for c in catalogue.conditioning.values()}
    assert depth["high"] > depth["intermediate_myeloablative"] > depth["low"]
    assert depth["intermediate_myeloablative"] > depth["intermediate_lymphoablative"]
    selected = catalogue.grafts["cd34_selected_halt_ms"]
    assert selected.lymphocyte_fraction_kept == pytest.approx(1e-4)
    assert catalogue.grafts["unmanipulated"].lymphocyte_fraction_kept == 1.0


# -- one vocabulary with the schema ---------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "column"),
    [
        (MobilisationRegimen, "mobilisation_regimen"),
        (ConditioningRegimen, "conditioning_regimen"),
        (ConditioningIntensity, "conditioning_intensity"),
        (MSCSource, "msc_source"),
        (MSCRoute, "msc_route"),
        (DMTDrug, "drug"),
    ],
    ids=["mobilisation", "conditioning", "intensity", "msc_source", "msc_route", "drug"],
)
def test_vocabularies_equal_the_schema(literal: object, column: str) -> None:
    assert _args(literal) == _allowed("treatments", column)


def test_phenotypes_and_profile_fields_follow_the_schema() -> None:
    assert _args(Phenotype) == _allowed("patients", "phenotype")
    for code in _allowed("patients", "phenotype"):
        assert PatientProfile(phenotype=code.lower()).phenotype == code
    assert set(PROFILE_FIELDS) == set(PatientProfile.model_fields) - {"patient_id"}
    with pytest.raises(ValueError, match="hct_ci must be from 0 to 30"):
        PatientProfile(hct_ci=SCHEMA["patients"]["hct_ci"].max_value + 1)


def test_every_code_in_the_catalogue_is_a_schema_value(catalogue: ProtocolCatalogue) -> None:
    rows = pd.concat([p.treatment_fields() for p in catalogue.protocols.values()])
    treatments = SCHEMA["treatments"]
    for record in rows.to_dict("records"):
        for column, value in record.items():
            # the days between MSC infusions are a course parameter, not a treatments column
            if column in ("share", "msc_infusion_interval_days") or pd.isna(value):
                continue
            spec = treatments[column]
            if spec.allowed is not None:
                assert value in spec.allowed, (column, value)
            if spec.treatment_kinds is not None:
                assert record["kind"] in spec.treatment_kinds, (column, record["kind"])
    for dmt in catalogue.dmts:
        assert dmt in _allowed("treatments", "drug")


def test_treatment_fields_map_a_protocol_onto_treatment_rows() -> None:
    halt = Protocol.preset("halt_ms").treatment_fields()
    assert halt.to_dict("records") == [
        {
            "kind": "ahsct",
            "protocol": "halt_ms",
            "mobilisation_regimen": "g_csf",
            "cd34_selected": True,
            "conditioning_regimen": "beam_atg",
            "conditioning_intensity": "intermediate_myeloablative",
            "share": 1.0,
        }
    ]
    mesems = Protocol.preset("mesems").treatment_fields().iloc[0]
    assert (mesems["msc_route"], mesems["msc_dose_1e6_per_kg"]) == ("intravenous", 1.5)
    mist_dmt = Protocol.preset("mist_dmt").treatment_fields()
    assert mist_dmt["share"].sum() == pytest.approx(1.0)


# -- agreement with the evidence dataset ----------------------------------------------------


def test_citations_agree_with_the_evidence_dataset(catalogue: ProtocolCatalogue) -> None:
    studies = load_studies().drop_duplicates("study_id").set_index("study_id")
    linked = [c for c in catalogue.citations.values() if c.evidence_study_id]
    assert len(linked) >= 9
    for citation in linked:
        row = studies.loc[citation.evidence_study_id]
        assert citation.doi == row["doi"], citation.key
        assert citation.status == row["citation_status"], citation.key
        assert citation.journal == row["journal"], citation.key
        if citation.year is not None:
            assert citation.year == row["year"], citation.key
        assert citation.volume == row["volume"], citation.key
        assert citation.registry_id == row["registry_id"], citation.key


def test_dois_come_only_from_the_project_sources(catalogue: ProtocolCatalogue) -> None:
    known = set(load_studies()["doi"]) - {""} | DOMAIN_NOTE_DOIS
    for citation in catalogue.citations.values():
        if citation.doi:
            assert citation.doi in known, citation.key


def test_dmt_rate_ratios_agree_with_the_evidence_dataset(catalogue: ProtocolCatalogue) -> None:
    nma = load_outcomes(include_unsourced=True).query(
        "study_id == 'dmt_nma' and effect_type == 'rate_ratio'"
    )
    assert len(nma) == 5
    assert set(nma["status"]) == {"unsourced"}
    for _, row in nma.iterrows():
        rate_ratio = catalogue.dmts[row["arm"]].relapse_rate_ratio_vs_placebo
        assert rate_ratio is not None
        assert rate_ratio.value == pytest.approx(row["estimate"])
        # no primary source: not "reported" (issue 16, error 7)
        assert (rate_ratio.basis, rate_ratio.source) == ("unchecked", "dmt_nma")
    platform = catalogue.dmts["interferon_beta"].relapse_rate_ratio_vs_placebo
    assert platform is not None
    assert (platform.value, platform.basis) == (0.7, "assumed")
    progression = catalogue.dmts["glatiramer"].edss_progression_rate_ratio
    assert progression is not None
    assert progression.value == pytest.approx(0.76)


# -- results: frames, summaries, HTML --------------------------------------------------------


def test_protocol_frame_summary_and_html() -> None:
    halt = Protocol.preset("halt_ms")
    frame = halt.to_frame()
    assert list(frame.columns) == [
        "protocol",
        "step",
        "component",
        "field",
        "value",
        "low",
        "high",
        "basis",
        "source",
        "note",
    ]
    assert set(frame["step"]) == {"mobilisation", "graft", "conditioning"}
    assert "share" in set(frame["field"])
    text = halt.summary()
    assert "BEAM + rabbit ATG" in text
    assert "NCT00288626" in text
    assert "<table" in halt._repr_html_()
    criteria = halt.criteria()
    assert criteria is not None
    assert criteria.name == "halt_ms"
    assert Protocol.preset("muraro_2017").criteria() is None


def test_catalogue_frame_summary_and_html(catalogue: ProtocolCatalogue) -> None:
    frame = catalogue.to_frame()
    assert frame["protocol"].is_unique
    assert frame.set_index("protocol").loc["muraro_2017", "intensity"].count("%") == 4
    assert "assumed" in catalogue.summary()
    assert "<table" in catalogue._repr_html_()
    criteria = criteria_set("ebmt_2019")
    assert len(criteria.to_frame()) == len(criteria.criteria)
    assert "favourable" in criteria.summary()
    assert "<table" in criteria._repr_html_()


# -- user catalogue files ---------------------------------------------------------------------

USER_FILE = """
[conditioning.cy200_atg_local]
regimen = "cy200_atg"
label = "Our centre's Cy 200 + ATG"
intensity = { value = "intermediate_lymphoablative", basis = "reported", source = "burt2019_mist" }
cyclophosphamide_mg_per_kg = { value = 200, basis = "reported", source = "burt2019_mist" }
atg_mg_per_kg = { value = 7.5, basis = "assumed", note = "Local dose." }
surviving_autoreactive_fraction = { value = 0.05, basis = "assumed", note = "As MIST." }
cns_penetration = { value = false, basis = "assumed", note = "No CNS agent." }
aplasia_days = { value = 9, basis = "assumed", note = "As MIST." }

[protocol.local]
title = "Local protocol"
therapy = "ahsct"
citations = ["burt2019_mist"]
mobilisation = "cy_g_csf_northwestern"
graft = "unmanipulated"
conditioning = [
    { regimen = "cy200_atg_local", share = { value = 1, basis = "assumed", note = "All." } },
]
eligibility = "mist"
"""


def test_a_user_file_adds_to_the_bundled_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "local.toml"
    path.write_text(USER_FILE, encoding="utf-8")
    catalogue = load_protocols(path)
    local = catalogue["local"]
    assert isinstance(local.conditioning[0].regimen, Conditioning)
    assert local.conditioning[0].regimen.atg_mg_per_kg is not None
    assert local.conditioning[0].regimen.atg_mg_per_kg.value == 7.5
    assert "halt_ms" in catalogue.protocols
    assert "local" not in load_protocols().protocols


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("[protocol.local]", "[protocol.halt_ms]"), r"\[protocol.halt_ms\] is already defined"),
        (('graft = "unmanipulated"', 'graft = "nope"'), r"\[protocol.local\] graft must be one of"),
        (
            (
                'atg_mg_per_kg = { value = 7.5, basis = "assumed", note = "Local dose." }',
                'atg_mg_per_kg = { value = 7.5, basis = "reported" }',
            ),
            r"atg_mg_per_kg: a reported value must name its source",
        ),
        (
            (
                'atg_mg_per_kg = { value = 7.5, basis = "assumed", note = "Local dose." }',
                'atg_mg_per_kg = { value = 7.5, basis = "assumed" }',
            ),
            r"atg_mg_per_kg: an assumed value must say why",
        ),
        (
            (
                'atg_mg_per_kg = { value = 7.5, basis = "assumed", note = "Local dose." }',
                'atg_mg_per_kg = { value = 7.5, basis = "reported", source = "nobody2020" }',
            ),
            r"atg_mg_per_kg: source must be a citation key; got 'nobody2020'",
        ),
        (("share = { value = 1,", "share = { value = 0.6,"), r"conditioning shares must sum to 1"),
        (
            ('regimen = "cy200_atg"', 'regimen = "cy300"'),
            r"\[conditioning.cy200_atg_local\]: regimen",
        ),
        (('eligibility = "mist"', 'eligibility = "nope"'), r"eligibility must be a criteria set"),
        (('citations = ["burt2019_mist"]', 'citations = ["x"]'), r"unknown citation key 'x'"),
        (("[protocol.local]", "[protocols.local]"), r"table \[protocols\] must be one of"),
        (('therapy = "ahsct"', 'therapy = "msc"'), r"a msc protocol has no mobilisation"),
        (
            ("aplasia_days = { value = 9,", "aplasia_days = { value = -9,"),
            r"aplasia_days must be > 0",
        ),
        (("value = 0.05,", "value = 1.5,"), r"surviving_autoreactive_fraction value must be in"),
        (('title = "Local protocol"', 'title = "Local protocol"\ndose = 3'), r"dose: Extra inputs"),
        (("[protocol.local]", "[protocol.local"), r"must be valid TOML; got .* at line"),
    ],
    ids=[
        "duplicate-key",
        "unknown-graft",
        "reported-without-source",
        "assumed-without-note",
        "unknown-source",
        "shares",
        "regimen-code",
        "unknown-criteria",
        "unknown-citation",
        "unknown-section",
        "therapy-steps",
        "negative-days",
        "fraction-range",
        "unknown-field",
        "bad-toml",
    ],
)
def test_user_file_errors_name_the_entry_and_field(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    path = tmp_path / "local.toml"
    path.write_text(USER_FILE.replace(*edit), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_protocols(path)


def test_missing_user_file() -> None:
    with pytest.raises(FileNotFoundError, match="catalogue file must exist"):
        load_protocols("no/such/file.toml")


def test_sourced_value_range_must_hold_the_value() -> None:
    with pytest.raises(ValueError, match="the range must hold the value"):
        Sourced[float](value=5, low=6, basis="assumed", note="x")
    with pytest.raises(ValueError, match="low / high apply to numbers only"):
        Sourced[bool](value=True, low=0, basis="assumed", note="x")
    assert Sourced[float](value=2, low=1, high=3, basis="reported", source="a").describe() == (
        "2 [1-3] (reported; a)"
    )


def test_petrou_2020_presets_load_with_half_of_the_arm_re_treated() -> None:
    """NCT02166021: after 6 months half of each MSC arm is re-treated, half given placebo
    (issue 16, error 7); the presets load and run as a mixture of one and two infusions."""
    from msreboot.trials import TrialSpec
    from msreboot.trials._spec import treatments_of_arm

    for route in ("intrathecal", "intravenous"):
        fields = Protocol.preset(f"petrou_2020_{route}").treatment_fields()
        assert list(fields["msc_infusions"]) == [1, 2]
        assert list(fields["share"]) == [0.5, 0.5]
        assert fields["msc_infusion_interval_days"].iloc[1] == 182
        spec = TrialSpec.model_validate(
            {
                "name": "p",
                "seed": 1,
                "follow_up_years": 1,
                "arms": [{"name": "msc", "n": 16, "protocol": f"petrou_2020_{route}"}],
            }
        )
        courses = treatments_of_arm(spec.arms[0])
        assert [(n, c.infusions, c.interval_days) for n, c in courses] == [
            (8, 1, 0),
            (8, 2, 182),
        ]


def test_mesems_dose_is_not_marked_reported(catalogue: ProtocolCatalogue) -> None:
    assert catalogue.msc["mesems"].msc_dose_1e6_per_kg.basis == "unchecked"


def test_beam_stand_in_doses_are_not_called_standard(catalogue: ProtocolCatalogue) -> None:
    beam = catalogue.conditioning["beam_atg_halt_ms"]
    assert beam.cytarabine_mg_per_m2 is not None
    assert beam.cytarabine_mg_per_m2.basis == "assumed"
    assert "1,600" in beam.cytarabine_mg_per_m2.note
    assert "Standard BEAM" not in beam.cytarabine_mg_per_m2.note
