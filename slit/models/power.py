"""Power draw of GPUs and servers, from what each iteration keeps busy.

Per GPU, power interpolates linearly between idle and maximum with an *activity* in [0, 1]:

    P_gpu = P_idle + (P_max - P_idle) * activity

An iteration of length ``t`` spends ``t_compute`` at the tensor cores' achieved rate and
``t_memory`` streaming HBM (the two roofline terms of :class:`slit.models.latency.ReplicaPerf`),
the rest of ``t`` on fixed costs (host work, kernel launches, all-reduces) that keep the GPU
powered but nearly idle. Its activity is

    activity = min(1, a_base + a_compute * t_compute / t + a_memory * t_memory / t
                      + a_request * t_request / t + a_comm * t_comm / t)

where ``t_request = B * t_req`` is the per-request part of a decode step (logits, sampling and
output processing of every running request: GPU kernels, not host idling, which is why it has
its own coefficient) and ``t_comm`` the iteration's tensor-parallel all-reduces
(:meth:`slit.models.latency.ReplicaPerf.comm_time_s`: NCCL kernels keep SMs and NVLink busy, so
a GPU draws more while it communicates than while it waits on the host)

for prefill, decode and mixed iterations alike: no phase is pinned at maximum power. A long
prefill is compute bound (``t_compute / t`` near 1) and draws near ``a_base + a_compute``; a
small-batch decode streams weights (``t_memory / t`` high) and draws less; at high tensor
parallelism the fixed costs take a larger share of each iteration, so each GPU draws less.
``a_base``, ``a_compute`` and ``a_memory`` are fitted per GPU type to measured average power
(LLM-Inference-Bench, ML.ENERGY v3) and stored beside the latency efficiencies in
``slit/data/catalog/efficiency.yaml`` (:func:`calibrated_power`; docs/models.md).

The server around the GPUs (CPUs, memory, NICs, fans) adds ``server_overhead_fraction`` of the GPU
power; IT power = P_gpu * n_gpus * (1 + overhead). Facility power = IT power * PUE.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import numpy.typing as npt
import yaml

from slit.catalogue.gpus import GpuSpec, bundled_gpus
from slit.catalogue.llms import LlmSpec
from slit.models.latency import (
    EfficiencyParams,
    ReplicaPerf,
    calibrated_efficiency,
    resolve_specs,
)
from slit.models.memory import check_fits


@dataclass(frozen=True)
class PowerParams:
    """Activity of a GPU from the shares of an iteration spent computing and reading memory.

    Attributes:
        base_activity: activity of an iteration spent wholly on fixed costs (0 = idle power).
        compute_activity: activity added per unit of compute-bound share (``t_compute / t``).
        memory_activity: activity added per unit of memory-bound share (``t_memory / t``).
        request_activity: activity added per unit of per-request share (``t_request / t``).
        comm_activity: activity added per unit of all-reduce share (``t_comm / t``; 0 at tp 1).
    """

    base_activity: float = 0.3
    compute_activity: float = 0.7
    memory_activity: float = 0.4
    request_activity: float = 0.5
    comm_activity: float = 0.3


DEFAULT_POWER = PowerParams()
"""Uncalibrated values; the simulator uses :func:`calibrated_power` instead."""

_POWER_FIELDS = {f for f in PowerParams.__dataclass_fields__}


@cache
def _power_catalog() -> dict[str, PowerParams]:
    text = resources.files("slit").joinpath("data/catalog/efficiency.yaml").read_text("utf-8")
    doc = yaml.safe_load(text) or {}
    out = {}
    for gpu, entry in (doc.get("gpus") or {}).items():
        power = (entry or {}).get("power") or {}
        out[str(gpu)] = PowerParams(**{k: float(v) for k, v in power.items() if k in _POWER_FIELDS})
    return out


def calibrated_power(gpu: str | GpuSpec) -> PowerParams:
    """The fitted power parameters of a GPU type (``power:`` of its entry in
    ``slit/data/catalog/efficiency.yaml``; GPU types without an entry get ``default``)."""
    catalog = _power_catalog()
    if not isinstance(gpu, str):
        gpu = next((k for k, v in bundled_gpus().items() if v == gpu), "")
    return catalog.get(gpu) or catalog.get("default", DEFAULT_POWER)


def gpu_power_w(gpu: GpuSpec, activity: float) -> float:
    """Power of one GPU at ``activity`` (0..1), W."""
    return gpu.idle_power_w + (gpu.max_power_w - gpu.idle_power_w) * activity


def iteration_activity(
    compute_s: float,
    memory_s: float,
    total_s: float,
    params: PowerParams = DEFAULT_POWER,
    request_s: float = 0.0,
    comm_s: float = 0.0,
) -> float:
    """Activity (0..1) of an iteration of ``total_s`` seconds whose roofline terms are
    ``compute_s`` and ``memory_s``, whose per-request part is ``request_s`` and whose
    all-reduces take ``comm_s`` (see the module doc). Sums over several iterations may be
    passed as well: the shares are then time-weighted averages."""
    if not total_s > 0.0:
        return params.base_activity if params.base_activity < 1.0 else 1.0
    a = (
        params.base_activity
        + params.compute_activity * compute_s / total_s
        + params.memory_activity * memory_s / total_s
        + params.request_activity * request_s / total_s
        + params.comm_activity * comm_s / total_s
    )
    return 1.0 if a > 1.0 else (0.0 if a < 0.0 else a)


def iteration_activity_array(
    compute_s: npt.NDArray[np.float64],
    memory_s: npt.NDArray[np.float64],
    total_s: npt.NDArray[np.float64],
    base_activity: npt.ArrayLike,
    compute_activity: npt.ArrayLike,
    memory_activity: npt.ArrayLike,
    request_s: npt.ArrayLike = 0.0,
    request_activity: npt.ArrayLike = 0.0,
    comm_s: npt.ArrayLike = 0.0,
    comm_activity: npt.ArrayLike = 0.0,
) -> npt.NDArray[np.float64]:
    """:func:`iteration_activity` element-wise over arrays (the fast evaluator's form; the same
    equation, tested equal), with the parameters given per element or broadcast."""
    # one division for the three shares: the evaluator calls this for a whole population
    busy = np.multiply(compute_activity, compute_s)
    busy += np.multiply(memory_activity, memory_s)
    busy += np.multiply(request_activity, request_s)
    busy += np.multiply(comm_activity, comm_s)
    busy /= np.maximum(total_s, 1e-300)
    busy += base_activity
    return np.asarray(np.clip(busy, 0.0, 1.0), dtype=float)


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
    params: PowerParams | None = None,
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
    ``model``/``gpu`` are catalog ids or specs; ``eff`` and ``params`` default to the GPU's
    calibrated values.
    """
    if batch_size < 1 or output_tokens < 1 or prompt_tokens < 0:
        raise ValueError(
            f"need batch_size >= 1, output_tokens >= 1, prompt_tokens >= 0; got {batch_size}, "
            f"{output_tokens}, {prompt_tokens}"
        )
    check_fits(model, gpu, tp, batch_size, prompt_tokens + output_tokens / 2.0)  # steady batch
    m, g = resolve_specs(model, gpu)
    params = params or calibrated_power(g)
    perf = ReplicaPerf(m, g, tp, eff or calibrated_efficiency(g))
    context = prompt_tokens + output_tokens / 2.0
    c0, _, m0, _, fixed = perf.decode_lines(batch_size, batch_size * context)
    step_s = max(c0, m0) + fixed
    request_s = perf.eff.per_request_overhead_s * batch_size
    comm_s = perf.comm_time_s(batch_size)
    decode_w = gpu_power_w(g, iteration_activity(c0, m0, step_s, params, request_s, comm_s)) * tp
    decode_j_per_token = decode_w * step_s / batch_size
    fresh = max(0, prompt_tokens - cached_prompt_tokens)
    prefill_j = 0.0
    if fresh:
        c, mem, f = perf.prefill_terms(fresh, float(fresh) ** 2)
        prefill_s = max(c, mem) + f
        act = iteration_activity(c, mem, prefill_s, params, 0.0, perf.comm_time_s(fresh))
        prefill_j = gpu_power_w(g, act) * tp * prefill_s
    return decode_j_per_token + prefill_j / output_tokens
