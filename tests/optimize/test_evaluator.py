"""The fast evaluator against the simulator, its vectorisation, and the pymoo problem."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.optimize import minimize

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import FastEvaluator, _erlang_c
from slit.optimize.problem import EpochProblem, allocation_from_x
from slit.scenario.loader import load_scenario
from slit.sim.policies import Plan
from slit.sim.simulate import simulate


@pytest.fixture(scope="module")
def setup():
    scenario = load_scenario(None, ["time.horizon_s=1800", "time.drain_s=0",
                                    "workload.rate_per_s=12"])  # fmt: skip
    demands, models = oracle_demands(scenario)
    return scenario, demands, FastEvaluator.from_scenario(scenario, models)


def test_erlang_c_matches_the_textbook_values() -> None:
    # c = 2, a = 1: C = 1/3; c = 1: C = rho
    got = _erlang_c(np.array([2.0, 1.0, 3.0]), np.array([1.0, 0.6, 3.5]))
    assert got[0] == pytest.approx(1 / 3)
    assert got[1] == pytest.approx(0.6)
    assert got[2] == 1.0  # offered load above the servers: always wait


def test_population_evaluation_equals_member_by_member(setup) -> None:
    _, demands, ev = setup
    rng = np.random.default_rng(0)
    x = rng.random((7, len(ev.region_ids) * len(ev.datacenter_ids)))
    alloc = allocation_from_x(x, len(ev.region_ids), len(ev.datacenter_ids))
    together = ev.evaluate(alloc, demands[1]).objectives()
    alone = np.vstack([ev.evaluate(a[None], demands[1]).objectives() for a in alloc])
    np.testing.assert_allclose(together, alone, rtol=1e-12)


@pytest.mark.parametrize("plan", ["nearest", "even", "random"])
@pytest.mark.slow
def test_evaluator_is_within_10_and_20_percent_of_the_simulator(setup, plan: str) -> None:
    scenario, demands, ev = setup
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    a = {
        "nearest": np.eye(n_o, n_d),
        "even": np.full((n_o, n_d), 1.0 / n_d),
        "random": np.random.default_rng(1).dirichlet(np.ones(n_d), size=n_o),
    }[plan]
    outs = [ev.evaluate(a[None], d) for d in demands]
    weight = np.array([d.rate_per_s.sum() * d.epoch_s for d in demands])
    predicted = {
        "carbon_kg": sum(o.carbon_kg[0] for o in outs),
        "water_l": sum(o.water_l[0] for o in outs),
        "cost_usd": sum(o.cost_usd[0] for o in outs),
        "ttft": float(
            sum(o.ttft_mean_s[0] * w for o, w in zip(outs, weight, strict=True)) / weight.sum()
        ),  # fmt: skip
    }
    s = simulate(scenario, Plan(matrix=a)).summary
    for key in ("carbon_kg", "water_l", "cost_usd"):
        assert predicted[key] == pytest.approx(s[key], rel=0.10), key
    assert predicted["ttft"] == pytest.approx(s["ttft_s"]["mean"], rel=0.20)


def test_overload_is_infeasible_and_pushes_ttft_up(setup) -> None:
    _, demands, ev = setup
    heavy = demands[0]
    heavy = type(heavy)(**{**heavy.__dict__, "rate_per_s": heavy.rate_per_s * 40})
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    one = np.zeros((n_o, n_d))
    one[:, 0] = 1.0  # everything to one datacenter
    out = ev.evaluate(one[None], heavy)
    assert out.max_utilization[0] > 1.0
    assert out.ttft_mean_s[0] > 100.0


def test_pymoo_nsga2_solves_an_epoch(setup) -> None:
    _, demands, ev = setup
    problem = EpochProblem(ev, demands[0])
    res = minimize(problem, NSGA2(pop_size=20), ("n_gen", 10), seed=1, verbose=False)
    assert res.F is not None and len(res.F) >= 1
    assert res.F.shape[1] == 4
    assert (res.G <= 0).all()  # the front is feasible
