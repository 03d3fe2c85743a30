"""Virtual trials: specs, runs, power and sample size.

A :class:`TrialSpec` (a TOML file, or a bundled study: HALT-MS, Burt 2015, Atkins 2016,
MIST, Muraro 2017, Sormani 2017, MESEMS) names a population, arms, a visit schedule,
endpoints, replicates and a seed. :func:`run_trial` simulates every replicate with
:mod:`msreboot.simulate` and analyses it with :mod:`msreboot.endpoints` as a real cohort
would be analysed, and gives power across replicates and the published values beside the
simulated ones; :func:`sample_size` searches the patients per arm for a target power.
Trials use the parameter set calibrated to the published studies
(:mod:`msreboot.calibration`) unless their spec names another (``parameters =
"default"``: the hand-set values).
"""

from msreboot.trials._json_schema import spec_json_schema
from msreboot.trials._result import TrialResult
from msreboot.trials._run import run_trial, simulate_replicate, time_zero
from msreboot.trials._sample_size import sample_size
from msreboot.trials._spec import ArmSpec, TrialSpec, load_trial_spec
from msreboot.trials._statistics import (
    ARM_STATISTICS,
    RATIO_STATISTICS,
    TIMED_STATISTICS,
    ArmStatistic,
    arm_statistic,
)
from msreboot.trials._template import spec_template

__all__ = [
    "ARM_STATISTICS",
    "RATIO_STATISTICS",
    "TIMED_STATISTICS",
    "ArmSpec",
    "ArmStatistic",
    "TrialResult",
    "TrialSpec",
    "arm_statistic",
    "load_trial_spec",
    "run_trial",
    "sample_size",
    "simulate_replicate",
    "spec_json_schema",
    "spec_template",
    "time_zero",
]
