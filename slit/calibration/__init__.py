"""Calibration of the latency and power models against public measurements.

* :mod:`slit.calibration.vidur` reads Vidur's per-operator kernel profiles (prefill, dense work)
  and :mod:`slit.calibration.collectives` its NCCL all-reduce profiles;
* :mod:`slit.calibration.argonne` reads LLM-Inference-Bench's vLLM runs (closed batches, TTFT,
  power on A100 and H100 at tp 1-4);
* :mod:`slit.calibration.mlenergy` reads the ML.ENERGY v3 leaderboard (vLLM decode, power);
* :mod:`slit.calibration.joint` fits per GPU family and cross-validates;
* :mod:`slit.calibration.pipeline` loads everything, fits and writes the reports.

The data are not bundled; every loader takes the folder of the raw data (the one holding
``gpu_profiles/``).
"""

from slit.calibration.argonne import load_argonne_power, load_argonne_runs, load_argonne_ttft
from slit.calibration.joint import calibrate, cross_validate, fit_all, observations
from slit.calibration.mlenergy import load_mlenergy
from slit.calibration.pipeline import load_observations, run_calibration
from slit.calibration.vidur import load_vidur_prefill

__all__ = [
    "calibrate",
    "cross_validate",
    "fit_all",
    "load_argonne_power",
    "load_argonne_runs",
    "load_argonne_ttft",
    "load_mlenergy",
    "load_observations",
    "load_vidur_prefill",
    "observations",
    "run_calibration",
]
