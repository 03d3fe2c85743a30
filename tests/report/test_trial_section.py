"""The report's virtual-trial section for a two-arm trial: per-arm curves with their band
across replicates, hazard ratios across replicates (not estimable without events), and
published statistics other than landmarks beside the simulated ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msreboot.report._content import FigureBlock, TableBlock
from msreboot.report._figures import FigureWriter
from msreboot.report._trial import trial_section
from msreboot.trials import TrialResult, run_trial

SPEC = (
    "[trial]\nname = 'two'\nseed = 3\nreplicates = 3\nfollow_up_years = 2\n"
    "[[arm]]\nname = 'dmt'\nn = 30\ntreatment = {kind = 'dmt', drug = 'natalizumab'}\n"
    "[[arm]]\nname = 'hsct'\nn = 30\nprotocol = 'mist_ahsct'\n"
    "[population]\nage_median = 36\nedss_median = 3.0\nedss_range = [2.0, 5.5]\n"
    "duration_median_years = 8\nphenotype_shares = {RRMS = 1.0}\n"
    "[analysis]\nendpoints = ['relapse_free', 'overall_survival']\ntimes_years = [1, 2]\n"
    "[[published]]\nstatistic = 'relapse_rate'\nvalue = 0.05\narm = 'hsct'\n"
    "source = 'an illustrative figure'\n"
)


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> TrialResult:
    path = tmp_path_factory.mktemp("spec") / "two.toml"
    path.write_text(SPEC, encoding="utf-8")
    return run_trial(path)


def test_curve_bands_hold_the_median_inside_the_band(trial: TrialResult) -> None:
    bands = trial.curve_bands(0.9)
    assert set(bands["arm"]) == {"dmt", "hsct"}
    assert (bands["low"] <= bands["median"] + 1e-12).all()
    assert (bands["median"] <= bands["high"] + 1e-12).all()
    # the band at each time is the replicates' 5% and 95% quantiles of that time's values
    one = trial.curves[
        (trial.curves["endpoint"] == "relapse_free") & (trial.curves["arm"] == "dmt")
    ]
    at_one = one[np.isclose(one["time_years"], 1.0)]["estimate"]
    row = bands[
        (bands["endpoint"] == "relapse_free")
        & (bands["arm"] == "dmt")
        & np.isclose(bands["time_years"], 1.0)
    ].iloc[0]
    assert row["low"] == pytest.approx(at_one.quantile(0.05))
    assert row["median"] == pytest.approx(at_one.median())
    # the last point of the grid (the end of follow-up) is read, not lost to whole days
    last = bands[np.isclose(bands["time_years"], 2.0)]
    assert len(last) == 4
    assert last["median"].notna().all()
    with pytest.raises(ValueError, match="level must be in"):
        trial.curve_bands(1.0)


def test_an_arm_without_deaths_has_a_hazard_ratio_not_estimable(trial: TrialResult) -> None:
    summary = trial.hazard_ratio_summary()
    deaths = summary[summary["endpoint"] == "overall_survival"].iloc[0]
    # 60 patients over 2 years: no replicate has a death in both arms, so no Cox fit of
    # overall survival is reliable and the ratio is not estimable (never a huge number)
    assert deaths["reliable"] == 0
    assert np.isnan(deaths["median"])
    relapses = summary[summary["endpoint"] == "relapse_free"].iloc[0]
    assert relapses["reliable"] == 3
    assert relapses["low"] <= relapses["median"] <= relapses["high"]


def test_the_section_draws_each_endpoint_and_tabulates_ratios_and_statistics(
    trial: TrialResult, tmp_path: Path
) -> None:
    section = trial_section(trial, FigureWriter(tmp_path, tmp_path))
    figures = [b for b in section.blocks if isinstance(b, FigureBlock)]
    assert [f.figure.name for f in figures] == [
        "trial_two_relapse_free",
        "trial_two_overall_survival",
    ]
    tables = {b.caption: b for b in section.blocks if isinstance(b, TableBlock)}
    ratios = tables["Hazard ratios across replicates"]
    assert [r[0] for r in ratios.rows] == ["relapse_free", "overall_survival"]
    assert all("e+" not in cell for row in ratios.rows for cell in row)  # never 6.52e+11
    (statistic,) = tables["Other published statistics, simulated beside them"].rows
    assert statistic[:2] == ("relapse rate", "hsct")
    compare = trial.compare_published().iloc[0]
    assert statistic[4].startswith(f"{compare['simulated']:.3g}")
    assert isinstance(trial.curves, pd.DataFrame)
