"""The bundled evidence tables: consistency and citation checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from msreboot.data._schema import CONDITIONING_INTENSITIES
from msreboot.evidence import (
    DATASET_VERSION,
    EvidenceError,
    TruncatedTau2Warning,
    effect_sizes,
    load_outcomes,
    load_studies,
    meta_regression,
    pool,
)


@pytest.fixture(scope="module")
def studies() -> pd.DataFrame:
    return load_studies()


@pytest.fixture(scope="module")
def outcomes() -> pd.DataFrame:
    return load_outcomes()


def test_keys_are_unique(studies: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    assert not studies.duplicated(["study_id", "arm"]).any()
    assert outcomes["outcome_id"].is_unique


def test_every_outcome_belongs_to_a_study_arm(
    studies: pd.DataFrame, outcomes: pd.DataFrame
) -> None:
    keys = set(zip(studies["study_id"], studies["arm"], strict=True))
    missing = [k for k in zip(outcomes["study_id"], outcomes["arm"], strict=True) if k not in keys]
    assert missing == []
    arms = set(studies["arm"])
    comparators = {c for c in outcomes["comparator_arm"] if c}
    assert comparators <= arms | {"placebo"}


def test_every_row_is_cited(studies: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    assert set(studies["citation_status"]) <= {"verified", "partial", "unverified"}
    cited = studies[studies["citation_status"] != "unverified"]
    # authors, or a DOI where the authors were not read (BMT 2020, Neurol Sci meta-analyses)
    assert ((cited["authors"] != "") | (cited["doi"] != "")).all()
    # a journal article, a trial-registry record, or a page the notes name ("Read from")
    assert (
        (cited["journal"] != "")
        | (cited["registry_id"] != "")
        | cited["notes"].str.contains("Read from")
    ).all()
    articles = cited[cited["journal"] != ""]
    assert articles["year"].notna().all()
    verified = studies[studies["citation_status"] == "verified"]
    assert ((verified["volume"] != "") | (verified["doi"] != "")).all()
    unverified = studies[studies["citation_status"] == "unverified"]
    assert (unverified["notes"].str.contains("primary source not yet identified")).all()
    assert (outcomes["source"] != "").all()
    assert set(outcomes["source_kind"]) <= {
        "abstract",
        "seed article",
        "news report",
        "evidence notes",
    }


def test_identifiers_are_well_formed(studies: pd.DataFrame) -> None:
    dois = studies.loc[studies["doi"] != "", "doi"]
    assert dois.str.match(r"^10\.\d{4,9}/\S+$").all()
    ids = studies.loc[studies["registry_id"] != "", "registry_id"]
    assert ids.str.match(r"^(NCT|ISRCTN)\d{8}$").all()


def test_counts_are_consistent(outcomes: pd.DataFrame) -> None:
    counted = outcomes.dropna(subset=["events", "n"])
    assert (counted["events"] >= 0).all()
    assert (counted["events"] <= counted["n"]).all()
    np.testing.assert_allclose(counted["estimate"], counted["events"] / counted["n"], atol=1e-6)


def test_intervals_bracket_estimates(outcomes: pd.DataFrame) -> None:
    with_ci = outcomes.dropna(subset=["ci_low", "ci_high"])
    assert (with_ci["ci_low"] <= with_ci["estimate"]).all()
    assert (with_ci["estimate"] <= with_ci["ci_high"]).all()
    assert with_ci["ci_level"].between(0, 1, inclusive="neither").all()
    assert outcomes.loc[outcomes["ci_low"].isna(), "ci_level"].isna().all()


def test_halt_ms_uses_ninety_percent_intervals(outcomes: pd.DataFrame) -> None:
    halt = outcomes.query("study_id == 'nash2017_haltms' and ci_low == ci_low")
    assert len(halt) == 4
    assert (halt["ci_level"] == 0.90).all()


def test_proportions_are_fractions(outcomes: pd.DataFrame) -> None:
    props = outcomes[outcomes["effect_type"].isin(["proportion", "survival"])]
    assert props["estimate"].between(0, 1).all()


def test_study_fields_in_range(studies: pd.DataFrame) -> None:
    assert studies["share_rrms"].dropna().between(0, 1).all()
    assert studies["edss"].dropna().between(0, 10).all()
    assert (studies["n"].dropna() > 0).all()
    # the cohort schema's EBMT classes, so a cohort's regimen finds its evidence subgroup
    assert set(studies["intensity"]) <= {"", "mixed", *CONDITIONING_INTENSITIES}
    assert set(studies["therapy"]) <= {"ahsct", "msc", "dmt", "placebo", "none"}


def test_every_study_in_the_evidence_notes_is_present(studies: pd.DataFrame) -> None:
    expected = {
        "nash2017_haltms",
        "burt2015_northwestern",
        "muraro2017_ebmt",
        "atkins2016_canadian",
        "burt2019_mist",
        "sormani2017_meta",
        "connick2012_mscims",
        "llufriu2014",
        "uccelli2021_mesems",
        "cohen2018",
        "zhou2019_msc_meta",
        "dmt_nma",
        "london_ontario_nh",
        "lyon_nh",
    }
    assert expected <= set(studies["study_id"])


def test_join_with_studies(outcomes: pd.DataFrame) -> None:
    joined = load_outcomes(with_studies=True)
    assert len(joined) == len(outcomes)
    assert joined["therapy"].notna().all()
    assert DATASET_VERSION.count(".") == 2


def test_effect_sizes_from_counts_and_intervals(outcomes: pd.DataFrame) -> None:
    halt = outcomes.query("study_id == 'nash2017_haltms' and outcome == 'pfs'")
    yi, vi, measure = effect_sizes(halt)
    assert measure == "PLO"
    # the 90% interval is converted with z = 1.645, not 1.96
    se = (np.log(0.972 / 0.028) - np.log(0.747 / 0.253)) / (2 * 1.6448536)
    assert vi[0] == pytest.approx(se**2, rel=1e-6)
    hr = outcomes.query("effect_type == 'hazard_ratio' and study_id == 'burt2019_mist'")
    yi, vi, measure = effect_sizes(hr)
    assert measure == "RR"
    assert yi[0] == pytest.approx(np.log(0.07))


def test_effect_sizes_reject_mixed_or_unusable_rows(outcomes: pd.DataFrame) -> None:
    with pytest.raises(EvidenceError, match="one poolable effect type"):
        effect_sizes(outcomes.query("study_id == 'burt2019_mist'"))
    with pytest.raises(EvidenceError, match="must have events and n"):
        effect_sizes(outcomes.query("study_id == 'burt2015_northwestern' and outcome == 'rfs'"))


def test_trm_meta_regression_reproduces_sormani_direction() -> None:
    """TRM is higher in older treatment eras and with higher baseline EDSS (Sormani 2017)."""
    # a check of the method's direction on every TRM row, unsourced and mixed definitions too
    trm = load_outcomes(with_studies=True, include_unsourced=True).query(
        "outcome == 'trm' and therapy == 'ahsct' and design != 'meta-analysis'"
    )
    yi, vi, _ = effect_sizes(trm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedTau2Warning)
        base = pool(yi, vi, measure="PLO", labels=list(trm["study_id"]))
        by_edss = meta_regression(base, {"edss": trm["edss"].to_numpy()})
        era = trm["treatment_year_mid"].notna().to_numpy()
        base_era = pool(yi[era], vi[era], measure="PLO")
        by_era = meta_regression(
            base_era, {"treatment_year_mid": trm.loc[era, "treatment_year_mid"].to_numpy()}
        )
    assert by_edss.coef[1] > 0
    assert by_era.coef[1] < 0
