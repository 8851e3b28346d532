"""The evaluator's scale to zero (pools with ``keep_alive_s``): released pools draw no power,
requests to a released pool wait for its load, and an epoch's residency carries to the next."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import yaml

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import PROMPT_CELL_EDGES, FastEvaluator, TailModel, ttft_quantile
from slit.optimize.rolling import plan_outcomes
from slit.scenario.loader import load_scenario, scenario_from_dict
from slit.sim.policies import Plan
from slit.sim.simulate import simulate
from tests.conftest import small_scenario_dict


def _scenario(keep_alive_s: float | None, bandwidth: float = 8.0, **time: float):
    data = small_scenario_dict()
    data["time"].update(time)
    for dc in data["datacenters"]:
        dc["pools"][0].update(keep_alive_s=keep_alive_s, load_bandwidth_gb_per_s=bandwidth)
    return scenario_from_dict(data)


def _setup(keep_alive_s: float | None, **kw):
    scenario = _scenario(keep_alive_s, **kw)
    demands, models = oracle_demands(scenario)
    return scenario, demands, FastEvaluator.from_scenario(scenario, models)


def test_without_keep_alive_nothing_changes_and_no_residency_is_reported() -> None:
    _, demands, ev = _setup(None)
    out = ev.evaluate(np.eye(2)[None], demands[0], tail=True)
    assert out.warm_at_end is None and out.tail is not None and out.tail.cold_share is None


def test_an_unused_released_pool_draws_no_power() -> None:
    _, demands, warm_ev = _setup(None)
    _, _, cold_ev = _setup(60.0)
    d = demands[1]
    to_a = np.array([[[1.0, 0.0], [1.0, 0.0]]])  # every origin to dc-a: dc-b unused
    released = replace(d, warm_at_start=np.array([1.0, 0.0]))  # dc-b released at the start
    warm, cold = warm_ev.evaluate(to_a, d), cold_ev.evaluate(to_a, released)
    pool_b = cold_ev.pools[1]
    idle_kwh = pool_b.it_power_w(0.0) * pool_b.replicas * d.epoch_s / 3.6e6
    assert warm.it_energy_kwh[0] - cold.it_energy_kwh[0] == pytest.approx(idle_kwh, rel=0.02)
    assert cold.warm_at_end[0, 1] == 0.0 and cold.warm_at_end[0, 0] > 0.0
    # loaded at the start and left: loaded for the keep-alive, then released
    left = cold_ev.evaluate(to_a, replace(d, warm_at_start=np.array([1.0, 1.0])))
    kept = pool_b.it_power_w(0.0) * pool_b.replicas * 60.0 / 3.6e6
    assert left.it_energy_kwh[0] - cold.it_energy_kwh[0] == pytest.approx(kept, rel=0.02)


def test_requests_to_a_released_pool_wait_for_the_load() -> None:
    # 8B weights (16 GB) at 0.2 GB/s: an 80 s load in a 900 s epoch, 9 % of its requests
    _, demands, ev = _setup(300.0, bandwidth=0.2)
    d = demands[1]
    to_b = np.array([[[0.0, 1.0], [0.0, 1.0]]])
    warm = ev.evaluate(to_b, replace(d, warm_at_start=np.array([1.0, 1.0])), tail=True)
    cold = ev.evaluate(to_b, replace(d, warm_at_start=np.array([1.0, 0.0])), tail=True)
    load_s = ev.load_s[1]
    assert load_s == pytest.approx(80.0, rel=0.01)
    # the requests queued during the load wait for their prefills, which drain at the prefill
    # capacity left over, 1 - rho, and those arriving meanwhile wait too: load / (1 - rho) of
    # the epoch's time, each up to 80 s (rho: the pool's prefill utilisation, below its
    # utilisation at full batch)
    extra = cold.ttft_mean_s[0] - warm.ttft_mean_s[0]
    rho = 1.0 - (load_s / d.epoch_s) * (load_s / 2) / extra
    assert 0.0 < rho < warm.max_utilization[0]
    assert extra > (load_s / d.epoch_s) * load_s / 2
    # the p95 moves into the load's wait: 9 % of the requests wait uniformly up to 80 s
    p95_cold = ttft_quantile([cold.tail], 0.95)[0]
    assert p95_cold > 20.0 and ttft_quantile([warm.tail], 0.95)[0] < 1.0


def test_the_cold_start_tail_matches_sampling() -> None:
    rng = np.random.default_rng(5)
    n_c = len(PROMPT_CELL_EDGES)
    base = np.sort(rng.uniform(0.05, 0.5, size=(1, 1, 1, n_c)), axis=3)
    tail = TailModel(
        np.ones((1, 1, 1)), base, np.diff(PROMPT_CELL_EDGES), np.zeros((1, 1)),
        np.full((1, 1), 0.1), 900.0, np.full((1, 1), 0.1), np.array([30.0]),
    )  # fmt: skip
    n = 400_000
    cell = rng.choice(n_c - 1, size=n, p=tail.cell_weight)
    lo, hi = base[0, 0, 0, cell], base[0, 0, 0, cell + 1]
    x = lo + (hi - lo) * rng.random(n) + np.where(rng.random(n) < 0.1, 30.0 * rng.random(n), 0)
    for t in (1.0, 5.0, 20.0):
        # the load's wait is integrated at four points: within 1 % of the share
        assert tail.exceedance(t)[0, 0] == pytest.approx((x > t).mean(), abs=0.01)


def test_a_plan_carries_its_residency_from_epoch_to_epoch() -> None:
    _, demands, ev = _setup(60.0)
    n = len(demands)
    to_a, to_b = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])
    flip = np.stack([to_a if e % 2 == 0 else to_b for e in range(n)])
    outs = plan_outcomes(ev, demands, flip)
    busy = [e for e, d in enumerate(demands) if d.rate_per_s.any()]
    for e in busy[1:]:
        # each epoch's load goes to the site the last one left: its requests wait
        assert outs[e].tail is not None and outs[e].tail.cold_share is not None
        target = 0 if e % 2 == 0 else 1
        assert outs[e].tail.cold_share[0, target] > 0


@pytest.mark.slow
def test_the_evaluator_follows_the_simulator_when_load_moves_between_sites() -> None:
    scenario, demands, ev = _setup(120.0, bandwidth=0.5, horizon_s=3600, drain_s=0)
    n = len(demands)
    to_a, to_b = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])
    flip = np.stack([to_a if e % 2 == 0 else to_b for e in range(n)])
    outs = plan_outcomes(ev, demands, flip)
    res = simulate(scenario, Plan(matrix=flip))
    assert res.timeseries["weight_loads"].sum() >= n - 1
    predicted = sum(o.it_energy_kwh[0] for o in outs)
    simulated = res.timeseries["it_energy_kwh"].sum()
    assert predicted == pytest.approx(simulated, rel=0.10)
    weight = np.array([d.rate_per_s.sum() for d in demands])
    mean_pred = sum(o.ttft_mean_s[0] * w for o, w in zip(outs, weight, strict=True)) / weight.sum()
    done = res.requests[res.requests["completed"]]
    assert mean_pred == pytest.approx(done["ttft_s"].mean(), rel=0.25)


def test_the_slo_constraint_is_on_steady_serving_and_the_load_wait_on_the_objective() -> None:
    from slit.optimize.problem import EpochProblem

    _, demands, ev = _setup(300.0, bandwidth=0.2)  # an 80 s load: 9 % of the epoch
    d = demands[1]
    to_b = np.array([[0.0, 1.0], [0.0, 1.0]])
    x = to_b.ravel()[None]
    warm = EpochProblem(ev, replace(d, warm_at_start=np.array([1.0, 1.0])), ttft_slo_s=1.0)
    cold = EpochProblem(ev, replace(d, warm_at_start=np.array([1.0, 0.0])), ttft_slo_s=1.0)
    fw = warm.evaluate(x, return_as_dictionary=True)
    fc = cold.evaluate(x, return_as_dictionary=True)
    # the same constraints (steady serving meets the SLO either way) ...
    np.testing.assert_allclose(fc["G"], fw["G"])
    assert (fc["G"] <= 0).all()
    # ... and the load's wait on the mean TTFT objective
    assert fc["F"][0, 0] > fw["F"][0, 0] + 3.0


@pytest.mark.slow
@pytest.mark.parametrize("rate_per_s", [3.0, 5.0])
def test_the_backlog_a_load_leaves_drains_as_the_simulator_drains_it(rate_per_s: float) -> None:
    """Every epoch the load moves to the site it left an epoch before, which has released its
    replica and loads it for 32 s; at a busy site the requests that queue meanwhile and those
    behind them wait several times the load's own share (the drain), which the mean TTFT must
    follow."""
    data = small_scenario_dict()
    data["time"].update(horizon_s=3600, drain_s=0)
    data["workload"]["rate_per_s"] = rate_per_s
    for dc in data["datacenters"]:
        dc["pools"][0].update(keep_alive_s=120.0, load_bandwidth_gb_per_s=0.5)
    scenario = scenario_from_dict(data)
    demands, models = oracle_demands(scenario)
    ev = FastEvaluator.from_scenario(scenario, models)
    to_a, to_b = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.0, 1.0], [0.0, 1.0]])
    flip = np.stack([to_a if e % 2 == 0 else to_b for e in range(len(demands))])
    outs = plan_outcomes(ev, demands, flip)
    res = simulate(scenario, Plan(matrix=flip))
    weight = np.array([d.rate_per_s.sum() for d in demands])
    mean_pred = sum(o.ttft_mean_s[0] * w for o, w in zip(outs, weight, strict=True)) / weight.sum()
    done = res.requests[res.requests["completed"]]
    assert mean_pred == pytest.approx(done["ttft_s"].mean(), rel=0.15)


@pytest.mark.slow
def test_horizon_plans_count_their_own_weight_loads_in_the_slo_budget(tmp_path) -> None:
    """Under scale to zero each plan pays the loads its own moves cause: over the horizon no
    plan has more than 5 % of an origin's requests above the SLO, load waits included, as the
    evaluator scores the plan epoch by epoch from its own residency."""
    from slit.optimize.rolling import optimise_horizon

    slo = 1.0
    # site a's grid swings between clean and dirty every hour, b's stays in between: the
    # carbon-minded plans move their load back and forth, and each move loads a released pool
    hours = [f"2023-07-15T{h:02d}:00:00Z,{100 if h % 2 == 0 else 600}\n" for h in range(8)]
    (tmp_path / "a.csv").write_text("time_utc,carbon_g_per_kwh\n" + "".join(hours))
    data = small_scenario_dict()
    data["time"].update(horizon_s=4 * 3600, drain_s=0)
    data["workload"]["rate_per_s"] = 4.0
    data["slo"] = {"ttft_s": slo}
    data["regions"][0]["signals"] = {
        "source": "files", "carbon": {"path": "a.csv", "format": "csv"}, "price": 50.0,
        "wetbulb": 18.0, "ewif": 2.0,
    }  # fmt: skip
    data["regions"][1]["signals"]["carbon_g_per_kwh"] = 300
    for dc in data["datacenters"]:
        dc["pools"][0].update(keep_alive_s=120.0, load_bandwidth_gb_per_s=0.1)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    scenario = load_scenario(str(tmp_path / "s.yaml"))
    result = optimise_horizon(scenario, "slit", evaluations=300, pop_size=20, ttft_slo_s=slo,
                              forecaster="oracle", slo_scope="horizon")  # fmt: skip
    moved = 0
    for name, plan in result.plans.items():
        outs = plan_outcomes(result.evaluator, result.demands, plan)
        moved += sum(o.tail is not None and o.tail.cold_share is not None
                     and float(o.tail.cold_share.max()) > 0 for o in outs)  # fmt: skip
        late = sum(
            o.tail.exceedance(slo)[0] * d.rate_per_s.sum(axis=1) * d.epoch_s
            for o, d in zip(outs, result.demands, strict=True)
            if o.tail is not None
        )
        served = sum(d.rate_per_s.sum(axis=1) * d.epoch_s for d in result.demands)
        assert (late <= 0.05 * served + 1e-6).all(), (name, late / served)
    assert moved > 0  # some plan did move its load to a released pool
