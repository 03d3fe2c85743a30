"""The parameter set: every value with unit, basis and source; validated changes."""

from __future__ import annotations

import pickle

import pytest
from pydantic import ValidationError

from msreboot.simulate import SimulationParameters

UNIT_SUFFIXES = (
    "_per_year",
    "_per_month",
    "_per_day",
    "_per_ul",
    "_per_ul_per_day",
    "_days",
    "_years",
    "_ratio",
    "_probability",
    "_edss",
    "_lesions",
    "_log10",
    "_per_point",
    "_per_decade",
    "_log_hr",
    "_log_odds",
    "_1e6_per_kg",
    "_1e9_per_l",
)


def test_every_parameter_is_documented() -> None:
    frame = SimulationParameters.default().to_frame()
    assert list(frame.columns) == ["name", "value", "unit", "basis", "source", "description"]
    assert frame["name"].is_unique
    assert set(frame["basis"]) <= {"published", "calibrated", "assumed"}
    assert (frame["unit"] != "").all()
    assert (frame["source"] != "").all()
    assert (frame["description"] != "").all()
    named = frame["name"].map(lambda n: n.endswith(UNIT_SUFFIXES))
    assert named.all(), list(frame.loc[~named, "name"])


def test_published_values_from_the_domain_notes() -> None:
    p = SimulationParameters.default()
    assert (p.gd_lambda0_per_month, p.gd_ar1_ratio, p.gd_ar2_ratio) == (0.923, 0.447, 0.150)
    assert p.gd_overdispersion_ratio == 0.132
    assert (p.mortality_edss_7_ratio, p.mortality_edss_8_ratio) == (2.1, 3.4)
    assert p.mortality_edss_9_ratio == 39.5
    assert p.dmt_natalizumab_rate_ratio == 0.32
    assert p.dmt_alemtuzumab_rate_ratio == 0.28
    assert p.neutrophil_transit_days == pytest.approx(124 / 24)
    assert p.spms_fast_edss_per_year == 1.33


def test_replace_validates() -> None:
    p = SimulationParameters.default()
    assert p.replace(gd_ar1_ratio=0.4).gd_ar1_ratio == 0.4
    assert p.gd_ar1_ratio == 0.447  # unchanged
    with pytest.raises(ValueError, match="parameter names must be fields"):
        p.replace(no_such_parameter=1.0)
    with pytest.raises(ValidationError):
        p.replace(relapse_residual_probability=1.5)
    with pytest.raises(ValidationError):
        p.replace(relapse_rate_onset_per_year=-1.0)


def test_frozen_hashable_picklable() -> None:
    p = SimulationParameters.default()
    with pytest.raises(ValidationError):
        p.gd_ar1_ratio = 0.1  # type: ignore[misc]
    assert hash(p) == hash(SimulationParameters.default())
    assert pickle.loads(pickle.dumps(p)) == p
    assert len(p.to_array()) == len(SimulationParameters.names())


def test_summary_lists_changes() -> None:
    text = SimulationParameters.default().replace(gd_ar1_ratio=0.4).summary()
    assert "gd_ar1_ratio = 0.4 (default 0.447)" in text
    assert "published" in text


def test_presets() -> None:
    assert "default" in SimulationParameters.presets()
    assert SimulationParameters.preset("default") == SimulationParameters.default()
    with pytest.raises(ValueError, match="preset must be one of"):
        SimulationParameters.preset("nope")
