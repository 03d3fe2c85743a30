"""The planned designs of BEAT-MS, RAM-MS and StarMS (docs/how-to/designs) load and run,
with the planned number of patients per arm."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot.trials import load_trial_spec, simulate_replicate

DESIGNS = Path(__file__).parents[2] / "docs" / "how-to" / "designs"


@pytest.mark.parametrize(
    ("name", "per_arm", "primary"),
    [("beat_ms", 78, "relapse_free"), ("ram_ms", 50, "neda_3"), ("star_ms", 99, "neda_3")],
)
def test_planned_design_loads_and_runs(name: str, per_arm: int, primary: str) -> None:
    spec = load_trial_spec(DESIGNS / f"{name}.toml")
    assert [a.n for a in spec.arms] == [per_arm, per_arm]
    assert spec.analysis.primary == primary
    cohort, arms = simulate_replicate(spec.scaled(10), 0)
    assert (arms.value_counts() == 10).all()
    assert set(cohort.treatments["kind"]) == {"ahsct", "dmt"}
