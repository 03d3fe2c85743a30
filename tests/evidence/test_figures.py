"""Forest and bubble plots render to SVG and PNG."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import matplotlib
import pytest

from msreboot.evidence import (
    EvidenceError,
    TruncatedTau2Warning,
    bubble_plot,
    forest_plot,
    meta_regression,
    pool,
    pool_proportions,
    subgroup_analysis,
)

matplotlib.use("Agg")

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_reference.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
BCG = _REF["generic"]["bcg"]
LABELS = [f"Trial {i + 1}" for i in range(13)]


def test_forest_plot_svg_keeps_text(tmp_path: Path) -> None:
    res = pool_proportions(
        [0, 1, 2, 8, 0, 3, 5], [24, 151, 281, 110, 50, 90, 40], labels=list("ABCDEFG")
    )
    target = tmp_path / "forest.svg"
    fig = forest_plot(res, target, title="TRM")
    svg = target.read_text(encoding="utf-8")
    for text in ["Events/n", "8/110", "Random-effects (REML)", "Prediction interval", "Weight"]:
        assert text in svg
    assert "Heterogeneity: Q = 19.94" in svg
    assert fig.axes[1].get_xscale() == "linear"


def test_forest_plot_ratio_uses_log_axis_and_png(tmp_path: Path) -> None:
    res = pool(BCG["yi"], BCG["vi"], measure="RR", labels=LABELS)
    target = tmp_path / "nested" / "bcg.png"
    fig = forest_plot(res, target)
    assert target.read_bytes().startswith(b"\x89PNG")
    assert fig.axes[1].get_xscale() == "log"
    assert fig.axes[1].get_xlabel() == "Risk ratio"


def test_forest_plot_common_effect_and_single_study(tmp_path: Path) -> None:
    fe = pool(BCG["yi"], BCG["vi"], method="FE", measure="RR")
    forest_plot(fe, tmp_path / "fe.svg")
    assert "Common-effect model" in (tmp_path / "fe.svg").read_text(encoding="utf-8")
    one = pool([0.2], [0.04])
    forest_plot(one, tmp_path / "one.svg")
    assert "Prediction interval" not in (tmp_path / "one.svg").read_text(encoding="utf-8")


def test_forest_plot_rejects_unknown_format(tmp_path: Path) -> None:
    res = pool([0.1, 0.2], [0.1, 0.1], method="FE")
    with pytest.raises(EvidenceError, match=r"path must end in \.svg, \.png or \.pdf"):
        forest_plot(res, tmp_path / "plot.jpg")


def test_bubble_plot(tmp_path: Path) -> None:
    res = pool(BCG["yi"], BCG["vi"], measure="RR", labels=LABELS)
    reg = meta_regression(
        res, {"ablat": _REF["meta_regression"]["ablat"], "year": _REF["meta_regression"]["year"]}
    )
    target = tmp_path / "bubble.svg"
    fig = bubble_plot(reg, "ablat", target)
    svg = target.read_text(encoding="utf-8")
    assert "ablat: slope -0.028" in svg
    assert "Trial 4" in svg
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(EvidenceError, match="moderator must be one of"):
        bubble_plot(reg, "latitude")


def test_bubble_plot_for_proportions(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        res = pool_proportions([0, 1, 8, 3], [151, 24, 281, 55], labels=list("abcd"))
        reg = meta_regression(res, {"edss": [4.0, 5.0, 6.5, 3.4]})
        fig = bubble_plot(reg, path=tmp_path / "b.png")
    assert fig.axes[0].get_ylabel() == "Proportion"
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_forest_plot_of_subgroups(tmp_path: Path) -> None:
    res = pool(BCG["yi"], BCG["vi"], measure="RR", labels=LABELS)
    sub = subgroup_analysis(res, _REF["subgroups"]["groups"])
    target = tmp_path / "sub.svg"
    forest_plot(sub, target)
    svg = target.read_text(encoding="utf-8")
    for text in ["alternate", "systematic", "Subtotal (k = 7", "Test for subgroup differences"]:
        assert text in svg
    fe = subgroup_analysis(
        pool(BCG["yi"], BCG["vi"], method="FE", measure="RR"), _REF["subgroups"]["groups"]
    )
    forest_plot(fe, tmp_path / "fe_sub.svg")
    assert "Common-effect model" in (tmp_path / "fe_sub.svg").read_text(encoding="utf-8")
