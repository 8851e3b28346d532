"""Iteration latency of an LLM replica: a roofline plus fixed and communication costs.

One iteration of a replica (``tp`` GPUs with tensor parallelism) takes

    t = max(t_compute, t_memory) + t_fixed
    t_compute = FLOPs / (tp * peak * MFU)
    t_memory  = W / (tp * HBM_bw * MBU) + KV bytes / (tp * HBM_bw * MBU_attention)
    t_fixed   = t_host + L * t_layer(tp) + 2 L * t_ar(tokens * hidden * 2 bytes)   [+ B * t_req]

Prefill of ``n`` prompt tokens (requests of lengths n_i, n = sum n_i):
    FLOPs = 2 * P_pre * n + 2 * L * A * sum(n_i^2)          (dense matmuls + causal attention)
    bytes = W_s + kv * n                                     (read weights, write the KV cache)

Decode iteration of a batch of B requests holding S context tokens in total:
    FLOPs = 2 * P_dec * B + 4 * L * A * S                    (at MFU_decode)
    bytes = W_s + kv * S                                     (read weights and the whole KV cache)
    plus a host cost per running request, B * t_req (scheduling, sampling, detokenising)

with P_dec the active parameters less the input embedding (a lookup), P_pre that less the LM
head too (a prefill computes logits for each prompt's last token only), L layers,
A = heads x head_dim, W_s the weight bytes an iteration streams (all but an untied input
embedding table, of which it reads only its tokens' rows; see
:attr:`slit.catalogue.llms.LlmSpec.streamed_weight_bytes`), kv KV-cache bytes per token. The
fixed part has three terms:

* ``t_host`` (``overhead_s``): per iteration on the CPU (scheduler, input preparation, launch
  of the step); it does not shrink with more GPUs;
* ``t_layer(tp) = layer_overhead_s + tp_layer_overhead_s * (tp - 1)``: per decoder layer the
  launch and tail of its kernels, which no GPU count divides, plus a synchronisation cost that
  grows with the GPUs that must meet at every layer;
* ``t_ar``: two all-reduces per layer of the iteration's activations, timed by the
  latency-bandwidth line measured for the GPU and degree (:mod:`slit.models.collectives`).

The efficiencies and overheads are fitted per GPU type to public measurements and stored in
``slit/data/catalog/efficiency.yaml`` (:func:`calibrated_efficiency`); see ``docs/models.md``.
Because the fixed terms do not fall with ``tp``, decode time flattens as ``tp`` grows instead of
falling as ``1/tp``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from slit.catalogue.gpus import GpuSpec, bundled_gpus
from slit.catalogue.llms import LlmSpec, bundled_llms
from slit.models.collectives import AllReduceLine, allreduce_line
from slit.models.memory import check_fits

#: Bytes of one activation value exchanged by the all-reduce (bf16/fp16 activations).
ACTIVATION_BYTES = 2.0


@dataclass(frozen=True)
class EfficiencyParams:
    """How much of the hardware peak a serving engine achieves, and its fixed costs.

    Attributes:
        mfu: model FLOP utilisation of prefill (achieved / peak FLOP/s).
        mbu: memory-bandwidth utilisation in memory-bound phases (achieved / peak bytes/s).
        overhead_s: fixed host cost of every iteration (scheduling, input preparation), s.
        decode_mfu: model FLOP utilisation of decode iterations (None: the same as ``mfu``).
        per_request_overhead_s: host time per running request in a decode iteration
            (scheduling, sampling, detokenising), s; it grows the step linearly in the batch.
        layer_overhead_s: fixed time per decoder layer and iteration (kernel launches and
            tails that no GPU count divides), s.
        tp_layer_overhead_s: extra time per decoder layer and iteration for each GPU beyond the
            first (the GPUs synchronise at every layer's all-reduces), s.
        attention_mbu: memory-bandwidth utilisation of reading and writing the KV cache (paged
            attention gathers scattered blocks and reaches less of the peak than the dense
            weight reads; None: the same as ``mbu``).
    """

    mfu: float = 0.5
    mbu: float = 0.7
    overhead_s: float = 0.003
    decode_mfu: float | None = None
    per_request_overhead_s: float = 0.0
    layer_overhead_s: float = 0.0
    tp_layer_overhead_s: float = 0.0
    attention_mbu: float | None = None

    @property
    def kv_bandwidth_utilisation(self) -> float:
        """MBU of KV-cache traffic: ``attention_mbu``, or ``mbu`` when not set."""
        return self.mbu if self.attention_mbu is None else self.attention_mbu

    @property
    def decode_flop_utilisation(self) -> float:
        """MFU of decode iterations: ``decode_mfu``, or ``mfu`` when not set.

        Decode multiplies the weights by a few token vectors at a time, so its matmuls are
        narrow and reach a smaller share of the peak than prefill's (fitted separately)."""
        return self.mfu if self.decode_mfu is None else self.decode_mfu

    def layer_time_s(self, tp: int) -> float:
        """Fixed time of one decoder layer in one iteration at degree ``tp``, s."""
        return self.layer_overhead_s + self.tp_layer_overhead_s * (tp - 1)


DEFAULT_EFFICIENCY = EfficiencyParams()
"""Uncalibrated textbook values; the simulator uses :func:`calibrated_efficiency` instead."""

_EFFICIENCY_FIELDS = {f for f in EfficiencyParams.__dataclass_fields__}


@cache
def _efficiency_catalog() -> dict[str, EfficiencyParams]:
    text = resources.files("slit").joinpath("data/catalog/efficiency.yaml").read_text("utf-8")
    doc = yaml.safe_load(text) or {}
    return {str(gpu): efficiency_from_entry(e) for gpu, e in (doc.get("gpus") or {}).items()}


@cache
def efficiency_provenance() -> dict[str, dict[str, object]]:
    """Per GPU id of ``efficiency.yaml``: what its entry was fitted on and what it borrowed."""
    text = resources.files("slit").joinpath("data/catalog/efficiency.yaml").read_text("utf-8")
    doc = yaml.safe_load(text) or {}
    return {
        str(gpu): {k: v for k, v in e.items() if k not in _EFFICIENCY_FIELDS}
        for gpu, e in (doc.get("gpus") or {}).items()
    }


def calibration_provenance(gpu: str) -> dict[str, object]:
    """Which ``efficiency.yaml`` entry a GPU type takes (its own or ``default``), the data that
    entry was fitted on, the serving software it describes and what it borrowed from another
    GPU: the record a run's metadata carries for every pool."""
    prov = efficiency_provenance()
    entry = gpu if gpu in prov else "default"
    info = prov.get(entry, {})
    borrowed = list(info.get("borrowed", []) or [])  # type: ignore[call-overload]
    if entry == "default":
        borrowed = [f"{gpu} has no calibration data: {b}" for b in borrowed] or [
            f"{gpu} has no calibration data"
        ]
    return {
        "entry": entry,
        "family": info.get("family"),
        "software": info.get("software"),
        "fitted_on": info.get("fitted_on", []),
        "borrowed": borrowed,
    }


def efficiency_from_entry(entry: dict[str, object]) -> EfficiencyParams:
    """The parameters of one efficiency-catalog entry (its provenance keys are ignored)."""
    return EfficiencyParams(**{k: v for k, v in entry.items() if k in _EFFICIENCY_FIELDS})  # type: ignore[arg-type]


def calibrated_efficiency(gpu: str | GpuSpec) -> EfficiencyParams:
    """The fitted efficiencies of a GPU type from ``slit/data/catalog/efficiency.yaml``.

    ``gpu`` is a catalog id or a spec (matched to the bundled catalog by value); GPU types the
    calibration data do not cover get the ``default`` entry (see docs/models.md).
    """
    catalog = _efficiency_catalog()
    if not isinstance(gpu, str):
        gpu = next((k for k, v in bundled_gpus().items() if v == gpu), "")
    return catalog.get(gpu) or catalog.get("default", DEFAULT_EFFICIENCY)


@dataclass(frozen=True)
class ReplicaPerf:
    """Latency coefficients of one replica (LLM x GPU type x tensor-parallel degree).

    Precomputes everything that does not depend on the batch so the simulator's hot path does a
    few multiplications per iteration. ``allreduce`` defaults to the measured line of the GPU
    and degree (:func:`slit.models.collectives.allreduce_line`).
    """

    model: LlmSpec
    gpu: GpuSpec
    tp: int
    eff: EfficiencyParams = DEFAULT_EFFICIENCY
    allreduce: AllReduceLine | None = None
    # derived in __post_init__ (not arguments, not compared)
    _inv_flops: float = field(init=False, repr=False, compare=False)
    _inv_flops_decode: float = field(init=False, repr=False, compare=False)
    _inv_bw: float = field(init=False, repr=False, compare=False)
    _inv_bw_kv: float = field(init=False, repr=False, compare=False)
    _weights: float = field(init=False, repr=False, compare=False)
    _kv: float = field(init=False, repr=False, compare=False)
    _p2: float = field(init=False, repr=False, compare=False)
    _p2_prefill: float = field(init=False, repr=False, compare=False)
    _la: float = field(init=False, repr=False, compare=False)
    _fixed: float = field(init=False, repr=False, compare=False)
    _ar_fixed: float = field(init=False, repr=False, compare=False)
    _ar_per_token: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.tp < 1:
            raise ValueError(f"tensor-parallel degree must be >= 1, got {self.tp}")
        set_ = object.__setattr__  # frozen dataclass: derived constants set once here
        flops = self.tp * self.gpu.peak_flop_per_s * self.eff.mfu
        bw = self.tp * self.gpu.memory_bandwidth_bytes_per_s * self.eff.mbu
        m = self.model
        set_(self, "_inv_flops", 1.0 / flops)
        set_(
            self,
            "_inv_flops_decode",
            1.0 / (self.tp * self.gpu.peak_flop_per_s * self.eff.decode_flop_utilisation),
        )
        set_(self, "_inv_bw", 1.0 / bw)
        bw_kv = self.tp * self.gpu.memory_bandwidth_bytes_per_s * self.eff.kv_bandwidth_utilisation
        set_(self, "_inv_bw_kv", 1.0 / bw_kv)
        set_(self, "_weights", m.streamed_weight_bytes)
        set_(self, "_kv", m.kv_bytes_per_token)
        set_(self, "_p2", 2.0 * m.decode_matmul_parameters)
        set_(self, "_p2_prefill", 2.0 * m.prefill_matmul_parameters)
        set_(self, "_la", float(m.layers * m.attention_width))
        set_(self, "_fixed", self.eff.overhead_s + m.layers * self.eff.layer_time_s(self.tp))
        if self.tp > 1:
            line = self.allreduce or allreduce_line(self.gpu, self.tp)
            set_(self, "allreduce", line)
            per_token_bytes = m.hidden_size * ACTIVATION_BYTES
            set_(self, "_ar_fixed", 2.0 * m.layers * line.alpha_s)
            set_(
                self,
                "_ar_per_token",
                2.0 * m.layers * per_token_bytes / line.bandwidth_bytes_per_s,
            )
        else:
            set_(self, "_ar_fixed", 0.0)
            set_(self, "_ar_per_token", 0.0)

    # -- memory ---------------------------------------------------------------------------
    def kv_capacity_tokens(
        self,
        memory_fraction: float = 0.9,
        *,
        max_batched_tokens: int = 8192,
        max_num_seqs: int = 256,
    ) -> int:
        """KV-cache tokens of the replica, in whole 16-token blocks, when it may use
        ``memory_fraction`` of each GPU's memory (vLLM's ``gpu_memory_utilization``) and keeps
        room for an iteration of ``max_batched_tokens`` tokens over ``max_num_seqs`` sequences
        (the memory model lives in :mod:`slit.models.memory`)."""
        from slit.models.memory import kv_capacity_tokens

        return kv_capacity_tokens(
            self.model,
            self.gpu,
            self.tp,
            memory_fraction,
            max_batched_tokens=max_batched_tokens,
            max_num_seqs=max_num_seqs,
        )

    # -- communication --------------------------------------------------------------------
    def comm_time_s(self, tokens: float, iterations: float = 1.0) -> float:
        """The all-reduce part of ``t_fixed`` over ``iterations`` iterations of ``tokens``
        tokens each, s (0 at tp 1): two per layer, ``alpha + bytes / bandwidth`` each."""
        return (self._ar_fixed + self._ar_per_token * tokens) * iterations

    # -- prefill --------------------------------------------------------------------------
    def prefill_terms(
        self, total_tokens: float, sum_sq_tokens: float
    ) -> tuple[float, float, float]:
        """``(t_compute, t_memory, t_fixed)`` of one prefill iteration over prompts with
        ``total_tokens`` tokens in all and ``sum_sq_tokens`` = sum of squared lengths, s."""
        compute = (
            self._p2_prefill * total_tokens + 2.0 * self._la * sum_sq_tokens
        ) * self._inv_flops
        memory = self._weights * self._inv_bw + self._kv * total_tokens * self._inv_bw_kv
        fixed = self._fixed + self._ar_fixed + self._ar_per_token * total_tokens
        return compute, memory, fixed

    def prefill_time_s(self, total_tokens: float, sum_sq_tokens: float) -> float:
        """Time of one prefill iteration over prompts with ``total_tokens`` tokens in all and
        ``sum_sq_tokens`` = sum of each prompt's length squared, s."""
        compute, memory, fixed = self.prefill_terms(total_tokens, sum_sq_tokens)
        return max(compute, memory) + fixed

    def prefill_compute_share(self, total_tokens: float, sum_sq_tokens: float) -> float:
        """Fraction of a prefill iteration's roofline time that is compute bound (0..1)."""
        compute, memory, _ = self.prefill_terms(total_tokens, sum_sq_tokens)
        return compute / max(compute, memory)

    # -- decode ---------------------------------------------------------------------------
    def decode_lines(
        self, batch_size: int, context_tokens: float
    ) -> tuple[float, float, float, float, float]:
        """Coefficients of decode iteration ``j`` of a fixed batch whose context grows by
        ``batch_size`` tokens an iteration:
        ``t_j = max(c0 + c1 j, m0 + m1 j) + fixed`` -> ``(c0, c1, m0, m1, fixed)``, s."""
        b = float(batch_size)
        c0 = (self._p2 * b + 4.0 * self._la * context_tokens) * self._inv_flops_decode
        c1 = 4.0 * self._la * b * self._inv_flops_decode
        m0 = self._weights * self._inv_bw + self._kv * context_tokens * self._inv_bw_kv
        m1 = self._kv * b * self._inv_bw_kv
        fixed = (
            self._fixed
            + self.eff.per_request_overhead_s * b
            + self._ar_fixed
            + self._ar_per_token * b
        )
        return c0, c1, m0, m1, fixed

    def hybrid_terms(
        self,
        decode_batch: float,
        decode_context_tokens: float,
        chunk_tokens: float,
        chunk_attention_pairs: float,
        chunk_context_tokens: float,
    ) -> tuple[float, float, float]:
        """``(t_compute, t_memory, t_fixed)`` of one chunked-prefill iteration, s: see
        :meth:`hybrid_time_s`."""
        b = float(decode_batch)
        compute = (
            self._p2_prefill * chunk_tokens + 2.0 * self._la * chunk_attention_pairs
        ) * self._inv_flops + (
            self._p2 * b + 4.0 * self._la * decode_context_tokens
        ) * self._inv_flops_decode
        memory = (
            self._weights * self._inv_bw
            + self._kv * (decode_context_tokens + chunk_context_tokens) * self._inv_bw_kv
        )
        fixed = (
            self._fixed
            + self.eff.per_request_overhead_s * b
            + self._ar_fixed
            + self._ar_per_token * (b + chunk_tokens)
        )
        return compute, memory, fixed

    def hybrid_time_s(
        self,
        decode_batch: int,
        decode_context_tokens: float,
        chunk_tokens: float,
        chunk_attention_pairs: float,
        chunk_context_tokens: float,
    ) -> tuple[float, float]:
        """One chunked-prefill iteration: ``decode_batch`` decode tokens plus prefill chunks.

        The chunks hold ``chunk_tokens`` prompt tokens in all; ``chunk_attention_pairs`` is
        sum over chunks of ``c · (2 p + c)`` for a chunk of ``c`` tokens after ``p`` already
        prefilled ones (its causal attention), and ``chunk_context_tokens`` the KV tokens the
        chunks read and write (``p + c`` each). Returns ``(seconds, compute_share)``:

            compute = (2 P c + 2 L A pairs) / (tp F MFU) + (2 P b + 4 L A S) / (tp F MFU_dec)
            memory  = (W + kv · (S + chunk context)) / (tp B MBU)
            t = max(compute, memory) + t_fixed(b + c tokens) + b · t_req

        With no chunk it is a decode step; with no decode batch, a prefill of the chunk.
        """
        compute, memory, fixed = self.hybrid_terms(
            decode_batch,
            decode_context_tokens,
            chunk_tokens,
            chunk_attention_pairs,
            chunk_context_tokens,
        )
        top = max(compute, memory)
        return top + fixed, compute / top if top > 0 else 0.0

    def decode_step_time_s(self, batch_size: int, context_tokens: float) -> float:
        """One decode iteration of ``batch_size`` requests holding ``context_tokens`` tokens in
        all, s."""
        c0, _, m0, _, fixed = self.decode_lines(batch_size, context_tokens)
        return max(c0, m0) + fixed


def _line_sum(a0: float, a1: float, start: int, stop: int) -> float:
    """Sum of ``a0 + a1 j`` over integers ``start <= j < stop``."""
    n = stop - start
    return a0 * n + a1 * n * (start + stop - 1) / 2.0 if n > 0 else 0.0


def sum_of_max_lines(c0: float, c1: float, m0: float, m1: float, fixed: float, k: int) -> float:
    """Sum over ``j = 0..k-1`` of ``max(c0 + c1 j, m0 + m1 j) + fixed`` in closed form, s.

    Lets the simulator advance a batch by ``k`` decode iterations in one step. Two lines cross at
    most once, so the sum is one arithmetic series up to the crossing and another after it.
    """
    if k <= 0:
        return 0.0
    # the leader at j = 0 (ties go to the steeper line, which leads from then on)
    if (c0, c1) >= (m0, m1):
        a0, a1, b0, b1 = c0, c1, m0, m1
    else:
        a0, a1, b0, b1 = m0, m1, c0, c1
    if b1 <= a1:
        return fixed * k + _line_sum(a0, a1, 0, k)
    cross = (a0 - b0) / (b1 - a1)  # >= 0; the other line leads for j > cross
    if not cross < k:  # no crossing within the k iterations (or a vanishing slope difference)
        return fixed * k + _line_sum(a0, a1, 0, k)
    split = math.floor(cross) + 1
    return fixed * k + _line_sum(a0, a1, 0, split) + _line_sum(b0, b1, split, k)


def decode_stretch_terms(
    c0: float, c1: float, m0: float, m1: float, k: int
) -> tuple[float, float]:
    """``(compute_s, memory_s)``: the roofline terms summed over the ``k`` decode iterations of
    a stretch (iteration ``j`` has ``c0 + c1 j`` and ``m0 + m1 j``), what the power model needs
    to book the stretch at its time-weighted activity."""
    return (c0 + c1 * (k - 1) / 2.0) * k, (m0 + m1 * (k - 1) / 2.0) * k


def iterations_to_cover(
    c0: float, c1: float, m0: float, m1: float, fixed: float, k: int, elapsed_s: float
) -> int:
    """The smallest ``j`` in ``0..k`` whose first ``j`` iterations take at least ``elapsed_s``.

    When something happens ``elapsed_s`` into a run of ``k`` iterations, the iteration under way
    still has to finish: the batch can change only after iteration ``j``.
    """
    if elapsed_s <= 0.0:
        return 0
    if k <= 1:
        return k
    # Estimate j from the line that leads at j = 0, summed in closed form (the quadratic
    # (a1/2) j^2 + (a0 + fixed - a1/2) j = elapsed), then step to the exact answer with the
    # same sums the bisection this replaces compared: the sums grow with j, so the smallest
    # j with S(j) >= elapsed is the same, found in about two sums instead of log2(k).
    if (c0, c1) >= (m0, m1):
        a0, a1 = c0, c1
    else:
        a0, a1 = m0, m1
    lin = a0 + fixed - a1 / 2.0
    if a1 > 0.0:
        root = math.sqrt(lin * lin + 2.0 * a1 * elapsed_s)
        # the positive root, in the form without cancellation for either sign of lin
        est = 2.0 * elapsed_s / (lin + root) if lin > 0.0 else (root - lin) / a1
    else:
        est = elapsed_s / lin if lin > 0.0 else float(k)
    j = min(k, max(1, math.ceil(est))) if est == est else k
    if sum_of_max_lines(c0, c1, m0, m1, fixed, j) >= elapsed_s:
        while j > 1 and sum_of_max_lines(c0, c1, m0, m1, fixed, j - 1) >= elapsed_s:
            j -= 1
    else:
        while j < k:
            j += 1
            if sum_of_max_lines(c0, c1, m0, m1, fixed, j) >= elapsed_s:
                break
    return j


def resolve_specs(model: str | LlmSpec, gpu: str | GpuSpec) -> tuple[LlmSpec, GpuSpec]:
    """The LLM and GPU specs of catalog ids (specs pass through)."""
    m = bundled_llms()[model] if isinstance(model, str) else model
    g = bundled_gpus()[gpu] if isinstance(gpu, str) else gpu
    return m, g


def prefill_time_s(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    prompt_tokens: int,
    batch_size: int = 1,
    eff: EfficiencyParams | None = None,
) -> float:
    """Time to prefill ``batch_size`` prompts of ``prompt_tokens`` tokens each in one iteration,
    s. ``eff`` defaults to the GPU's calibrated efficiencies (:func:`calibrated_efficiency`).
    Raises ValueError when the batch's KV cache exceeds the replica's capacity."""
    check_fits(model, gpu, tp, batch_size, prompt_tokens)
    m, g = resolve_specs(model, gpu)
    perf = ReplicaPerf(m, g, tp, eff or calibrated_efficiency(gpu))
    return perf.prefill_time_s(prompt_tokens * batch_size, batch_size * prompt_tokens**2)


def decode_step_time_s(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    batch_size: int,
    context_tokens: int,
    eff: EfficiencyParams | None = None,
) -> float:
    """One decode iteration for ``batch_size`` requests holding ``context_tokens`` tokens each,
    s. ``eff`` defaults to the GPU's calibrated efficiencies (:func:`calibrated_efficiency`).
    Raises ValueError when the batch's KV cache exceeds the replica's capacity."""
    check_fits(model, gpu, tp, batch_size, context_tokens)
    m, g = resolve_specs(model, gpu)
    perf = ReplicaPerf(m, g, tp, eff or calibrated_efficiency(gpu))
    return perf.decode_step_time_s(batch_size, batch_size * context_tokens)
