"""Invariants under stress (hypothesis): every request accounted for, times in order, nothing
negative, energy between idle and full power, impacts linear in their signals; and runs where
all but one datacenter have no capacity, or demand is ten times what the replicas can serve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slit.models.impacts import J_PER_KWH
from slit.scenario.loader import scenario_from_dict
from slit.sim.policies import Nearest, Plan, policy_names
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict

SERVER_OVERHEAD = 0.35  # the schema's default share of GPU power drawn by the server

NON_NEGATIVE = ("prompt_tokens", "output_tokens", "arrival_s", "defer_s", "network_rtt_s",
                "transfer_s", "queue_s", "load_wait_s", "kv_transfer_s", "ttft_s", "tpot_s",
                "e2e_s", "preemptions", "it_energy_kwh", "carbon_kg", "water_l",
                "cost_usd")  # fmt: skip

stress = st.fixed_dictionaries(
    {
        "rate": st.floats(0.5, 80.0),
        "drain": st.sampled_from([0, 20, 300]),
        "replicas": st.integers(0, 3),
        "batch": st.integers(1, 64),
        "kv": st.floats(0.22, 0.9),
        "seed": st.integers(0, 2**16),
        "policy": st.sampled_from(["nearest", "round_robin", "least_loaded", "weighted"]),
        "split": st.booleans(),
        "chunked": st.booleans(),
        "resident": st.booleans(),
        "keep_alive": st.sampled_from([None, 0.5, 5.0, 60.0]),
        # deferrable requests: their share, deadline and deferral policy
        "deferrable": st.sampled_from([0.0, 0.3, 1.0]),
        "deadline": st.sampled_from([30.0, 200.0, 2000.0]),
        "deferral": st.sampled_from(["at_once", "cleanest", "cleanest-route"]),
        # capacity control: powered replicas per epoch
        "capacity": st.sampled_from(["fixed", "follow_load", "plan"]),
        "plan": st.lists(st.integers(0, 3), min_size=1, max_size=6),
        # data residency (dc-b always has a replica; dc-a may have none)
        "residency": st.sampled_from(
            [None, {"a": ["b"]}, {"a": ["b"], "b": ["b"]}, {"b": ["a", "b"]}]
        ),
    }
)


def _stressed(p: dict) -> dict:
    data = small_scenario_dict()
    data["seed"] = p["seed"]
    data["time"].update(horizon_s=240, epoch_s=60, drain_s=p["drain"])
    data["workload"]["rate_per_s"] = p["rate"]
    data["routing"]["policy"] = p["policy"]
    pool = data["datacenters"][0]["pools"][0]
    pool.update(replicas=p["replicas"], max_batch_size=p["batch"], kv_memory_fraction=p["kv"],
                chunked_prefill=p["chunked"], max_prefill_tokens=1024,
                resident=p["resident"], keep_alive_s=p["keep_alive"])  # fmt: skip
    data["datacenters"][0]["phase_split"] = {"enabled": p["split"]}
    data["datacenters"][1]["pools"][0].update(max_batch_size=p["batch"])
    if p.get("capacity", "fixed") != "fixed":
        # the engine refuses capacity control beside keep-alive and phase split
        pool.update(keep_alive_s=None)
        data["datacenters"][0]["phase_split"] = {"enabled": False}
        data["capacity"] = {"policy": p["capacity"], "min_replicas": 0, "epochs": [
            {"dc-a": {"llama-3.1-8b": n}} for n in p["plan"]] if p["capacity"] == "plan" else []}
    if p.get("deferrable"):
        data["workload"]["classes"] = [
            {"name": "batch", "deadline_s": p["deadline"], "share": p["deferrable"]}
        ]
        # epochs of different carbon, so that waiting can pay
        data["regions"][0]["signals"] = {"source": "profile", "zone": "DE-LU"}
        name, _, route = p["deferral"].partition("-")
        data["routing"]["deferral"] = {
            "policy": name, "params": {"datacenter": route} if route else {}
        }
    if p.get("residency"):
        data["data_residency"] = p["residency"]
    return data


@given(p=stress)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
def test_every_request_is_accounted_for_in_order_and_nothing_is_negative(p):
    data = _stressed(p)
    scenario = scenario_from_dict(data)
    result = simulate(scenario)
    req, ts, s = result.requests, result.timeseries, result.summary
    # conservation: each request once, completed or dropped with a reason
    assert req["request_id"].tolist() == list(range(len(req)))
    assert s["completed"] + s["dropped"] == s["requests"] == len(req)
    assert (req.loc[~req["completed"], "drop_reason"] != "").all()
    assert (req.loc[req["completed"], "drop_reason"] == "").all()
    assert ts["arrivals"].sum() == req["datacenter"].notna().sum()
    assert ts["completions"].sum() == s["completed"]
    # classes: each request in one; a deferrable one waits (or not) and meets its deadline or
    # is counted as a miss; an interactive one never waits at its origin
    assert sum(c["requests"] for c in s["classes"].values()) == s["requests"]
    deferrable = (req["request_class"] != "interactive").to_numpy()
    assert (req.loc[~deferrable, "defer_s"] == 0).all()
    waited = req.loc[deferrable, "defer_s"].to_numpy()
    assert (waited[~np.isnan(waited)] >= 0).all()
    met = req["completed"] & (req["e2e_s"] <= req["deadline_s"])
    assert (req["deadline_missed"] == (deferrable & ~met)).all()
    assert s["deadline_misses"] == int(req["deadline_missed"].sum())
    assert not req.loc[deferrable & ~met.to_numpy(), "slo_met"].any()
    # data residency: no request served outside its origin's regions
    for origin, regions in (p["residency"] or {}).items():
        served = req.loc[(req["origin"] == origin) & req["datacenter"].notna(), "datacenter"]
        assert set(served.astype(str)) <= {f"dc-{r}" for r in regions}
    # nothing negative (NaN only where a request did not get that far)
    for col in NON_NEGATIVE:
        values = req[col].to_numpy(dtype=float)
        assert (values[~np.isnan(values)] >= 0).all(), col
    for col in ("it_energy_kwh", "energy_kwh", "carbon_kg", "water_l", "cost_usd", "busy_gpu_s"):
        assert (ts[col] >= 0).all(), col
    # times in order: arrival <= reaching the datacenter <= prefill <= first token <= finish
    done = req[req["completed"]]
    assert (np.diff(req["arrival_s"].to_numpy()) >= 0).all()
    assert (done["queue_s"] >= 0).all()
    assert (done["ttft_s"] >= done["network_rtt_s"] + done["transfer_s"] + done["queue_s"]
            - 1e-9).all()  # fmt: skip
    assert (done["e2e_s"] >= done["ttft_s"]).all()
    # busy time within the GPUs' time, energy between idle and full power
    assert (ts["busy_gpu_s"] <= ts["gpu_s"] * (1 + 1e-9) + 1e-9).all()
    # released GPU time (scale to zero) is idle time: not busy, within the GPUs' time
    assert (ts["released_gpu_s"] >= 0).all()
    assert (ts["busy_gpu_s"] + ts["released_gpu_s"] <= ts["gpu_s"] * (1 + 1e-9) + 1e-6).all()
    for dc in data["datacenters"]:
        pool = dc["pools"][0]
        if pool.get("replicas", 1) == 0:
            continue
        gpu = scenario.gpus[pool["gpu"]]
        n_gpus = pool.get("tp", 1) * pool.get("replicas", 1)
        rows = ts[ts["datacenter"] == dc["id"]]
        seconds = rows["gpu_s"].to_numpy() / n_gpus
        held = (rows["gpu_s"] - rows["released_gpu_s"]).to_numpy() / n_gpus
        low = n_gpus * gpu.idle_power_w * (1 + SERVER_OVERHEAD) * held / J_PER_KWH
        high = n_gpus * gpu.max_power_w * (1 + SERVER_OVERHEAD) * seconds / J_PER_KWH
        it = rows["it_energy_kwh"].to_numpy()
        assert (it >= low * (1 - 1e-9) - 1e-12).all() and (it <= high * (1 + 1e-9)).all()


@given(
    # factors on the small scenario's signals (carbon up to 400 g/kWh, price 90 USD/MWh, EWIF
    # 2 L/kWh) that keep them within their physical ranges (slit.models.ranges)
    carbon=st.floats(0.01, 7.0),
    price=st.floats(0.01, 100.0),
    ewif=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**10),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.slow
def test_carbon_water_and_cost_are_linear_in_their_signals(carbon, price, ewif, seed):
    base = small_scenario_dict()
    base["seed"] = seed
    base["time"].update(horizon_s=300, epoch_s=150)
    scaled = small_scenario_dict()
    scaled["seed"] = seed
    scaled["time"].update(horizon_s=300, epoch_s=150)
    for region in scaled["regions"]:
        sig = region["signals"]
        sig["carbon_g_per_kwh"] *= carbon
        sig["price_usd_per_mwh"] *= price
        sig["ewif_l_per_kwh"] *= ewif
    a = simulate(scenario_from_dict(base))
    b = simulate(scenario_from_dict(scaled))
    ta, tb = a.timeseries, b.timeseries
    np.testing.assert_allclose(tb["carbon_kg"], carbon * ta["carbon_kg"], rtol=1e-12)
    np.testing.assert_allclose(tb["cost_usd"], price * ta["cost_usd"], rtol=1e-12)
    np.testing.assert_allclose(tb["water_offsite_l"], ewif * ta["water_offsite_l"], rtol=1e-12)
    np.testing.assert_array_equal(tb["water_onsite_l"], ta["water_onsite_l"])
    np.testing.assert_array_equal(tb["it_energy_kwh"], ta["it_energy_kwh"])
    np.testing.assert_allclose(b.requests["carbon_kg"], carbon * a.requests["carbon_kg"],
                               rtol=1e-12)  # fmt: skip


def _one_able_datacenter() -> dict:
    """Three datacenters, two of them with no replicas at all."""
    data = small_scenario_dict()
    data["time"].update(horizon_s=300, epoch_s=100, drain_s=120)
    data["workload"]["rate_per_s"] = 3.0
    dead = {"id": "dc-c", "region": "a", "pue": 1.2,
            "pools": [{"model": "llama-3.1-8b", "gpu": "l40s", "replicas": 0}]}  # fmt: skip
    data["datacenters"].append(dead)
    data["datacenters"][0]["pools"][0]["replicas"] = 0
    return data


@pytest.mark.parametrize("policy", [p for p in policy_names() if p != "plan"] + ["plan"])
def test_with_every_datacenter_but_one_at_zero_capacity_all_requests_go_there(policy):
    scenario = scenario_from_dict(_one_able_datacenter())
    chosen = policy
    if policy == "plan":  # a plan that sends everything to the datacenters without capacity
        chosen = Plan(matrix=np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]))
    result = simulate(scenario, chosen)
    req, s = result.requests, result.summary
    assert s["completed"] + s["dropped"] == s["requests"] > 0
    assert (req["datacenter"] == "dc-b").all()
    assert s["completed"] == s["requests"]
    assert s["per_datacenter"]["dc-a"]["requests"] == s["per_datacenter"]["dc-c"]["requests"] == 0


class _Capacity(Nearest):
    """Nearest, noting the replicas' full-batch throughput the simulator gives policies."""

    rps = 0.0

    def setup(self, ctx):
        super().setup(ctx)
        _Capacity.rps = float(ctx.throughput_rps.sum())


def test_ten_times_the_demand_the_replicas_can_serve_queues_and_drops_but_loses_nothing():
    data = small_scenario_dict()
    data["time"].update(horizon_s=120, epoch_s=60, drain_s=30)
    simulate(scenario_from_dict(data), _Capacity())
    assert _Capacity.rps > 0
    data["workload"]["rate_per_s"] = 10.0 * _Capacity.rps
    result = simulate(scenario_from_dict(data))
    req, s = result.requests, result.summary
    assert s["completed"] + s["dropped"] == s["requests"] == len(req)
    assert s["requests"] > 8.0 * _Capacity.rps * 120
    unfinished = req[~req["completed"]]
    assert len(unfinished) > 0.5 * len(req)
    assert set(unfinished["drop_reason"]) <= {"unfinished", "exceeds_kv_capacity"}
    # served at most at the replicas' full rate (over the horizon and the drain)
    assert s["completed"] <= 1.05 * _Capacity.rps * 150
    assert req.loc[req["completed"], "queue_s"].max() > 10.0
