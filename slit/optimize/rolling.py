"""Rolling optimisation over the horizon: one front per epoch, one plan per decision variant.

For every epoch of the horizon the algorithm solves the :class:`EpochProblem` (oracle demand by
default) within an evaluation budget; each decision variant (and each weight vector) picks one
allocation per epoch, which together make its plan ``[epoch, origin, datacenter]``. The plan's
horizon totals are the sums of its epochs' objectives (TTFT weighted by the epoch's requests).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pymoo.core.algorithm import Algorithm
from pymoo.optimize import minimize

from slit.errors import SlitError
from slit.inputs import compile_inputs
from slit.optimize.algorithms import make_algorithm
from slit.optimize.decide import VARIANTS, choose
from slit.optimize.demand import demands_of
from slit.optimize.evaluator import (
    EpochDemand,
    EpochOutcome,
    FastEvaluator,
    FloatArray,
    ttft_quantile,
)
from slit.optimize.problem import (
    OBJECTIVES,
    SLO_QUANTILE,
    UNEVALUATED,
    EpochProblem,
    EvaluationBudget,
    allocation_from_x,
)
from slit.optimize.shifting import ShiftPlan
from slit.scenario.loader import Scenario

EPOCH_TIMEOUT_S = 1800.0
"""Wall time after which one epoch's search counts as stuck and stops with an error (checked
after every generation; a budget of 2,000 evaluations takes about a second)."""
PENALTY_ALGORITHMS = frozenset({"moead"})
N_EVAL_ALGORITHMS = frozenset({"rvea"})
"""Algorithms that take only pymoo's own generation or evaluation count as termination (RVEA
adapts its reference vectors to it); the problem's budget caps their evaluations all the same."""
"""Algorithms that cannot handle constraints and get them as objective penalties."""


@dataclass
class EpochFront:
    """The non-dominated allocations an algorithm found for one epoch."""

    epoch: int
    objectives: FloatArray  # [members, 4]
    allocations: FloatArray  # [members, origin, datacenter]
    feasible: bool
    evaluations: int
    wall_s: float
    # (evaluations so far, objectives of the population's feasible members) per generation
    history: list[tuple[int, FloatArray]] = field(default_factory=list)
    # [members, origin] share of each origin's requests above the SLO in steady serving, as
    # the epoch's constraint saw it (None without an SLO)
    late_share: FloatArray | None = None


@dataclass
class HorizonResult:
    """Everything a rolling optimisation produced."""

    fronts: list[EpochFront]
    plans: dict[str, FloatArray]  # name -> [epoch, origin, datacenter]
    totals: pd.DataFrame  # one row per plan: objective totals
    demands: list[EpochDemand]
    evaluator: FastEvaluator
    meta: dict[str, object] = field(default_factory=dict)
    shift: ShiftPlan | None = None
    """The time-shift plan of the deferrable requests (None: served as they arrive)."""

    def powered(self, name: str) -> FloatArray | None:
        """``[epoch, pool]`` replicas plan ``name`` powers (None without capacity control)."""
        if self.evaluator.capacity_target is None:
            return None
        outs = plan_outcomes(self.evaluator, self.demands, self.plans[name], tail=False)
        return np.stack([o.powered[0] for o in outs if o.powered is not None])


def default_weight_vectors(n: int = 24, seed: int = 0) -> FloatArray:
    """Weight vectors over the four objectives: the corners' mixes plus Dirichlet samples."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(len(OBJECTIVES)), size=n)


def optimise_epoch(
    evaluator: FastEvaluator,
    demand: EpochDemand,
    epoch: int,
    algorithm: str | Algorithm,
    evaluations: int,
    pop_size: int,
    seed: int,
    ttft_slo_s: float | None = None,
    context: dict[str, object] | None = None,
    time_budget_s: float | None = None,
    termination: Any = None,
    slo_allowance: FloatArray | None = None,
) -> EpochFront:
    """Solve one epoch; an all-infeasible result keeps the least-violating members.

    ``algorithm`` is a registered name or a pymoo ``Algorithm`` (solved on a fresh copy, as
    pymoo algorithms keep state). ``termination`` (a pymoo termination or its tuple form, e.g.
    ``("n_gen", 50)``) replaces the evaluation budget, which then caps nothing; otherwise
    ``time_budget_s`` if given, else exactly ``evaluations`` evaluations. ``slo_allowance``
    (``[origin]``) is the share of each origin's requests allowed above the SLO (default
    ``1 − q``, see :class:`EpochProblem`).

    An epoch without requests (the drain) has nothing to decide: its front is the nearest
    allocation alone."""
    t0 = time.perf_counter()
    problem = EpochProblem(evaluator, demand, ttft_slo_s=ttft_slo_s, slo_allowance=slo_allowance)
    if not demand.rate_per_s.any():
        alloc = allocation_from_x(
            np.eye(problem.n_origins, problem.n_datacenters), problem.n_origins,
            problem.n_datacenters, problem.allowed,
        )  # fmt: skip
        f = evaluator.evaluate(alloc, demand).objectives()
        return EpochFront(epoch, f, alloc, True, 1, time.perf_counter() - t0)
    if isinstance(algorithm, str):
        name = algorithm
        algo = make_algorithm(algorithm, pop_size, problem.n_obj, seed, **(context or {}))
    else:
        name = type(algorithm).__name__
        algo = copy.deepcopy(algorithm)
    # the extreme schedules of SLIT's initial population: even spread, nearest, all-at-one-site
    n_o, n_d = problem.n_origins, problem.n_datacenters
    seeds = [np.full((n_o, n_d), 1.0), np.eye(n_o, n_d) + 1e-9]
    seeds += [np.eye(1, n_d, d).repeat(n_o, axis=0) for d in range(n_d)]
    rng = np.random.default_rng(seed)
    if not isinstance(algorithm, str):  # a caller's algorithm keeps its own population size
        pop_size = int(getattr(algo, "pop_size", None) or pop_size)
    # warm start: the previous epoch's final population (kept in ``context`` by the rolling
    # optimiser) fills the places after the extremes, as demand and signals change little from
    # one epoch to the next; random allocations fill the rest
    warm = np.zeros((0, n_o * n_d))
    if context is not None and context.get("warm_start") is not None:
        warm = np.asarray(context["warm_start"], float)[: max(0, pop_size - len(seeds))]
    x0 = np.vstack(
        [s.reshape(1, -1) for s in seeds]
        + [warm, rng.random((max(0, pop_size - len(seeds) - len(warm)), n_o * n_d))]
    )
    if problem.allowed is not None:
        # data residency: no initial share where an origin may not go (all-at-one-site
        # becomes each origin's nearest allowed site where that one is forbidden)
        x0 = x0 * problem.allowed.reshape(1, -1)
    if hasattr(algo, "initialization"):
        algo.initialization.sampling = x0[:pop_size] if len(x0) >= pop_size else x0
    # pymoo's SBX crossover takes a power of a negative number for genes sitting exactly on a
    # bound and then discards the NaN it makes; silence that floating-point warning only
    # the problem the algorithm sees evaluates at most ``evaluations`` allocations (equal
    # budgets for every algorithm, local searches included); MOEA/D-style algorithms without
    # constraint handling see the constraints as a penalty on every objective
    budget = None if time_budget_s or termination is not None else evaluations
    # with a horizon's SLO budget the plans differ in what they may spend, but one search
    # serves them all (under the largest allowance): each plan then picks among everything
    # the search evaluated, so that a plan with little budget left still finds the
    # allocations the search passed on its way to the looser constraint
    budgeted = slo_allowance is not None and ttft_slo_s is not None
    penalised = name in PENALTY_ALGORITHMS
    solved = EpochProblem(
        evaluator, demand, ttft_slo_s=ttft_slo_s, budget=budget,
        penalty=1.0e3 if penalised else None, slo_allowance=slo_allowance,
        archive=budgeted and not penalised,
    )  # fmt: skip
    history: list[tuple[int, FloatArray]] = []

    def record(algorithm: object) -> None:
        # a watchdog: an epoch that runs far past any budget is stuck (a degenerate problem, a
        # caller's algorithm that never terminates); a clean error beats a run that never ends
        waited = time.perf_counter() - t0
        if waited > EPOCH_TIMEOUT_S:
            raise SlitError(
                f"epoch {epoch}: the optimiser ran {waited:.0f} s without finishing (more than "
                f"{EPOCH_TIMEOUT_S:.0f} s; {solved.n_evaluated} evaluations); it may be stuck: "
                "lower --evaluations or --pop-size, give --time-budget-s, or try another "
                "--algorithm"
            )
        # the population after each generation, for convergence plots (feasible, evaluated
        # members only: a penalised objective is not on the front's scale)
        pop = algorithm.pop  # type: ignore[attr-defined]
        cv = pop.get("CV")
        f = pop.get("F")
        ok = (cv[:, 0] <= 0) if cv is not None else np.ones(len(f), bool)
        ok &= f[:, 0] < UNEVALUATED
        history.append((solved.n_evaluated, f[ok].copy()))

    with np.errstate(invalid="ignore"):
        # no copy: an algorithm's state across epochs (SLIT's guide) must be the caller's
        if termination is not None:
            pass
        elif time_budget_s:
            termination = ("time", float(time_budget_s))
        elif name in N_EVAL_ALGORITHMS:
            termination = ("n_eval", evaluations)  # the problem's budget still caps them
        else:
            termination = EvaluationBudget()
        res = minimize(solved, algo, termination, seed=seed, verbose=False, callback=record,
                       copy_algorithm=False)  # fmt: skip
    # the final population (the members it evaluated), scored on the true objectives and
    # constraints
    x = res.pop.get("X")
    x = x[res.pop.get("F")[:, 0] < UNEVALUATED]
    if context is not None and "warm_start" in context:
        context["warm_start"] = x.copy()
    if budgeted and not penalised:
        x, f, g = solved.archived()  # scored as the search scored them: same demand, same G
        _, first = np.unique(x, axis=0, return_index=True)
        first.sort()
        x, f, g = x[first], f[first], g[first]
    else:
        scored = problem.evaluate(x, return_as_dictionary=True)
        f = scored["F"]
        g = scored["G"]
    cv = np.maximum(g, 0.0).sum(axis=1)
    ok = cv <= 0
    feasible = bool(ok.any())
    if feasible:
        f, x, g = f[ok], x[ok], g[ok]
    else:
        keep = cv <= cv.min() + 1e-12
        f, x, g = f[keep], x[keep], g[keep]
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    # with a horizon's SLO budget, plans with less of it left pick among the members that
    # exceed the SLO less: keep those that are non-dominated once each origin's share above
    # the SLO counts as one more objective
    ranked = f if slo_allowance is None or ttft_slo_s is None else np.hstack([f, g[:, 1:]])
    front = NonDominatedSorting().do(ranked, only_non_dominated_front=True)
    alloc = allocation_from_x(x[front], n_o, n_d, problem.allowed)
    late_share = None if ttft_slo_s is None else g[front][:, 1:] + problem.slo_allowance[None, :]
    return EpochFront(
        epoch,
        f[front],
        alloc,
        feasible,
        solved.n_evaluated,
        time.perf_counter() - t0,
        history,
        late_share,
    )


OWN_RESIDENCY_CANDIDATES = 16
"""Under scale to zero with a horizon's SLO budget, how many of its preferred members a plan
scores again from its own residency (see :func:`_own_residency_pick`)."""


def _own_residency_pick(
    evaluator: FastEvaluator,
    demand: EpochDemand,
    front: EpochFront,
    among: npt.NDArray[np.int64],
    picker: str | FloatArray,
    allowance: FloatArray,
    warm: FloatArray | None,
    ttft_slo_s: float,
) -> tuple[int, FloatArray, FloatArray | None]:
    """A plan's pick under scale to zero and a horizon's SLO budget: its member, the share of
    each origin's requests it spends, and the residency it leaves.

    The front was scored from the residency the balanced plan leaves; a plan whose own picks
    left other sites released pays their weight loads, and the requests that wait for a load
    (and for the backlog it leaves to drain) are late requests of the day like any other. So
    the plan scores its :data:`OWN_RESIDENCY_CANDIDATES` preferred members (:func:`rank`), and
    as many with the least steady late share, again from its own residency, with the load
    waits, and takes the first of them it prefers within its allowance (else the one that
    exceeds it least)."""
    from dataclasses import replace

    from slit.optimize.decide import rank

    k = OWN_RESIDENCY_CANDIDATES
    preferred = among[rank(front.objectives[among], picker)][:k]
    # and, should the preferred all pay loads beyond the allowance, the members latest by
    # little in steady serving (staying where the load is) as fallbacks
    assert front.late_share is not None
    steady = among[np.argsort(front.late_share[among].max(axis=1), kind="stable")][:k]
    order = np.concatenate([preferred, steady[~np.isin(steady, preferred)]])
    seen = demand if warm is None else replace(demand, warm_at_start=warm)
    out = evaluator.evaluate(front.allocations[order], seen, tail=True)
    assert out.tail is not None
    late = out.tail.exceedance(ttft_slo_s)  # [candidate, origin], load waits included
    over = (late - allowance[None, :]).max(axis=1)
    fits = np.flatnonzero(over <= 1e-9)
    i = int(fits[0]) if len(fits) else int(np.argmin(over))
    end = None if out.warm_at_end is None else out.warm_at_end[i]
    return int(order[i]), late[i], end


def optimise_horizon(
    scenario: Scenario,
    algorithm: str | Algorithm = "slit",
    *,
    evaluations: int = 2000,
    pop_size: int = 40,
    seed: int | None = None,
    weights: FloatArray | None = None,
    ttft_slo_s: float | None = None,
    forecaster: str = "slit",
    signal_error: float = 0.0,
    time_budget_s: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    termination: Any = None,
    warm_start: bool = True,
    slo_scope: str = "epoch",
    shift: bool = True,
    shift_objective: str = "balanced",
    shift_solver: str = "greedy",
) -> HorizonResult:
    """Optimise every epoch of the horizon and build the plans of all decision variants.

    With deferrable requests and ``shift``, a time-shift plan (:mod:`slit.optimize.shifting`,
    minimising ``shift_objective``) first decides when and where they are served; the epochs'
    searches then allocate the interactive requests around that load (``shift_solver``:
    ``greedy`` or ``exact``, see :data:`~slit.optimize.shifting.SHIFT_SOLVERS`). Without
    ``shift`` every request is allocated as it arrives. Under a ``capacity`` policy other than
    ``fixed`` every candidate powers only the replicas its load needs
    (:meth:`~slit.optimize.evaluator.FastEvaluator.control_capacity`).

    Each epoch is decided on a forecast (``forecaster`` for the demand, signals perturbed by
    ``signal_error`` relative noise) and every plan is then scored on the true epochs. With
    ``warm_start``, each epoch's initial population holds the previous epoch's final one
    (after the extreme schedules; see :func:`optimise_epoch`).

    ``slo_scope`` says over what the TTFT SLO (p95, per origin) holds: ``"epoch"``, in every
    epoch; ``"horizon"``, over the whole horizon, as a budget of late requests (5 % of each
    origin's) that each plan spends as it goes. Each plan (decision variant or weight vector)
    keeps its own account: in epoch ``e`` it may have ``(1 − q)(N + n_e) − L`` of origin
    ``o``'s ``n_e`` requests above the SLO, ``N`` and ``L`` its requests and predicted late
    requests so far, and it picks among the front's members that stay within that (else the
    one that exceeds it least). The epoch's search allows the largest of the plans' allowances.
    """
    from dataclasses import replace

    from slit.optimize.forecast import make_forecaster, perturb

    seed = scenario.config.seed if seed is None else seed
    inputs = compile_inputs(scenario, seed=seed)
    evaluator = FastEvaluator(inputs.fleet)
    capacity = scenario.config.capacity
    if capacity.policy != "fixed":
        evaluator.control_capacity(capacity.target_utilization, capacity.min_replicas)
    predict = make_forecaster(forecaster)
    deferrable = inputs.requests.deferrable
    shift_plan = None
    if shift and deferrable is not None and deferrable.any():
        demands, shift_plan = _shifted_demands(
            inputs, evaluator, predict, forecaster, signal_error, seed, shift_objective,
            capacity.target_utilization, shift_solver,
        )  # fmt: skip
    else:
        demands = demands_of(inputs)
    noise = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    empty = np.zeros((0,) + demands[0].rate_per_s.shape)
    # what an algorithm may keep from epoch to epoch (SLIT's learned guide)
    from slit.optimize.slit_algorithm import SlitGuide

    context: dict[str, object] = {"guide": SlitGuide()}
    if warm_start:
        context["warm_start"] = None  # optimise_epoch keeps each final population here
    if slo_scope not in ("epoch", "horizon"):
        raise ValueError(f"slo_scope must be 'epoch' or 'horizon', not {slo_scope!r}")
    weights = default_weight_vectors() if weights is None else np.asarray(weights, float)
    names: list[str] = list(VARIANTS) + [f"w{i:02d}" for i in range(len(weights))]
    pickers: list[str | FloatArray] = list(VARIANTS) + list(weights)
    # horizon scope: each plan's requests and predicted late requests so far, per origin
    n_o = len(evaluator.region_ids)
    served = np.zeros((len(names), n_o))
    late = np.zeros((len(names), n_o))
    picks: list[list[int]] = []
    # scale to zero, horizon scope: the residency each plan's own picks leave
    own_warm: list[FloatArray | None] = [None] * len(names)
    fronts = []
    # scale to zero: each epoch is optimised from the residency the previous epoch's balanced
    # decision leaves (the plans are then scored each with its own, see plan_outcomes)
    warm: FloatArray | None = None
    for e, demand in enumerate(demands):
        history = np.stack([d.rate_per_s for d in demands[:e]]) if e else empty
        rate = predict(history, demand.rate_per_s) if demand.rate_per_s.any() else demand.rate_per_s
        seen = replace(
            demand,
            rate_per_s=rate,
            carbon_g_per_it_kwh=perturb(demand.carbon_g_per_it_kwh, signal_error, noise),
            water_l_per_it_kwh=perturb(demand.water_l_per_it_kwh, signal_error, noise),
            price_usd_per_it_mwh=perturb(demand.price_usd_per_it_mwh, signal_error, noise),
            warm_at_start=warm,
        )
        horizon = slo_scope == "horizon" and ttft_slo_s is not None
        allowance = None
        if horizon:
            n_e = seen.rate_per_s.sum(axis=1) * seen.epoch_s  # [origin] requests this epoch
            left = (1.0 - SLO_QUANTILE) * (served + n_e[None, :]) - late  # [plan, origin]
            own = np.clip(left / np.where(n_e > 0, n_e, 1.0)[None, :], 0.0, 1.0)
            allowance = own.max(axis=0)
        front = optimise_epoch(
            evaluator, seen, e, algorithm, evaluations, pop_size, seed + 1009 * e,
            ttft_slo_s, context, time_budget_s, termination, slo_allowance=allowance,
        )  # fmt: skip
        fronts.append(front)
        if horizon and seen.rate_per_s.any():
            from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

            # each plan picks within its own allowance and spends it
            share = front.late_share  # [member, origin]
            assert share is not None
            row = []
            for j, picker in enumerate(pickers):
                over = (share - own[j][None, :]).max(axis=1)
                fits = np.flatnonzero(over <= 1e-9)
                among = fits if len(fits) else np.flatnonzero(over <= over.min() + 1e-12)
                # the variant's usual choice among the members it may use that no other of
                # them dominates
                among = among[
                    NonDominatedSorting().do(front.objectives[among], only_non_dominated_front=True)
                ]
                if not evaluator.scales.any():
                    k = int(among[choose(front.objectives[among], picker)])
                    spent = share[k]
                else:
                    k, spent, own_warm[j] = _own_residency_pick(
                        evaluator, seen, front, among, picker, own[j], own_warm[j], ttft_slo_s
                    )
                served[j] += n_e
                late[j] += spent * n_e
                row.append(k)
            picks.append(row)
        else:
            picks.append([choose(front.objectives, picker) for picker in pickers])
        if evaluator.scales.any():
            chosen = front.allocations[picks[-1][0]]  # the balanced decision
            warm = evaluator.evaluate(chosen[None], seen).warm_at_end
        if progress is not None:
            progress(e + 1, len(demands))
    plans: dict[str, FloatArray] = {}
    for j, name in enumerate(names):
        plans[name] = np.stack(
            [fr.allocations[row[j]] for fr, row in zip(fronts, picks, strict=True)]
        )
    totals = horizon_totals(evaluator, demands, plans)
    for i, w in enumerate(weights):
        for j, obj in enumerate(OBJECTIVES):
            totals.loc[totals["plan"] == f"w{i:02d}", f"weight_{obj}"] = float(w[j])
    return HorizonResult(
        fronts,
        plans,
        totals,
        demands,
        evaluator,
        {
            "algorithm": algorithm if isinstance(algorithm, str) else type(algorithm).__name__,
            "evaluations_per_epoch": evaluations,
            "pop_size": pop_size,
            "seed": seed,
            "forecaster": forecaster,
            "signal_error": signal_error,
            "warm_start": warm_start,
            "slo_scope": slo_scope,
            "shift": shift_plan is not None,
            "shift_objective": shift_objective if shift_plan is not None else None,
            "shift_solver": shift_solver if shift_plan is not None else None,
            "shift_overflow_requests": shift_plan.overflow_requests if shift_plan else None,
        },
        shift_plan,
    )


def _shifted_demands(
    inputs: Any, evaluator: FastEvaluator, predict: Any, forecaster: str, signal_error: float,
    seed: int, objective: str, target_utilization: float, solver: str = "greedy",
) -> tuple[list[EpochDemand], ShiftPlan]:
    """The epochs' interactive demands, each with the load the shift plan releases, and the
    plan (made on the forecast: the forecaster's rates and the signals with their error)."""
    from dataclasses import replace

    from slit.optimize.forecast import perturb
    from slit.optimize.shifting import deferrable_lots, plan_shift, shift_problem

    everything = demands_of(inputs)
    interactive = demands_of(inputs, interactive_only=True)
    n_o, n_m = everything[0].rate_per_s.shape

    def forecast(series: list[EpochDemand]) -> FloatArray:
        truth = np.stack([d.rate_per_s for d in series])
        out = np.zeros_like(truth)
        for e in range(len(series)):
            out[e] = predict(truth[:e] if e else np.zeros((0, n_o, n_m)), truth[e])
        return out

    n_e = inputs.timeline.n_epochs
    pad = np.zeros((n_e - len(everything), n_o, n_m))
    if forecaster == "oracle":
        lots = deferrable_lots(inputs)
    else:
        lots = deferrable_lots(inputs, np.concatenate([forecast(everything), pad]))
    interactive_rate = np.concatenate([forecast(interactive), pad])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    sig = inputs.signals
    seen = {
        "carbon": perturb(sig.carbon_g_per_it_kwh, signal_error, rng),
        "water": perturb(sig.water_l_per_it_kwh, signal_error, rng),
        "cost": perturb(sig.price_usd_per_it_mwh, signal_error, rng),
    }
    allowed = getattr(inputs.fleet, "allowed", None)
    problem = shift_problem(inputs, lots, interactive_rate, seen, objective=objective,
                            target_utilization=target_utilization, allowed=allowed)  # fmt: skip
    plan = plan_shift(problem, solver)
    demands = [
        replace(d, base_rate_per_pool=plan.base_rate_per_pool(
            e, evaluator.pool_dc, evaluator.pool_model, evaluator.pool_weight(d), d.epoch_s))
        for e, d in enumerate(interactive)
    ]  # fmt: skip
    return demands, plan


def plan_outcomes(
    evaluator: FastEvaluator, demands: list[EpochDemand], plan: FloatArray, tail: bool = True
) -> list[EpochOutcome]:
    """The evaluator's outcome of each epoch of ``plan`` (``[epoch, origin, datacenter]``),
    each epoch starting from the residency the plan's previous epoch leaves (scale to zero;
    the first from the run's start)."""
    from dataclasses import replace

    outs: list[EpochOutcome] = []
    warm: FloatArray | None = None
    for e, demand in enumerate(demands):
        seen = demand if warm is None else replace(demand, warm_at_start=warm)
        out = evaluator.evaluate(plan[e][None], seen, tail=tail)
        outs.append(out)
        warm = out.warm_at_end
    return outs


def horizon_totals(
    evaluator: FastEvaluator, demands: list[EpochDemand], plans: dict[str, FloatArray]
) -> pd.DataFrame:
    """Predicted horizon totals of each plan: TTFT mean (request-weighted) and p95 (over every
    request of the horizon, :func:`~slit.optimize.evaluator.ttft_quantile`), carbon, water,
    cost and the highest pool utilisation."""
    weight = np.array([d.rate_per_s.sum() * d.epoch_s for d in demands])
    busy = [e for e, d in enumerate(demands) if d.rate_per_s.any()]
    rows = []
    for name, plan in plans.items():
        outs = plan_outcomes(evaluator, demands, plan)
        tails = [outs[e].tail for e in busy]
        p95 = float(ttft_quantile(tails, 0.95)[0]) if tails else float("nan")  # type: ignore[arg-type]
        rows.append(
            {
                "plan": name,
                "ttft_s": float(
                    sum(o.ttft_mean_s[0] * w for o, w in zip(outs, weight, strict=True))
                    / max(weight.sum(), 1e-12)
                ),
                "ttft_p95_s": p95,
                "carbon_kg": float(sum(o.carbon_kg[0] for o in outs)),
                "water_l": float(sum(o.water_l[0] for o in outs)),
                "cost_usd": float(sum(o.cost_usd[0] for o in outs)),
                "max_utilization": float(max(o.max_utilization[0] for o in outs)),
            }
        )
    out = pd.DataFrame(rows)
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    f = out[list(OBJECTIVES)].to_numpy(float)
    nd = NonDominatedSorting().do(f, only_non_dominated_front=True)
    out["non_dominated"] = False
    out.loc[nd, "non_dominated"] = True
    return out
