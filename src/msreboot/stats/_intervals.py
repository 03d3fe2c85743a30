"""Exact intervals of a proportion (Clopper-Pearson) and of a Poisson rate (Garwood)."""

from __future__ import annotations

from msreboot.stats._checks import check_conf_level, check_counts

__all__ = ["exact_binomial_ci", "exact_poisson_ci"]


def exact_binomial_ci(events: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for ``events`` out of ``n`` (R's ``binom.test``).

    Examples
    --------
    >>> lo, hi = exact_binomial_ci(0, 24)
    >>> (lo, round(hi, 4))
    (0.0, 0.1425)
    """
    from scipy.stats import binomtest

    conf_level = check_conf_level(conf_level)
    check_counts("events", events)
    check_counts("n", n)
    if n <= 0 or not 0 <= events <= n:
        raise ValueError(f"events must be in [0, n] with n > 0; got {events}/{n}")
    ci = binomtest(int(events), int(n)).proportion_ci(confidence_level=conf_level, method="exact")
    return float(ci.low), float(ci.high)


def exact_poisson_ci(
    events: int, person_years: float, conf_level: float = 0.95
) -> tuple[float, float]:
    """Exact (Garwood) interval of a rate ``events / person_years`` (R's ``poisson.test``).

    Examples
    --------
    >>> lo, hi = exact_poisson_ci(167, 140)  # Atkins 2016, before AHSCT
    >>> round(lo, 3), round(hi, 3)
    (1.019, 1.388)
    """
    from scipy.stats import chi2

    conf_level = check_conf_level(conf_level)
    check_counts("events", events)
    if events < 0 or not person_years > 0:
        raise ValueError(
            f"events must be >= 0 and person_years > 0; got {events} over {person_years}."
        )
    alpha = 1 - conf_level
    low = 0.0 if events == 0 else float(chi2.ppf(alpha / 2, 2 * events)) / 2 / person_years
    high = float(chi2.ppf(1 - alpha / 2, 2 * (events + 1))) / 2 / person_years
    return low, high
