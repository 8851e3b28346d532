"""Power and energy model: whole-request energy per output token."""

from __future__ import annotations

import pytest

from slit.models.hardware import bundled_gpus
from slit.models.latency import decode_step_time_s, prefill_time_s
from slit.models.power import DEFAULT_POWER, energy_per_output_token_j, gpu_power_w


def test_energy_per_token_is_decode_share_plus_amortised_prefill() -> None:
    gpu = bundled_gpus()["h100-80gb"]
    b, p, o = 8, 1000, 200
    got = energy_per_output_token_j("llama-3.1-8b", "h100-80gb", 1, b, p, o)
    prefill_j = gpu_power_w(gpu, DEFAULT_POWER.prefill_activity) * prefill_time_s(
        "llama-3.1-8b", "h100-80gb", 1, p
    )
    step = decode_step_time_s("llama-3.1-8b", "h100-80gb", 1, b, p + o // 2)
    # decode power lies between idle and maximum
    low = gpu.idle_power_w * step / b + prefill_j / o
    high = gpu.max_power_w * step / b + prefill_j / o
    assert low < got < high


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
    from slit.scenario.loader import scenario_from_dict
    from slit.sim.engine import J_PER_KWH
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
