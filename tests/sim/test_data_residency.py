"""Data residency (``data_residency``: origin -> regions whose datacenters may serve it): the
mask, every policy's candidates, the simulator's check of each choice, the validation of the
scenario, its trace and a plan, the optimiser's allocations and the summary block. (Model
*weight* residency, pools with ``resident: false``, is tested in test_residency.py.)"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slit.errors import RoutingError, ScenarioError
from slit.inputs import compile_fleet, compile_inputs
from slit.plugins import POLICIES
from slit.scenario.loader import scenario_from_dict
from slit.sim.policies import Nearest, Plan, RoutingPolicy, policy_names, register_policy
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict

REGIONS = ("a", "b", "c")
DATACENTERS = ("dc-a", "dc-b", "dc-c")


def three_regions(residency: dict[str, list[str]] | None = None, **changes: Any) -> dict:
    """Three regions, one datacenter each; Llama-3.1 8B everywhere, 70B in dc-a and dc-c
    only; five simulated minutes at 2 requests/s from every origin."""
    data = small_scenario_dict()
    data["time"].update(horizon_s=300, epoch_s=100, drain_s=120)
    c = copy.deepcopy(data["regions"][1])
    c.update(id="c", latitude=1.3, longitude=103.8)
    c["signals"].update(carbon_g_per_kwh=100, price_usd_per_mwh=120)
    data["regions"].append(c)
    data["datacenters"][0]["pools"].append(
        {"model": "llama-3.1-70b", "gpu": "h100-80gb", "tp": 4, "replicas": 1}
    )
    data["datacenters"].append({
        "id": "dc-c", "region": "c", "pue": 1.2,
        "pools": [{"model": "llama-3.1-8b", "gpu": "l40s", "replicas": 1},
                  {"model": "llama-3.1-70b", "gpu": "a100-80gb", "tp": 4, "replicas": 1}],
    })  # fmt: skip
    data["workload"].update(rate_per_s=2.0, origins={"a": 1, "b": 1, "c": 1},
                            models={"llama-3.1-8b": 0.7, "llama-3.1-70b": 0.3})  # fmt: skip
    if residency is not None:
        data["data_residency"] = residency
    data.update(changes)
    return data


def outside(result: Any, residency: dict[str, list[str]]) -> int:
    """Requests of the run served in a region their origin may not use."""
    region = {f"dc-{r}": r for r in REGIONS}
    req = result.requests
    routed = req[req["datacenter"].notna()]
    return sum(
        1 for o, d in zip(routed["origin"].astype(str), routed["datacenter"].astype(str),
                          strict=True)
        if o in residency and region[d] not in residency[o]
    )  # fmt: skip


# -- the mask and the candidates ---------------------------------------------------------------


def test_the_mask_is_all_true_without_residency_and_marks_the_allowed_pairs() -> None:
    plain = scenario_from_dict(three_regions())
    fleet = compile_fleet(plain, ["llama-3.1-8b", "llama-3.1-70b"])
    assert fleet.allowed.shape == (3, 3) and fleet.allowed.all() and not fleet.restricted
    kept = scenario_from_dict(three_regions({"b": ["a", "c"], "c": ["c"]}))
    fleet = compile_fleet(kept, ["llama-3.1-8b", "llama-3.1-70b"])
    assert fleet.restricted and not fleet.allowed.flags.writeable
    assert fleet.allowed.tolist() == [[True, True, True], [True, False, True],
                                      [False, False, True]]  # fmt: skip


def test_the_candidates_are_per_origin_and_llm_and_the_union_stays() -> None:
    scenario = scenario_from_dict(three_regions({"b": ["a", "b"], "c": ["c"]}))
    policy = Nearest()
    simulate(scenario, policy)
    m8, m70 = 0, 1  # the workload's order
    assert [c.tolist() for c in policy.candidates] == [[0, 1, 2], [0, 2]]
    assert policy.candidates_for(0, m8).tolist() == [0, 1, 2]
    assert policy.candidates_for(1, m8).tolist() == [0, 1]
    assert policy.candidates_for(1, m70).tolist() == [0]
    assert policy.candidates_for(2, m8).tolist() == [2]
    # nearest among the allowed: b's nearest able site for 70B would otherwise be dc-c or dc-a
    assert policy._best[1][m70] == 0 and policy._best[2][m8] == 2


def test_a_section_that_allows_everything_gives_the_unrestricted_bytes() -> None:
    everywhere = {o: list(REGIONS) for o in REGIONS}
    for name in ("nearest", "round_robin", "least_loaded", "weighted", "helix"):
        a = simulate(scenario_from_dict(three_regions()), name)
        b = simulate(scenario_from_dict(three_regions(everywhere)), name)
        assert a.requests.equals(b.requests), name
        assert a.timeseries.equals(b.timeseries), name
        assert (
            "data_residency" not in a.summary.to_dict()
            and a.summary_json().count("data_residency") == 0
        )
        assert b.summary["data_residency"]["requests_served_outside"] == 0


# -- every policy keeps it ---------------------------------------------------------------------


@pytest.mark.parametrize("name", policy_names())
def test_every_policy_keeps_every_origin_in_its_regions(name: str) -> None:
    residency = {"a": ["c"], "b": ["a", "b"]}
    result = simulate(scenario_from_dict(three_regions(residency)), name)
    req = result.requests
    assert len(req) > 300 and outside(result, residency) == 0
    # and it is not kept by dropping: every request completes or is dropped for a reason
    # unrelated to residency
    assert set(req.loc[~req["completed"], "drop_reason"].astype(str)) <= {
        "unfinished",
        "exceeds_kv_capacity",
    }
    block = result.summary["data_residency"]
    assert block["requests_served_outside"] == 0
    assert block["origins"] == residency
    assert block["requests"] == int(req["origin"].isin(["a", "b"]).sum())
    # origin a may use dc-c alone
    assert set(req.loc[req["origin"] == "a", "datacenter"].astype(str)) == {"dc-c"}


# an origin's allowed regions: any non-empty set that holds a site of the 70B model (a or c)
allowed_sets = st.sets(st.sampled_from(REGIONS), min_size=1).filter(lambda s: s & {"a", "c"})
masks = st.dictionaries(st.sampled_from(REGIONS), allowed_sets.map(sorted), max_size=3)


@given(name=st.sampled_from(policy_names()), residency=masks, seed=st.integers(0, 2**16),
       rate=st.floats(0.5, 6.0))  # fmt: skip
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_residency_is_kept_and_every_request_is_accounted_for(name, residency, seed, rate):
    data = three_regions(residency, seed=seed)
    data["workload"]["rate_per_s"] = rate
    scenario = scenario_from_dict(data)
    n_asked = len(compile_inputs(scenario).requests)
    result = simulate(scenario, name)
    req, s = result.requests, result.summary
    assert outside(result, residency) == 0
    # conservation: every request of the workload is in the records once, completed or dropped
    assert s["requests"] == len(req) == n_asked
    assert req["request_id"].tolist() == list(range(n_asked))
    assert s["completed"] + s["dropped"] == s["requests"]
    routed = int(req["datacenter"].notna().sum())
    assert sum(dc["requests"] for dc in s["per_datacenter"].values()) == routed
    assert int(result.timeseries["arrivals"].sum()) == routed
    if residency:
        assert s["data_residency"]["requests_served_outside"] == 0
    else:
        assert "data_residency" not in s


# -- the simulator refuses a policy that breaks it ---------------------------------------------


@pytest.mark.parametrize("uses_load", [True, False])
def test_the_simulator_refuses_a_policy_that_breaks_residency(uses_load: bool) -> None:
    name = f"test-ignores-residency-{uses_load}"

    class IgnoresResidency(RoutingPolicy):
        """Always the last datacenter serving the LLM, whatever the origin."""

        def choose(self, origin: int, model: int, t_s: float, load: Any) -> int:
            return int(self.candidates[model][-1])

    IgnoresResidency.uses_load = uses_load  # type: ignore[misc]
    register_policy(name)(IgnoresResidency)
    try:
        scenario = scenario_from_dict(three_regions({"b": ["a", "b"]}))
        with pytest.raises(RoutingError, match=(
                rf"routing\.policy: policy '{name}' sent a request of origin 'b' to datacenter "
                r"'dc-c' in region 'c', outside the origin's data residency \(it may use: dc-a, "
                r"dc-b\)")) as info:  # fmt: skip
            simulate(scenario, name)
        assert "candidates_for(origin, model)" in str(info.value)
        # without residency the same policy runs
        assert simulate(scenario_from_dict(three_regions()), name).summary["requests"] > 0
    finally:
        POLICIES.remove(name)


# -- validation ---------------------------------------------------------------------------------


def test_every_problem_of_the_section_is_reported_at_once() -> None:
    data = three_regions({"mars": ["a"], "b": ["a", "venus"], "c": []})
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    text = str(info.value)
    assert "3 problems" in text
    assert "data_residency.mars: unknown region 'mars'" in text and "Valid: a, b, c" in text
    assert "data_residency.b[1]: unknown region 'venus'" in text
    assert "data_residency.c: List should have at least 1 item" in text
    assert "drop the origin to let it be served anywhere" in text


def test_an_origin_whose_llm_no_allowed_datacenter_serves_is_refused() -> None:
    # dc-b serves only the 8B model: b kept in b cannot have its 70B requests served
    with pytest.raises(ScenarioError, match=(
            r"data_residency\.b: origin 'b' may be served only in b \(data residency\), where no "
            r"datacenter serves llama-3\.1-70b, which its requests ask for \(workload\.models\)"
            r"(.|\n)*hint: add a pool of llama-3\.1-70b to a datacenter in b, allow a region that "
            r"serves it in data_residency\.b \(a, c\)")):  # fmt: skip
        scenario_from_dict(three_regions({"b": ["b"]}))
    # an origin that sends no requests, or asks only for what it can reach, is fine
    data = three_regions({"b": ["b"]})
    data["workload"]["origins"] = {"a": 1, "c": 1}
    scenario_from_dict(data)
    data = three_regions({"b": ["b"]})
    data["workload"]["models"] = {"llama-3.1-8b": 1}
    scenario_from_dict(data)


def test_a_trace_origin_whose_llm_no_allowed_datacenter_serves_is_refused(tmp_path) -> None:
    trace = "arrival_s,prompt_tokens,output_tokens,origin,model\n" + "".join(
        f"{i * 2.0},{100 + i},{10},{'abc'[i % 3]},"
        f"{'llama-3.1-70b' if i % 3 == 1 and i > 100 else 'llama-3.1-8b'}\n"
        for i in range(200))  # fmt: skip
    (tmp_path / "t.csv").write_text(trace)
    data = three_regions({"b": ["b"]})
    data["workload"] = {"source": "trace", "path": "t.csv", "format": "csv"}
    scenario = scenario_from_dict(data, base_dir=tmp_path)  # the loader cannot know the trace's
    with pytest.raises(
        ScenarioError,
        match=(
            r"data_residency\.b: origin 'b' may be served only in b \(data residency\), where no "
            r"datacenter serves llama-3\.1-70b, which the trace asks for from this origin"
        ),
    ):
        compile_inputs(scenario)
    from slit.inputs.compile import input_problems

    _, problems = input_problems(scenario)
    assert len(problems) == 1 and "data_residency.b" in problems[0]
    # b's 8B requests alone are servable in b
    (tmp_path / "t.csv").write_text(trace.replace("llama-3.1-70b", "llama-3.1-8b"))
    assert simulate(scenario).summary["data_residency"]["requests_served_outside"] == 0


@pytest.mark.parametrize("where", ["allocation", "epochs", "matrix"])
def test_a_plan_share_on_a_forbidden_pair_names_the_origin_and_the_region(where: str) -> None:
    residency = {"b": ["a", "b"]}
    table = {"a": {"dc-a": 1}, "b": {"dc-b": 0.5, "dc-c": 0.5}}
    if where == "matrix":
        data = three_regions(residency)
        m = np.zeros((3, 3, 3))
        m[:, 0, 0] = m[:, 2, 2] = 1.0
        m[1:, 1, 2] = 0.25  # epochs 1 and 2
        m[:, 1, 1] = 1.0
        policy: Any = Plan(matrix=m)
        pattern = (
            r"routing\.params \(plan matrix\): the plan gives origin 'b' a share of 0\.25 "
            r"on datacenter 'dc-c' in region 'c' \(in 2 epochs, the first 1\), outside"
        )
    else:
        params = {"allocation": table} if where == "allocation" else {"epochs": [{}, table]}
        data = three_regions(residency, routing={"policy": "plan", "params": params})
        policy = None
        path = "allocation" if where == "allocation" else "epochs[1]"
        pattern = (
            rf"routing\.params\.{re_escape(path)}\.b\.dc-c: the plan gives origin 'b' a "
            r"share of 0\.5 on datacenter 'dc-c' in region 'c'"
        )
        # slit validate finds it before any run
        from slit.cli import _check_routing

        with pytest.raises(ScenarioError, match=pattern):
            _check_routing(scenario_from_dict(data))
    with pytest.raises(ScenarioError, match=pattern) as info:
        simulate(scenario_from_dict(data), policy)
    assert "or allow region 'c' in data_residency.b" in str(info.value)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_plan_row_without_an_allowed_share_falls_back_to_the_nearest_allowed_site() -> None:
    # b's row sends everything to dc-b, which b may use; c's row is empty: c may use only a
    residency = {"c": ["a"]}
    data = three_regions(
        residency, routing={"policy": "plan", "params": {"allocation": {"b": {"dc-b": 1}}}}
    )
    policy = Plan(allocation={"b": {"dc-b": 1}})
    result = simulate(scenario_from_dict(data), policy)
    req = result.requests
    assert set(req.loc[req["origin"] == "c", "datacenter"].astype(str)) == {"dc-a"}
    assert policy.fallbacks > 0 and outside(result, residency) == 0


def test_helix_places_and_routes_only_on_allowed_pairs() -> None:
    from slit.sim.baselines import Helix, max_flow_min_cost_shares

    flows = max_flow_min_cost_shares(np.array([2.0, 2.0]), np.array([10.0, 10.0]),
                                     np.array([[1.0, 50.0], [1.0, 50.0]]),
                                     np.array([[True, True], [False, True]]))  # fmt: skip
    assert flows[1, 0] == 0 and flows[1, 1] == pytest.approx(2.0)
    assert flows[0, 0] == pytest.approx(2.0)
    residency = {"a": ["c"], "b": ["b", "c"]}
    policy = Helix()
    result = simulate(scenario_from_dict(three_regions(residency)), policy)
    assert outside(result, residency) == 0
    a, b = 0, 1
    assert (policy.flows[:, a, :2] == 0).all() and (policy.flows[:, b, 0] == 0).all()


# -- the optimiser ------------------------------------------------------------------------------


def test_allocations_from_decision_vectors_drop_the_forbidden_pairs() -> None:
    from slit.optimize.problem import allocation_from_x

    allowed = np.array([[True, False], [False, False]])
    a = allocation_from_x(np.array([[0.5, 0.5, 1.0, 1.0]]), 2, 2, allowed)
    assert a.tolist() == [[[1.0, 0.0], [0.0, 0.0]]]
    assert allocation_from_x(np.array([[0.5, 0.5, 1.0, 1.0]]), 2, 2).tolist() == [
        [[0.5, 0.5], [0.5, 0.5]]
    ]


def test_the_evaluator_sends_no_share_to_a_forbidden_site() -> None:
    from slit.optimize.demand import demands_of
    from slit.optimize.evaluator import FastEvaluator

    scenario = scenario_from_dict(three_regions({"a": ["c"], "b": ["a", "b"]}))
    inputs = compile_inputs(scenario)
    ev = FastEvaluator(inputs.fleet)
    demand = demands_of(inputs)[0]
    even = np.full((1, 3, 3), 1.0 / 3)
    for share in ev.model_shares(even, demand).values():
        assert share[0, 0, :2].sum() == 0 and share[0, 1, 2] == 0
        assert np.allclose(share.sum(axis=2), 1.0)
    # an all-forbidden row goes to the nearest allowed able site: origin a -> dc-c
    nowhere = np.zeros((1, 3, 3))
    nowhere[0, 0, 0] = 1.0
    shares = ev.model_shares(nowhere, demand)
    assert all(share[0, 0, 2] == 1.0 for share in shares.values())


def test_every_optimised_plan_and_its_replay_keep_the_residency() -> None:
    from slit.optimize.run import run_optimize

    residency = {"a": ["c"], "b": ["a", "b"]}
    data = three_regions(residency)
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=60)
    out = run_optimize(scenario_from_dict(data), "slit", evaluations=60, pop_size=12, jobs=1,
                       baselines=("nearest", "helix"), front_replays=2)  # fmt: skip
    region = {f"dc-{r}": r for r in REGIONS}
    for name, plan in out.plans.items():
        positive = plan[plan["share"] > 0]
        for o, d in zip(positive["origin"], positive["datacenter"], strict=True):
            assert o not in residency or region[d] in residency[o], (name, o, d)
        rows = plan[(plan["origin"] == "a") & plan["datacenter"].isin(["dc-a", "dc-b"])]
        assert (rows["share"] == 0).all(), name
    assert outside(out.replay, residency) == 0
    assert out.replay.summary["data_residency"]["requests_served_outside"] == 0
    assert set(out.replay.requests.loc[out.replay.requests["origin"] == "a",
                                       "datacenter"].astype(str)) == {"dc-c"}  # fmt: skip


# -- the bundled example ------------------------------------------------------------------------


def test_the_bundled_example_keeps_the_german_origin_in_europe(tmp_path) -> None:
    import json

    from slit.cli import main

    out = tmp_path / "run"
    argv = ["run", "bundled:eu-residency", "--policy", "lowest_carbon", "--out", str(out), "-q",
            "--set", "time.horizon_s=900"]  # fmt: skip
    assert main(argv) == 0
    block = json.loads((out / "summary.json").read_text())["data_residency"]
    assert block["origins"] == {"eu-central": ["eu-central", "eu-west"]}
    assert block["requests"] > 0 and block["requests_served_outside"] == 0
    import pandas as pd

    req = pd.read_parquet(out / "requests.parquet")
    served = set(req.loc[req["origin"] == "eu-central", "datacenter"].astype(str))
    assert served and served <= {"dc-eu-central", "dc-eu-west"}


def test_a_yaml_anchor_shares_one_list_between_origins(tmp_path) -> None:
    from slit.scenario.loader import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(
        "extends: bundled:eu-residency\n"
        "data_residency:\n"
        "  eu-central: &europe [eu-central, eu-west]\n"
        "  ap-northeast: *europe\n"
    )
    cfg = load_scenario(path).config
    assert cfg.data_residency == {"eu-central": ["eu-central", "eu-west"],
                                  "ap-northeast": ["eu-central", "eu-west"]}  # fmt: skip
