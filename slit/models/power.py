"""Power draw of GPUs and servers by serving phase.

Per GPU, power interpolates linearly between idle and maximum with an *activity* in [0, 1]:

    P_gpu = P_idle + (P_max - P_idle) * activity

Prefill is compute bound and runs at full activity (Splitwise measured H100 prompt power at its
700 W TDP). Decode activity rises with the share of the iteration that is compute bound:

    activity_decode = min(1, a_base + k * compute_share)

with a_base = 0.619 and k = 0.526, fitted to the energy per output token of vLLM serving
Llama-3.1-8B and 70B on H100 at 8 to 900 concurrent requests in the ML.ENERGY v3 measurements
(see docs/models.md).

The server around the GPUs (CPUs, memory, NICs, fans) adds ``server_overhead_fraction`` of the GPU
power; IT power = P_gpu * n_gpus * (1 + overhead). Facility power = IT power * PUE.
"""

from __future__ import annotations

from dataclasses import dataclass

from slit.models.hardware import GpuSpec
from slit.models.latency import (
    EfficiencyParams,
    ReplicaPerf,
    calibrated_efficiency,
    resolve_specs,
)
from slit.models.llm import LlmSpec
from slit.models.memory import check_fits


@dataclass(frozen=True)
class PowerParams:
    """Activity of a GPU in each serving phase (0 = idle power, 1 = maximum power).

    Attributes:
        prefill_activity: activity during a prefill iteration.
        decode_base_activity: activity of a purely memory-bound decode iteration.
        decode_activity_per_compute_share: activity a decode iteration gains per unit of its
            compute-bound share (the result is capped at 1, the GPU's maximum power).
    """

    prefill_activity: float = 1.0
    decode_base_activity: float = 0.619
    decode_activity_per_compute_share: float = 0.526


DEFAULT_POWER = PowerParams()


def gpu_power_w(gpu: GpuSpec, activity: float) -> float:
    """Power of one GPU at ``activity`` (0..1), W."""
    return gpu.idle_power_w + (gpu.max_power_w - gpu.idle_power_w) * activity


def decode_activity(compute_share: float, params: PowerParams = DEFAULT_POWER) -> float:
    """Activity of a decode iteration whose roofline time is ``compute_share`` compute bound."""
    share = min(1.0, max(0.0, compute_share))
    base = params.decode_base_activity
    return min(1.0, base + params.decode_activity_per_compute_share * share)


def it_power_w(
    gpu: GpuSpec,
    n_gpus: int,
    activity: float,
    server_overhead_fraction: float,
    server_overhead_w_per_gpu: float = 0.0,
) -> float:
    """IT power of ``n_gpus`` GPUs and their share of the server, W.

    The server around the GPUs adds ``server_overhead_fraction`` of the GPU power (parts that
    work with the GPUs) plus a constant ``server_overhead_w_per_gpu`` (parts that draw the same
    whatever the load, e.g. fans and idle CPUs).
    """
    gpu_w = gpu_power_w(gpu, activity)
    return n_gpus * (gpu_w * (1.0 + server_overhead_fraction) + server_overhead_w_per_gpu)


def energy_per_output_token_j(
    model: str | LlmSpec,
    gpu: str | GpuSpec,
    tp: int,
    batch_size: int,
    prompt_tokens: int,
    output_tokens: int,
    *,
    cached_prompt_tokens: int = 0,
    eff: EfficiencyParams | None = None,
    params: PowerParams = DEFAULT_POWER,
) -> float:
    """GPU energy of a whole request (prefill included) per output token at steady state, J.

    A replica serves a steady batch of ``batch_size`` requests at evenly spread progress, so a
    decode iteration sees an average context of ``prompt + output / 2`` tokens per request and
    yields ``batch_size`` tokens:

        E_decode/token = P_gpu(decode activity) · tp · t_step(B, prompt + output/2) / B
        E_prefill      = P_gpu(prefill activity) · tp · t_prefill(prompt)
        E/token        = E_decode/token + E_prefill / output

    ``cached_prompt_tokens`` of the prompt come from a prefix cache (a chat turn re-sending its
    history): they count in the context the decode reads, not in the prefill computed, so
    ``E_prefill`` uses ``t_prefill(prompt - cached)``. GPU power only (what NVML reports, as in
    the ML.ENERGY measurements); the server overhead and PUE are added by the simulator.
    ``model``/``gpu`` are catalog ids or specs; ``eff`` defaults to the GPU's calibrated
    efficiencies.
    """
    if batch_size < 1 or output_tokens < 1 or prompt_tokens < 0:
        raise ValueError(
            f"need batch_size >= 1, output_tokens >= 1, prompt_tokens >= 0; got {batch_size}, "
            f"{output_tokens}, {prompt_tokens}"
        )
    check_fits(model, gpu, tp, batch_size, prompt_tokens + output_tokens / 2.0)  # steady batch
    m, g = resolve_specs(model, gpu)
    perf = ReplicaPerf(m, g, tp, eff or calibrated_efficiency(g))
    context = prompt_tokens + output_tokens / 2.0
    c0, _, m0, _, fixed = perf.decode_lines(batch_size, batch_size * context)
    step_s = max(c0, m0) + fixed
    decode_w = gpu_power_w(g, decode_activity(c0 / max(c0, m0), params)) * tp
    decode_j_per_token = decode_w * step_s / batch_size
    fresh = max(0, prompt_tokens - cached_prompt_tokens)
    prefill_s = perf.prefill_time_s(fresh, float(fresh) ** 2) if fresh else 0.0
    prefill_j = gpu_power_w(g, params.prefill_activity) * tp * prefill_s
    return decode_j_per_token + prefill_j / output_tokens
