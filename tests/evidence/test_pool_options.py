"""Pool options: standard errors, metafor 4's common-effect names, GLMM tests, two-study
heterogeneity warning, meta-regression inheriting the pool's estimator; funnel and Baujat
plots."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from msreboot.evidence import (
    EvidenceError,
    HeterogeneityWarning,
    TruncatedTau2Warning,
    baujat_plot,
    funnel_plot,
    meta_regression,
    pool,
    pool_mantel_haenszel,
    pool_proportions,
    trim_and_fill,
)

YI = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47]
VI = [0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.06]


def test_standard_errors_give_the_same_pool_as_variances() -> None:
    a = pool(YI, VI, method="DL")
    b = pool(YI, se=np.sqrt(VI), method="DL")
    assert b.estimate == pytest.approx(a.estimate, rel=1e-12)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-12)
    np.testing.assert_allclose(b.vi, a.vi, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"vi": VI, "se": VI}, "got both", id="both"),
        pytest.param({}, "got neither", id="neither"),
        pytest.param({"se": [0.1] * 8 + [0.0]}, "se must be positive", id="zero-se"),
    ],
)
def test_variances_or_standard_errors_exactly_once(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(EvidenceError, match=match):
        pool(YI, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["EE", "CE", "ee", "FE"])
def test_common_effect_names_of_metafor_4(name: str) -> None:
    res = pool(YI, VI, method=name)  # type: ignore[arg-type]
    assert res.method == "FE"
    assert res.tau2 == 0.0
    w = 1 / np.asarray(VI)
    assert res.estimate == pytest.approx(float(np.sum(w * YI) / np.sum(w)), rel=1e-12)


def test_glmm_refuses_hartung_knapp() -> None:
    with pytest.raises(EvidenceError, match="test must be 'z' for method='GLMM'"):
        pool_proportions([1, 4, 2, 8], [30, 40, 35, 50], method="GLMM", test="knha")


def test_two_heterogeneous_studies_warn() -> None:
    with pytest.warns(HeterogeneityWarning, match="two studies with I\\^2 = 82%"):
        res = pool([0.2, 0.9], [0.04, 0.05])
    assert res.i2 > 0.5


def test_two_agreeing_studies_and_three_disagreeing_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        pool([0.2, 0.25], [0.04, 0.05])
        pool([0.2, 0.9, 1.6], [0.04, 0.05, 0.04])


def test_two_study_rule_is_strictly_above_fifty_percent() -> None:
    # k = 2, FE: Q = d^2 / (v1 + v2) and I^2 = (Q - 1) / Q; d = 2, v = 1 + 1 gives Q = 2,
    # I^2 = 50% exactly: no warning. A slightly larger difference warns.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        at = pool([0.0, 2.0], [1.0, 1.0], method="FE")
    assert at.i2 == pytest.approx(0.5, rel=1e-12)
    with pytest.warns(HeterogeneityWarning):
        pool([0.0, 2.01], [1.0, 1.0], method="FE")


def test_meta_regression_inherits_the_pool_estimator() -> None:
    year = {"year": [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968]}
    for method in ("DL", "PM", "ML", "FE"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncatedTau2Warning)
            res = pool(YI, VI, method=method)  # type: ignore[arg-type]
            inherited = meta_regression(res, year)
            explicit = meta_regression(res, year, method=method)  # type: ignore[arg-type]
        assert inherited.method == method
        assert inherited.tau2 == explicit.tau2
        assert inherited.coef == explicit.coef
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        dl = pool(YI, VI, method="DL")
        assert meta_regression(dl, year, method="REML").method == "REML"


def test_meta_regression_of_a_mantel_haenszel_pool_is_common_effect() -> None:
    res = pool_mantel_haenszel([2, 1, 4, 6], [48, 29, 36, 60], [6, 3, 9, 7], [44, 27, 32, 61])
    reg = meta_regression(res, {"x": [1.0, 2.0, 3.0, 4.0]})
    assert reg.method == "FE"
    assert reg.tau2 == 0.0


def test_funnel_and_baujat_plots_write_svg(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        res = pool(YI, VI, method="DL")
        tf = trim_and_fill(res)
    for name, draw in [
        ("funnel.svg", lambda p: funnel_plot(res, p)),
        ("funnel_tf.svg", lambda p: funnel_plot(tf, p, contours=(0.95,))),
        ("baujat.svg", lambda p: baujat_plot(res, p)),
    ]:
        path = tmp_path / name
        fig = draw(path)
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<?xml")
        assert "<svg" in text
        assert fig.axes
    funnel_svg = (tmp_path / "funnel.svg").read_text(encoding="utf-8")
    assert "p &lt; 0.01" in funnel_svg  # contour legend, text kept as text
    assert "Standard error" in funnel_svg


def test_funnel_plot_refuses_bad_contours_and_paths(tmp_path: Path) -> None:
    res = pool(YI, VI, method="FE")
    with pytest.raises(EvidenceError, match="contours must be"):
        funnel_plot(res, contours=(95,))
    with pytest.raises(EvidenceError, match="path must end in"):
        funnel_plot(res, tmp_path / "funnel.txt")


def test_leave_one_out_of_a_mantel_haenszel_pool_is_refused() -> None:
    from msreboot.evidence import leave_one_out

    res = pool_mantel_haenszel([2, 1, 4, 6], [48, 29, 36, 60], [6, 3, 9, 7], [44, 27, 32, 61])
    with pytest.raises(EvidenceError, match="refitted from its 2x2 tables"):
        leave_one_out(res)
