"""Sample size of a virtual trial: the patients per arm for a target power of its primary
endpoint, searched by bisection over runs with common random numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from msreboot.simulate import SimulationParameters
from msreboot.trials._run import run_trial
from msreboot.trials._spec import TrialSpec, load_trial_spec

__all__ = ["sample_size"]


def sample_size(
    spec: TrialSpec | str | Path,
    *,
    target_power: float = 0.8,
    n_range: tuple[int, int] = (10, 500),
    replicates: int | None = None,
    parameters: SimulationParameters | None = None,
) -> pd.DataFrame:
    """Patients per arm for a target power of the primary endpoint (bisection).

    Each size is simulated with the same seeds (common random numbers: patient ``i`` of
    an arm is the same patient at every size), which makes the power curve far less noisy
    than independent runs; with few replicates it can still dip between neighbouring
    sizes, so the table lists every size tried. The answer (``attrs["n_per_arm"]``) is the
    smallest size found with power >= ``target_power``, to within 5% of n; ``nan`` when
    even the largest size falls short.
    """
    if not isinstance(spec, TrialSpec):
        spec = load_trial_spec(spec)
    if len(spec.arms) < 2:
        raise ValueError("sample_size needs a trial with at least two arms.")
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must be in (0, 1); got {target_power}.")
    lo, hi = n_range
    if not 2 <= lo < hi:
        raise ValueError(f"n_range must be (low, high) with 2 <= low < high; got {n_range}.")
    tried: dict[int, float] = {}

    def power(n: int) -> float:
        if n not in tried:
            tried[n] = run_trial(
                spec.scaled(n), replicates=replicates, parameters=parameters
            ).power()
        return tried[n]

    answer: float = float("nan")
    if power(hi) >= target_power:
        answer = hi
        while hi - lo > max(1, lo // 20):
            mid = (lo + hi) // 2
            if power(mid) >= target_power:
                hi = mid
                answer = mid
            else:
                lo = mid
    table = pd.DataFrame({"n_per_arm": list(tried), "power": list(tried.values())}).sort_values(
        "n_per_arm", ignore_index=True
    )
    table.attrs["n_per_arm"] = answer
    return table
