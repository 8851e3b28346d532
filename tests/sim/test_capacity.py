"""Capacity that follows load: replicas powered down and up at epoch starts, what they save and
what they cost (load time on power-up), and the scenarios the engine refuses."""

from __future__ import annotations

import numpy as np
import pytest

from slit.errors import ScenarioError
from slit.scenario.loader import scenario_from_dict
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict

LLM = "llama-3.1-8b"


def _fleet(replicas: int = 3, **capacity) -> dict:
    data = small_scenario_dict()
    data["time"].update(horizon_s=1200, epoch_s=300, drain_s=300)
    data["workload"]["rate_per_s"] = 2.0
    data["datacenters"][0]["pools"][0]["replicas"] = replicas
    if capacity:
        data["capacity"] = capacity
    return data


def test_a_plan_powers_the_replicas_it_names_and_saves_their_idle_energy():
    plan = [{"dc-a": {LLM: n}} for n in (1, 3, 0, 2)]
    fixed = simulate(scenario_from_dict(_fleet()))
    planned = simulate(scenario_from_dict(_fleet(policy="plan", epochs=plan)))
    ts = planned.timeseries
    a = ts[ts["datacenter"] == "dc-a"]
    # the counts at each epoch's start; the last one repeats over the drain epoch
    assert a["powered_replicas"].tolist() == [1, 3, 0, 2, 2]
    assert (ts.loc[ts["datacenter"] == "dc-b", "powered_replicas"] == 1).all()
    # powered-down replicas release their GPUs once idle, and draw nothing then
    assert a["released_gpu_s"].sum() > 0
    assert a["it_energy_kwh"].sum() < fixed.timeseries.loc[
        fixed.timeseries["datacenter"] == "dc-a", "it_energy_kwh"].sum()
    # powering up loads the weights again: 2 replicas in epoch 1, 2 more in epoch 3
    assert a["weight_loads"].tolist() == [0, 2, 0, 2, 0]
    s = planned.summary
    assert s["completed"] + s["dropped"] == s["requests"]


def test_requests_wait_for_a_replica_powered_up_and_loaded():
    """No replica powered in the first epoch: its requests wait until the second epoch's
    start plus the weight load time."""
    data = _fleet(replicas=1, policy="plan", epochs=[{"dc-a": {LLM: 0}}, {"dc-a": {LLM: 1}}])
    data["routing"]["policy"] = "nearest"
    data["workload"]["origins"] = {"a": 1.0}
    result = simulate(scenario_from_dict(data))
    req = result.requests
    first = req[(req["arrival_s"] < 300) & (req["datacenter"] == "dc-a")]
    assert len(first) > 50
    load_s = scenario_from_dict(data).config  # the pool's load time, from the fleet
    from slit.inputs import compile_inputs

    pool = compile_inputs(scenario_from_dict(data)).fleet.datacenters[0].pools[0]
    start = first["arrival_s"] + first["network_rtt_s"] / 2 + first["transfer_s"] + first[
        "queue_s"]
    assert (start >= 300 + pool.load_s - 1e-6).all()
    assert (first["load_wait_s"] > 0).all()
    assert load_s.capacity.policy == "plan"


def test_follow_load_powers_what_the_load_needs_and_keeps_the_slo():
    data = _fleet(replicas=4, policy="follow_load", target_utilization=0.7, min_replicas=1)
    data["time"].update(horizon_s=3600, epoch_s=300)
    result = simulate(scenario_from_dict(data))
    fixed = simulate(scenario_from_dict(_fleet(replicas=4) | {"time": data["time"]}))
    a = result.timeseries[result.timeseries["datacenter"] == "dc-a"]
    assert a["powered_replicas"].iloc[0] == 4  # all of them until the load is seen
    assert (a["powered_replicas"].iloc[1:] < 4).all() and (a["powered_replicas"] >= 1).all()
    assert result.summary["energy_kwh"] < fixed.summary["energy_kwh"]
    assert result.summary["slo_attainment"] == pytest.approx(fixed.summary["slo_attainment"],
                                                             abs=0.01)  # fmt: skip


def test_follow_load_powers_up_when_the_load_rises():
    data = _fleet(replicas=8, policy="follow_load", target_utilization=0.6, min_replicas=0)
    data["time"].update(horizon_s=10800, epoch_s=900, drain_s=300)
    # the load rises through the three hours: origin a's daily cycle peaks at 03:00 UTC
    data["workload"].update(rate_per_s=3.0, diurnal_amplitude=1.0, peak_hour_local=3.0,
                            prompt_tokens=1500, output_tokens=400)  # fmt: skip
    data["workload"]["origins"] = {"a": 1.0}
    data["routing"]["policy"] = "nearest"
    data["regions"][0]["timezone"] = "UTC"
    result = simulate(scenario_from_dict(data))
    ts = result.timeseries
    a = ts[ts["datacenter"] == "dc-a"]
    powered = a["powered_replicas"].to_numpy()
    assert powered[0] == 8 and powered[1] < 8
    assert np.diff(powered[1:]).max() > 0, powered  # rises with the load after the first cut
    # each power-up loads the weights once
    ups = np.clip(np.diff(powered[1:]), 0, None).sum()
    assert a["weight_loads"].sum() == ups
    assert result.summary["slo_attainment"] > 0.99


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["datacenters"][0]["pools"][0].update(keep_alive_s=60),
         "scales to zero on its own"),
        (lambda d: d["datacenters"][0]["pools"][0].update(dispatch="round_robin"),
         "has per-replica queues"),
        (lambda d: d["datacenters"][0].update(phase_split={"enabled": True}),
         "cannot power phase-split replicas"),
        (lambda d: d["capacity"].update(policy="plan", epochs=[{"dc-z": {LLM: 1}}]),
         "unknown datacenter 'dc-z'"),
        (lambda d: d["capacity"].update(policy="plan", epochs=[{"dc-a": {"llama-3.1-70b": 1}}]),
         "has no pool of LLM 'llama-3.1-70b'"),
        (lambda d: d["capacity"].update(policy="plan"), "policy: plan needs epochs"),
        (lambda d: d["capacity"].update(policy="fixed", epochs=[{"dc-a": {LLM: 1}}]),
         "read only by policy: plan"),
        (lambda d: d["capacity"].update(target_utilization=0), "greater than 0"),
        (lambda d: d["capacity"].update(min_replicas=-1), "greater than or equal to 0"),
    ],
)  # fmt: skip
def test_capacity_control_the_engine_cannot_apply_is_refused(change, message):
    data = _fleet(policy="follow_load")
    change(data)
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data)


def test_a_plan_asking_more_replicas_than_there_are_powers_them_all_and_says_so():
    data = _fleet(replicas=2, policy="plan", epochs=[{"dc-a": {LLM: 1000}}])
    result = simulate(scenario_from_dict(data))
    a = result.timeseries[result.timeseries["datacenter"] == "dc-a"]
    assert (a["powered_replicas"] == 2).all()
    notes = " ".join(result.metadata["inputs"])
    assert "asks for 1000 powered replicas; the datacenter has 2" in notes
