"""Round trip: a generated registry with a known AHSCT effect and confounding by indication.

Sicker patients (higher EDSS, more relapses in the prior year) are more often transplanted
and relapse more often. The crude comparison is biased towards no effect; weighting and
matching recover the effect the data were generated with.

The targets are the marginal effects among the treated (ATT): the relapse-rate ratio is
collapsible, so its target is exp(beta) exactly; the hazard ratio of the first relapse is
not, so its target is the Cox hazard ratio fitted to both potential outcomes of every
treated patient (a counterfactual sample without confounding), computed here.

Tolerance: 3 standard errors of the adjusted estimate (its own robust SE) plus the Monte
Carlo error of the counterfactual target, and the crude estimate must lie further than that
from the target.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from msreboot.analysis import EmulatedTrial, EmulationSpec, emulate_trial
from msreboot.data import Cohort
from msreboot.stats import cox_regression

BETA = math.log(0.3)  # conditional log rate ratio of relapse, AHSCT vs DMT
GAMMA_EDSS, GAMMA_RELAPSE = 0.45, 0.35  # log rate ratio per EDSS point and prior relapse
BASE_RATE = 0.35  # relapses per year at EDSS 4, no prior relapse
FOLLOW_UP_YEARS = 4.0
N = 1400
SEED = 20_261_204


def _ps_logit(edss: np.ndarray, prior: np.ndarray) -> np.ndarray:
    return -3.2 + 0.9 * (edss - 1.5) * 0.6 + 0.8 * prior


def _rate(edss: np.ndarray, prior: np.ndarray, treated: np.ndarray) -> np.ndarray:
    return BASE_RATE * np.exp(
        GAMMA_EDSS * (edss - 4) + GAMMA_RELAPSE * prior + BETA * treated.astype(float)
    )


def _registry(rng: np.random.Generator) -> tuple[dict[str, pd.DataFrame], float]:
    edss = np.clip(np.round(rng.normal(3.8, 1.3, N) * 2) / 2, 1.0, 6.5)
    prior = rng.poisson(0.9, N)
    treated = rng.random(N) < 1 / (1 + np.exp(-_ps_logit(edss, prior)))
    start = dt.date(2012, 1, 1)
    patients, treatments, visits, relapses = [], [], [], []
    rate = _rate(edss, prior, treated)
    for i in range(N):
        pid = f"R{i:05d}"
        zero = start + dt.timedelta(days=int(rng.integers(0, 2000)))
        patients.append(
            {
                "patient_id": pid,
                "sex": "F" if rng.random() < 0.7 else "M",
                "birth_date": zero - dt.timedelta(days=int(rng.uniform(25, 50) * 365.25)),
                "onset_date": zero - dt.timedelta(days=int(rng.uniform(2, 12) * 365.25)),
                "phenotype": "RRMS",
                "prior_dmt_count": 1,
            }
        )
        course = {"patient_id": pid, "start_date": zero}
        treatments.append(
            course | {"kind": "ahsct"}
            if treated[i]
            else course | {"kind": "dmt", "drug": "natalizumab"}
        )
        for lag in rng.choice(np.arange(30, 360), size=prior[i], replace=False):
            relapses.append({"patient_id": pid, "onset_date": zero - dt.timedelta(days=int(lag))})
        visits.append({"patient_id": pid, "date": zero - dt.timedelta(days=20), "edss": edss[i]})
        end = zero + dt.timedelta(days=round(FOLLOW_UP_YEARS * 365.25))
        visits.append({"patient_id": pid, "date": end, "edss": edss[i]})
        t = 0.0
        while True:
            t += rng.exponential(1 / rate[i])
            if t >= FOLLOW_UP_YEARS - 0.01:
                break
            onset = zero + dt.timedelta(days=max(round(t * 365.25), 1))
            relapses.append({"patient_id": pid, "onset_date": onset})
    tables = {
        "patients": pd.DataFrame(patients),
        "treatments": pd.DataFrame(treatments),
        "edss": pd.DataFrame(visits),
        "relapses": pd.DataFrame(relapses).drop_duplicates(),
    }
    # counterfactual target: Cox HR of the first relapse in both potential outcomes of the
    # treated, from a large sample of their covariates
    big = 40
    e_t = np.repeat(edss[treated], big)
    p_t = np.repeat(prior[treated], big)
    times = []
    for arm in (1, 0):
        lam = _rate(e_t, p_t, np.full(e_t.size, arm, dtype=bool))
        first = rng.exponential(1 / lam)
        times.append(
            pd.DataFrame(
                {
                    "time": np.minimum(first, FOLLOW_UP_YEARS),
                    "event": (first < FOLLOW_UP_YEARS).astype(int),
                    "arm": arm,
                }
            )
        )
    target = cox_regression(pd.concat(times), "time", "event", ["arm"])
    return tables, float(target.coef[0])


@pytest.fixture(scope="module")
def registry() -> tuple[Cohort, float]:
    tables, target = _registry(np.random.default_rng(SEED))
    return Cohort.from_frames(tables), target


def _spec(method: str) -> EmulationSpec:
    return EmulationSpec.model_validate(
        {
            "name": "roundtrip",
            "control": {"name": "Natalizumab", "kind": "dmt", "drugs": ["natalizumab"]},
            "adjustment": {
                "covariates": ["baseline_edss", "relapses_prior_year"],
                "method": method,
                "estimand": "att",
                "replace": False,
                "caliper_sd": 0.2,
            },
            "outcomes": {"endpoints": ["relapse_free"], "rmst_years": 3},
        }
    )


@pytest.fixture(scope="module", params=["iptw", "matching"])
def trial(request: pytest.FixtureRequest, registry: tuple[Cohort, float]) -> EmulatedTrial:
    return emulate_trial(registry[0], _spec(request.param), warn=False)


def test_crude_is_biased_and_adjusted_recovers_the_hazard_ratio(
    trial: EmulatedTrial, registry: tuple[Cohort, float]
) -> None:
    target = registry[1]
    model = trial.primary.adjusted
    crude = trial.primary.crude
    assert model is not None
    assert crude is not None
    tolerance = 3 * math.hypot(float(model.std_err[0]), 0.02)
    assert abs(float(model.coef[0]) - target) < tolerance
    assert abs(float(crude.coef[0]) - target) > tolerance
    assert float(crude.coef[0]) > target  # confounding by indication hides part of the benefit


def test_adjusted_relapse_rate_ratio_recovers_beta(trial: EmulatedTrial) -> None:
    assert trial.relapse_rate is not None
    rows = trial.relapse_rate.table.set_index("analysis")
    se = (
        math.log(rows.loc["adjusted", "ci_high"]) - math.log(rows.loc["adjusted", "rate_ratio"])
    ) / 1.96
    assert abs(math.log(rows.loc["adjusted", "rate_ratio"]) - BETA) < 3 * se
    assert abs(math.log(rows.loc["crude", "rate_ratio"]) - BETA) > 3 * se


def test_balance_improves(trial: EmulatedTrial) -> None:
    assert np.all(np.abs(trial.balance.smd_before) > 0.3)
    assert np.all(np.abs(trial.balance.smd_after) < 0.15)
    assert np.all(np.abs(trial.balance.smd_after) < np.abs(trial.balance.smd_before) / 3)


def test_overlap_weights_balance_the_model_covariates_exactly(
    registry: tuple[Cohort, float],
) -> None:
    result = emulate_trial(registry[0], _spec("overlap"), warn=False)
    assert np.all(np.abs(result.balance.smd_after) < 1e-6)
    assert not result.balance.failing
