"""Degenerate meta-analyses: identical studies, tiny variances, counts that are not whole."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from msreboot.evidence import (
    EvidenceError,
    HeterogeneityWarning,
    TruncatedTau2Warning,
    meta_regression,
    pool,
    pool_proportions,
    pool_rates,
)

REFERENCE = Path(__file__).parents[1] / "reference" / "evidence" / "metafor_edge_cases.json"
_REF = json.loads(REFERENCE.read_text(encoding="utf-8"))
CASES = [
    pytest.param(name, key, id=f"{name}-{key}")
    for name, block in _REF["cases"].items()
    for key in block["fits"]
]


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


@pytest.mark.parametrize(("name", "key"), CASES)
def test_edge_cases_match_metafor(name: str, key: str) -> None:
    block = _REF["cases"][name]
    ref = block["fits"][key]
    method, test = key.split("_")
    hk_zero = name == "identical_pair" and test == "knha"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = pool(block["yi"], block["vi"], method=method, test=test)  # type: ignore[arg-type]
    hk_warnings = [w for w in caught if "Hartung-Knapp" in str(w.message)]
    assert len(hk_warnings) == (1 if hk_zero else 0)
    others = [
        w
        for w in caught
        if w not in hk_warnings
        and not issubclass(w.category, (TruncatedTau2Warning, HeterogeneityWarning))
    ]
    assert not others
    tol = _REF["tolerances"]
    for field in ("estimate", "se", "ci_low", "ci_high", "pvalue", "tau2", "pi_low", "pi_high"):
        theirs = ref["pval" if field == "pvalue" else field]
        np.testing.assert_allclose(
            getattr(res, field), _nan(theirs), rtol=tol["rtol"], atol=tol["atol"], err_msg=field
        )


def test_hartung_knapp_warning_in_meta_regression() -> None:
    base = pool([0.1, 0.3, 0.5], [0.1, 0.1, 0.1], method="FE")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = meta_regression(base, {"x": [1.0, 2.0, 3.0]}, method="FE", test="knha")
    assert any("Hartung-Knapp standard error is 0" in str(w.message) for w in caught)
    assert max(reg.se) < 1e-12


def test_hartung_knapp_with_different_effects_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        res = pool([0.5, 0.52], [0.1, 0.1], test="knha")
    assert res.se > 0


@pytest.mark.parametrize(
    ("yi", "vi", "match"),
    [
        pytest.param([0.5, 0.7], [1e-320, 1e-320], r"vi must be in \[1e-300", id="subnormal"),
        pytest.param([0.5, 0.7], [1.0, 1e200], r"vi must be in \[1e-300", id="huge-variance"),
        pytest.param([0.5, 0.7], [1e-12, 1.0], "vi must span at most", id="variance-ratio"),
        pytest.param([1e200, -1e200], [1.0, 1.0], r"yi must be within", id="huge-effect"),
    ],
)
def test_unpoolable_inputs_are_located_errors(yi: list[float], vi: list[float], match: str) -> None:
    with pytest.raises(EvidenceError, match=match):
        pool(yi, vi)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        pytest.param(lambda: pool_proportions([1.5, 2], [10, 10]), "events", id="prop-events"),
        pytest.param(lambda: pool_proportions([1, 2], [10, 10.5]), "n", id="prop-n"),
        pytest.param(
            lambda: pool_proportions([1.5, 2], [10, 10], method="GLMM"), "events", id="glmm"
        ),
        pytest.param(lambda: pool_rates([1.5, 2], [10.0, 20.0]), "events", id="rates"),
    ],
)
def test_counts_must_be_whole_numbers(call: Any, match: str) -> None:
    with pytest.raises(EvidenceError, match=f"{match} must be whole numbers >= 0"):
        call()


def test_person_time_may_be_fractional() -> None:
    res = pool_rates([3, 12], [140.5, 300.25], method="FE")
    assert np.isfinite(res.estimate)
