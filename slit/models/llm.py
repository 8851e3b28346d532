"""LLM architectures: the bundled catalog and the spec of one model.

KV-cache bytes per token follow from the architecture:
``kv_bytes_per_token = 2 (K and V) * layers * kv_heads * head_dim * bytes_per_kv_value``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated

import yaml
from pydantic import Field

from slit.models._spec import Spec

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class LlmSpec(Spec):
    """One LLM architecture (values as in the model's published config)."""

    name: str = ""
    parameters_billion: PositiveFloat
    active_parameters_billion: PositiveFloat | None = None
    layers: PositiveInt
    hidden_size: PositiveInt
    attention_heads: PositiveInt
    kv_heads: PositiveInt
    head_dim: PositiveInt
    intermediate_size: PositiveInt | None = None
    vocab_size: PositiveInt | None = None
    max_context_tokens: PositiveInt = 4096
    bytes_per_parameter: PositiveFloat = 2.0
    sources: dict[str, str] = Field(default_factory=dict)

    @property
    def weight_bytes(self) -> float:
        """Bytes of all weights (total parameters x bytes per parameter)."""
        return self.parameters_billion * 1e9 * self.bytes_per_parameter

    @property
    def active_parameters(self) -> float:
        """Parameters touched per token (all of them for dense models), count."""
        active = self.active_parameters_billion or self.parameters_billion
        return active * 1e9

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token occupies (K and V, all layers, KV values at 2 bytes)."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * 2.0

    @property
    def attention_width(self) -> int:
        """Query heads x head dim: the width attention FLOPs scale with."""
        return self.attention_heads * self.head_dim


@cache
def bundled_llms() -> dict[str, LlmSpec]:
    """The LLM catalog shipped with slit, by id (e.g. ``"llama-3.1-8b"``)."""
    text = resources.files("slit").joinpath("data/catalog/llms.yaml").read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    return {key: LlmSpec.model_validate(value) for key, value in raw.items()}
