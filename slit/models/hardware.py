"""GPU types: the bundled catalog and the spec of one GPU.

Values and their sources are listed in ``docs/catalogs.md``; the YAML lives in
``slit/data/catalog/gpus.yaml``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

import yaml
from pydantic import Field

from slit.models._spec import Spec

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]


class GpuSpec(Spec):
    """One GPU type. Units are in the key names (GB = 1e9 bytes)."""

    name: str = ""
    peak_bf16_tflop_per_s: PositiveFloat
    memory_gb: PositiveFloat
    memory_bandwidth_gb_per_s: PositiveFloat
    interconnect_gb_per_s: PositiveFloat
    idle_power_w: NonNegFloat
    max_power_w: PositiveFloat
    embodied_carbon_kg: NonNegFloat = 0.0
    sources: dict[str, str] = Field(default_factory=dict)

    @property
    def peak_flop_per_s(self) -> float:
        """Dense BF16 peak, FLOP/s."""
        return self.peak_bf16_tflop_per_s * 1e12

    @property
    def memory_bytes(self) -> float:
        """Memory capacity, bytes."""
        return self.memory_gb * 1e9

    @property
    def memory_bandwidth_bytes_per_s(self) -> float:
        """Memory bandwidth, bytes/s."""
        return self.memory_bandwidth_gb_per_s * 1e9


@cache
def bundled_gpus() -> dict[str, GpuSpec]:
    """The GPU catalog shipped with slit, by id (e.g. ``"a100-80gb"``)."""
    text = resources.files("slit").joinpath("data/catalog/gpus.yaml").read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    return {key: GpuSpec.model_validate(value) for key, value in raw.items()}
