"""Two-group effect sizes and Mantel-Haenszel / Peto pooling against R metafor (JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from msreboot.evidence import (
    EvidenceError,
    binary_effect_sizes,
    mean_effect_sizes,
    pool_mantel_haenszel,
    pool_peto,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_bias_influence.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
RTOL = _REF["tolerances"]["closed_form_rtol"]


def _arr(x: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], dtype=float)


def _close(actual: Any, expected: Any) -> None:
    np.testing.assert_allclose(_arr(actual), _arr(expected), rtol=RTOL, atol=1e-12)


ESCALC = [
    pytest.param(name, key, id=f"{name}-{key}")
    for name, block in _REF["escalc"].items()
    for key in block
    if key not in ("ai", "bi", "ci", "di")
]


@pytest.mark.parametrize(("name", "key"), ESCALC)
def test_binary_effect_sizes_match_escalc(name: str, key: str) -> None:
    block = _REF["escalc"][name]
    measure, to, drop00 = key.split("_")
    es = binary_effect_sizes(
        block["ai"],
        block["bi"],
        block["ci"],
        block["di"],
        measure=measure,  # type: ignore[arg-type]
        to=to,  # type: ignore[arg-type]
        drop00=drop00 == "TRUE",
    )
    _close(es.yi, block[key]["yi"])
    _close(es.vi, block[key]["vi"])
    assert list(es.dropped) == list(np.isnan(_arr(block[key]["yi"])))


@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_mean_effect_sizes_match_escalc(measure: str) -> None:
    m = _REF["means"]
    es = mean_effect_sizes(
        m["m1i"], m["sd1i"], m["n1i"], m["m2i"], m["sd2i"], m["n2i"], measure=measure
    )  # type: ignore[arg-type]
    _close(es.yi, m[measure]["yi"])
    _close(es.vi, m[measure]["vi"])


MH = [
    pytest.param(name, measure, id=f"{name}-{measure}")
    for name, block in _REF["mantel_haenszel"].items()
    for measure in block
]


@pytest.mark.parametrize(("name", "measure"), MH)
def test_mantel_haenszel_and_peto_match_metafor(name: str, measure: str) -> None:
    t = _REF["escalc"][name]
    ref = _REF["mantel_haenszel"][name][measure]
    cells = (t["ai"], t["bi"], t["ci"], t["di"])
    if measure == "PETO":
        res = pool_peto(*cells)
        _close(res.yi, ref["yi"])
        _close(res.vi, ref["vi"])
        kept = _arr(ref["weights"]) > 0
        _close(res.weights, _arr(ref["weights"])[kept])
    else:
        res = pool_mantel_haenszel(*cells, measure=measure)  # type: ignore[arg-type]
        _close(res.weights, ref["weights"])
    for ours, theirs in [
        ("estimate", "estimate"),
        ("se", "se"),
        ("ci_low", "ci_low"),
        ("ci_high", "ci_high"),
        ("statistic", "zval"),
        ("pvalue", "pval"),
        ("q", "q"),
        ("q_pvalue", "q_pvalue"),
        ("i2", "i2"),
        ("h2", "h2"),
    ]:
        _close(getattr(res, ours), ref[theirs])
    assert res.k == ref["k"]
    assert res.tau2 == 0.0


def test_effect_sizes_pool_feeds_pool() -> None:
    t = _REF["escalc"]["bcg"]
    es = binary_effect_sizes(t["ai"], t["bi"], t["ci"], t["di"], measure="RR")
    res = es.pool(method="DL")
    assert res.measure == "RR"
    assert res.k == 13
    assert es.to_frame().shape == (13, 6)


def test_hand_worked_odds_ratio_with_zero_cell() -> None:
    # 0/10 vs 2/10: 1/2 added to every cell -> OR = (0.5 * 8.5) / (10.5 * 2.5)
    es = binary_effect_sizes([0], [10], [2], [8], measure="OR")
    assert es.yi[0] == pytest.approx(np.log(0.5 * 8.5 / (10.5 * 2.5)), rel=1e-12)
    assert es.vi[0] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 2.5 + 1 / 8.5, rel=1e-12)
    assert es.corrected == (True,)


def test_double_zero_is_dropped_only_when_asked() -> None:
    kept = binary_effect_sizes([0, 1], [20, 19], [0, 3], [20, 17], measure="RR")
    assert kept.dropped == (False, False)
    assert kept.yi[0] == 0.0
    dropped = binary_effect_sizes([0, 1], [20, 19], [0, 3], [20, 17], drop00=True)
    assert dropped.dropped == (True, False)
    assert np.isnan(dropped.yi[0])
    assert dropped.pool(method="FE").k == 1


def test_smd_hand_worked() -> None:
    # m = 38, J = Gamma(19) / (sqrt(19) Gamma(18.5)); g = J * 1 / 2
    es = mean_effect_sizes([5.0], [2.0], [20], [4.0], [2.0], [20])
    from math import exp, lgamma, log

    j = exp(lgamma(19) - 0.5 * log(19) - lgamma(18.5))
    assert es.yi[0] == pytest.approx(j * 0.5, rel=1e-12)
    assert es.vi[0] == pytest.approx(0.1 + (j * 0.5) ** 2 / 80, rel=1e-12)


def test_mantel_haenszel_refuses_tables_without_events() -> None:
    with pytest.raises(EvidenceError, match="finite and positive"):
        pool_mantel_haenszel([0, 0], [10, 12], [0, 0], [11, 9], measure="OR")
    with pytest.raises(EvidenceError, match="events and non-events"):
        pool_peto([0, 0], [10, 12], [0, 0], [11, 9])


def test_empty_arm_and_bad_options_are_refused() -> None:
    with pytest.raises(EvidenceError, match="at least one patient"):
        binary_effect_sizes([0], [0], [1], [5])
    with pytest.raises(EvidenceError, match="to must be one of"):
        binary_effect_sizes([1], [4], [1], [5], to="sometimes")  # type: ignore[arg-type]
    with pytest.raises(EvidenceError, match="whole"):
        binary_effect_sizes([1.5], [4], [1], [5])


def test_uncorrected_double_zero_risk_difference_cannot_be_pooled() -> None:
    es = binary_effect_sizes([0, 2], [20, 18], [0, 5], [20, 15], measure="RD", to="none")
    assert es.vi[0] == 0.0
    with pytest.raises(EvidenceError, match="variance 0"):
        es.pool()
