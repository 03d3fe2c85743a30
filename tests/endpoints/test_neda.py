"""NEDA over a window: activity, NEDA, and "not evaluable" (never silently NEDA)."""

from __future__ import annotations

import pytest

from msreboot.endpoints._definitions import EndpointDefinition, RelapseComponent
from msreboot.endpoints._neda import neda_status
from msreboot.endpoints._transplant import exact_binomial_ci
from tests.endpoints.test_composite import make_cohort


def _full(patient: str, last: int = 760) -> dict[str, list]:
    """EDSS 3.0 before day 0 and every 6 months; a clean scan yearly; followed to ``last``."""
    return {
        "edss": [(patient, d, 3.0) for d in (-5, 180, 365, 547, last)],
        "mri": [(patient, d, 0, 0) for d in (-20, 365, last)],
    }


def _cohort(**patients: dict[str, list]) -> object:
    tables: dict[str, list] = {"edss": [], "mri": [], "relapses": [], "deaths": []}
    for parts in patients.values():
        for name, rows in parts.items():
            tables[name].extend(rows)
    return make_cohort(**tables)


def status_of(result: object, patient: str) -> tuple[str, str]:
    frame = result.patients
    row = frame[frame["patient_id"] == patient].iloc[0]
    return row["status"], row["reason"]


def test_each_status_and_its_reason() -> None:
    no_mri = _full("C")
    no_mri["mri"] = [("C", -20, 0, 0)]
    no_mri_but_relapse = {**no_mri, "edss": [("D", *v[1:]) for v in no_mri["edss"]]}
    no_mri_but_relapse["mri"] = [("D", -20, 0, 0)]
    no_mri_but_relapse["relapses"] = [("D", 300, None)]
    died = {
        "edss": [("E", -5, 3.0), ("E", 180, 3.0)],
        "mri": [("E", -20, 0, 0)],
        "deaths": [("E", 200)],
    }
    no_baseline = _full("F")
    no_baseline["edss"] = [("F", d, 3.0) for d in (10, 180, 365, 547, 760)]
    cohort = _cohort(
        A=_full("A"),
        B={**_full("B"), "mri": [("B", -20, 0, 0), ("B", 365, 1, 0), ("B", 760, 0, 0)]},
        C=no_mri,
        D=no_mri_but_relapse,
        E=died,
        F=no_baseline,
    )
    result = neda_status(cohort)
    assert status_of(result, "A") == ("NEDA", "")
    assert status_of(result, "B") == ("activity", "mri")
    assert status_of(result, "C") == ("not evaluable", "not assessed")
    assert status_of(result, "D") == ("activity", "relapse")  # activity needs no other check
    assert status_of(result, "E") == ("not evaluable", "died")
    assert status_of(result, "F") == ("not evaluable", "no baseline EDSS")
    assert (result.n_neda, result.n_activity, result.n_not_evaluable) == (1, 2, 3)
    assert result.proportion == pytest.approx(1 / 3)
    assert (result.ci_low, result.ci_high) == exact_binomial_ci(1, 3)
    assert "1/3 evaluable patients with NEDA" in result.summary()


def test_assessment_tolerance_decides_whether_the_end_was_reached() -> None:
    # Last EDSS and MRI 100 days before the end of year 2 (day 730.5).
    cohort = _cohort(A=_full("A", last=630))
    assert status_of(neda_status(cohort), "A")[0] == "not evaluable"
    loose = neda_status(cohort, assessment_tolerance_days=120)
    assert status_of(loose, "A")[0] == "NEDA"


def test_window_after_day_0_ignores_earlier_activity() -> None:
    early = _full("A")
    early["relapses"] = [("A", 100, None)]
    late = _full("B", last=1100)
    late["relapses"] = [("B", 400, None)]
    cohort = _cohort(A=early, B=late)
    first = neda_status(cohort, window_years=(0, 1))
    assert status_of(first, "A")[0] == "activity"
    assert status_of(first, "B")[0] == "NEDA"
    second = neda_status(cohort, window_years=(1, 2))
    assert status_of(second, "A")[0] == "NEDA"
    assert status_of(second, "B")[0] == "activity"


def test_custom_components_and_bad_arguments() -> None:
    cohort = _cohort(A=_full("A"))
    relapses_only = EndpointDefinition(name="nedr", components=(RelapseComponent(),))
    result = neda_status(cohort, definition=relapses_only)
    assert list(result.patients.columns) == [
        "patient_id",
        "status",
        "reason",
        "relapse_active",
        "relapse_assessed",
    ]
    with pytest.raises(ValueError, match="window_years"):
        neda_status(cohort, window_years=(2, 1))
    with pytest.raises(ValueError, match=r"Did you mean 0\.95"):
        neda_status(cohort, conf_level=95)
    with pytest.raises(ValueError, match="no components"):
        neda_status(cohort, definition=EndpointDefinition.overall_survival())


def test_no_evaluable_patient_gives_nan_not_an_error() -> None:
    cohort = _cohort(A={"edss": [("A", -5, 3.0), ("A", 50, 3.0)], "mri": [("A", -20, 0, 0)]})
    result = neda_status(cohort)
    assert result.n_not_evaluable == 1
    assert result.proportion != result.proportion  # nan
    assert "not estimable" in result.summary()
