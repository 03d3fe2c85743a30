"""Trial specs a trialist can write from the docs: every error names the key path and the
fix (did you mean?), a commented template that loads, user protocol and calibration files,
custom mixtures, and the reference page in step with the models."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.simulate import SimulationParameters, VisitSchedule
from msreboot.trials import TrialSpec, load_trial_spec, spec_template
from msreboot.trials._published import PublishedValue
from msreboot.trials._spec import (
    AnalysisSpec,
    ArmSpec,
    SubPopulation,
    population_keys,
    treatments_of_arm,
)

HEAD = "[trial]\nname = 'x'\nseed = 1\nfollow_up_years = 1\n"
ARM = "[[arm]]\nname = 'a'\nn = 5\n"
DOC = Path(__file__).parents[2] / "docs/reference/trial-spec.md"


def _load(tmp_path: Path, text: str) -> TrialSpec:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return load_trial_spec(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            HEAD + "replicate = 3\n" + ARM,
            r"replicate: keys of \[trial\] must be known; got unknown key 'replicate'\. "
            r"Did you mean replicates\?",
            id="trial-key",
        ),
        pytest.param(
            HEAD + ARM + "[population]\nage_median = 35\nedss_median = 3\nduration_median = 5\n",
            r"population\.duration_median: keys of \[population\] must be known.*"
            r"Did you mean duration_median_years\?",
            id="population-key",
        ),
        pytest.param(
            HEAD + ARM + "[population]\nage_median = 35\nedss_median = 3\n",
            r"population\.duration_median_years: one of duration_median_years or "
            r"duration_mean_years must be given; got neither",
            id="population-missing-duration",
        ),
        pytest.param(
            HEAD + ARM + "[population]\nage_median = 35\nedss_median = 7\n"
            "duration_median_years = 5\nedss_range = [2, 5.5]\n",
            r"population\.edss_median must lie in edss_range \[2, 5\.5\]; got 7",
            id="population-range",
        ),
        pytest.param(
            HEAD + ARM + "[schedule]\nedss_every_month = 3\n",
            r"schedule\.edss_every_month: .*Did you mean edss_every_months\?",
            id="schedule-key",
        ),
        pytest.param(
            HEAD + ARM + "[analysis]\nendpoint = ['relapse_free']\n",
            r"analysis\.endpoint: keys of \[analysis\] must be known.*Did you mean endpoints\?",
            id="analysis-key",
        ),
        pytest.param(
            HEAD + ARM + "[analysis]\nendpoints = ['neda3']\n",
            r"analysis\.endpoints: unknown endpoint\(s\) \['neda3'\].*Did you mean neda_3\?",
            id="endpoint-name",
        ),
        pytest.param(
            HEAD + ARM + "protocl = 'halt_ms'\n",
            r"arms\.0\.protocl: keys of \[\[arm\]\] must be known.*Did you mean protocol\?",
            id="arm-key",
        ),
        pytest.param(
            HEAD + ARM + "protocol = 'ocrelizumab'\n",
            r"arms\.0\.protocol must name a protocol; got 'ocrelizumab', which is a DMT\. "
            r'Write treatment = \{kind = "dmt", drug = "ocrelizumab"\} instead of protocol\.',
            id="dmt-as-protocol",
        ),
        pytest.param(
            HEAD + ARM + "protocol = 'halt_m'\n",
            r"arms\.0\.protocol must be one of .*; got 'halt_m'\. Did you mean halt_ms\?",
            id="protocol-name",
        ),
        pytest.param(
            "[trial]\nseed = 1\nfollow_up_years = 1\n" + ARM,
            r"name: is required; got nothing\. Add name = \.\.\. to the table\.",
            id="missing-key",
        ),
        pytest.param(
            HEAD + "parameters = 'calibratd'\n" + ARM,
            r"parameters must be a bundled set .*; got 'calibratd'\. Did you mean calibrated\?",
            id="parameter-set",
        ),
        pytest.param(
            HEAD + "parameters = 'nope.toml'\n" + ARM,
            r"parameters: parameter file .*nope\.toml must be an existing file",
            id="parameter-file-missing",
        ),
        pytest.param(
            HEAD + ARM + ARM.replace("'a'", "'b'") + "[[published]]\nendpoint = 'relapse_free'\n"
            "time_years = 1\nvalue = 0.5\n",
            r"published\.0\.arm must name the arm of a trial with several arms; got none\. "
            r"Add arm = one of \['a', 'b'\]",
            id="published-without-arm",
        ),
        pytest.param(
            HEAD + ARM + "[[published]]\nendpoint = 'relapse_free'\ntime_years = 1\n"
            "value = 0.5\narm = 'z'\n",
            r"published\.0\.arm must be one of \['a'\]; got 'z'",
            id="published-unknown-arm",
        ),
        pytest.param(
            HEAD + ARM + "mixture = [{share = 1, protocl = 'halt_ms'}]\n",
            r"arms\.0\.protocl: keys of arm a mixture\.0 must be known.*Did you mean protocol\?",
            id="mixture-key",
        ),
        pytest.param(
            HEAD + ARM + "mixture = [{share = 0, protocol = 'halt_ms'}]\n",
            r"arms\.0\.mixture\.0\.share must be a number > 0; got 0",
            id="mixture-share",
        ),
        pytest.param(
            HEAD + ARM + "protocol = 'halt_ms'\ntreatment = {kind = 'dmt', drug = 'rituximab'}\n",
            r"arms\.0\.treatment: an arm must have one of protocol, treatment or mixture",
            id="protocol-and-treatment",
        ),
        pytest.param(
            HEAD + ARM + "[schedule]\nextra_edss_days = [0]\n",
            r"schedule\.extra_edss_days must be whole days >= 1 after enrolment; got \[0\]",
            id="extra-visit-day",
        ),
    ],
)
def test_each_error_names_the_key_path_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        _load(tmp_path, text)
    assert str(info.value).startswith(f"{tmp_path / 'spec.toml'}: ")
    assert "Tuple should have at least 1 item" not in str(info.value)


def test_the_template_loads_and_names_every_table(tmp_path: Path) -> None:
    text = spec_template("beat_like")
    spec = _load(tmp_path, text)
    assert spec.name == "beat_like"
    assert [a.name for a in spec.arms] == ["ahsct", "ocrelizumab"]
    assert spec.analysis.primary == "neda_3"
    for table in ("[trial]", "[population]", "[schedule]", "[[arm]]", "[analysis]"):
        assert table in text
    with pytest.raises(ValueError, match="name must be lower case letters, digits and _; got"):
        spec_template("Beat MS")


def test_cli_new_spec_writes_a_template_that_runs(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    runner = CliRunner()
    made = runner.invoke(app, ["simulate", "new-spec", "mine", "--out", str(path)])
    assert made.exit_code == 0, made.output
    assert load_trial_spec(path).name == "mine"
    again = runner.invoke(app, ["simulate", "new-spec", "mine", "--out", str(path)])
    assert again.exit_code == 2
    assert "already exists" in again.output
    printed = runner.invoke(app, ["simulate", "new-spec", "other"])
    assert printed.exit_code == 0
    assert 'name = "other"' in printed.output


def test_a_user_calibration_file_is_validated_and_used(tmp_path: Path) -> None:
    name = SimulationParameters.names()[0]
    value = getattr(SimulationParameters.default(), name)
    (tmp_path / "mycal.toml").write_text(
        f"[provenance]\nbasis = 'local'\n[values]\n{name} = {value * 0.9!r}\n", encoding="utf-8"
    )
    spec = _load(tmp_path, HEAD + "parameters = 'mycal.toml'\n" + ARM)
    assert getattr(spec.simulation_parameters(), name) == pytest.approx(value * 0.9)
    (tmp_path / "mycal.toml").write_text(f"[values]\n{name}x = 1.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"values\.{name}x must be a parameter name.*"):
        _load(tmp_path, HEAD + "parameters = 'mycal.toml'\n" + ARM)
    (tmp_path / "mycal.toml").write_text("[other]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"must have a \[values\] table"):
        _load(tmp_path, HEAD + "parameters = 'mycal.toml'\n" + ARM)


USER_PROTOCOLS = """
[protocol.my_mix]
title = "Local AHSCT: Cy 200 + ATG or BEAM + ATG"
therapy = "ahsct"
citations = ["burt2019_mist"]
mobilisation = "cy_g_csf_northwestern"
graft = "unmanipulated"

[[protocol.my_mix.conditioning]]
regimen = "cy200_atg_northwestern"
share = { value = 0.75, basis = "assumed", note = "The centre's usual regimen." }

[[protocol.my_mix.conditioning]]
regimen = "beam_atg_halt_ms"
share = { value = 0.25, basis = "assumed", note = "Patients with active disease." }
"""


def test_a_user_protocol_file_next_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "local.toml").write_text(USER_PROTOCOLS, encoding="utf-8")
    arm = ARM.replace("n = 5", "n = 8") + "protocol = 'my_mix'\nprotocols_file = 'local.toml'\n"
    spec = _load(tmp_path, HEAD + arm)
    split = treatments_of_arm(spec.arms[0])
    assert [(n, getattr(c, "conditioning_regimen", None)) for n, c in split] == [
        (6, "cy200_atg"),
        (2, "beam_atg"),
    ]
    with pytest.raises(ValueError, match=r"arms\.0\.protocols_file: catalogue file must exist"):
        _load(tmp_path, HEAD + arm.replace("local.toml", "missing.toml"))


def test_a_custom_mixture_splits_by_its_shares() -> None:
    arm = ArmSpec(
        name="mixed",
        n=10,
        mixture=(
            {"share": 3, "protocol": "halt_ms"},
            {"share": 1, "treatment": {"kind": "dmt", "drug": "natalizumab"}},
        ),
    )
    split = treatments_of_arm(arm)
    assert sum(n for n, _ in split) == 10
    assert [n for n, _ in split] == [8, 2]  # 7.5 and 2.5: the tie goes to the first part
    assert type(split[1][1]).__name__ == "DMTCourse"


def _keys_in(section: str) -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## `{section}`")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end > 0 else None]
    rows = re.findall(r"^\| ([^|]+)\|", body, flags=re.MULTILINE)
    return {k for row in rows for k in re.findall(r"`([a-z_0-9]+)`", row)}


@pytest.mark.parametrize(
    ("section", "keys"),
    [
        (
            "[trial]",
            set(TrialSpec.model_fields)
            - {"arms", "population", "subpopulations", "schedule", "analysis", "published"}
            - {"base_dir"},
        ),
        (
            "[population]",
            set(population_keys())
            - {
                # PopulationSpec fields that matching() sets from the published summaries
                "age_mean_years",
                "age_sd_years",
                "age_range_years",
                "female_probability",
                "rrms_share",
                "spms_share",
                "ppms_share",
                "edss_mean",
            },
        ),
        ("[schedule]", {f.name for f in fields(VisitSchedule)}),
        ("[[arm]]", set(ArmSpec.model_fields)),
        ("[[subpopulation]]", set(SubPopulation.model_fields)),
        ("[analysis]", set(AnalysisSpec.model_fields)),
        ("[[published]]", set(PublishedValue.model_fields)),
    ],
)
def test_the_reference_page_documents_every_key(section: str, keys: set[str]) -> None:
    missing = keys - _keys_in(section)
    assert not missing, f"docs/reference/trial-spec.md {section} lacks {sorted(missing)}"
