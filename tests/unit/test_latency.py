"""The roofline latency model and the closed-form sums the simulator relies on."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.catalogue.gpus import bundled_gpus
from slit.catalogue.llms import bundled_llms
from slit.models import latency
from slit.models.memory import memory_budget

coef = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
small = st.floats(min_value=0.0, max_value=1e-3, allow_nan=False)


@given(c0=coef, c1=small, m0=coef, m1=small, fixed=small, k=st.integers(0, 300))
@settings(max_examples=300, deadline=None)
def test_sum_of_max_lines_matches_brute_force(c0, c1, m0, m1, fixed, k):
    brute = sum(max(c0 + c1 * j, m0 + m1 * j) + fixed for j in range(k))
    assert latency.sum_of_max_lines(c0, c1, m0, m1, fixed, k) == pytest.approx(
        brute, rel=1e-9, abs=1e-12
    )


@given(
    c0=st.floats(1e-4, 1.0),
    c1=small,
    m0=st.floats(1e-4, 1.0),
    m1=small,
    k=st.integers(1, 200),
    frac=st.floats(0.0, 1.0),
)
@settings(max_examples=300, deadline=None)
def test_iterations_to_cover_is_the_first_boundary_after_elapsed(c0, c1, m0, m1, k, frac):
    total = latency.sum_of_max_lines(c0, c1, m0, m1, 0.0, k)
    elapsed = frac * total
    j = latency.iterations_to_cover(c0, c1, m0, m1, 0.0, k, elapsed)
    assert 0 <= j <= k
    assert latency.sum_of_max_lines(c0, c1, m0, m1, 0.0, j) >= elapsed - 1e-12
    if j > 0:
        assert latency.sum_of_max_lines(c0, c1, m0, m1, 0.0, j - 1) < elapsed + 1e-12


@given(
    c0=st.floats(1e-4, 1.0),
    c1=small,
    m0=st.floats(1e-4, 1.0),
    m1=small,
    fixed=small,
    k=st.integers(1, 400),
    frac=st.floats(0.0, 1.2),
)
@settings(max_examples=500, deadline=None)
@pytest.mark.slow
def test_iterations_to_cover_is_exactly_the_first_j_whose_sum_reaches_elapsed(
    c0, c1, m0, m1, fixed, k, frac
):
    # the closed-form estimate must land on the very j a scan of the same sums finds
    elapsed = frac * latency.sum_of_max_lines(c0, c1, m0, m1, fixed, k)
    if elapsed <= 0.0:
        return
    scan = next(
        (j for j in range(1, k + 1)
         if latency.sum_of_max_lines(c0, c1, m0, m1, fixed, j) >= elapsed),
        k,
    )  # fmt: skip
    assert latency.iterations_to_cover(c0, c1, m0, m1, fixed, k, elapsed) == scan


def test_decode_is_memory_bound_at_small_batch_and_slower_with_context():
    t1 = latency.decode_step_time_s("llama-3.1-8b", "h100-80gb", 1, 1, 1000)
    gpu = bundled_gpus()["h100-80gb"]
    llm = bundled_llms()["llama-3.1-8b"]
    eff = latency.calibrated_efficiency("h100-80gb")
    weights_only = llm.weight_bytes / (gpu.memory_bandwidth_bytes_per_s * eff.mbu)
    fixed = eff.overhead_s + eff.per_request_overhead_s
    assert t1 == pytest.approx(weights_only + fixed, rel=0.05)
    # the uncalibrated defaults on request
    t0 = latency.decode_step_time_s("llama-3.1-8b", "h100-80gb", 1, 1, 1000,
                                    latency.DEFAULT_EFFICIENCY)  # fmt: skip
    default_weights = llm.weight_bytes / (gpu.memory_bandwidth_bytes_per_s * 0.7)
    assert t0 == pytest.approx(default_weights + 0.003, rel=0.05)
    assert latency.decode_step_time_s("llama-3.1-8b", "h100-80gb", 1, 1, 8000) > t1


def test_prefill_grows_with_tokens_and_shrinks_with_tensor_parallelism():
    short = latency.prefill_time_s("llama-3.1-70b", "h100-80gb", 4, 512)
    long = latency.prefill_time_s("llama-3.1-70b", "h100-80gb", 4, 4096)
    assert long > 4 * short * 0.9
    assert latency.prefill_time_s("llama-3.1-70b", "h100-80gb", 8, 4096) < long


def test_kv_capacity_counts_memory_left_beside_the_weights():
    gpu = bundled_gpus()["a100-80gb"]
    llm = bundled_llms()["llama-2-7b"]
    perf = latency.ReplicaPerf(llm, gpu, 1)
    # what is left of 0.9 x the visible 80 GiB beside the weights, the activation and runtime
    # reserves (slit.models.memory), in whole 16-token blocks; vLLM logged 7,351 blocks
    # (117,616 tokens) for this case
    mem = memory_budget(llm, gpu, 1, 0.9)
    expected = 16 * math.floor(mem.free / llm.kv_bytes_per_token / 16)
    assert perf.kv_capacity_tokens(0.9) == expected == 118_368
    assert llm.kv_bytes_per_token == 524288
