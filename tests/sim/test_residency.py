"""Scale to zero (``keep_alive_s``): replicas unload after an idle spell, release their GPUs (no
power drawn) and pay the weights' load time when a request needs them again."""

from __future__ import annotations

import numpy as np
import pytest

from slit.inputs import compile_fleet
from slit.scenario.loader import scenario_from_dict
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def _sparse(keep_alive_s: float | None, **pool: object) -> dict:
    """One datacenter, one replica, requests far apart (an isolated request never shares an
    iteration, so its service is the same with and without scale to zero)."""
    data = small_scenario_dict()
    data["time"].update(horizon_s=1800, epoch_s=600, drain_s=300)
    data["workload"].update(rate_per_s=0.01)
    data["datacenters"] = data["datacenters"][:1]
    data["routing"] = {"policy": "nearest"}
    data["datacenters"][0]["pools"][0].update(
        keep_alive_s=keep_alive_s, load_bandwidth_gb_per_s=4.0, **pool
    )
    return data


def test_an_idle_replica_unloads_and_the_next_request_pays_the_load_time() -> None:
    scenario = scenario_from_dict(_sparse(5.0))
    load_s = scenario.llms["llama-3.1-8b"].weight_bytes / 4.0e9
    result = simulate(scenario)
    req, ts = result.requests, result.timeseries
    gaps = np.diff(req["arrival_s"].to_numpy())
    assert (gaps > 60.0).mean() > 0.5  # the workload is sparse, as the test needs
    paid = req["load_wait_s"].to_numpy() > 0
    # every request that came after more than keep-alive + its service of silence paid the
    # whole load (it arrived at a released replica); so did the first if it came after the
    # keep-alive of the (resident) replica's idle start
    assert paid[0] == (req["arrival_s"].iloc[0] + req["network_rtt_s"].iloc[0] > 5.0)
    assert paid[1:][gaps > 60.0].all()
    waits = req["load_wait_s"].to_numpy()
    assert (waits <= load_s * (1 + 1e-9)).all()
    # a request that finds the replica released starts a load and waits all of it; one that
    # comes during the load waits the rest
    full = np.isclose(waits, load_s, rtol=1e-9)
    np.testing.assert_allclose(waits[1:][gaps > 60.0], load_s, rtol=1e-9)
    assert ts["weight_loads"].sum() == full.sum()


def test_released_time_draws_no_power_and_everything_else_is_unchanged() -> None:
    warm = simulate(scenario_from_dict(_sparse(None)))
    cold = simulate(scenario_from_dict(_sparse(5.0)))
    ts_w, ts_c = warm.timeseries, cold.timeseries
    assert ts_w["released_gpu_s"].sum() == 0 and ts_w["weight_loads"].sum() == 0
    released_s = ts_c["released_gpu_s"].sum()
    assert released_s > 0.5 * ts_c["gpu_s"].sum()  # mostly idle, mostly released
    # the energy saved is the idle IT power of the released GPU time, no more, no less
    scenario = scenario_from_dict(_sparse(5.0))
    pool = compile_fleet(scenario, ["llama-3.1-8b"]).pools[0]
    idle_w_per_gpu = pool.it_power_w(0.0) / pool.tp
    saved_j = (ts_w["it_energy_kwh"].sum() - ts_c["it_energy_kwh"].sum()) * 3.6e6
    # (within 1 %: two requests that meet in a load share a prefill, which they did not
    # without it; the exact identity is that of a run where no two requests meet)
    assert saved_j == pytest.approx(idle_w_per_gpu * released_s, rel=1e-2)
    # an isolated request is served alike, shifted by the load it waited for
    t = warm.requests["arrival_s"].to_numpy()
    alone = np.diff(t, prepend=-1e9) > 30.0
    alone &= np.diff(t, append=1e12) > 30.0
    assert alone.sum() >= 5
    cold_r, warm_r = cold.requests[alone], warm.requests[alone]
    np.testing.assert_allclose(
        cold_r["ttft_s"] - cold_r["load_wait_s"], warm_r["ttft_s"], rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(cold_r["it_energy_kwh"], warm_r["it_energy_kwh"], rtol=1e-9)


def test_a_pool_that_never_gets_a_request_and_starts_released_draws_nothing() -> None:
    data = small_scenario_dict()
    data["routing"] = {"policy": "nearest"}
    data["regions"] = data["regions"][:1]
    data["workload"]["origins"] = {"a": 1.0} if "origins" in data["workload"] else None
    data["datacenters"][1]["region"] = "a"
    data["datacenters"][1]["pools"][0].update(resident=False, keep_alive_s=30.0)
    data["workload"] = {k: v for k, v in data["workload"].items() if v is not None}
    result = simulate(scenario_from_dict(data))
    ts = result.timeseries
    spare = ts[ts["datacenter"] == "dc-b"]
    assert spare["arrivals"].sum() == 0
    assert spare["it_energy_kwh"].sum() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(spare["released_gpu_s"], spare["gpu_s"], rtol=1e-12)


def test_keep_alive_must_be_positive_and_finite() -> None:
    for bad in (0, -5, float("inf")):
        data = _sparse(bad)
        with pytest.raises(Exception, match="keep_alive_s"):
            scenario_from_dict(data)


def test_a_busy_pool_never_unloads() -> None:
    data = _sparse(30.0)
    data["workload"]["rate_per_s"] = 2.0
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=120)
    result = simulate(scenario_from_dict(data))
    assert result.timeseries["weight_loads"].sum() == 0
    assert (result.requests["load_wait_s"].fillna(0) == 0).all()
