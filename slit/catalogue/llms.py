"""LLM architectures: the bundled catalog and the spec of one model.

KV-cache bytes per token follow from the architecture:
``kv_bytes_per_token = 2 (K and V) * layers * kv_heads * head_dim * bytes_per_kv_value``.

Weights are stored at a ``weight_precision`` (bf16, fp16, fp8, int8, int4) that gives the bytes
per parameter; the KV cache at ``kv_cache_dtype`` (bf16 unless set). A deployment may serve a
model at another precision than the catalog's (:meth:`LlmSpec.with_precision`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from slit.catalogue._spec import Spec
from slit.yamlio import safe_load

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]

WeightPrecision = Literal["bf16", "fp16", "fp8", "int8", "int4"]
KvCacheDtype = Literal["bf16", "fp16", "fp8"]

BYTES_PER_VALUE: dict[str, float] = {
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
"""Bytes per stored value of each precision (int4 counted without its per-group scales, which
add about 3 % at a group size of 128)."""


class LlmSpec(Spec):
    """One LLM architecture (values as in the model's published config)."""

    name: str = ""
    # bounds far beyond any real model: a typo or a sentinel is refused, not simulated
    parameters_billion: Annotated[float, Field(ge=1e-3, le=1e5)]
    active_parameters_billion: Annotated[float, Field(ge=1e-3, le=1e5)] | None = None
    layers: Annotated[int, Field(gt=0, le=10_000)]
    hidden_size: Annotated[int, Field(gt=0, le=10**6)]
    attention_heads: Annotated[int, Field(gt=0, le=10**5)]
    kv_heads: Annotated[int, Field(gt=0, le=10**5)]
    head_dim: Annotated[int, Field(gt=0, le=10**5)]
    intermediate_size: Annotated[int, Field(gt=0, le=10**7)] | None = None
    vocab_size: Annotated[int, Field(gt=0, le=10**8)] | None = None
    max_context_tokens: Annotated[int, Field(gt=0, le=10**9)] = 4096
    weight_precision: WeightPrecision | None = Field(
        None,
        description="Precision of the stored weights; sets bytes_per_parameter (None: "
        "bytes_per_parameter as given, 2 if neither is given).",
    )
    bytes_per_parameter: Annotated[float, Field(gt=0, le=8)] = Field(
        2.0, description="Bytes per stored weight; derived from weight_precision when it is set."
    )
    kv_cache_dtype: KvCacheDtype = Field("bf16", description="Precision of the KV cache.")
    tied_embeddings: bool = Field(
        False,
        description="Whether the input embedding and the LM head share one matrix (config.json "
        "tie_word_embeddings), which the parameter count then holds once.",
    )
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bytes_from_precision(cls, data: Any) -> Any:
        """Derive ``bytes_per_parameter`` from ``weight_precision``; both given must agree."""
        if not isinstance(data, dict):
            return data
        precision = data.get("weight_precision")
        implied = BYTES_PER_VALUE.get(precision) if isinstance(precision, str) else None
        if implied is None:
            return data  # no precision, or an unknown one the field's own check reports
        given = data.get("bytes_per_parameter")
        if given is None:
            return {**data, "bytes_per_parameter": implied}
        if isinstance(given, (int, float)) and not isinstance(given, bool) and given != implied:
            raise ValueError(
                f"bytes_per_parameter {given:g} disagrees with weight_precision {precision} "
                f"({implied:g} bytes); give only weight_precision"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self) -> LlmSpec:
        """Counts that contradict each other are refused, not simulated."""
        if self.active_parameters_billion and self.active_parameters_billion > (
                self.parameters_billion):  # fmt: skip
            raise ValueError(
                f"active_parameters_billion {self.active_parameters_billion:g} exceeds "
                f"parameters_billion {self.parameters_billion:g}; a mixture of experts "
                "activates a part of its parameters"
            )
        if self.attention_heads % self.kv_heads:
            raise ValueError(
                f"kv_heads {self.kv_heads} does not divide attention_heads "
                f"{self.attention_heads}; grouped-query attention shares each KV head among "
                "an equal number of query heads"
            )
        return self

    def with_precision(
        self, weight_precision: WeightPrecision | None, kv_cache_dtype: KvCacheDtype | None = None
    ) -> LlmSpec:
        """The same architecture served at another weight precision and/or KV-cache dtype
        (None keeps the catalog's)."""
        update: dict[str, Any] = {}
        if weight_precision is not None:
            update["weight_precision"] = weight_precision
            update["bytes_per_parameter"] = BYTES_PER_VALUE[weight_precision]
        if kv_cache_dtype is not None:
            update["kv_cache_dtype"] = kv_cache_dtype
        return self.model_copy(update=update) if update else self

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
    def embedding_parameters(self) -> float:
        """Parameters of the input-embedding table (``vocab x hidden``; 0 without a vocab)."""
        return float((self.vocab_size or 0) * self.hidden_size)

    @property
    def streamed_weight_bytes(self) -> float:
        """Weight bytes one iteration reads from memory: all weights but an untied input
        embedding table, of which an iteration reads only its tokens' rows (a tied table is
        read whole, as the LM head)."""
        table = 0.0 if self.tied_embeddings else self.embedding_parameters
        return self.weight_bytes - table * self.bytes_per_parameter

    @property
    def decode_matmul_parameters(self) -> float:
        """Parameters one decode token multiplies through: the active parameters less the
        input embedding (a lookup, no FLOPs); the LM head runs for every decoded token."""
        table = 0.0 if self.tied_embeddings else self.embedding_parameters
        return self.active_parameters - table

    @property
    def prefill_matmul_parameters(self) -> float:
        """Parameters one prompt token multiplies through: as in decode, less the LM head too,
        which a prefill runs for each prompt's last token only (vLLM computes logits for the
        sampled positions); that one row per prompt is left out."""
        return self.decode_matmul_parameters - self.embedding_parameters

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes one token occupies (K and V, all layers, at ``kv_cache_dtype``)."""
        value_bytes = BYTES_PER_VALUE[self.kv_cache_dtype]
        return 2.0 * self.layers * self.kv_heads * self.head_dim * value_bytes

    @property
    def attention_width(self) -> int:
        """Query heads x head dim: the width attention FLOPs scale with."""
        return self.attention_heads * self.head_dim


@cache
def bundled_llms() -> dict[str, LlmSpec]:
    """The LLM catalog shipped with slit, by id (e.g. ``"llama-3.1-8b"``)."""
    text = resources.files("slit").joinpath("data/catalog/llms.yaml").read_text("utf-8")
    raw = safe_load(text) or {}
    return {key: LlmSpec.model_validate(value) for key, value in raw.items()}
