"""Helix's placement: replicas of the LLMs placed on each datacenter's GPUs by a mixed-integer
program that maximises the multiple of the demand the flow can serve."""

from __future__ import annotations

import numpy as np
import pytest

from slit.errors import ScenarioError
from slit.scenario.loader import scenario_from_dict
from slit.sim.placement import gpu_inventory, helix_placement
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def _two_llms(pools_a: list[dict], pools_b: list[dict]) -> dict:
    data = small_scenario_dict()
    data["workload"]["models"] = {"llama-3.1-8b": 0.5, "llama-3.1-70b": 0.5}
    data["datacenters"][0]["pools"] = pools_a
    data["datacenters"][1]["pools"] = pools_b
    return data


def _place(data: dict, demand: np.ndarray | None = None):
    scenario = scenario_from_dict(data)
    demand = np.array([[1.0, 1.0], [1.0, 1.0]]) if demand is None else demand
    rtt = np.array([[5.0, 80.0], [80.0, 5.0]])
    models = ["llama-3.1-8b", "llama-3.1-70b"]
    return scenario, helix_placement(
        scenario, models, demand, np.array([1000.0, 1000.0]), np.array([200.0, 200.0]), rtt
    )


# a datacenter given a poor placement: the 70B model on L40S, the 8B model on the H100s
POOR = [
    {"model": "llama-3.1-70b", "gpu": "l40s", "tp": 4, "replicas": 1},
    {"model": "llama-3.1-8b", "gpu": "h100-80gb", "tp": 1, "replicas": 4},
]
PLAIN = [
    {"model": "llama-3.1-70b", "gpu": "a100-80gb", "tp": 4, "replicas": 1},
    {"model": "llama-3.1-8b", "gpu": "a100-80gb", "tp": 1, "replicas": 2},
]


def test_the_placement_never_uses_more_gpus_of_a_type_than_a_datacenter_has() -> None:
    scenario, placed = _place(_two_llms(POOR, PLAIN))
    before, after = gpu_inventory(scenario), gpu_inventory(placed.scenario)
    for b, a in zip(before, after, strict=True):
        for gpu, n in a.items():
            assert n <= b.get(gpu, 0), (gpu, n, b)
    # the second program places every GPU that can serve
    assert sum(sum(a.values()) for a in after) == sum(sum(b.values()) for b in before)


def test_the_placement_serves_more_than_a_poor_given_one() -> None:
    scenario, placed = _place(_two_llms(POOR, PLAIN))
    rows = placed.replicas
    # the 70B model moves to the H100s of the first datacenter (the L40S are far slower for it)
    assert any(r["datacenter"] == "dc-a" and r["model"] == "llama-3.1-70b"
               and r["gpu"] == "h100-80gb" for r in rows)  # fmt: skip
    # the multiple it serves is at least the given placement's (the given one is feasible)
    kept, _ = _place(_two_llms(POOR, PLAIN))
    fleet_rps = {}
    from slit.inputs import compile_fleet

    for pool in compile_fleet(kept, ["llama-3.1-8b", "llama-3.1-70b"]).pools:
        key = (pool.datacenter, pool.model)
        rps = pool.replicas * pool.replica_throughput_rps(1000.0, 200.0)
        fleet_rps[key] = fleet_rps.get(key, 0.0) + rps
    given = min(
        0.8 * sum(fleet_rps.get((d, m), 0.0) for d in range(2)) / 2.0 for m in range(2)
    )  # demand 2 requests/s per LLM, any datacenter
    assert placed.served_multiple >= given * (1 - 1e-6)
    # and the flow meets it: each origin's demand times the multiple
    served = placed.flow_rps.sum(axis=2)
    np.testing.assert_allclose(served, placed.served_multiple * np.ones((2, 2)), rtol=1e-5)


def test_an_llm_no_gpu_can_hold_is_an_error_that_names_it() -> None:
    small = [{"model": "llama-3.1-8b", "gpu": "l4", "tp": 1, "replicas": 1}]
    with pytest.raises(ScenarioError, match="no GPU of the scenario can hold llama-3.1-70b"):
        _place(_two_llms(small, small))


def test_helix_runs_on_its_placement_and_reports_it() -> None:
    data = _two_llms(POOR, PLAIN)
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    scenario = scenario_from_dict(data)
    placed = simulate(scenario, "helix")
    meta = placed.metadata
    assert meta["placement"]["replicas"] and meta["placement"]["served_multiple"] > 0
    pools = {(p["datacenter"], p["model"], p["gpu"]) for p in meta["pool_models"]}
    assert ("dc-a", "llama-3.1-70b", "h100-80gb") in pools
    assert placed.summary["completed"] == placed.summary["requests"]
    data["routing"] = {"policy": "helix", "params": {"placement": "scenario"}}
    kept = simulate(scenario_from_dict(data))
    assert kept.metadata["placement"] is None
    pools = {(p["datacenter"], p["model"], p["gpu"]) for p in kept.metadata["pool_models"]}
    assert ("dc-a", "llama-3.1-70b", "l40s") in pools
