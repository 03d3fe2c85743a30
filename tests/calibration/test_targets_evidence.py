"""Calibration targets read their numbers from the evidence dataset by outcome id."""

from __future__ import annotations

from pathlib import Path

import pytest

from msreboot.calibration import CalibrationTarget, load_targets
from msreboot.evidence import published_outcome


def test_bundled_targets_name_an_evidence_outcome_and_use_its_numbers() -> None:
    for target in load_targets():
        assert target.outcome_id is not None, target.id
        row = published_outcome(target.outcome_id)
        assert target.value == row.estimate
        assert (target.ci_low, target.ci_high) == (row.ci_low, row.ci_high)
        if row.n is not None:
            assert target.n == row.n
        if row.events is not None:
            assert target.events == row.events


def test_a_target_adds_only_what_the_evidence_lacks() -> None:
    target = CalibrationTarget.model_validate(
        {
            "id": "t",
            "outcome_id": "nash2017_haltms:ahsct:efs:001",
            "study": "halt_ms",
            "statistic": "landmark",
            "n": 24,
        }
    )
    assert (target.endpoint, target.time_years, target.value, target.n) == (
        "halt_ms_efs",
        3.0,
        0.784,
        24,
    )
    with pytest.raises(ValueError, match="n must be the evidence outcome's"):
        CalibrationTarget.model_validate(
            {
                "id": "t",
                "outcome_id": "muraro2017_ebmt:ahsct:pfs:010",
                "study": "muraro_2017",
                "statistic": "landmark",
                "n": 100,
            }
        )


def test_a_target_file_naming_an_unknown_outcome_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        '[[target]]\nid = "x"\noutcome_id = "nope"\nstudy = "halt_ms"\nstatistic = "landmark"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="outcome_id must be an outcome of the evidence") as info:
        load_targets(path)
    assert "targets.toml" in str(info.value)
