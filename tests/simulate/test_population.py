"""Population specs: matching published summaries, truncation, eligibility selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msreboot.simulate import PopulationSpec, VisitSchedule, simulate_cohort

HALT_MS = {
    "age_median": 38,
    "age_range": (18, 60),
    "edss_median": 4.5,
    "edss_range": (3.0, 5.5),
    "duration_median_years": 4.9,
    "phenotype_shares": {"RRMS": 1.0},
}


def _baseline(spec: PopulationSpec, n: int = 3000, seed: int = 1):  # type: ignore[no-untyped-def]
    sim = simulate_cohort(n, spec, None, VisitSchedule(12, None), 0.1, seed=seed, validate=False)
    return sim.truth


def test_matching_reproduces_halt_ms_summary() -> None:
    """Medians within 0.3 (age, years) / 0.1 (EDSS) of HALT-MS; every value in range."""
    truth = _baseline(PopulationSpec.matching(**HALT_MS))
    assert truth["age_years"].median() == pytest.approx(38, abs=0.5)
    assert truth["duration_years"].median() == pytest.approx(4.9, abs=0.3)
    assert truth["edss_latent"].median() == pytest.approx(4.5, abs=0.1)
    assert truth["edss_latent"].between(3.0, 5.5).all()
    assert truth["age_years"].between(18, 60).all()
    assert (truth["phenotype"] == "RRMS").all()


def test_matching_by_mean() -> None:
    spec = PopulationSpec.matching(
        age_mean=36,
        age_range=(18, 60),
        edss_mean=3.4,
        edss_range=(2.0, 6.0),
        duration_mean_years=6.0,
    )
    truth = _baseline(spec)
    assert truth["age_years"].mean() == pytest.approx(36, abs=0.5)
    assert truth["edss_latent"].mean() == pytest.approx(3.4, abs=0.08)
    assert truth["duration_years"].mean() == pytest.approx(6.0, abs=0.4)


def test_eligibility_on_relapses_selects_active_patients() -> None:
    """At least two relapses in the last year: every patient has them recorded, and the
    latent inflammatory propensity is higher than in the unselected population."""
    spec = PopulationSpec.matching(**HALT_MS)
    active = spec.replace(min_prior_relapses=2, prior_relapse_window_years=1.0)
    sim = simulate_cohort(1000, active, None, VisitSchedule(12, None), 0.1, seed=2)
    prior = sim.cohort.relapses.query("onset_date < 0").groupby("patient_id").size()
    assert len(prior) == 1000
    assert (prior >= 2).all()
    assert (sim.cohort.relapses["onset_date"] >= -366).all()
    unselected = _baseline(spec, n=1000, seed=2)

    def activity(truth: pd.DataFrame) -> float:
        return float((truth["inflammatory_propensity"] * truth["recent_activity_ratio"]).mean())

    assert activity(sim.truth) > 1.3 * activity(unselected)
    # both the persistent and the recent part are selected
    for column in ("inflammatory_propensity", "recent_activity_ratio"):
        assert sim.truth[column].mean() > 1.05 * unselected[column].mean()


def test_gd_eligibility() -> None:
    spec = PopulationSpec.matching(**HALT_MS).replace(min_gd_lesions=1)
    sim = simulate_cohort(300, spec, None, VisitSchedule(12, 12), 0.5, seed=3)
    baseline = sim.cohort.mri.query("date == 0")
    assert len(baseline) == 300
    assert (baseline["gd_lesions"] >= 1).all()


def test_onset_cohort_starts_at_onset() -> None:
    sim = simulate_cohort(200, PopulationSpec.onset_cohort(), None, follow_up_years=1, seed=4)
    assert (sim.cohort.patients["onset_date"] == 0).all()
    assert (sim.truth["duration_years"] == 0).all()
    assert (sim.cohort.relapses["onset_date"] >= 0).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age_range_years": (50, 20)}, "age_range_years"),
        ({"female_probability": 1.2}, "female_probability"),
        ({"rrms_share": 0, "spms_share": 0, "ppms_share": 0}, "positive sum"),
        ({"edss_mean": 9.0, "edss_sd": 0.1, "edss_range": (0, 2)}, "almost no mass"),
        ({"min_prior_relapses": 2, "prior_relapse_window_years": 0}, "window"),
        ({"max_prior_relapses": 1, "min_prior_relapses": 2}, "max_prior_relapses"),
    ],
)
def test_invalid_specs(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PopulationSpec(**kwargs)  # type: ignore[arg-type]


def test_matching_errors() -> None:
    with pytest.raises(ValueError, match="only one of age_median or age_mean may be given"):
        PopulationSpec.matching(age_median=38, age_mean=38, edss_median=4, duration_median_years=5)
    with pytest.raises(ValueError, match=r"edss_median must lie in edss_range \[3, 5.5\]; got 7"):
        PopulationSpec.matching(
            age_median=38, edss_median=7, edss_range=(3, 5.5), duration_median_years=5
        )
    # The message names the real keys, with their unit suffix.
    with pytest.raises(
        ValueError, match="one of duration_median_years or duration_mean_years must be given"
    ):
        PopulationSpec.matching(age_median=38, edss_median=4)


def test_impossible_eligibility_is_reported() -> None:
    spec = PopulationSpec(min_prior_relapses=20, prior_relapse_window_years=0.5)
    with pytest.raises(ValueError, match="eligibility is too strict"):
        simulate_cohort(2, spec, follow_up_years=0.5, seed=1)


def test_phenotype_shares() -> None:
    spec = PopulationSpec(rrms_share=2, spms_share=1, ppms_share=1)
    assert spec.phenotype_shares == {"RRMS": 0.5, "SPMS": 0.25, "PPMS": 0.25}
    counts = _baseline(spec, n=4000)["phenotype"].value_counts(normalize=True)
    np.testing.assert_allclose(counts[["RRMS", "SPMS", "PPMS"]], [0.5, 0.25, 0.25], atol=0.03)
