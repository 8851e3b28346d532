"""Time and place in the optimiser: the shift plan of deferrable requests, its replay, capacity
control in the evaluator and in the replays, and plan+spill live control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slit.inputs import compile_inputs
from slit.optimize.demand import demands_of
from slit.optimize.evaluator import FastEvaluator
from slit.optimize.run import run_optimize
from slit.optimize.shifting import deferrable_lots, exact_shift, plan_shift, shift_problem
from slit.scenario.loader import scenario_from_dict
from slit.sim.deferral import DeferrableJobs, PlannedRelease
from slit.sim.policies import Plan, PlanSpill
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def _deferrable(share: float = 0.4, deadline_s: float = 1800.0, **time: float) -> dict:
    data = small_scenario_dict()
    data["time"].update(time or {"horizon_s": 1800, "epoch_s": 300, "drain_s": 1800})
    data["workload"]["rate_per_s"] = 2.0
    data["workload"]["classes"] = [{"name": "batch", "deadline_s": deadline_s, "share": share}]
    data["regions"][0]["signals"] = {"source": "profile", "zone": "DE-LU"}
    return data


def _signals(n_e: int, n_d: int, cheap: dict[tuple[int, int], float]) -> dict[str, np.ndarray]:
    carbon = np.full((n_e, n_d), 500.0)
    for (e, d), v in cheap.items():
        carbon[e, d] = v
    return {"carbon": carbon, "water": np.ones((n_e, n_d)), "cost": np.ones((n_e, n_d))}


def test_lots_count_the_deferrable_requests_by_arrival_epoch():
    inputs = compile_inputs(scenario_from_dict(_deferrable()))
    lots = deferrable_lots(inputs)
    req = inputs.requests
    assert lots.sum() == (req.request_class > 0).sum()
    assert (lots[..., 0] == 0).all()  # interactive requests are not lots


def test_the_plan_serves_each_lot_in_the_cheapest_slot_of_its_window_with_room():
    inputs = compile_inputs(scenario_from_dict(_deferrable()))
    n_e, n_d = inputs.timeline.n_epochs, 2
    lots = np.zeros((n_e, 2, 1, 2))
    lots[0, 0, 0, 1] = 10.0  # ten requests of origin a arrive in epoch 0
    zero = np.zeros((n_e, 2, 1))
    # window of epoch 0: deadline 1800 s less a 300 s margin -> epochs 0..5; epoch 3 at dc-b
    # is cheapest, epoch 9 (outside the window) cheaper still
    sig = _signals(n_e, n_d, {(3, 1): 100.0, (9, 0): 10.0})
    plan = plan_shift(shift_problem(inputs, lots, zero, sig, objective="carbon"))
    assert plan.released.sum() == pytest.approx(10.0)
    assert plan.released[3, 0, 0, 1] == pytest.approx(10.0)
    assert plan.overflow_requests == 0
    assert plan.fractions[3, 0, 0, 1] == pytest.approx(1.0)
    # with dc-b not allowed for origin a, the cheapest allowed slot takes them
    allowed = np.array([[True, False], [True, True]])
    plan = plan_shift(shift_problem(inputs, lots, zero, sig, objective="carbon",
                                    allowed=allowed))
    assert plan.released[:, 0, 0, 1].sum() == 0 and plan.released.sum() == pytest.approx(10.0)


def test_a_full_slot_sends_the_rest_to_the_next_cheapest_and_overflow_is_counted():
    inputs = compile_inputs(scenario_from_dict(_deferrable()))
    n_e = inputs.timeline.n_epochs
    lots = np.zeros((n_e, 2, 1, 2))
    lots[0, 0, 0, 1] = 1e9  # more than every slot of the window holds
    sig = _signals(n_e, 2, {(2, 0): 100.0, (4, 1): 200.0})
    plan = plan_shift(shift_problem(inputs, lots, np.zeros((n_e, 2, 1)), sig, objective="carbon"))
    assert plan.released.sum() == pytest.approx(1e9)
    assert plan.overflow_requests > 0
    # the cheapest slot is filled first, the second cheapest next
    assert plan.released[2, 0, 0, 0] > 0 and plan.released[4, 0, 0, 1] > 0
    assert (plan.fractions >= 0).all() and (plan.fractions <= 1).all()


@pytest.mark.parametrize("rate", [2.0, 40.0])
def test_the_greedy_plan_is_never_cheaper_than_the_exact_one_and_both_serve_every_lot(rate):
    """The exact plan is a min-cost flow of the same problem: the greedy's cost is at least
    its own (up to the flow's integer costs), and both release every deferrable request."""
    data = _deferrable(share=0.6)
    data["workload"].update(rate_per_s=rate)
    inputs = compile_inputs(scenario_from_dict(data))
    lots = deferrable_lots(inputs)
    rate_int = np.stack([d.rate_per_s for d in demands_of(inputs, interactive_only=True)])
    rate_int = np.concatenate([rate_int, np.zeros((inputs.timeline.n_epochs - len(rate_int),)
                                                  + rate_int.shape[1:])])  # fmt: skip
    sig = inputs.signals
    signals = {"carbon": sig.carbon_g_per_it_kwh, "water": sig.water_l_per_it_kwh,
               "cost": sig.price_usd_per_it_mwh}  # fmt: skip
    problem = shift_problem(inputs, lots, rate_int, signals, objective="carbon")
    greedy = plan_shift(problem)
    exact = exact_shift(problem)
    for plan in (greedy, exact):
        assert plan.released.sum() == pytest.approx(lots.sum())
        assert plan.released.sum(axis=(0, 3)) == pytest.approx(lots.sum(axis=(0, 3)))
    assert problem.total_cost(exact.released) <= problem.total_cost(greedy.released) * (
        1 + 1e-5)
    with pytest.raises(ValueError, match="shift solver must be one of"):
        plan_shift(problem, solver="lp")


def _jobs(arrival: list[float], deadline: float, end_s: float) -> DeferrableJobs:
    n = len(arrival)
    cand = [[np.array([0, 1])], [np.array([0, 1])]]
    return DeferrableJobs(np.arange(n), np.zeros(n, np.int64), np.zeros(n, np.int64),
                          np.array(arrival), np.array(arrival) + deadline, end_s, cand)  # fmt: skip


class _Ctx:
    epoch_s = 100.0
    datacenter_ids = ("x", "y")


def test_planned_release_applies_the_fractions_to_the_real_backlog_earliest_deadline_first():
    frac = np.zeros((10, 2, 1, 2))
    frac[2, 0, 0, 1] = 0.5  # half the backlog at epoch 2 goes to y
    score = np.ones((10, 2))
    jobs = _jobs([10.0, 20.0, 150.0, 160.0], deadline=900.0, end_s=2000.0)
    out = PlannedRelease(frac, score, margin_s=100.0).schedule(jobs, _Ctx())
    # four waiting at epoch 2: the two earliest deadlines leave, at their arrival's offset
    assert out.datacenter.tolist()[:2] == [1, 1]
    assert out.release_s[:2].tolist() == [210.0, 220.0]
    # the rest have their windows end in epoch 9 (deadline 1050 and 1060 less the margin):
    # they leave then, at the cheapest datacenter (the deadline's safety net)
    assert out.release_s[2:].tolist() == [950.0, 960.0]
    assert out.datacenter.tolist()[2:] == [0, 0]
    assert (out.release_s >= jobs.arrival_s).all()
    assert (out.release_s <= jobs.deadline_at_s - 100.0).all()


def test_capacity_control_powers_only_what_the_load_needs():
    scenario = scenario_from_dict(small_scenario_dict())
    inputs = compile_inputs(scenario)
    demands = demands_of(inputs)
    full = FastEvaluator(inputs.fleet)
    data = small_scenario_dict()
    for dc in data["datacenters"]:
        dc["pools"][0]["replicas"] = 4
    inputs4 = compile_inputs(scenario_from_dict(data))
    ev = FastEvaluator(inputs4.fleet)
    ev.control_capacity(0.7, 1)
    alloc = np.full((1, 2, 2), 0.5)
    out = ev.evaluate(alloc, demands[1])
    assert out.powered is not None
    assert (out.powered >= 1).all() and (out.powered <= 4).all()
    assert out.max_utilization[0] <= 0.7 + 1e-9
    everything = FastEvaluator(inputs4.fleet).evaluate(alloc, demands[1])
    assert out.it_energy_kwh[0] < everything.it_energy_kwh[0]
    assert full.evaluate(alloc, demands[1]).powered is None


@pytest.fixture(scope="module")
def optimised(tmp_path_factory):
    data = _deferrable(share=0.4, deadline_s=1800.0)
    data["capacity"] = {"policy": "follow_load"}
    for dc in data["datacenters"]:
        dc["pools"][0]["replicas"] = 3
    scenario = scenario_from_dict(data)
    return scenario, run_optimize(scenario, "slit", evaluations=80, pop_size=10, jobs=1,
                                  baselines=["nearest"], front_replays=0)  # fmt: skip


def test_optimise_writes_a_shift_plan_and_capacity_tables_and_replays_them(optimised):
    scenario, out = optimised
    assert "shift" in out.plans and "balanced_capacity" in out.plans
    shift = out.plans["shift"]
    assert {"epoch", "origin", "model", "datacenter", "planned_requests",
            "fraction_of_backlog"} <= set(shift.columns)  # fmt: skip
    assert out.indicators["shift"] and out.indicators["capacity_control"]
    v = out.validated.set_index("name")
    assert v.loc["balanced", "deadline_misses"] == 0
    assert v.loc["balanced+spill", "kind"] == "live"
    # the replay of the balanced plan powers what its capacity table says
    cap = out.plans["balanced_capacity"]
    ts = out.replay.timeseries
    for dc in ("dc-a", "dc-b"):
        planned = cap[cap["datacenter"] == dc].sort_values("epoch")["powered_replicas"]
        got = ts[ts["datacenter"] == dc].sort_values("epoch")["powered_replicas"]
        assert got.tolist()[: len(planned)] == planned.astype(float).tolist()
    # deferred requests waited, within their windows
    req = out.replay.requests
    batch = req[req["request_class"] == "batch"]
    assert (batch["defer_s"] > 0).any()
    assert not batch["deadline_missed"].any()


def test_the_exact_solver_plans_and_replays_too():
    out = run_optimize(scenario_from_dict(_deferrable(share=0.4)), "slit", evaluations=40,
                       pop_size=8, jobs=1, baselines=[], front_replays=0, spill_variants=[],
                       shift_solver="exact", forecaster="oracle")  # fmt: skip
    assert out.indicators["shift_solver"] == "exact"
    assert (out.validated["deadline_misses"] == 0).all()
    # with the oracle forecast the plan places exactly the requests that come
    assert out.plans["shift"]["planned_requests"].sum() == pytest.approx(
        (out.replay.requests["request_class"] == "batch").sum())


def test_without_shift_deferrable_requests_are_served_as_they_arrive():
    data = _deferrable(share=0.4)
    out = run_optimize(scenario_from_dict(data), "slit", evaluations=40, pop_size=8, jobs=1,
                       baselines=[], front_replays=0, shift=False, spill_variants=[])
    assert "shift" not in out.plans and not out.indicators["shift"]
    req = out.replay.requests
    assert (req["defer_s"] == 0).all()


def test_plan_plus_spill_sends_requests_elsewhere_when_the_planned_queue_is_too_long():
    data = small_scenario_dict()
    data["time"].update(horizon_s=600, epoch_s=300, drain_s=300)
    data["workload"].update(rate_per_s=40.0, prompt_tokens=2000, output_tokens=300)
    for dc in data["datacenters"]:
        dc["pools"][0]["replicas"] = 2
    scenario = scenario_from_dict(data)
    everything_to_a = np.array([[1.0, 0.0], [1.0, 0.0]])
    planned = simulate(scenario, Plan(matrix=everything_to_a))
    spill = PlanSpill(matrix=everything_to_a)
    live = simulate(scenario, spill)
    assert spill.spills > 0
    assert (live.requests["datacenter"] == "dc-b").sum() == spill.spills
    assert live.metadata["plan_spills"] == spill.spills
    assert live.summary["ttft_s"]["p95"] < planned.summary["ttft_s"]["p95"]
    assert live.summary["slo_attainment"] > planned.summary["slo_attainment"]
    # at a load the planned datacenter serves in time nothing spills: the plan's own routing
    data["workload"]["rate_per_s"] = 0.5
    scenario = scenario_from_dict(data)
    calm = PlanSpill(matrix=everything_to_a)
    quiet = simulate(scenario, calm)
    assert calm.spills == 0
    pd.testing.assert_series_equal(
        quiet.requests["datacenter"], simulate(scenario, Plan(matrix=everything_to_a)).requests[
            "datacenter"])  # fmt: skip


def test_an_optimisation_where_every_request_is_deferrable_has_no_ttft_but_works(tmp_path):
    """No interactive request: no TTFT to take, so the evaluator's TTFT errors are None (not
    a crash), the front's TTFT is NaN, and the report is built."""
    from slit.report import build_report

    out = run_optimize(scenario_from_dict(_deferrable(share=1.0)), "slit", evaluations=40,
                       pop_size=8, jobs=1, baselines=["nearest"], front_replays=0,
                       spill_variants=[])  # fmt: skip
    assert out.indicators["evaluator_median_abs_error"]["ttft_p95_s"] is None
    assert out.indicators["evaluator_median_abs_error"]["carbon_kg"] is not None
    assert out.pareto["ttft_p95_s"].isna().all()
    assert (out.validated["deadline_misses"] == 0).all()
    from slit.experiment.rundir import write_optimize_dir

    folder = tmp_path / "opt"
    write_optimize_dir(folder, False, out, scenario_from_dict(_deferrable(share=1.0)), {})
    assert "Indicators" in build_report(folder)
