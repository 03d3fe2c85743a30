"""Calibration of the simulator to the published trials, and its validation.

Targets are the published headline figures of the seed studies (:func:`load_targets`),
each simulated with its own study's virtual version. Unknown parameters get uniform
priors (:func:`load_priors`) and are fitted by approximate Bayesian computation with
sequential Monte Carlo (:func:`calibrate`; :func:`resume_calibration` continues a stopped
run), locally or on Spark. The result (:class:`CalibrationResult`) gives the posterior,
the posterior predictive beside every target, leave-one-study-out predictions
(:func:`leave_one_study_out`) and the calibrated parameter set that virtual trials use by
default (``SimulationParameters.preset("calibrated")``).
"""

from msreboot.calibration._executors import (
    LocalExecutor,
    SerialExecutor,
    SparkExecutor,
    make_executor,
)
from msreboot.calibration._report import write_calibration_report
from msreboot.calibration._result import CalibrationResult, calibrate, resume_calibration
from msreboot.calibration._run import CalibrationSettings
from msreboot.calibration._smc import Prior, load_priors
from msreboot.calibration._targets import CalibrationTarget, load_targets

__all__ = [
    "CalibrationResult",
    "CalibrationSettings",
    "CalibrationTarget",
    "LocalExecutor",
    "Prior",
    "SerialExecutor",
    "SparkExecutor",
    "calibrate",
    "load_priors",
    "load_targets",
    "make_executor",
    "resume_calibration",
    "write_calibration_report",
]
