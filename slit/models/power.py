"""Power draw of GPUs and servers by serving phase.

Per GPU, power interpolates linearly between idle and maximum with an *activity* in [0, 1]:

    P_gpu = P_idle + (P_max - P_idle) * activity

Prefill is compute bound and runs near full activity. Decode activity rises with the share of the
iteration that is compute bound (larger batches):

    activity_decode = a_base + (a_prefill - a_base) * compute_share

The server around the GPUs (CPUs, memory, NICs, fans) adds ``server_overhead_fraction`` of the GPU
power; IT power = P_gpu * n_gpus * (1 + overhead). Facility power = IT power * PUE.
Defaults follow the Splitwise phase powers (A100: idle 63 W, prompt 400 W, token 250 W,
i.e. token activity (250-63)/(400-63) = 0.55); see docs/models.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from slit.models.hardware import GpuSpec


@dataclass(frozen=True)
class PowerParams:
    """Activity of a GPU in each serving phase (0 = idle power, 1 = maximum power).

    Attributes:
        prefill_activity: activity during a prefill iteration.
        decode_base_activity: activity of a purely memory-bound decode iteration.
    """

    prefill_activity: float = 1.0
    decode_base_activity: float = 0.5


DEFAULT_POWER = PowerParams()


def gpu_power_w(gpu: GpuSpec, activity: float) -> float:
    """Power of one GPU at ``activity`` (0..1), W."""
    return gpu.idle_power_w + (gpu.max_power_w - gpu.idle_power_w) * activity


def decode_activity(compute_share: float, params: PowerParams = DEFAULT_POWER) -> float:
    """Activity of a decode iteration whose roofline time is ``compute_share`` compute bound."""
    share = min(1.0, max(0.0, compute_share))
    base = params.decode_base_activity
    return base + (params.prefill_activity - base) * share


def it_power_w(
    gpu: GpuSpec, n_gpus: int, activity: float, server_overhead_fraction: float
) -> float:
    """IT power of ``n_gpus`` GPUs and their share of the server, W."""
    return gpu_power_w(gpu, activity) * n_gpus * (1.0 + server_overhead_fraction)
