"""Calibration of the latency model against public GPU profiles.

* :mod:`slit.calibration.vidur` reads Vidur's per-operator kernel profiles (prefill, dense work).
* :mod:`slit.calibration.mlenergy` reads the ML.ENERGY v3 leaderboard (vLLM decode ITL, power).
* :mod:`slit.calibration.fit` compares :class:`slit.models.latency.ReplicaPerf` with both and
  fits per-GPU :class:`slit.models.latency.EfficiencyParams`.

The data are not bundled; every loader takes the folder of the raw data (the one holding
``gpu_profiles/``).
"""

from slit.calibration.fit import (
    CalibrationResult,
    error_table,
    fit_efficiency,
    model_decode_step_s,
    model_prefill_s,
)
from slit.calibration.mlenergy import load_mlenergy
from slit.calibration.vidur import load_vidur_prefill

__all__ = [
    "CalibrationResult",
    "error_table",
    "fit_efficiency",
    "load_mlenergy",
    "load_vidur_prefill",
    "model_decode_step_s",
    "model_prefill_s",
]
