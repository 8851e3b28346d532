"""Helpers shared by the calibration modules.

The fit itself is :mod:`slit.calibration.joint`; the pipeline that loads the data, fits and
reports is :mod:`slit.calibration.pipeline`.
"""

from __future__ import annotations

from slit.catalogue.llms import LlmSpec


def dense_layer_parameters(model: LlmSpec) -> float:
    """Parameters of the decoder layers: all active parameters minus the input embedding and
    the LM head (one matrix when they are tied), count."""
    return model.prefill_matmul_parameters
