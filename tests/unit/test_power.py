"""Power and energy model: whole-request energy per output token."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.catalogue.gpus import bundled_gpus
from slit.models.latency import decode_step_time_s, prefill_time_s
from slit.models.power import (
    PowerParams,
    calibrated_power,
    energy_per_output_token_j,
    gpu_power_w,
    iteration_activity,
    iteration_activity_array,
)


def test_energy_per_token_is_decode_share_plus_amortised_prefill() -> None:
    gpu = bundled_gpus()["h100-80gb"]
    b, p, o = 8, 1000, 200
    got = energy_per_output_token_j("llama-3.1-8b", "h100-80gb", 1, b, p, o)
    t_pre = prefill_time_s("llama-3.1-8b", "h100-80gb", 1, p)
    step = decode_step_time_s("llama-3.1-8b", "h100-80gb", 1, b, p + o // 2)
    # both phases draw between idle and maximum power
    low = gpu.idle_power_w * (step / b + t_pre / o)
    high = gpu.max_power_w * (step / b + t_pre / o)
    assert low < got < high


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(1e-6, 10),
    st.floats(0, 1), st.floats(0, 2), st.floats(0, 2), st.floats(0, 2),
    st.floats(0, 1), st.floats(0, 2),
)  # fmt: skip
@pytest.mark.slow
def test_array_activity_is_the_scalar_equation(c, m, r, t, base, ac, am, ar, x, ax) -> None:
    """The fast evaluator's vectorised activity is the engine's equation, element for element."""
    params = PowerParams(base, ac, am, ar, ax)
    scalar = iteration_activity(c * t, m * t, t, params, r * t, x * t)
    arr = iteration_activity_array(
        np.array([c * t]), np.array([m * t]), np.array([t]), base, ac, am, np.array([r * t]), ar,
        np.array([x * t]), ax,
    )  # fmt: skip
    assert arr[0] == pytest.approx(scalar, rel=1e-12, abs=1e-15)
    assert 0.0 <= scalar <= 1.0


def test_no_phase_is_pinned_at_maximum_power() -> None:
    """A long prefill draws more than a small decode step, and neither is forced to TDP: the
    activity follows each iteration's compute, memory and per-request shares."""
    from slit.catalogue.llms import bundled_llms
    from slit.models.latency import ReplicaPerf, calibrated_efficiency

    for gpu_id in ("a100-80gb", "h100-80gb"):
        gpu = bundled_gpus()[gpu_id]
        perf = ReplicaPerf(bundled_llms()["llama-3.1-8b"], gpu, 1, calibrated_efficiency(gpu_id))
        power = calibrated_power(gpu_id)
        c, m, f = perf.prefill_terms(4096.0, 4096.0**2)
        pre = iteration_activity(c, m, max(c, m) + f, power)
        c0, _, m0, _, fixed = perf.decode_lines(1, 1000.0)
        dec = iteration_activity(c0, m0, max(c0, m0) + fixed, power)
        assert 0.0 < dec < pre <= 1.0, (gpu_id, dec, pre)
        assert gpu.idle_power_w < gpu_power_w(gpu, dec) < gpu.max_power_w


def test_power_per_gpu_falls_as_tensor_parallelism_grows() -> None:
    """At tp 8 the fixed costs (host, all-reduce) take more of each step, so each GPU is less
    active: per-GPU decode power must not rise with tp (ML.ENERGY and the reviewer's data show
    it falling)."""
    from slit.catalogue.llms import bundled_llms
    from slit.models.latency import ReplicaPerf, calibrated_efficiency

    gpu = bundled_gpus()["h100-80gb"]
    power = calibrated_power("h100-80gb")
    watts = []
    for tp in (2, 4, 8):
        perf = ReplicaPerf(bundled_llms()["llama-2-70b"], gpu, tp, calibrated_efficiency(gpu))
        c0, _, m0, _, fixed = perf.decode_lines(8, 8 * 1000.0)
        t = max(c0, m0) + fixed
        req = perf.eff.per_request_overhead_s * 8
        comm = perf.comm_time_s(8.0)
        watts.append(gpu_power_w(gpu, iteration_activity(c0, m0, t, power, req, comm)))
    assert watts[0] >= watts[1] >= watts[2]


def test_energy_per_token_falls_with_batch_size_and_grows_with_tp() -> None:
    e = [energy_per_output_token_j("llama-3.1-70b", "h100-80gb", 4, b, 1000, 350)
         for b in (1, 8, 64, 256)]  # fmt: skip
    assert all(x > y for x, y in zip(e, e[1:], strict=False))
    assert energy_per_output_token_j("llama-3.1-8b", "h100-80gb", 2, 8, 500, 100) > (
        energy_per_output_token_j("llama-3.1-8b", "h100-80gb", 1, 8, 500, 100)
    )


def test_energy_per_token_rejects_empty_requests() -> None:
    with pytest.raises(ValueError, match="output_tokens >= 1"):
        energy_per_output_token_j("llama-3.1-8b", "h100-80gb", 1, 8, 500, 0)


def test_constant_server_watts_add_exactly_their_energy() -> None:
    from slit.models.impacts import J_PER_KWH
    from slit.scenario.loader import scenario_from_dict
    from slit.sim.simulate import simulate
    from tests.conftest import small_scenario_dict

    base = small_scenario_dict()
    plain = simulate(scenario_from_dict(base))
    base["datacenters"][0]["server_overhead_w_per_gpu"] = 100.0
    more = simulate(scenario_from_dict(base))
    ts0, ts1 = plain.timeseries, more.timeseries
    a0, a1 = ts0[ts0["datacenter"] == "dc-a"], ts1[ts1["datacenter"] == "dc-a"]
    extra_kwh = 100.0 * a1["gpu_s"].sum() / J_PER_KWH
    assert a1["it_energy_kwh"].sum() - a0["it_energy_kwh"].sum() == pytest.approx(extra_kwh)
    pd_b0, pd_b1 = ts0[ts0["datacenter"] == "dc-b"], ts1[ts1["datacenter"] == "dc-b"]
    assert pd_b1["it_energy_kwh"].sum() == pytest.approx(pd_b0["it_energy_kwh"].sum())
