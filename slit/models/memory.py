"""GPU memory of a replica: what the weights take, what is held back, and the KV cache left.

This module is the one home of the memory model; the latency model, the simulator, the fast
evaluator and the scenario checks all ask it. It follows how vLLM sizes its paged KV cache at
start-up (``gpu_memory_utilization``, a profiling run, then every byte left as KV blocks):

    physical      = memory_gb x unit (GiB = 2^30 bytes for NVIDIA's HBM parts, see gpus.yaml)
    visible       = physical x (1 - ecc_reserved_fraction) - DRIVER_RESERVED_BYTES
    budget        = visible x gpu_memory_utilization
    free (per GPU) = budget - weights / tp - activation_reserve - non_torch_overhead(tp)
    KV tokens     = 16 x floor(free x min(tp, kv_heads) / kv_bytes_per_token / 16)

* ``visible`` is what CUDA reports as the device's total memory (``cudaMemGetInfo``), which is
  the figure vLLM multiplies by ``gpu_memory_utilization``: about 0.78 GiB less than the 80 GiB
  of an A100 or H100 80GB (79.2 GiB visible), and 1/16 less on GDDR6 boards that run with ECC on.
* ``activation_reserve`` stands for the peak of vLLM's profiling forward pass over
  ``max_num_batched_tokens`` tokens and ``max_num_seqs`` sampled sequences
  (:func:`activation_reserve_bytes`); vLLM keeps that much free for the largest iteration.
* ``non_torch_overhead`` is memory allocated outside PyTorch during start-up (CUDA runtime
  workspaces, and NCCL and custom all-reduce buffers when ``tp > 1``). CUDA graphs are captured
  after the KV cache is allocated and come out of the ``1 - gpu_memory_utilization`` headroom, as
  in vLLM, so they are not subtracted here.
* KV bytes per token are split over the tensor-parallel GPUs by KV head; with more GPUs than
  KV heads the heads are replicated, so only ``kv_heads`` shares are distinct.
* vLLM allocates the cache in blocks of 16 tokens; the capacity is a whole number of blocks.

Every constant, its source and the figures it gives are in docs/models.md (Memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slit.catalogue.gpus import GpuSpec, bundled_gpus
from slit.catalogue.llms import BYTES_PER_VALUE, LlmSpec, bundled_llms

GIB = float(2**30)
"""Bytes in a GiB."""

KV_BLOCK_TOKENS = 16
"""Tokens per KV-cache block (vLLM's default ``block_size``)."""

DEFAULT_GPU_MEMORY_UTILIZATION = 0.9
"""Share of the visible GPU memory a replica may use (vLLM's default)."""

DEFAULT_MAX_BATCHED_TOKENS = 8192
"""Tokens of the profiling forward pass (vLLM's default ``max_num_batched_tokens`` for the
OpenAI server on GPUs with 70 GiB or more)."""

DEFAULT_MAX_NUM_SEQS = 256
"""Sequences sampled in the profiling pass (vLLM's default ``max_num_seqs``)."""

DRIVER_RESERVED_BYTES = 0.75 * GIB
"""Physical memory CUDA does not report as the device's total, bytes per GPU: an A100-SXM4-80GB
shows 85,056,798,720 bytes (79.2 GiB) to CUDA and an H100 80GB 79.22 GiB (vLLM's start-up log),
0.78-0.79 GiB short of 80 GiB; rounded down to 0.75 GiB for every part."""

NON_TORCH_BYTES_SINGLE_GPU = 0.25 * GIB
"""Memory allocated outside PyTorch by one GPU's worker (CUDA runtime, cuBLAS workspaces),
bytes: vLLM 0.7's memory profile logs 0.13-0.20 GiB of ``non_torch_memory``."""

NON_TORCH_BYTES_TENSOR_PARALLEL = 0.5 * GIB
"""The same with ``tp > 1``, which adds NCCL and custom all-reduce buffers, bytes per GPU (an
estimate: logs show 0.2 GiB on PCIe cards and, before vLLM's profiler was fixed in early 2025,
up to 3.6 GiB on H100 NVLink pairs)."""

LOGIT_BYTES = 4.0
"""Bytes per logit in the sampler: vLLM computes logits and probabilities in float32."""

SAMPLER_COPIES = 3.0
"""Logit-sized float32 tensors alive at once in the sampler (logits, probabilities, and
log-probabilities or a sorted copy for top-p/top-k)."""


@dataclass(frozen=True)
class MemoryBudget:
    """Where one GPU's memory goes in a replica, bytes per GPU (``free`` may be negative).

    Attributes:
        physical: the GPU's memory in the vendor's unit, bytes.
        visible: what CUDA reports as its total (physical less ECC and driver reserves), bytes.
        budget: ``visible x gpu_memory_utilization``, bytes.
        weights: this GPU's share of the weights (``weight_bytes / tp``), bytes.
        activation: the profiled activation peak held back, bytes.
        overhead: memory allocated outside PyTorch, bytes.
        free: what is left for the KV cache, bytes.
    """

    physical: float
    visible: float
    budget: float
    weights: float
    activation: float
    overhead: float

    @property
    def free(self) -> float:
        """Bytes per GPU left for the KV cache (negative when the weights do not fit)."""
        return self.budget - self.weights - self.activation - self.overhead

    @property
    def needed(self) -> float:
        """Bytes per GPU the replica needs before any KV cache: weights, activation, overhead."""
        return self.weights + self.activation + self.overhead


def visible_memory_bytes(gpu: GpuSpec) -> float:
    """What CUDA reports as the device's total memory (physical less the ECC share on GDDR6
    boards and the driver's reserve), bytes."""
    return gpu.memory_bytes * (1.0 - gpu.ecc_reserved_fraction) - DRIVER_RESERVED_BYTES


def non_torch_overhead_bytes(tp: int) -> float:
    """Memory a worker allocates outside PyTorch, bytes per GPU (more with tensor parallelism)."""
    return NON_TORCH_BYTES_TENSOR_PARALLEL if tp > 1 else NON_TORCH_BYTES_SINGLE_GPU


def activation_reserve_bytes(
    model: LlmSpec,
    tp: int,
    max_batched_tokens: int = DEFAULT_MAX_BATCHED_TOKENS,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
) -> float:
    """Peak activation memory of vLLM's profiling pass on one GPU, bytes.

    vLLM runs one forward pass over ``max_batched_tokens`` tokens split into ``max_num_seqs``
    sequences and samples one token for each, and keeps its peak free. The largest buffers are an
    MLP's (the residual stream and its normalised copy, ``2 T h``, replicated on every GPU, plus
    the gate-and-up output and the activated half, ``3 T I / tp``, sharded) and the sampler's
    (logits of every sequence over the whole vocabulary in float32, a few copies). Their sum
    stands in for the peak and the smaller buffers (QKV, attention output) it leaves out:

        reserve = 2 bytes x T x (2 h + 3 I / tp) + S x vocab x 4 bytes x 3

    with ``T`` tokens, ``S`` sequences, ``h`` the hidden size and ``I`` the MLP width (4 h when
    the catalog lacks it). For Llama-3-8B on one GPU at T = 8192, S = 256 this gives 1.15 GiB;
    vLLM logs 1.26 GiB of "PyTorch activation peak memory" for that case.
    """
    h = float(model.hidden_size)
    inner = float(model.intermediate_size or 4 * model.hidden_size)
    vocab = float(model.vocab_size or 32000)
    mlp = 2.0 * max_batched_tokens * (2.0 * h + 3.0 * inner / tp)
    sampler = max_num_seqs * vocab * LOGIT_BYTES * SAMPLER_COPIES
    return mlp + sampler


def memory_budget(
    model: LlmSpec,
    gpu: GpuSpec,
    tp: int,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    *,
    max_batched_tokens: int = DEFAULT_MAX_BATCHED_TOKENS,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
) -> MemoryBudget:
    """Where each GPU's memory goes in a replica of ``model`` on ``tp`` x ``gpu``."""
    if tp < 1:
        raise ValueError(f"tensor-parallel degree must be >= 1, got {tp}")
    if not 0.0 < gpu_memory_utilization <= 1.0:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    visible = visible_memory_bytes(gpu)
    return MemoryBudget(
        physical=gpu.memory_bytes,
        visible=visible,
        budget=visible * gpu_memory_utilization,
        weights=model.weight_bytes / tp,
        activation=activation_reserve_bytes(model, tp, max_batched_tokens, max_num_seqs),
        overhead=non_torch_overhead_bytes(tp),
    )


def kv_capacity_tokens(
    model: LlmSpec,
    gpu: GpuSpec,
    tp: int,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    *,
    max_batched_tokens: int = DEFAULT_MAX_BATCHED_TOKENS,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
) -> int:
    """KV-cache tokens a replica holds, in whole blocks of 16 (0 when the weights do not fit)."""
    mem = memory_budget(
        model,
        gpu,
        tp,
        gpu_memory_utilization,
        max_batched_tokens=max_batched_tokens,
        max_num_seqs=max_num_seqs,
    )
    if mem.free <= 0.0:
        return 0
    shards = min(tp, model.kv_heads)  # KV heads replicate once tp exceeds them
    tokens = mem.free * shards / model.kv_bytes_per_token
    return KV_BLOCK_TOKENS * math.floor(tokens / KV_BLOCK_TOKENS)


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def fit_problem(
    model: LlmSpec,
    gpu: GpuSpec,
    tp: int,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
    *,
    model_id: str = "",
    gpu_id: str = "",
    gpus: dict[str, GpuSpec] | None = None,
    max_batched_tokens: int = DEFAULT_MAX_BATCHED_TOKENS,
    max_num_seqs: int = DEFAULT_MAX_NUM_SEQS,
) -> tuple[str, str] | None:
    """Why a replica cannot start (``(what, how to fix)``), or None when it holds at least one
    KV block beside its weights.

    ``gpus`` (id -> spec) lets the hint name the GPU types on which the replica would fit.
    """
    kw = {"max_batched_tokens": max_batched_tokens, "max_num_seqs": max_num_seqs}
    if kv_capacity_tokens(model, gpu, tp, gpu_memory_utilization, **kw) > 0:
        return None
    mem = memory_budget(model, gpu, tp, gpu_memory_utilization, **kw)
    name = model_id or model.name or "the model"
    where = f"{tp} x {gpu_id or gpu.name or 'GPU'}"
    precision = model.weight_precision or f"{model.bytes_per_parameter:g} bytes/parameter"
    what = (
        f"{name} ({precision}, {_gb(model.weight_bytes)} of weights) does not fit on {where}: "
        f"each GPU needs {_gb(mem.weights)} of weights + {_gb(mem.activation + mem.overhead)} "
        f"of activation and runtime reserve + at least one KV block = {_gb(mem.needed)}, but "
        f"offers {_gb(mem.budget)} ({_gb(mem.visible)} visible x gpu_memory_utilization "
        f"{gpu_memory_utilization:g})"
    )
    fixes = []
    for more_tp in (2 * tp, 4 * tp, 8 * tp):
        if more_tp <= 64 and kv_capacity_tokens(model, gpu, more_tp, gpu_memory_utilization, **kw):
            fixes.append(f"raise tp to {more_tp}")
            break
    for precision_name, nbytes in sorted(BYTES_PER_VALUE.items(), key=lambda kv: -kv[1]):
        if nbytes < model.bytes_per_parameter:
            lighter = model.with_precision(precision_name)  # type: ignore[arg-type]
            if kv_capacity_tokens(lighter, gpu, tp, gpu_memory_utilization, **kw):
                fixes.append(f"set weight_precision: {precision_name}")
                break
    bigger = sorted(
        gid
        for gid, g in (gpus or {}).items()
        if kv_capacity_tokens(model, g, tp, gpu_memory_utilization, **kw)
    )
    if bigger:
        fixes.append(f"pick a GPU with more memory ({', '.join(bigger[:4])})")
    for higher in (0.95, 0.98):
        if higher > gpu_memory_utilization and kv_capacity_tokens(model, gpu, tp, higher, **kw):
            fixes.append(f"raise gpu_memory_utilization to {higher:g}")
            break
    hint = "; ".join(fixes) if fixes else "pick a smaller model"
    return what, hint


def _resolve(model: str | LlmSpec, gpu: str | GpuSpec) -> tuple[LlmSpec, GpuSpec]:
    m = bundled_llms()[model] if isinstance(model, str) else model
    g = bundled_gpus()[gpu] if isinstance(gpu, str) else gpu
    return m, g


def check_fits(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    batch_size: float,
    tokens_per_request: float,
    gpu_memory_utilization: float = DEFAULT_GPU_MEMORY_UTILIZATION,
) -> int:
    """Refuse a batch whose KV cache exceeds what one replica holds; return the capacity.

    ``batch_size x tokens_per_request`` KV tokens must fit the replica's KV capacity
    (:func:`kv_capacity_tokens` at vLLM's default limits), tokens. ``model``/``gpu`` are catalog
    ids or specs. Meant for the one-shot latency and power functions; the simulator enforces the
    capacity through admission and preemption instead.

    Raises:
        ValueError: saying what does not fit, the capacity, and how to fix it.
    """
    m, g = _resolve(model, gpu)
    capacity = kv_capacity_tokens(m, g, tp, gpu_memory_utilization)
    need = batch_size * tokens_per_request
    if need <= capacity:
        return capacity
    label = f"{model if isinstance(model, str) else m.name} on {tp} x "
    label += gpu if isinstance(gpu, str) else g.name
    if capacity == 0:
        problem = fit_problem(m, g, tp, gpu_memory_utilization)
        hint = problem[1] if problem else ""
        raise ValueError(
            f"{label} holds no KV cache: the weights do not fit beside the activation and "
            f"runtime reserve; {hint}"
        )
    raise ValueError(
        f"a batch of {batch_size:g} requests x {tokens_per_request:g} tokens needs "
        f"{need:,.0f} KV tokens, more than the {capacity:,} that {label} holds at "
        f"gpu_memory_utilization {gpu_memory_utilization:g}; use a batch of at most "
        f"{int(capacity // max(tokens_per_request, 1.0))}, fewer tokens per request, a larger tp, "
        "or a GPU with more memory"
    )
