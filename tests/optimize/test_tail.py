"""The evaluator's TTFT distribution (tail model): its closed form against sampling, its limits,
the p95 against the simulator, and the per-origin SLO constraint of the epoch problem."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import (
    PROMPT_CELL_EDGES,
    FastEvaluator,
    TailModel,
    prompt_quantiles,
    ttft_quantile,
)
from slit.optimize.problem import EpochProblem
from slit.scenario.loader import load_scenario
from slit.sim.policies import Plan
from slit.sim.simulate import simulate


@pytest.fixture(scope="module")
def busy():
    scenario = load_scenario("bundled:capacity-bound", ["time.horizon_s=3600", "time.drain_s=0"])
    demands, models = oracle_demands(scenario)
    return scenario, demands, FastEvaluator.from_scenario(scenario, models)


def _random_tail(rng: np.random.Generator, n_o: int = 2, n_k: int = 3) -> TailModel:
    n_c = len(PROMPT_CELL_EDGES)
    base = np.sort(rng.uniform(0.01, 2.0, size=(1, n_o, n_k, n_c)), axis=3)
    return TailModel(
        flow_per_s=rng.uniform(0.0, 5.0, size=(1, n_o, n_k)),
        base_s=base,
        cell_weight=np.diff(PROMPT_CELL_EDGES),
        wait_probability=rng.uniform(0.0, 1.0, size=(1, n_k)),
        wait_mean_s=rng.uniform(0.001, 0.5, size=(1, n_k)),
        epoch_s=900.0,
    )


def _sample(tail: TailModel, n: int, rng: np.random.Generator) -> np.ndarray:
    """TTFTs drawn from the model's own assumptions (uniform within a cell, atom-plus-
    exponential wait), all origins together."""
    flow = tail.flow_per_s[0].ravel()
    pair = rng.choice(flow.size, size=n, p=flow / flow.sum())
    o, k = np.unravel_index(pair, tail.flow_per_s[0].shape)
    cell = rng.choice(len(tail.cell_weight), size=n, p=tail.cell_weight)
    lo, hi = tail.base_s[0, o, k, cell], tail.base_s[0, o, k, cell + 1]
    d = lo + (hi - lo) * rng.random(n)
    waits = rng.random(n) < tail.wait_probability[0, k]
    w = np.where(waits, rng.exponential(tail.wait_mean_s[0, k]), 0.0)
    return d + w


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_the_closed_form_exceedance_and_quantile_match_sampling(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tail = _random_tail(rng)
    x = _sample(tail, 200_000, rng)
    # the points t come from one sample and the shares above them from another, independent
    # one (a sample's own quantile sits exactly on its share)
    y = _sample(tail, 200_000, np.random.default_rng(seed + 1))
    for t in np.quantile(x, [0.5, 0.9, 0.95, 0.99]):
        total = tail.flow_per_s.sum()
        predicted = float((tail.exceedance(t)[0] * tail.flow_per_s[0].sum(axis=1)).sum() / total)
        assert predicted == pytest.approx((y > t).mean(), abs=0.005)  # 4.5 sd at p = 0.5
    assert ttft_quantile([tail], 0.95)[0] == pytest.approx(np.quantile(x, 0.95), rel=0.02)


def test_quantile_of_several_epochs_weights_them_by_their_requests() -> None:
    rng = np.random.default_rng(3)
    a, b = _random_tail(rng), _random_tail(rng)
    b = TailModel(b.flow_per_s, b.base_s + 5.0, b.cell_weight, b.wait_probability,
                  b.wait_mean_s, 9000.0)  # fmt: skip
    # b holds about ten times a's requests and is 5 s slower: the p50 lies in b
    assert ttft_quantile([a, b], 0.5)[0] > 5.0
    assert ttft_quantile([a], 0.5)[0] < 2.5


def test_without_waiting_or_spread_the_ttft_is_the_fixed_part() -> None:
    base = np.full((1, 1, 1, len(PROMPT_CELL_EDGES)), 0.3)
    tail = TailModel(np.ones((1, 1, 1)), base, np.diff(PROMPT_CELL_EDGES), np.zeros((1, 1)),
                     np.full((1, 1), 0.1), 900.0)  # fmt: skip
    assert tail.exceedance(0.2999)[0, 0] == 1.0 and tail.exceedance(0.3001)[0, 0] == 0.0
    assert ttft_quantile([tail], 0.95)[0] == pytest.approx(0.3, abs=1e-9)


def test_bad_quantile_levels_are_refused(busy) -> None:
    tail = _random_tail(np.random.default_rng(0))
    for q in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="q must be in"):
            ttft_quantile([tail], q)
    _, demands, ev = busy
    with pytest.raises(ValueError, match="slo_quantile must be in"):
        EpochProblem(ev, demands[0], ttft_slo_s=1.0, slo_quantile=1.0)


def test_prompt_quantiles_cover_the_sample() -> None:
    sample = np.random.default_rng(1).lognormal(6, 1, 10_000)
    q = prompt_quantiles(sample)
    assert q[0] == sample.min() and q[-1] == sample.max()
    assert np.all(np.diff(q) >= 0) and len(q) == len(PROMPT_CELL_EDGES)


def test_slo_constraint_is_per_origin_and_binds_where_the_network_alone_breaks_it(busy) -> None:
    _, demands, ev = busy
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    problem = EpochProblem(ev, demands[0], ttft_slo_s=1.0)
    assert problem.n_ieq_constr == 1 + n_o
    nearest = np.zeros((n_o, n_d))
    nearest[np.arange(n_o), np.argmin(ev.rtt_s, axis=1)] = 1.0
    g = problem.evaluate(nearest.reshape(1, -1), return_values_of=["G"])
    assert (g[0, 1:] <= 0).all()  # nearest routing meets a 1 s p95 everywhere
    # an SLO shorter than the longest round trip: the origins sent there break it
    far = np.zeros((n_o, n_d))
    far[np.arange(n_o), np.argmax(ev.rtt_s, axis=1)] = 1.0
    tight = EpochProblem(ev, demands[0], ttft_slo_s=float(ev.rtt_s.max()) * 0.9)
    g = tight.evaluate(far.reshape(1, -1), return_values_of=["G"])
    assert g[0, 1:].max() > 0.9  # nearly all of the farthest-sent origin's requests are late


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["nearest", "spread", "packed"])
def test_predicted_p95_is_within_15_percent_of_the_simulated_one(busy, kind: str) -> None:
    scenario, demands, ev = busy
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    nearest = np.zeros((n_o, n_d))
    nearest[np.arange(n_o), np.argmin(ev.rtt_s, axis=1)] = 1.0
    rng = np.random.default_rng(5)
    alloc = {
        "nearest": nearest,
        "spread": 0.5 * nearest + 0.5 * rng.dirichlet(np.ones(n_d), size=n_o),
        # half of every origin's load on the largest site: its pools run hot
        "packed": 0.5 * nearest + 0.5 * np.eye(1, n_d, 1).repeat(n_o, axis=0),
    }[kind]
    plan = np.broadcast_to(alloc, (len(demands), n_o, n_d)).copy()
    outs = [ev.evaluate(plan[e][None], d, tail=True) for e, d in enumerate(demands)]
    predicted = ttft_quantile([o.tail for o in outs], 0.95)[0]  # type: ignore[misc]
    simulated = simulate(scenario, Plan(matrix=plan)).summary["ttft_s"]["p95"]
    assert predicted == pytest.approx(simulated, rel=0.15)


def _late_shares(result, slo_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per plan, ``[plan, epoch, origin]`` predicted requests above the SLO and requests."""
    late, served = [], []
    for plan in result.plans.values():
        lp, sp = [], []
        for e, d in enumerate(result.demands):
            out = result.evaluator.evaluate(plan[e][None], d, tail=True)
            n = d.rate_per_s.sum(axis=1) * d.epoch_s
            lp.append(out.tail.exceedance(slo_s)[0] * n)
            sp.append(n)
        late.append(lp)
        served.append(sp)
    return np.array(late), np.array(served)


@pytest.mark.slow
@pytest.mark.parametrize("scope", ["epoch", "horizon"])
def test_every_plan_keeps_the_slo_over_the_scope_it_was_given(scope: str) -> None:
    from slit.optimize.rolling import optimise_horizon

    slo = 0.6  # binding on this hour: the clean site's queue breaks it at the peak
    scenario = load_scenario(
        "bundled:capacity-bound", ["time.horizon_s=3600", "time.drain_s=0", f"slo.ttft_s={slo}"]
    )
    result = optimise_horizon(scenario, "slit", evaluations=300, pop_size=20, ttft_slo_s=slo,
                              forecaster="oracle", slo_scope=scope)  # fmt: skip
    assert result.meta["slo_scope"] == scope
    late, served = _late_shares(result, slo)
    if scope == "epoch":
        # every epoch, every origin: at most 5 % late
        assert (late <= 0.05 * served + 1e-6).all()
    else:
        # over the horizon, every origin: at most 5 % late; within an epoch it may be more
        assert (late.sum(axis=1) <= 0.05 * served.sum(axis=1) + 1e-6).all()
        # the plans chose among everything the search evaluated, not its last 20 members
        assert max(len(f.objectives) for f in result.fronts) > 20


def test_slo_scope_must_be_known() -> None:
    from slit.optimize.rolling import optimise_horizon

    scenario = load_scenario("bundled:one-hour")
    with pytest.raises(ValueError, match="slo_scope must be 'epoch' or 'horizon'"):
        optimise_horizon(scenario, "random", evaluations=10, pop_size=4, slo_scope="day")
