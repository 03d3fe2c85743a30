"""Specs written only from docs/reference/trial-spec.md load, run and summarise: a
three-arm MSC trial (intrathecal, intravenous, sham) and a registry-like single-arm cohort
of RRMS and SPMS patients with its enrolled mix matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot.simulate import SimulationParameters
from msreboot.trials import load_trial_spec, run_trial, simulate_replicate

MSC_THREE_ARMS = """
[trial]
name = "msc_it_iv_sham"
title = "MSC intrathecal vs intravenous vs sham, virtual"
seed = 11
replicates = 2
follow_up_years = 1.0

[population]
age_median = 45
age_range = [18, 65]
edss_median = 5.5
edss_range = [3.0, 6.5]
duration_median_years = 12
phenotype_shares = { SPMS = 0.7, PPMS = 0.3 }

[schedule]
edss_every_months = 3
mri_every_months = 6

[[arm]]
name = "intrathecal"
n = 20
[arm.treatment]
kind = "msc"
route = "intrathecal"
dose_1e6_per_kg = 1.0
infusions = 3
interval_days = 90

[[arm]]
name = "intravenous"
n = 20
[arm.treatment]
kind = "msc"
route = "intravenous"
dose_1e6_per_kg = 1.0
infusions = 3
interval_days = 90

[[arm]]
name = "sham"
n = 20

[analysis]
endpoints = ["relapse_free", "mri_activity_free"]
primary = "mri_activity_free"
times_years = [0.5, 1.0]
reference_arm = "sham"
"""

REGISTRY = """
[trial]
name = "registry_rr_sp"
seed = 3
follow_up_years = 2.0

[population]
age_median = 38
edss_median = 4.0
edss_range = [1.0, 7.0]
duration_median_years = 9
phenotype_shares = { RRMS = 0.7, SPMS = 0.3 }
prior_relapse_window_years = 1.0
min_prior_relapses = 1
match_enrolled = true

[[arm]]
name = "ahsct"
n = 60
protocol = "burt_2015"

[analysis]
endpoints = ["relapse_free"]
times_years = [1.0, 2.0]
"""


def test_a_three_arm_msc_trial_from_the_docs(tmp_path: Path) -> None:
    path = tmp_path / "msc.toml"
    path.write_text(MSC_THREE_ARMS, encoding="utf-8")
    result = run_trial(load_trial_spec(path))
    assert set(result.estimates["arm"]) == {"intrathecal", "intravenous", "sham"}
    assert set(result.hazard_ratios["arm"]) == {"intrathecal", "intravenous"}
    assert result.estimates["estimate"].notna().all()  # the 1-year landmark is the last visit
    assert "power of the primary endpoint" in result.summary()


def test_a_registry_cohort_of_rrms_and_spms_from_the_docs(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(REGISTRY, encoding="utf-8")
    spec = load_trial_spec(path)
    match = spec.population_match()
    assert match is not None
    assert bool(match.set_index("characteristic").loc["SPMS", "within_tolerance"])
    result = run_trial(spec)
    assert result.estimates["estimate"].notna().all()


SUBPOPULATIONS = """
[trial]
name = "registry_subgroups"
seed = 8
follow_up_years = 1.0
parameters = "mycal.toml"

[[subpopulation]]
name = "rrms"
share = 3
[subpopulation.population]
age_median = 34
edss_median = 2.5
edss_range = [0, 6]
duration_median_years = 6
phenotype_shares = { RRMS = 1.0 }

[[subpopulation]]
name = "spms"
share = 1
[subpopulation.population]
age_median = 47
edss_median = 6.0
edss_range = [3, 7]
duration_median_years = 16
phenotype_shares = { SPMS = 1.0 }

[[arm]]
name = "cohort"
n = 40
protocol = "burt_2015"

[analysis]
endpoints = ["relapse_free"]
times_years = [1.0]
"""


def test_subpopulations_with_their_own_baselines(tmp_path: Path) -> None:
    name = SimulationParameters.names()[0]
    value = getattr(SimulationParameters.default(), name)
    (tmp_path / "mycal.toml").write_text(f"[values]\n{name} = {value!r}\n", encoding="utf-8")
    path = tmp_path / "sub.toml"
    path.write_text(SUBPOPULATIONS, encoding="utf-8")
    spec = load_trial_spec(path)
    assert [(n, s) for n, s, _ in spec.population_specs()] == [("rrms", 0.75), ("spms", 0.25)]
    cohort, _arms = simulate_replicate(spec, 0)
    patients = cohort.patients.set_index("patient_id")
    assert len(patients) == 40
    assert patients.index.str.contains("_rrms_").sum() == 30
    spms = patients[patients.index.str.contains("_spms_")]
    assert (spms["phenotype"] == "SPMS").all()
    baseline = cohort.tables["edss"].query("date == 0").set_index("patient_id")["edss"]
    assert baseline[spms.index].median() > baseline.drop(spms.index).median()
    assert run_trial(spec).estimates["estimate"].notna().all()
    both = SUBPOPULATIONS.replace(
        "[[arm]]",
        "[population]\nage_median = 30\nedss_median = 3\nduration_median_years = 5\n\n[[arm]]",
    )
    path.write_text(both, encoding="utf-8")
    with pytest.raises(ValueError, match="one of population or subpopulations; got both"):
        load_trial_spec(path)
