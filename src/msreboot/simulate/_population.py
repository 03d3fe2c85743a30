"""Who the virtual patients are: the case-mix and eligibility of a cohort.

A :class:`PopulationSpec` describes the observable baseline characteristics (age, sex,
phenotype, disease duration, EDSS, relapses before enrolment, Gd+ activity, prior DMTs,
comorbidity) as distributions truncated to eligibility ranges. The latent traits
(inflammatory propensity, neurodegeneration rate, remyelination capacity, thymic
function) are drawn from :class:`~msreboot.simulate.SimulationParameters`; relapses
before enrolment and the baseline scan are drawn from each patient's own inflammatory
rate, so eligibility on them (at least two relapses in the last year, a Gd+ lesion)
selects patients with a higher latent activity, as real trial eligibility does.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["Phenotype", "PopulationSpec"]

Phenotype = Literal["RRMS", "SPMS", "PPMS"]
PHENOTYPE_CODES: tuple[Phenotype, ...] = ("RRMS", "SPMS", "PPMS")

# positions in the compiled population vector
(
    POP_AGE_MEAN,
    POP_AGE_SD,
    POP_AGE_LOW,
    POP_AGE_HIGH,
    POP_FEMALE,
    POP_SHARE_RR,
    POP_SHARE_SP,
    POP_SHARE_PP,
    POP_DUR_LOGMEDIAN,
    POP_DUR_SDLOG,
    POP_DUR_LOW,
    POP_DUR_HIGH,
    POP_EDSS_MEAN,
    POP_EDSS_SD,
    POP_EDSS_LOW,
    POP_EDSS_HIGH,
    POP_PRIOR_WINDOW,
    POP_PRIOR_MIN,
    POP_PRIOR_MAX,
    POP_PRIOR_RATE_RATIO,
    POP_ACTIVITY,
    POP_GD_MIN,
    POP_DMT_MEAN,
    POP_DMT_MIN,
    POP_HCTCI_MEAN,
    POP_ONSET_AGE_MIN,
    N_POP,
) = range(27)

_MAX_PRIOR_RELAPSES = 20


def _check_range(name: str, value: tuple[float, float], low: float, high: float) -> None:
    lo, hi = value
    if not (low <= lo <= hi <= high):
        raise ValueError(
            f"{name} must be (low, high) with {low:g} <= low <= high <= {high:g}; got {value}"
        )


def _truncnorm_acceptance(mean: float, sd: float, low: float, high: float) -> float:
    if sd == 0:
        return 1.0
    phi = 0.5 * (math.erf((high - mean) / (sd * math.sqrt(2))) + 1) - 0.5 * (
        math.erf((low - mean) / (sd * math.sqrt(2))) + 1
    )
    return phi


@dataclass(frozen=True)
class PopulationSpec:
    """Baseline characteristics and eligibility of a virtual cohort.

    Continuous characteristics are normal (age, EDSS) or log-normal (disease duration)
    distributions truncated to their range, which is the eligibility range. Build one
    to match a published cohort's summary with :meth:`matching`; start from MS onset
    with :meth:`onset_cohort`.

    Attributes
    ----------
    age_mean_years, age_sd_years, age_range_years
        Age at enrolment: normal location and scale before truncation, and the range.
    female_probability
        Share of women.
    rrms_share, spms_share, ppms_share
        Shares of the phenotypes at enrolment (normalised to sum to 1).
    duration_median_years, duration_sdlog, duration_range_years
        Years since onset: log-normal median and log-scale SD before truncation, and the
        range. A range of ``(0, 0)`` starts every patient at onset.
    edss_mean, edss_sd, edss_range
        Baseline EDSS (latent, continuous; observed on the 0.5 grid with rater noise).
    prior_relapse_window_years, min_prior_relapses, max_prior_relapses
        Relapses in the window before enrolment (drawn from the patient's own rate, as
        recorded rows of the relapses table) and the eligibility bounds on their number.
    prior_relapse_rate_ratio
        Rate ratio of the therapy patients were on during that window (1: untreated).
    activity_ratio
        Mean inflammatory propensity of the source population (1: unselected MS).
    min_gd_lesions
        Eligibility: Gd+ lesions on the baseline scan (day 0).
    prior_dmt_mean, min_prior_dmts
        Prior DMT count: ``min_prior_dmts`` plus a Poisson count with this mean.
    hct_ci_mean
        HCT-CI: Poisson with this mean (capped at 10).
    onset_age_min_years
        Age at onset below this is redrawn.

    Examples
    --------
    HALT-MS: median age 38, EDSS 4.5 within 3.0-5.5, duration 4.9 years, all RRMS.

    >>> spec = PopulationSpec.matching(
    ...     age_median=38, age_range=(18, 60), edss_median=4.5, edss_range=(3.0, 5.5),
    ...     duration_median_years=4.9, phenotype_shares={"RRMS": 1.0},
    ...     min_prior_relapses=1,
    ... )
    >>> spec.edss_range, round(spec.age_mean_years)
    ((3.0, 5.5), 38)
    """

    age_mean_years: float = 38.0
    age_sd_years: float = 9.0
    age_range_years: tuple[float, float] = (18.0, 65.0)
    female_probability: float = 0.7
    rrms_share: float = 1.0
    spms_share: float = 0.0
    ppms_share: float = 0.0
    duration_median_years: float = 8.0
    duration_sdlog: float = 0.7
    duration_range_years: tuple[float, float] = (0.5, 40.0)
    edss_mean: float = 3.0
    edss_sd: float = 1.5
    edss_range: tuple[float, float] = (0.0, 9.5)
    prior_relapse_window_years: float = 2.0
    min_prior_relapses: int = 0
    max_prior_relapses: int | None = None
    prior_relapse_rate_ratio: float = 1.0
    activity_ratio: float = 1.0
    min_gd_lesions: int = 0
    prior_dmt_mean: float = 1.0
    min_prior_dmts: int = 0
    hct_ci_mean: float = 0.3
    onset_age_min_years: float = 10.0

    def __post_init__(self) -> None:
        shares = (self.rrms_share, self.spms_share, self.ppms_share)
        if any(v < 0 for v in shares) or sum(shares) <= 0:
            raise ValueError(
                "rrms_share, spms_share and ppms_share must be >= 0 with a positive sum; "
                f"got {shares}"
            )
        total = sum(shares)
        for name, value in zip(("rrms_share", "spms_share", "ppms_share"), shares, strict=True):
            object.__setattr__(self, name, value / total)
        _check_range("age_range_years", self.age_range_years, 0, 110)
        _check_range("duration_range_years", self.duration_range_years, 0, 80)
        _check_range("edss_range", self.edss_range, 0, 9.5)
        for name in ("age_sd_years", "duration_sdlog", "edss_sd"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if not 0 <= self.female_probability <= 1:
            raise ValueError(f"female_probability must be in [0, 1]; got {self.female_probability}")
        if self.min_prior_relapses < 0 or self.min_prior_relapses > _MAX_PRIOR_RELAPSES:
            raise ValueError(
                f"min_prior_relapses must be in 0..{_MAX_PRIOR_RELAPSES}; "
                f"got {self.min_prior_relapses}"
            )
        if self.max_prior_relapses is not None and self.max_prior_relapses < max(
            self.min_prior_relapses, 0
        ):
            raise ValueError(
                f"max_prior_relapses must be >= min_prior_relapses; got {self.max_prior_relapses}"
            )
        if self.min_prior_relapses > 0 and self.prior_relapse_window_years <= 0:
            raise ValueError(
                "prior_relapse_window_years must be > 0 when min_prior_relapses > 0; got "
                f"{self.prior_relapse_window_years}"
            )
        for name in (
            "prior_relapse_window_years",
            "prior_relapse_rate_ratio",
            "prior_dmt_mean",
            "hct_ci_mean",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if self.activity_ratio <= 0:
            raise ValueError(f"activity_ratio must be > 0; got {self.activity_ratio}")
        for name, (mean, sd, (lo, hi)) in {
            "age": (self.age_mean_years, self.age_sd_years, self.age_range_years),
            "edss": (self.edss_mean, self.edss_sd, self.edss_range),
        }.items():
            if _truncnorm_acceptance(mean, sd, lo, hi) < 1e-4:
                raise ValueError(
                    f"{name} distribution (mean {mean:g}, sd {sd:g}) puts almost no mass in "
                    f"its range {(lo, hi)}; move the mean into the range or widen it"
                )

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def onset_cohort(
        cls,
        *,
        age_mean_years: float = 30.0,
        age_sd_years: float = 9.0,
        age_range_years: tuple[float, float] = (16.0, 55.0),
        phenotype_shares: Mapping[Phenotype, float] | None = None,
        female_probability: float = 0.72,
    ) -> PopulationSpec:
        """Patients enrolled at MS onset (natural-history cohorts such as London, Ontario).

        Disease duration 0, EDSS at onset about 1.5 (0-4), no prior relapses or DMTs.
        """
        rr, sp, pp = _shares(phenotype_shares)
        return cls(
            age_mean_years=age_mean_years,
            age_sd_years=age_sd_years,
            age_range_years=age_range_years,
            female_probability=female_probability,
            rrms_share=rr,
            spms_share=sp,
            ppms_share=pp,
            duration_median_years=0.0,
            duration_range_years=(0.0, 0.0),
            edss_mean=1.5,
            edss_sd=1.0,
            edss_range=(0.0, 4.0),
            prior_relapse_window_years=0.0,
            prior_dmt_mean=0.0,
            hct_ci_mean=0.1,
            onset_age_min_years=0.0,
        )

    @classmethod
    def matching(
        cls,
        *,
        age_median: float | None = None,
        age_mean: float | None = None,
        age_sd: float = 9.0,
        age_range: tuple[float, float] = (18.0, 65.0),
        edss_median: float | None = None,
        edss_mean: float | None = None,
        edss_sd: float = 1.2,
        edss_range: tuple[float, float] = (0.0, 9.5),
        duration_median_years: float | None = None,
        duration_mean_years: float | None = None,
        duration_sdlog: float = 0.7,
        duration_range_years: tuple[float, float] = (0.5, 40.0),
        female_share: float = 0.7,
        phenotype_shares: Mapping[Phenotype, float] | None = None,
        **other: Any,
    ) -> PopulationSpec:
        """A population whose truncated distributions have a published cohort's summary.

        Give a median or a mean for age, EDSS and disease duration and the eligibility
        ranges; the location of each truncated distribution is solved so that its median
        (or mean) after truncation equals the published value. Spreads default to typical
        values (age SD 9 years, EDSS SD 1.2, duration log-SD 0.7) and can be given. Other
        keyword arguments are :class:`PopulationSpec` fields (``min_prior_relapses``...).

        Raises
        ------
        ValueError
            When both or neither of a median and a mean are given for a characteristic, or
            a target lies outside its range.
        """
        rr, sp, pp = _shares(phenotype_shares)
        age = _solve_location("age", age_median, age_mean, age_sd, age_range, log=False)
        edss = _solve_location("edss", edss_median, edss_mean, edss_sd, edss_range, log=False)
        dur = _solve_location(
            "duration",
            duration_median_years,
            duration_mean_years,
            duration_sdlog,
            duration_range_years,
            log=True,
        )
        spec = cls(
            age_mean_years=age,
            age_sd_years=age_sd,
            age_range_years=age_range,
            edss_mean=edss,
            edss_sd=edss_sd,
            edss_range=edss_range,
            duration_median_years=dur,
            duration_sdlog=duration_sdlog,
            duration_range_years=duration_range_years,
            female_probability=female_share,
            rrms_share=rr,
            spms_share=sp,
            ppms_share=pp,
        )
        return replace(spec, **other) if other else spec

    def replace(self, **changes: object) -> PopulationSpec:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    # -- views ----------------------------------------------------------------------
    @property
    def phenotype_shares(self) -> dict[Phenotype, float]:
        """Shares of RRMS, SPMS and PPMS at enrolment."""
        return {"RRMS": self.rrms_share, "SPMS": self.spms_share, "PPMS": self.ppms_share}

    def to_vector(self) -> np.ndarray:
        """The spec as the float vector the compiled sampler reads."""
        v = np.zeros(N_POP)
        v[POP_AGE_MEAN] = self.age_mean_years
        v[POP_AGE_SD] = self.age_sd_years
        v[POP_AGE_LOW], v[POP_AGE_HIGH] = self.age_range_years
        v[POP_FEMALE] = self.female_probability
        v[POP_SHARE_RR] = self.rrms_share
        v[POP_SHARE_SP] = self.spms_share
        v[POP_SHARE_PP] = self.ppms_share
        v[POP_DUR_LOGMEDIAN] = (
            math.log(self.duration_median_years) if (self.duration_median_years > 0) else -np.inf
        )
        v[POP_DUR_SDLOG] = self.duration_sdlog
        v[POP_DUR_LOW], v[POP_DUR_HIGH] = self.duration_range_years
        v[POP_EDSS_MEAN] = self.edss_mean
        v[POP_EDSS_SD] = self.edss_sd
        v[POP_EDSS_LOW], v[POP_EDSS_HIGH] = self.edss_range
        v[POP_PRIOR_WINDOW] = self.prior_relapse_window_years
        v[POP_PRIOR_MIN] = self.min_prior_relapses
        v[POP_PRIOR_MAX] = (
            _MAX_PRIOR_RELAPSES
            if self.max_prior_relapses is None
            else min(self.max_prior_relapses, _MAX_PRIOR_RELAPSES)
        )
        v[POP_PRIOR_RATE_RATIO] = self.prior_relapse_rate_ratio
        v[POP_ACTIVITY] = self.activity_ratio
        v[POP_GD_MIN] = self.min_gd_lesions
        v[POP_DMT_MEAN] = self.prior_dmt_mean
        v[POP_DMT_MIN] = self.min_prior_dmts
        v[POP_HCTCI_MEAN] = self.hct_ci_mean
        v[POP_ONSET_AGE_MIN] = self.onset_age_min_years
        return v

    def to_dict(self) -> dict[str, object]:
        """Plain values (for metadata and JSON)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per field: name and value."""
        return pd.DataFrame([{"name": k, "value": str(v)} for k, v in self.to_dict().items()])

    def summary(self) -> str:
        shares = ", ".join(f"{p} {s:.0%}" for p, s in self.phenotype_shares.items() if s > 0)
        return (
            f"PopulationSpec: age ~{self.age_mean_years:.1f} (sd {self.age_sd_years:g}, "
            f"{self.age_range_years}), {shares}, EDSS ~{self.edss_mean:.2f} {self.edss_range}, "
            f"duration median {self.duration_median_years:g} y {self.duration_range_years}, "
            f">= {self.min_prior_relapses} relapse(s) in {self.prior_relapse_window_years:g} y"
        )

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>"


def _shares(shares: Mapping[Phenotype, float] | None) -> tuple[float, float, float]:
    if shares is None:
        return 1.0, 0.0, 0.0
    bad = sorted(set(shares) - set(PHENOTYPE_CODES))
    if bad:
        raise ValueError(f"phenotype_shares keys must be RRMS, SPMS or PPMS; got {bad}")
    return (
        float(shares.get("RRMS", 0.0)),
        float(shares.get("SPMS", 0.0)),
        float(shares.get("PPMS", 0.0)),
    )


def _solve_location(
    name: str,
    median: float | None,
    mean: float | None,
    scale: float,
    bounds: tuple[float, float],
    *,
    log: bool,
) -> float:
    """Location (before truncation) giving the truncated distribution this median / mean.

    ``log``: the variable is log-normal, the scale is the log SD and the returned value
    is the median before truncation (in natural units).
    """
    from scipy import optimize, stats

    unit = "_years" if log else ""  # the keywords' names: duration_median_years, age_median
    median_key, mean_key = f"{name}_median{unit}", f"{name}_mean{unit}"
    range_key = "duration_range_years" if log else f"{name}_range"
    if (median is None) == (mean is None):
        if median is None and mean is None:
            raise ValueError(
                f"{median_key}: one of {median_key} or {mean_key} must be given; got neither. "
                f"Add the published median (or mean), e.g. {median_key} = ..."
            )
        raise ValueError(
            f"{median_key}: only one of {median_key} or {mean_key} may be given; got both. "
            "Keep the one the publication reports."
        )
    target = float(median if median is not None else mean)  # type: ignore[arg-type]
    lo, hi = bounds
    if not lo <= target <= hi:
        key = median_key if median is not None else mean_key
        raise ValueError(
            f"{key} must lie in {range_key} {list(bounds)}; got {target:g}. Widen "
            f"{range_key} or check the value."
        )
    if hi == lo or scale == 0:
        return target
    if log:
        if lo <= 0 and median is None:
            lo = 1e-9
        llo = math.log(max(lo, 1e-9))
        lhi = math.log(hi)

        def summary(mu: float) -> float:
            a, b = (llo - mu) / scale, (lhi - mu) / scale
            dist = stats.truncnorm(a, b, loc=mu, scale=scale)
            if median is not None:
                return float(math.exp(dist.median()))
            return float(stats.truncnorm.expect(math.exp, (a, b), loc=mu, scale=scale))

        mu = optimize.brentq(lambda m: summary(m) - target, llo - 10 * scale, lhi + 10 * scale)
        return float(math.exp(mu))

    def location_summary(mu: float) -> float:
        a, b = (lo - mu) / scale, (hi - mu) / scale
        dist = stats.truncnorm(a, b, loc=mu, scale=scale)
        return float(dist.median() if median is not None else dist.mean())

    return float(
        optimize.brentq(lambda m: location_summary(m) - target, lo - 10 * scale, hi + 10 * scale)
    )
