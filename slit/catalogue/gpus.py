"""GPU types: the bundled catalog and the spec of one GPU.

Values and their sources are listed in ``docs/catalogs.md``; the YAML lives in
``slit/data/catalog/gpus.yaml``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Literal

from pydantic import Field, model_validator

from slit.catalogue._spec import Spec
from slit.yamlio import safe_load

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]

MEMORY_UNIT_BYTES: dict[str, float] = {"GiB": float(2**30), "GB": 1e9}
"""Bytes in one unit of ``memory_gb`` by ``memory_unit``."""


class GpuSpec(Spec):
    """One GPU type. Units are in the key names (GB = 1e9 bytes), except ``memory_gb``: the
    vendor's figure ("80" of "A100 80GB"), in the unit ``memory_unit`` says the vendor means."""

    name: str = ""
    # upper bounds far above any real part: a typo or a sentinel (1e308) is refused, not simulated
    peak_bf16_tflop_per_s: Annotated[float, Field(gt=0, le=1e5)]
    memory_gb: Annotated[float, Field(gt=0, le=1e5)] = Field(
        description="Device memory as the vendor states it, in memory_unit (GiB or GB)."
    )
    memory_unit: Literal["GiB", "GB"] = Field(
        "GB",
        description="What the vendor's 'GB' means: GiB (2^30 bytes; NVIDIA's HBM and GDDR parts "
        "carry binary capacities) or GB (1e9 bytes; the default for user-defined GPUs).",
    )
    ecc_reserved_fraction: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.0,
        description="Share of the memory the driver keeps for ECC when it is on (1/16 on GDDR6 "
        "datacenter boards; 0 for HBM, whose ECC bits are stored beside the data).",
    )
    memory_bandwidth_gb_per_s: Annotated[float, Field(gt=0, le=1e6)]
    interconnect_gb_per_s: Annotated[float, Field(gt=0, le=1e6)]
    idle_power_w: Annotated[float, Field(ge=0, le=1e5)]
    max_power_w: Annotated[float, Field(gt=0, le=1e5)]
    embodied_carbon_kg: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _idle_below_max(self) -> GpuSpec:
        if self.idle_power_w > self.max_power_w:
            raise ValueError(
                f"idle_power_w {self.idle_power_w:g} exceeds max_power_w {self.max_power_w:g}; "
                "a GPU idles below its maximum power"
            )
        return self

    @property
    def peak_flop_per_s(self) -> float:
        """Dense BF16 peak, FLOP/s."""
        return self.peak_bf16_tflop_per_s * 1e12

    @property
    def memory_bytes(self) -> float:
        """Physical memory capacity (``memory_gb`` in its ``memory_unit``), bytes."""
        return self.memory_gb * MEMORY_UNIT_BYTES[self.memory_unit]

    @property
    def memory_bandwidth_bytes_per_s(self) -> float:
        """Memory bandwidth, bytes/s."""
        return self.memory_bandwidth_gb_per_s * 1e9


@cache
def bundled_gpus() -> dict[str, GpuSpec]:
    """The GPU catalog shipped with slit, by id (e.g. ``"a100-80gb"``)."""
    text = resources.files("slit").joinpath("data/catalog/gpus.yaml").read_text("utf-8")
    raw = safe_load(text) or {}
    return {key: GpuSpec.model_validate(value) for key, value in raw.items()}
