"""The ``helix`` and ``splitwise`` baseline policies (slit.sim.baselines)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import slit.sim.baselines  # noqa: F401  (registers helix and splitwise)
from slit.errors import ScenarioError
from slit.scenario.loader import scenario_from_dict
from slit.sim.baselines import Helix, Splitwise, max_flow_min_cost_shares
from slit.sim.policies import RoutingContext, make_policy, policy_names
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def run(policy, params=None, replicas=(1, 1), rate=1.0, seed=7, horizon_s=3600, origins=None):
    data = small_scenario_dict(seed=seed, routing={"policy": policy, "params": params or {}})
    data["time"]["horizon_s"] = horizon_s
    data["workload"]["rate_per_s"] = rate
    if origins is not None:
        data["workload"]["origins"] = origins
    for dc, n in zip(data["datacenters"], replicas, strict=True):
        dc["pools"][0]["replicas"] = n
    return simulate(scenario_from_dict(data))


def share(req, origin=None, dc="dc-a"):
    rows = req if origin is None else req[req["origin"] == origin]
    return float((rows["datacenter"] == dc).mean())


def context(rtt, serves, capacity, seed=0):
    n_o, n_d = np.asarray(rtt).shape
    n_e = 2
    return RoutingContext(
        region_ids=tuple(f"r{o}" for o in range(n_o)),
        datacenter_ids=tuple(f"d{d}" for d in range(n_d)),
        model_ids=tuple(f"m{m}" for m in range(len(serves))),
        rtt_ms=np.asarray(rtt, float),
        serves=np.asarray(serves, bool),
        epoch_s=900.0,
        carbon_g_per_kwh=np.zeros((n_e, n_d)),
        water_l_per_kwh=np.zeros((n_e, n_d)),
        price_usd_per_mwh=np.zeros((n_e, n_d)),
        capacity=np.asarray(capacity, float),
        rng=np.random.default_rng(seed),
    )


def test_both_are_registered():
    assert {"helix", "splitwise"} <= set(policy_names())


@pytest.mark.parametrize("policy", ["helix", "splitwise"])
def test_runs_conserve_requests_and_are_deterministic_per_seed(policy):
    a = run(policy, replicas=(2, 1), rate=3.0, horizon_s=900)
    s = a.summary
    assert s["completed"] + s["dropped"] == s["requests"] == len(a.requests) > 0
    b = run(policy, replicas=(2, 1), rate=3.0, horizon_s=900)
    assert a.requests["datacenter"].equals(b.requests["datacenter"])
    c = run(policy, replicas=(2, 1), rate=3.0, horizon_s=900, seed=8)
    assert not a.requests["datacenter"].equals(c.requests["datacenter"])
    assert a.metadata["policy"] == policy


def test_flow_problem_fills_the_near_datacenter_then_spills_the_least_latency():
    # demand 4 + 4 req/s, capacities 6 and 2: the only min-cost max flow crosses 2 req/s
    flows = max_flow_min_cost_shares(
        np.array([4.0, 4.0]), np.array([6.0, 2.0]), np.array([[1.0, 100.0], [100.0, 1.0]])
    )
    np.testing.assert_allclose(flows, [[4.0, 0.0], [2.0, 2.0]])
    # a demand below capacity all goes to the nearest datacenter
    flows = max_flow_min_cost_shares(
        np.array([1.0, 1.0]), np.array([6.0, 2.0]), np.array([[1.0, 100.0], [100.0, 1.0]])
    )
    np.testing.assert_allclose(flows, [[1.0, 0.0], [0.0, 1.0]])


def test_helix_spreads_load_toward_capacity_even_from_the_far_region():
    req = run("helix", replicas=(3, 1)).requests
    # capacities follow the simulator's pools (3 H100 replicas against 1 A100): region a stays
    # on dc-a, and region b sends most of its traffic across to the larger dc-a
    assert share(req) > 0.7
    assert share(req, "a") > 0.97
    assert share(req, "b") > 0.4
    # 1 H100 replica against 3 A100 ones: dc-b holds the larger capacity (about 64 %)
    mirror = run("helix", replicas=(1, 3)).requests
    assert share(mirror, dc="dc-b") > 0.5
    assert share(mirror, "a", dc="dc-b") > 0.05


def test_helix_observed_demand_below_capacity_stays_near():
    req = run("helix", {"demand": "observed"}, replicas=(3, 1), horizon_s=1800).requests
    # the first epoch assumes saturation (as `capacity`); later epochs see 0.5 req/s per origin
    late = req[req["arrival_s"] >= 900]
    assert share(late, "b", dc="dc-b") > 0.97 and share(late, "a") > 0.97


def test_helix_capacities_from_params():
    ctx = context([[1.0, 50.0], [50.0, 1.0]], [[True, True]], [2, 2])
    pol = Helix(pools={"d0": {"gpu": "h100-80gb"}, "d1": {"gpu": "a100-80gb"}})
    with pytest.raises(ScenarioError, match="no bundled GPU or LLM"):
        pol.setup(ctx)  # "m0" is no catalog LLM
    # the latency model rates an H100 replica of an 8B-class model higher than an A100 one
    ctx8 = RoutingContext(**{**ctx.__dict__, "model_ids": ("llama-3.1-8b",)})
    pol.setup(ctx8)
    h100, a100 = pol.capacity_rps[0]
    assert h100 > a100 > 0
    pol = Helix(capacity_rps={"d0": {"m0": 9.0}}, per_replica_rps=0.5)
    pol.setup(ctx)
    np.testing.assert_allclose(pol.capacity_rps, [[9.0, 1.0]])
    np.testing.assert_allclose(pol.flows[0].sum(axis=0), [9.0, 1.0])
    with pytest.raises(ScenarioError):
        Helix(capacity_rps={"nowhere": {"m0": 1.0}}).setup(ctx)
    with pytest.raises(ScenarioError):
        make_policy("helix", {"per_replica_rps": -1})


def test_helix_routes_only_to_datacenters_serving_the_model():
    ctx = context([[1.0, 50.0, 9.0]], [[True, False, True], [False, True, False]], [1, 1, 1])
    pol = Helix()
    pol.setup(ctx)
    load = np.zeros(3)
    assert {pol.choose(0, 0, 0.0, load) for _ in range(200)} == {0, 2}
    assert {pol.choose(0, 1, 0.0, load) for _ in range(20)} == {1}


def test_splitwise_nearest_below_threshold_else_next_else_least_loaded():
    ctx = context([[1.0, 20.0, 50.0]], [[True, True, True]], [1, 1, 1])
    pol = Splitwise(load_threshold=4.0)
    pol.setup(ctx)
    assert pol.choose(0, 0, 0.0, np.array([3.9, 0.0, 0.0])) == 0
    assert pol.choose(0, 0, 0.0, np.array([4.0, 5.0, 1.0])) == 2
    assert pol.choose(0, 0, 0.0, np.array([6.0, 5.0, 7.0])) == 1
    assert pol.choose(0, 0, 0.0, np.array([6.0, 6.0, 6.0])) == 0  # ties: the nearest


def test_splitwise_sends_to_the_nearest_until_overloaded():
    calm = run("splitwise", {"load_threshold": 50.0}).requests
    assert share(calm, "a") == 1.0 and share(calm, "b", dc="dc-b") == 1.0
    # all demand from region a, more than one replica holds: the excess spills to dc-b
    busy = run("splitwise", rate=8.0, horizon_s=900, origins={"a": 1}).requests
    assert 0.2 < share(busy, "a", dc="dc-b") < 0.8
    assert share(busy, "a") > 0.2


def _consolidate_run(rate_per_s: float, max_load: float) -> pd.DataFrame:
    data = small_scenario_dict()
    data["workload"]["rate_per_s"] = rate_per_s
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=300)
    data["routing"] = {"policy": "consolidate", "params": {"max_load": max_load}}
    return simulate(scenario_from_dict(data)).requests


def test_consolidate_packs_every_origin_into_the_largest_site_while_it_has_room() -> None:
    """Carbon-blind packing: at a light load both origins' requests go to the one datacenter
    that sustains the most requests/s (the H100 one, dc-a), even those from the other region,
    whose own datacenter is nearer."""
    req = _consolidate_run(rate_per_s=0.5, max_load=50.0)
    assert (req["datacenter"] == "dc-a").all()
    assert set(req["origin"]) == {"a", "b"}


def test_consolidate_spills_to_the_next_site_when_the_first_is_full() -> None:
    req = _consolidate_run(rate_per_s=6.0, max_load=1.0)
    shares = req["datacenter"].value_counts(normalize=True)
    assert shares["dc-a"] > 0.5 and shares["dc-b"] > 0.05
