"""Helpers shared by the calibration modules.

The fit itself is :mod:`slit.calibration.joint`; the pipeline that loads the data, fits and
reports is :mod:`slit.calibration.pipeline`.
"""

from __future__ import annotations

from slit.models.llm import LlmSpec


def dense_layer_parameters(model: LlmSpec) -> float:
    """Parameters of the decoder layers: all active parameters minus input embedding and LM
    head (``2 * vocab * hidden``; untied in every catalog model Vidur covers), count."""
    embed = 2.0 * (model.vocab_size or 0) * model.hidden_size
    return model.active_parameters - embed
