"""Published values of trial specs: read from the evidence dataset by outcome id, or given
inline when the dataset does not hold them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from msreboot.evidence import published_outcome
from msreboot.trials import TrialSpec, load_trial_spec
from msreboot.trials._published import PublishedValue

HEAD = (
    "[trial]\nname = 'x'\nseed = 1\nfollow_up_years = 5\n[[arm]]\nname = 'a'\nn = 5\n"
    "protocol = 'halt_ms'\n"
)


def test_bundled_specs_read_their_published_values_from_the_evidence() -> None:
    for name in TrialSpec.presets():
        for value in TrialSpec.preset(name).published:
            assert value.outcome_id is not None, name
            row = published_outcome(value.outcome_id)
            assert value.time_years == row.timepoint_years
            expected = 1 - row.estimate if value.complement else row.estimate
            assert value.value == pytest.approx(expected, abs=1e-12)


def test_an_outcome_id_fills_value_interval_time_and_endpoint() -> None:
    value = PublishedValue.model_validate({"outcome_id": "nash2017_haltms:ahsct:efs:002"})
    assert (value.endpoint, value.time_years, value.value) == ("halt_ms_efs", 5.0, 0.692)
    assert (value.ci_low, value.ci_high, value.conf_level) == (0.502, 0.821, 0.9)
    assert value.source == "nash2017_haltms:ahsct:efs:002"
    # a dump reads back to the same value
    assert PublishedValue.model_validate(value.model_dump()) == value


def test_a_complement_swaps_the_interval() -> None:
    value = PublishedValue.model_validate(
        {
            "outcome_id": "sormani2017_meta:pooled:progression:028",
            "endpoint": "muraro_2017_pfs",
            "complement": True,
        }
    )
    assert (value.value, value.ci_low, value.ci_high) == (0.829, 0.755, 0.903)


def test_an_inline_published_value_still_works(tmp_path: Path) -> None:
    path = tmp_path / "trial.toml"
    path.write_text(
        HEAD + "[[published]]\nendpoint = 'halt_ms_efs'\ntime_years = 2.0\nvalue = 0.9\n"
        "arm = 'a'\nsource = 'our centre, 2024'\n",
        encoding="utf-8",
    )
    (value,) = load_trial_spec(path).published
    assert (value.outcome_id, value.value, value.time_years, value.arm) == (None, 0.9, 2.0, "a")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "endpoint = 'halt_ms_efs'\nvalue = 0.9\n",
            r"published\.0\.time_years: is required; got nothing",
        ),
        ("outcome_id = 'nash2017_haltms:ahsct:efs:002'\nvalue = 0.7\n", "value must be the"),
        ("outcome_id = 'nash2017_haltms:efs:002'\n", "Did you mean nash2017_haltms:ahsct:efs"),
        ("outcome_id = 'burt2019_mist:ahsct:edss_mean:025'\n", "names no endpoint_preset"),
        ("endpoint = 'halt_ms_efs'\ntime_years = 2\nvalue = 0.9\ncomplement = true\n", "needs an"),
    ],
    ids=["inline-incomplete", "number-differs", "unknown-outcome", "no-preset", "complement"],
)
def test_published_values_are_validated(tmp_path: Path, block: str, message: str) -> None:
    path = tmp_path / "trial.toml"
    path.write_text(HEAD + "[[published]]\n" + block, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_trial_spec(path)
    assert "trial.toml" in str(info.value)


def test_published_hazard_ratios_and_landmarks_per_arm() -> None:
    from msreboot.trials import ArmSpec, TrialSpec, run_trial
    from msreboot.trials._spec import AnalysisSpec

    spec = TrialSpec(
        name="hr",
        seed=4,
        follow_up_years=2.0,
        population={
            "age_median": 30,
            "edss_median": 2.5,
            "edss_range": [0, 5.5],
            "duration_median_years": 3.0,
        },
        arms=(
            ArmSpec(name="placebo", n=60),
            ArmSpec(name="nat", n=60, treatment={"kind": "dmt", "drug": "natalizumab"}),
        ),
        analysis=AnalysisSpec(
            endpoints=("relapse_free",), reference_arm="placebo", times_years=(1.0, 2.0)
        ),
        published=(
            {
                "statistic": "hazard_ratio",
                "endpoint": "relapse_free",
                "arm": "nat",
                "value": 0.32,
                "n": 120,
                "subgroup": "all",
                "source": "illustrative",
            },
            {
                "endpoint": "relapse_free",
                "arm": "placebo",
                "time_years": 2.0,
                "value": 0.99,
                "source": "illustrative, far from the model",
            },
        ),
    )
    table = run_trial(spec, replicates=4).compare_published()
    hr, landmark = table.to_dict("records")
    assert hr["statistic"] == "hazard_ratio"
    assert hr["arm"] == "nat"
    assert 0 < hr["simulated_low"] <= hr["simulated"] <= hr["simulated_high"] < 1
    assert hr["inside"] == (hr["simulated_low"] <= 0.32 <= hr["simulated_high"])
    assert hr["n"] == 120
    assert hr["subgroup"] == "all"
    assert math.isnan(hr["time_years"])
    assert landmark["arm"] == "placebo"
    assert landmark["inside"] is False
    with pytest.raises(ValueError, match="value must be a ratio > 0 for hazard_ratio; got -1"):
        spec.with_(
            published=(
                {
                    "statistic": "hazard_ratio",
                    "endpoint": "relapse_free",
                    "arm": "nat",
                    "value": -1,
                },
            )
        )
    with pytest.raises(ValueError, match="time_years: is required; got nothing"):
        spec.with_(published=({"endpoint": "relapse_free", "arm": "nat", "value": 0.5},))
