"""Fine-Gray (crr) and Gray's test (cuminc) against R cmprsk 2.2 (reference JSON only).

tests/reference/survival/competing_reference.R writes the JSON, datasets included.
Tolerance: 1e-6 relative, 1e-10 absolute near zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from msreboot.stats._fine_gray import fine_gray

HERE = Path(__file__).resolve().parents[1] / "reference" / "survival"
REF = json.loads((HERE / "competing_reference.json").read_text(encoding="utf-8"))
RTOL = REF["tolerances"]["rtol"]
ATOL = REF["tolerances"]["atol"]


def _vec(values: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=object))
    return np.array([np.nan if v is None else float(v) for v in arr], dtype=float)


def assert_matches_r(ours: Any, theirs: Any, what: str) -> None:
    np.testing.assert_allclose(
        np.atleast_1d(np.asarray(ours, dtype=float)),
        _vec(theirs),
        rtol=RTOL,
        atol=ATOL,
        err_msg=what,
    )


def frame(name: str) -> pd.DataFrame:
    """A dataset of the reference JSON."""
    return pd.DataFrame(REF["datasets"][name])


def test_reference_records_its_provenance() -> None:
    assert REF["provenance"]["cmprsk_version"].startswith("2.")
    assert RTOL == 1e-6


def test_synthetic_csv_is_the_json_dataset() -> None:
    stored = pd.read_csv(HERE / "competing_data.csv")
    pd.testing.assert_frame_equal(stored, frame("synth")[stored.columns], check_dtype=False)


@pytest.mark.parametrize(
    "entry",
    REF["fine_gray"],
    ids=lambda e: (
        f"{e['case']['dataset']}-cause{e['case']['cause']}-"
        + "+".join(np.atleast_1d(e["case"]["covariates"]))
    ),
)
def test_fine_gray_matches_crr(entry: dict[str, Any]) -> None:
    case = entry["case"]
    covariates = list(np.atleast_1d(case["covariates"]))
    data = frame(case["dataset"])
    model = fine_gray(data, "time", "status", covariates, cause=case["cause"])
    assert [t.replace("[", "").replace("]", "") for t in model.terms] == list(
        np.atleast_1d(entry["terms"])
    )
    p = len(model.terms)
    assert_matches_r(model.coef, entry["coef"], "coef")
    assert_matches_r(model.covariance.ravel(order="F"), entry["var"], "sandwich var")
    assert_matches_r(model.naive_covariance.ravel(order="F"), entry["invinf"], "invinf")
    assert_matches_r(model.std_err, entry["se"], "se")
    assert_matches_r(model.loglik, entry["loglik"], "loglik")
    assert_matches_r(model.loglik_null, entry["loglik_null"], "loglik.null")
    assert_matches_r(model.baseline_times, entry["uftime"], "uftime")
    assert_matches_r(model.baseline_jumps, entry["bfitj"], "bfitj")
    predicted = model.predict(data.iloc[list(entry["profile_rows"])])
    wide = predicted.pivot(index="time", columns="profile", values="cumulative_incidence")
    assert_matches_r(wide.index.to_numpy(), entry["predict_time"], "predict time")
    assert_matches_r(wide.to_numpy().ravel(order="F"), entry["predict"], "predict")
    assert model.covariance.shape == (p, p)
