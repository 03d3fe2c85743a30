"""Arm switch rules (DMT sequence, crossover) and staggered accrual in virtual trials."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msreboot.trials import TrialSpec, load_trial_spec, run_trial, simulate_replicate
from msreboot.trials._accrual import censor_administratively, entry_years, follow_up_days

SPEC = """
[trial]
name = "switch_trial"
seed = 17
follow_up_years = 4.0

[population]
age_mean = 36
edss_mean = 3.5
edss_range = [2.0, 5.5]
duration_median_years = 6.0
min_prior_relapses = 1

[[arm]]
name = "ahsct"
n = 60
protocol = "mist_ahsct"

[[arm]]
name = "dmt"
n = 60
treatment = {{ kind = "dmt", drug = "interferon_beta" }}
{switch}

[analysis]
endpoints = ["relapse_free"]
times_years = [1.0, 2.0]
reference_arm = "dmt"
"""

CROSSOVER = (
    'switch = { on = "relapse_or_edss_worsening", after_days = 365, protocol = "mist_ahsct" }'
)
OCRELIZUMAB = 'treatment = { kind = "dmt", drug = "ocrelizumab" }'


def _spec(tmp_path: Path, switch: str = "", **top: object) -> TrialSpec:
    path = tmp_path / "trial.toml"
    path.write_text(SPEC.format(switch=switch))
    spec = load_trial_spec(path)
    return spec.with_(**top) if top else spec


def _tables_equal(a: object, b: object) -> None:
    for name, table in a.tables.items():  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(table, b.tables[name], check_exact=True)  # type: ignore[attr-defined]


def test_crossover_rows_stay_in_the_randomised_arm(tmp_path):
    spec = _spec(tmp_path, CROSSOVER)
    cohort, arms = simulate_replicate(spec, 0)
    tr = cohort.treatments
    crossed = tr.loc[(tr["kind"] == "ahsct") & (arms[tr["patient_id"]].to_numpy() == "dmt")]
    assert 0 < len(crossed) < 60
    assert (crossed["start_date"].astype(int) > 365).all()
    # intention to treat: the crossed-over patients are still analysed in the DMT arm
    assert (arms.value_counts() == 60).all()
    assert set(crossed["patient_id"]) <= set(arms.index[arms == "dmt"])
    # the transplant arm has no switch rule: one course each
    assert tr.loc[arms[tr["patient_id"]].to_numpy() == "ahsct", "patient_id"].is_unique


def test_a_rule_that_never_fires_changes_nothing(tmp_path):
    never = 'switch = { on = "relapse", after_days = 36525, protocol = "mist_ahsct" }'
    a, _ = simulate_replicate(_spec(tmp_path), 0)
    b, _ = simulate_replicate(_spec(tmp_path, never), 0)
    _tables_equal(a, b)


def test_dmt_sequence_from_an_explicit_treatment(tmp_path):
    rule = f'switch = {{ on = "relapse", after_days = 180, {OCRELIZUMAB} }}'
    cohort, _arms = simulate_replicate(_spec(tmp_path, rule), 0)
    tr = cohort.treatments
    second = tr[tr["drug"] == "ocrelizumab"]
    assert len(second) > 0
    first_relapse = cohort.relapses.groupby("patient_id")["onset_date"].apply(
        lambda d: d[d.astype(int) >= 180].min()
    )
    started = second.set_index("patient_id")["start_date"].astype(int)
    assert (started.to_numpy() == first_relapse[started.index].astype(int).to_numpy()).all()


@pytest.mark.parametrize(
    ("switch", "message"),
    [
        (
            f'switch = {{ on = "relapse", protocol = "mist_ahsct", {OCRELIZUMAB} }}',
            "switch must have one of protocol or treatment",
        ),
        ('switch = { on = "relapse" }', "switch must have one of protocol or treatment"),
        (
            'switch = { on = "relapse", protocol = "mist_dmt" }',
            "must name a protocol with one course; got 'mist_dmt' with 6",
        ),
        ('switch = { on = "progression", protocol = "mist_ahsct" }', "arms.1.switch.on"),
        ('switch = { on = "relapse", after = 365, protocol = "mist_ahsct" }', "after"),
        (
            'switch = { on = "relapse", treatment = { kind = "msc" } }',
            "must be a DMT or AHSCT; got 'msc'",
        ),
        ('switch = { on = "relapse", protocol = "mist_ahscx" }', "Did you mean mist_ahsct"),
        (
            'switch = { on = "relapse", protocol = "mist_ahsct", overrides = { year = 1 } }',
            "switch.overrides: .*year",
        ),
    ],
    ids=["both", "neither", "mixture", "on", "unknown_key", "msc", "typo", "overrides"],
)
def test_switch_errors_name_the_arm_and_key(tmp_path, switch, message):
    with pytest.raises(ValueError, match=message) as info:
        _spec(tmp_path, switch)
    assert "trial.toml" in str(info.value)


def test_the_switch_course_takes_its_own_overrides(tmp_path):
    from msreboot.trials._arm_rules import switch_of_arm

    spec = _spec(
        tmp_path,
        'switch = { on = "relapse", protocol = "mist_ahsct", '
        "overrides = { transplant_year = 2011 } }",
    )
    rule = switch_of_arm(spec.arms[1])
    assert rule is not None
    assert rule.treatment.transplant_year == 2011  # type: ignore[union-attr]
    plain = switch_of_arm(_spec(tmp_path, CROSSOVER).arms[1])
    assert plain is not None
    assert plain.treatment.transplant_year != 2011  # type: ignore[union-attr]


def test_switch_after_a_transplant_arm_is_refused(tmp_path):
    path = tmp_path / "trial.toml"
    text = SPEC.format(switch="").replace(
        'protocol = "mist_ahsct"\n', 'protocol = "mist_ahsct"\n' + CROSSOVER + "\n", 1
    )
    path.write_text(text)
    with pytest.raises(ValueError, match="arm 'ahsct': switch: a switch rule needs a DMT"):
        load_trial_spec(path)


def test_mist_crosses_over_after_failure_only():
    spec = TrialSpec.preset("mist_2019")
    assert spec.arms[1].switch is not None
    cohort, arms = simulate_replicate(spec, 0)
    tr = cohort.treatments
    crossed = tr[(tr["kind"] == "ahsct") & (arms[tr["patient_id"]].to_numpy() == "dmt")]
    assert len(crossed) > 0
    edss = cohort.edss.set_index("patient_id")
    for pid, mobilised in crossed.set_index("patient_id")["mobilisation_date"].items():
        visits = edss.loc[[pid]]
        before = visits[visits["date"].astype(int) < int(mobilised)]
        reference = before["edss"].iloc[0]
        late = before[before["date"].astype(int) >= 365]
        # two worsened visits >= 168 days apart, both after the first year
        worse = late[late["edss"] >= reference + 1.0 - 1e-9]
        assert len(worse) >= 2, pid
        assert int(worse["date"].iloc[-1]) - int(worse["date"].iloc[0]) >= 168, pid


# accrual and administrative censoring


def test_entry_times_are_uniform_and_stable_across_sizes():
    small = entry_years(3, (0, 1, 0), 50, 2.0)
    large = entry_years(3, (0, 1, 0), 5000, 2.0)
    np.testing.assert_array_equal(small, large[:50])
    assert large.min() >= 0
    assert large.max() <= 2.0
    assert abs(large.mean() - 1.0) < 0.05


def test_follow_up_at_the_analysis():
    days = follow_up_days(np.array([0.0, 1.0, 2.0, 3.5]), 3.0, 3.0)
    np.testing.assert_array_equal(days, [1095, 730, 365, 0])
    np.testing.assert_array_equal(follow_up_days(np.array([0.5]), 2.0, 10.0), [730])


def test_censoring_keeps_exactly_the_records_up_to_the_cut(tmp_path):
    spec = _spec(tmp_path, CROSSOVER)
    cohort, arms = simulate_replicate(spec, 0)
    rng = np.random.default_rng(1)
    cut = pd.Series(rng.integers(0, 1500, len(arms)), index=arms.index)
    censored = censor_administratively(cohort, cut)
    for name, table in censored.tables.items():
        if name == "patients" or not len(table):
            continue
        from msreboot.data import SCHEMA

        event = SCHEMA[name].event_date
        limit = table["patient_id"].map(cut)
        for column in SCHEMA[name].date_columns:
            values = table[column].astype("Float64")
            assert not (values > limit).fillna(False).any(), (name, column)
        original = cohort.tables[name]
        kept = original[~(original[event].astype(float) > original["patient_id"].map(cut))]
        assert len(kept) == len(table), name
    pd.testing.assert_frame_equal(censored.patients, cohort.patients)


def test_no_accrual_no_change_and_staggered_entry_censors(tmp_path):
    spec = _spec(tmp_path)
    a, _ = simulate_replicate(spec, 0)
    b, _ = simulate_replicate(spec.with_(accrual_years=0.0), 0)
    _tables_equal(a, b)
    late, _ = simulate_replicate(spec.with_(accrual_years=2.0, analysis_years=3.0), 0)
    assert len(late.edss) < len(a.edss)
    assert len(late.relapses) < len(a.relapses)
    last = late.edss.groupby("patient_id")["date"].max().astype(int)
    assert last.min() < 365 * 2
    assert last.max() <= 3 * 365.25


def test_accrual_is_applied_in_run_trial_and_fewer_events_are_seen(tmp_path):
    spec = _spec(tmp_path, replicates=2)
    full = run_trial(spec)
    early = run_trial(spec.with_(accrual_years=3.0, analysis_years=3.5))
    events = full.estimates.query("time_years == 2.0")["events"].sum()
    fewer = early.estimates.query("time_years == 2.0")["events"].sum()
    assert fewer < events
    at_risk = full.estimates.query("time_years == 2.0")["n_at_risk"].sum()
    assert early.estimates.query("time_years == 2.0")["n_at_risk"].sum() < at_risk


def test_analysis_before_the_end_of_accrual_is_refused(tmp_path):
    with pytest.raises(ValueError, match="analysis_years must be after the end of accrual"):
        _spec(tmp_path, accrual_years=2.0, analysis_years=1.5)


def test_sample_size_takes_accrual_and_sees_fewer_events(tmp_path):
    from msreboot.trials import sample_size

    spec = _spec(tmp_path, replicates=2)
    full = sample_size(spec, n_range=(20, 24), target_power=0.5)
    early = sample_size(
        spec, n_range=(20, 24), target_power=0.5, accrual_years=3.0, analysis_years=3.5
    )
    assert early.attrs["event_share"] < full.attrs["event_share"]
    assert list(early["n_per_arm"]) == list(full["n_per_arm"])


def test_a_switch_needs_time_zero_at_randomisation(tmp_path):
    spec = _spec(tmp_path, CROSSOVER)
    analysis = spec.analysis.model_copy(update={"anchor": "ahsct"})
    with pytest.raises(ValueError, match="anchor must be 'enrolment' with a switch"):
        spec.with_(analysis=analysis)


def test_cli_size_takes_accrual(tmp_path):
    from typer.testing import CliRunner

    from msreboot.cli import app

    path = tmp_path / "trial.toml"
    path.write_text(SPEC.format(switch=CROSSOVER).replace("seed = 17", "seed = 17\nreplicates = 2"))
    out_csv = tmp_path / "power.csv"
    args = ["simulate", "size", str(path), "--low", "8", "--high", "10", "--out", str(out_csv)]
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--accrual-years", "3", "--analysis-years", "3.5"])
    assert result.exit_code == 0, result.output
    early = pd.read_csv(out_csv)["event_share"].iloc[0]
    out_csv.unlink()
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert early < pd.read_csv(out_csv)["event_share"].iloc[0]
    bad = runner.invoke(app, [*args, "--accrual-years", "2", "--analysis-years", "1"])
    assert bad.exit_code != 0
    assert "analysis_years must be after the end of accrual" in bad.output
