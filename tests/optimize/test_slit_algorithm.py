"""SLIT's algorithm: it runs under pymoo, learns its guide, and returns a feasible front."""

from __future__ import annotations

import numpy as np
import pytest

from slit.optimize.algorithms import algorithm_names
from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import FastEvaluator
from slit.optimize.rolling import optimise_epoch
from slit.optimize.slit_algorithm import SlitGuide
from slit.scenario.loader import load_scenario


@pytest.fixture(scope="module")
def epoch():
    scenario = load_scenario(None, ["time.horizon_s=3600"])
    demands, models = oracle_demands(scenario)
    return FastEvaluator.from_scenario(scenario, models), demands


def test_slit_returns_a_feasible_front_within_its_budget(epoch) -> None:
    ev, demands = epoch
    front = optimise_epoch(ev, demands[1], 1, "slit", 800, 20, seed=3)
    assert front.feasible
    assert front.evaluations == 800  # exactly the budget, local search included
    assert len(front.objectives) >= 3
    rows = front.allocations.sum(axis=2)
    assert np.allclose(rows, 1.0)


def test_slit_is_deterministic_per_seed(epoch) -> None:
    ev, demands = epoch
    a = optimise_epoch(ev, demands[1], 1, "slit", 500, 20, seed=5, context={"guide": SlitGuide()})
    b = optimise_epoch(ev, demands[1], 1, "slit", 500, 20, seed=5, context={"guide": SlitGuide()})
    np.testing.assert_array_equal(a.objectives, b.objectives)


def test_the_guide_warms_up_on_random_starts_then_fits_and_ranks(epoch) -> None:
    ev, demands = epoch
    guide = SlitGuide(warmup_generations=5, refit_every=1000)
    for e in range(3):
        optimise_epoch(ev, demands[e], e, "slit-guided", 600, 20, seed=e, context={"guide": guide})
    assert guide.generations >= 5
    assert guide.ready()
    assert len(guide.gains) >= 10 and np.isfinite(guide.gains).all()
    order = guide.rank(np.vstack(guide.features[:7]))
    assert sorted(order.tolist()) == list(range(7))


@pytest.mark.slow
def test_slit_beats_random_search_on_the_balanced_objective(epoch) -> None:
    """At an equal budget, SLIT's front gets closer to the ideal point than random search."""
    ev, demands = epoch
    s = optimise_epoch(ev, demands[2], 2, "slit", 1500, 30, seed=11)
    r = optimise_epoch(ev, demands[2], 2, "random", 1500, 30, seed=11)
    both = np.vstack([s.objectives, r.objectives])
    lo, span = both.min(axis=0), np.ptp(both, axis=0) + 1e-12

    def best(f: np.ndarray) -> float:
        return float(np.sqrt((((f - lo) / span) ** 2).sum(axis=1)).min())

    assert best(s.objectives) <= best(r.objectives) + 0.05


@pytest.mark.parametrize(
    ("name", "records"),
    [("slit", False), ("slit-guided", True), ("slit-sparse", False), ("slit-nolocal", False),
     ("slit-norepair", False),
     ("slit-ranked", False), ("slit-moead", True)],
)  # fmt: skip
def test_ablations_switch_off_their_component(epoch, name: str, records: bool) -> None:
    ev, demands = epoch
    guide = SlitGuide(warmup_generations=2)
    front = optimise_epoch(ev, demands[1], 1, name, 600, 20, seed=3, context={"guide": guide})
    assert front.feasible and np.allclose(front.allocations.sum(axis=2), 1.0)
    # only the guided local searches feed (and so fit) the gradient-boosting guide
    assert bool(guide.gains) is records
    assert (guide.model is not None) is records


def test_last_forecaster_is_persistence() -> None:
    from slit.optimize.forecast import make_forecaster

    f = make_forecaster("last")
    history = np.array([[[1.0]], [[3.0]]])
    assert f(history, np.array([[9.0]]))[0, 0] == 3.0
    assert f(np.zeros((0, 1, 1)), np.array([[9.0]]))[0, 0] == 0.0


@pytest.mark.parametrize(
    "name",
    # MOEA/D evaluates one child at a time in Python: over a second for this budget; AGE-MOEA2
    # compiles its numba kernels first (about 12 s)
    [pytest.param(n, marks=pytest.mark.slow) if n in ("moead", "agemoea2") else n
     for n in sorted(algorithm_names())],
)  # fmt: skip
def test_every_registered_algorithm_runs_an_epoch(epoch, name: str) -> None:
    """Each algorithm of the registry solves a small epoch end to end (construction alone does
    not catch a crash inside its survival step, as NSGA-III's on read-only directions did)."""
    if name == "agemoea2":
        pytest.importorskip("numba", reason="AGE-MOEA2 needs numba")
    ev, demands = epoch
    front = optimise_epoch(ev, demands[1], 1, name, 200, 20, seed=5)
    assert len(front.objectives) >= 1 and np.all(np.isfinite(front.objectives))
    rows = front.allocations.sum(axis=2)  # 1, or 0 for "the nearest datacenter"
    assert np.all(np.isclose(rows, 1.0) | (rows == 0.0))
    # equal budgets: every algorithm evaluates exactly the 200 allocations it was given (RVEA,
    # which stops at whole generations of its own count, at most that many)
    if name == "rvea":
        assert 200 - 2 * 20 <= front.evaluations <= 200
    else:
        assert front.evaluations == 200, front.evaluations


def test_simplex_repair_keeps_proportions_and_drops_small_routes() -> None:
    from types import SimpleNamespace

    from slit.optimize.slit_algorithm import SimplexRepair

    problem = SimpleNamespace(n_origins=2, n_datacenters=3)
    x = np.array([[0.2, 0.4, 0.0, 0.5, 0.01, 0.5]])
    out = SimplexRepair(0.03)._do(problem, x)
    rows = out.reshape(2, 3)
    assert np.allclose(rows.max(axis=1), 1.0)  # one encoding per allocation: the top share is 1
    np.testing.assert_allclose(rows[0], [0.5, 1.0, 0.0])  # proportions 1 : 2 kept
    assert rows[1, 1] == 0.0  # 1 % of its row: dropped
    # an all-zero row (the evaluator's "nearest") stays zero
    assert np.all(SimplexRepair(0.03)._do(problem, np.zeros((1, 6))) == 0.0)


def test_simplex_repair_drops_small_routes_in_every_other_member_only() -> None:
    from types import SimpleNamespace

    from slit.optimize.slit_algorithm import SimplexRepair

    problem = SimpleNamespace(n_origins=1, n_datacenters=3)
    x = np.tile([[0.5, 0.01, 0.5]], (4, 1))
    out = SimplexRepair(0.03, every=2)._do(problem, x)
    # members 0 and 2 lose the 1 % route, 1 and 3 keep it; all are rescaled to a top of 1
    assert (out[[0, 2], 1] == 0.0).all() and (out[[1, 3], 1] > 0.0).all()
    np.testing.assert_allclose(out.max(axis=1), 1.0)
