"""Coverage: the projection for each bundled TRM study's median patient against the study's
own published figure.

The check is in-sample (the meta-regression is fitted to these same studies), so it shows
the prediction is consistent with them, not that it predicts new ones. Projections of the
simulated options for the studies' median patients are not checked here: the studies do
not publish the relapse count, HCT-CI or sex of a median patient, which a projection needs
and would have to assume (docs/how-to/patient-projection.md lists this).
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from msreboot.analysis import PatientProfile, predict_trm, trm_studies

STUDIES = trm_studies().to_dict("records")


def _exact_interval(events: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of ``events`` out of ``n``."""
    alpha = 1 - level
    low = 0.0 if events == 0 else float(stats.beta.ppf(alpha / 2, events, n - events + 1))
    high = 1.0 if events == n else float(stats.beta.ppf(1 - alpha / 2, events + 1, n - events))
    return low, high


@pytest.mark.parametrize("study", STUDIES, ids=[s["outcome_id"] for s in STUDIES])
def test_median_patient_trm_lies_within_the_studys_interval(study: dict[str, object]) -> None:
    edss = round(2 * float(study["edss"])) / 2  # type: ignore[arg-type]
    age = float(study["age"])  # type: ignore[arg-type]
    profile = PatientProfile(age_years=38 if math.isnan(age) else age, edss=edss, phenotype="RRMS")
    prediction = predict_trm(profile)
    low, high = _exact_interval(float(study["events"]), float(study["n"]))  # type: ignore[arg-type]
    assert low <= prediction.probability <= high
    assert prediction.ci_low <= prediction.probability <= prediction.ci_high


def test_exact_interval_by_hand() -> None:
    # 0 of 52: upper limit 1 - 0.025 ** (1 / 52) = 0.06849 (Clopper-Pearson, closed form)
    low, high = _exact_interval(0, 52)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 52), rel=1e-10)
