"""``slit optimize``: rolling optimisation, validation in the simulator, and the output tables.

Outputs (DESIGN.md §5):

* ``pareto.csv``: predicted horizon totals of the non-dominated plans (decision variants and
  weight vectors), one row each;
* ``fronts.csv``: every epoch's front (epoch, member, the four objectives);
* ``plans/<name>.csv``: each plan's allocation (epoch, origin, datacenter, share);
* ``validated.csv``: every decision variant and every baseline replayed in the simulator with
  the same seed (common random numbers), with the evaluator's prediction beside the plans;
* ``indicators.json``: per-epoch hypervolume, the evaluator's error against the simulator on
  the replayed plans, and wall times.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pymoo.core.algorithm import Algorithm

from slit.errors import SlitError
from slit.optimize.decide import VARIANTS
from slit.optimize.evaluator import FloatArray
from slit.optimize.problem import OBJECTIVES
from slit.optimize.rolling import HorizonResult, optimise_horizon
from slit.scenario.loader import Scenario

if TYPE_CHECKING:
    from slit.sim.results import SimResult

BASELINES = (
    "nearest", "round_robin", "least_loaded", "lowest_carbon", "lowest_water", "lowest_cost",
    "helix", "splitwise", "consolidate",
)  # fmt: skip
"""Routing policies replayed beside the optimised plans, all with the same serving mode as the
plans (``phase_split`` of :func:`run_optimize`); consolidate, carbon-blind packing, separates
what packing saves from what carbon-aware routing saves."""


VALIDATED_METRICS = (
    "requests",
    "dropped",
    "ttft_mean_s",
    "ttft_p95_s",
    "tpot_p95_s",
    "slo_attainment",
    "deadline_misses",
    "energy_kwh",
    "carbon_kg",
    "water_l",
    "cost_usd",
    "carbon_operational_kg",
    "carbon_embodied_kg",
)
"""The simulated metrics of each replay in ``validated.csv`` (see ``summary_metrics``);
``carbon_kg`` is the sum of its operational and embodied parts."""

REPLAY_KEPT = "balanced"
"""The decision variant whose replay is written in full (summary, requests, time series), as
``slit run`` writes them, so an optimisation folder can be plotted and reported like a run."""


@dataclass(frozen=True)
class OptimizeResult:
    """Everything one ``slit optimize`` produced (the files of its folder, module doc).

    Attributes:
        pareto: predicted horizon totals of the non-dominated plans, one row each.
        fronts: every epoch's front (epoch, member, the four objectives, feasibility).
        convergence: hypervolume by epoch and generation.
        plans: per plan name, its allocation (epoch, origin, datacenter, share).
        validated: every decision variant and baseline replayed in the simulator, with the
            evaluator's prediction beside the plans.
        validated_datacenters: the same replays by datacenter.
        indicators: hypervolumes, the evaluator's error against the simulator, the options and
            wall times (``indicators.json``).
        replay: the balanced plan's replay (written as ``slit run`` writes a run).
    """

    pareto: pd.DataFrame
    fronts: pd.DataFrame
    convergence: pd.DataFrame
    plans: dict[str, pd.DataFrame]
    validated: pd.DataFrame
    validated_datacenters: pd.DataFrame
    indicators: dict[str, Any]
    replay: SimResult

    @property
    def hypervolume_mean(self) -> float:
        """Mean hypervolume of the fronts of the epochs with arrivals (normalised objectives,
        reference 1.1; NaN when no epoch had any)."""
        value = self.indicators["hypervolume_mean"]
        return float("nan") if value is None else float(value)


def _simulate_one(args: tuple[Any, ...]) -> dict[str, Any]:
    """Worker: one replay (runs in a separate process, so it takes plain data).

    Returns ``row`` (the line of ``validated.csv``), ``per_datacenter`` (lines of
    ``validated_datacenters.csv``) and, when ``keep`` is set, the whole ``result``."""
    from slit.scenario.loader import scenario_from_dict
    from slit.sim.policies import Plan
    from slit.sim.results import slo_windows_met, summary_metrics
    from slit.sim.simulate import simulate

    raw, name, plan, seed, keep, shift, capacity, spill = args
    raw = copy.deepcopy(raw)  # in one process the jobs share the dict
    # every replay, plan or baseline, runs with the same serving options (the scenario's, or
    # the phase split set for all by run_optimize): no policy is given a serving mode the
    # others lack
    if capacity is not None:  # the plan's own powered replicas, epoch by epoch
        raw["capacity"] = {**raw.get("capacity", {}), "policy": "plan", "epochs": capacity}
    scenario = scenario_from_dict(raw)
    policy: Any = name
    if plan is not None:
        from slit.sim.policies import PlanSpill

        policy = PlanSpill(matrix=plan) if spill else Plan(matrix=plan)
    deferral = None
    if shift is not None and plan is not None:
        from slit.sim.deferral import PlannedRelease

        deferral = PlannedRelease(shift.fractions, shift.score, shift.margin_s)
    result = simulate(scenario, policy, seed=seed, deferral=deferral)
    s = result.summary
    kind = ("live" if spill else "plan") if plan is not None else "baseline"
    metrics = summary_metrics(s)
    row = {"name": name, "kind": kind, **{k: metrics[k] for k in VALIDATED_METRICS}}
    cfg = scenario.config
    # the SLO read in every epoch and origin, as the optimiser's default constraint reads it
    row["ttft_slo_windows_met"] = slo_windows_met(result.requests, cfg.time.epoch_s, cfg.slo.ttft_s)
    per_dc = [
        {"name": name, "kind": kind, "datacenter": dc,
         **{k: v[k] for k in ("requests", "energy_kwh", "carbon_kg", "water_l", "cost_usd",
                               "gpu_utilization", "carbon_operational_kg",
                               "carbon_embodied_kg")}}
        for dc, v in s["per_datacenter"].items()
    ]  # fmt: skip
    return {"row": row, "per_datacenter": per_dc, "result": result if keep else None}


EVALUATOR_CHECKED = ("ttft_mean_s", "ttft_p95_s", "carbon_kg", "water_l", "cost_usd")
"""What ``indicators.json`` compares between the evaluator and the simulator, plan by plan."""

EVALUATOR_TOLERANCE = {"carbon_kg": 0.10, "water_l": 0.10, "cost_usd": 0.10, "ttft_p95_s": 0.15}
"""The largest median relative error (over the replayed plans) the evaluator is held to."""

SIMULATED_FRONT_OBJECTIVES = ("ttft_p95_s", "carbon_kg", "water_l", "cost_usd")
"""What the simulated front is non-dominated on: the TTFT the SLO is set on (p95), carbon,
water and cost of the replay."""


def _number(value: Any) -> float:
    """``value`` as a float; NaN for a missing one (None)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _relative_error(predicted: Any, simulated: Any) -> float:
    """``predicted / simulated - 1``; NaN where either is missing or the simulated is 0 (a
    replay without the figure, e.g. no interactive request to take a TTFT of)."""
    p, q = _number(predicted), _number(simulated)
    return p / q - 1.0 if q != 0 and np.isfinite(p) and np.isfinite(q) else float("nan")


def _over(errors: dict[str, dict[str, float]], key: str, how: Any) -> float | None:
    """``how`` (max, median) of the absolute errors of ``key`` that exist, None if none."""
    values = [abs(e[key]) for e in errors.values() if np.isfinite(e[key])]
    return float(how(values)) if values else None


def front_subset(totals: pd.DataFrame, n: int | None) -> list[str]:
    """The weight-vector plans to replay: those the evaluator predicts non-dominated, at most
    ``n`` of them (None: all), spread along the front: the ``n`` with the largest crowding
    distance (pymoo's, on objectives normalised over the front; the extremes first)."""
    nd = totals[totals["non_dominated"] & ~totals["plan"].isin(VARIANTS)]
    names = [str(p) for p in nd["plan"]]
    if n is None or len(names) <= n:
        return names
    if n <= 0:
        return []
    from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

    f = nd[list(OBJECTIVES)].to_numpy(float)
    lo, hi = f.min(axis=0), f.max(axis=0)
    z = (f - lo) / np.where(hi > lo, hi - lo, 1.0)
    crowding = calc_crowding_distance(z)
    keep = sorted(np.argsort(-crowding, kind="stable")[:n])  # in weight order
    return [names[i] for i in keep]


def _with_copies(table: pd.DataFrame, same_as: dict[str, str]) -> pd.DataFrame:
    """``table`` (rows by ``name``) with a copy of the replayed plan's rows for every plan whose
    allocation equals it, in ``same_as`` order, then the other rows (the baselines)."""
    if table.empty:
        return table
    parts = [table[table["name"] == rep].assign(name=name) for name, rep in same_as.items()]
    rest = table[~table["name"].isin(set(same_as.values()))]
    return pd.concat([*parts, rest], ignore_index=True)


def simulated_front(
    totals: pd.DataFrame,
    validated: pd.DataFrame,
    plans: Sequence[str],
    slo_s: float,
    forecast: str,
) -> pd.DataFrame:
    """``pareto.csv``: every replayed plan with its simulated objectives and, beside them, the
    evaluator's prediction.

    Columns: ``plan``; the simulated ``ttft_s`` (mean), ``ttft_p95_s``, ``carbon_kg``,
    ``water_l``, ``cost_usd``, ``dropped``, ``slo_met_p95``; ``non_dominated``, recomputed on
    the simulated values (:data:`SIMULATED_FRONT_OBJECTIVES`); the prediction
    ``predicted_ttft_s``, ``predicted_ttft_p95_s``, ``predicted_carbon_kg``,
    ``predicted_water_l``, ``predicted_cost_usd``, ``predicted_max_utilization`` and
    ``predicted_non_dominated`` (among every plan the run built); the weights of weight-vector
    plans; and ``forecaster``."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    sim = validated[validated["kind"] == "plan"].drop_duplicates("name").set_index("name")
    pred = totals.set_index("plan")
    rows = []
    for name in plans:
        s = sim.loc[name].to_dict()
        p = pred.loc[name].to_dict()
        row: dict[str, Any] = {
            "plan": name,
            # NaN where the replay has no interactive request to take a TTFT of
            "ttft_s": _number(s["ttft_mean_s"]),
            "ttft_p95_s": _number(s["ttft_p95_s"]),
            "carbon_kg": float(s["carbon_kg"]),
            "water_l": float(s["water_l"]),
            "cost_usd": float(s["cost_usd"]),
            "dropped": int(s["dropped"]),
            "slo_met_p95": bool(_number(s["ttft_p95_s"]) <= slo_s),
            "predicted_ttft_s": float(p["ttft_s"]),
            "predicted_ttft_p95_s": float(p["ttft_p95_s"]),
            "predicted_carbon_kg": float(p["carbon_kg"]),
            "predicted_water_l": float(p["water_l"]),
            "predicted_cost_usd": float(p["cost_usd"]),
            "predicted_max_utilization": float(p["max_utilization"]),
            "predicted_non_dominated": bool(p["non_dominated"]),
        }
        for obj in OBJECTIVES:
            if f"weight_{obj}" in p:
                row[f"weight_{obj}"] = p[f"weight_{obj}"]
        rows.append(row)
    out = pd.DataFrame(rows)
    f = out[list(SIMULATED_FRONT_OBJECTIVES)].to_numpy(float)
    f = np.where(np.isfinite(f), f, np.inf)  # a replay without completions is dominated
    nd = NonDominatedSorting().do(f, only_non_dominated_front=True)
    out.insert(list(out.columns).index("slo_met_p95") + 1, "non_dominated", False)
    out.loc[nd, "non_dominated"] = True
    # every plan says what it knew of the demand: the oracle is perfect foresight, an upper
    # bound no deployed router reaches
    return out.assign(forecaster=forecast)


def forecast_label(forecaster: str) -> str:
    """How outputs name a demand forecaster: the oracle marked as the upper bound it is."""
    return "oracle (perfect foresight: upper bound)" if forecaster == "oracle" else forecaster


def _epoch_scales(result: HorizonResult) -> list[tuple[FloatArray, FloatArray]]:
    """Per epoch, the (ideal, span) that normalise objectives for the hypervolume: between the
    ideal point and the nadir of the final front and the nearest-datacenter schedule."""
    ev = result.evaluator
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    out = []
    for fr, demand in zip(result.fronts, result.demands, strict=True):
        nearest = ev.evaluate(np.eye(n_o, n_d)[None], demand).objectives()
        pts = np.vstack([fr.objectives, nearest])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        out.append((lo, np.where(hi > lo, hi - lo, 1.0)))
    return out


def finite_hypervolume(hv: Any, points: FloatArray) -> float:
    """``hv(points)`` over the rows with every objective finite (0 when none is): a NaN or an
    infinity would make the hypervolume code loop or return NaN."""
    pts = np.asarray(points, float)
    pts = pts[np.isfinite(pts).all(axis=1)] if pts.ndim == 2 else pts[:0]
    return float(hv(pts)) if len(pts) else 0.0


def hypervolumes(
    result: HorizonResult, scales: list[tuple[FloatArray, FloatArray]] | None = None
) -> list[float]:
    """Hypervolume of each epoch's front on objectives normalised to [0, 1] between the
    epoch's ideal point and its nadir over the front and the nearest-datacenter schedule;
    reference point 1.1 in every objective (pymoo's HV). ``scales``: from
    :func:`_epoch_scales`, when the caller has them already."""
    from pymoo.indicators.hv import HV

    hv = HV(ref_point=np.full(len(OBJECTIVES), 1.1))
    scales = _epoch_scales(result) if scales is None else scales
    return [finite_hypervolume(hv, (fr.objectives - lo) / span)
            for fr, (lo, span) in zip(result.fronts, scales, strict=True)]  # fmt: skip


def convergence_table(
    result: HorizonResult, scales: list[tuple[FloatArray, FloatArray]] | None = None
) -> pd.DataFrame:
    """Hypervolume of the population after every generation of every epoch (the final fronts'
    normalisation of :func:`hypervolumes`): columns epoch, generation, evaluations,
    hypervolume. Dominated and infeasible members add nothing, so it only rises to the epoch's
    final value when the algorithm keeps its best members."""
    from pymoo.indicators.hv import HV

    hv = HV(ref_point=np.full(len(OBJECTIVES), 1.1))
    scales = _epoch_scales(result) if scales is None else scales
    rows = []
    for fr, (lo, span) in zip(result.fronts, scales, strict=True):
        for g, (n_eval, f) in enumerate(fr.history):
            value = finite_hypervolume(hv, (f - lo) / span)
            rows.append({"epoch": fr.epoch, "generation": g + 1, "evaluations": n_eval,
                         "hypervolume": value})  # fmt: skip
    return pd.DataFrame(rows, columns=["epoch", "generation", "evaluations", "hypervolume"])


def run_optimize(
    scenario: Scenario,
    algorithm: str | Algorithm = "slit",
    *,
    evaluations: int = 2000,
    pop_size: int = 40,
    seed: int | None = None,
    jobs: int = 2,
    forecaster: str = "slit",
    signal_error: float = 0.0,
    time_budget_s: float | None = None,
    ttft_slo: bool = True,
    baselines: Sequence[str] = BASELINES,
    progress: Callable[[str, int, int], None] | None = None,
    termination: Any = None,
    front_replays: int | None = 10,
    warm_start: bool = True,
    phase_split: str = "scenario",
    slo_scope: str = "epoch",
    shift: bool = True,
    shift_objective: str = "balanced",
    spill_variants: Sequence[str] = ("balanced",),
    shift_solver: str = "greedy",
) -> OptimizeResult:
    """Optimise, validate and tabulate.

    Args:
        scenario: the scenario whose horizon is optimised epoch by epoch.
        algorithm: a registered algorithm (``slit list algorithms``) or a pymoo ``Algorithm``
            (each epoch solves a fresh copy).
        evaluations: evaluation budget per epoch, exact for every algorithm (ignored when
            ``time_budget_s`` or ``termination`` is set).
        pop_size: population size.
        seed: random seed (default: the scenario's); also the seed of every replay.
        jobs: processes for the replays in the simulator.
        forecaster: demand forecaster (``slit``, SLIT's predictor, by default; ``oracle`` is
            perfect foresight, an upper bound, and is labelled so in every output; ``seasonal``,
            ``last``).
        signal_error: relative noise on the carbon, water and price the optimiser sees.
        time_budget_s: wall-clock budget per epoch, in seconds.
        ttft_slo: honour the scenario's TTFT SLO (``slo.ttft_s``): in every epoch, each
            origin's predicted TTFT p95 within it (a constraint of every epoch's problem,
            :class:`~slit.optimize.problem.EpochProblem`). False leaves TTFT to the objectives.
        slo_scope: ``"epoch"`` (the SLO holds in every epoch) or ``"horizon"`` (over the
            whole horizon, each plan spending a budget of late requests as it goes; see
            :func:`~slit.optimize.rolling.optimise_horizon`).
        baselines: routing policies replayed beside the plans (default :data:`BASELINES`).
        progress: called with (stage, done, total).
        termination: a pymoo termination per epoch (an object or its tuple form, e.g.
            ``("n_gen", 50)``) instead of the evaluation budget.
        front_replays: how many weight-vector plans the evaluator predicts non-dominated are
            replayed beside the six decision variants (:func:`front_subset`; None: all).
        phase_split: the serving mode of every replay, plans and baselines alike:
            ``"scenario"`` (each datacenter's own ``phase_split``), ``"on"`` or ``"off"`` (in
            every datacenter), or ``"by_gpu"`` (on everywhere, with Splitwise-HA's roles: an
            LLM's pools on its fastest GPU type prefill, the others decode). The evaluator
            models colocated serving either way.
        warm_start: seed each epoch's initial population with the previous epoch's final
            population (:func:`~slit.optimize.rolling.optimise_horizon`).
        shift: with deferrable requests, plan when and where they are served
            (:mod:`slit.optimize.shifting`, minimising ``shift_objective``: ``carbon``,
            ``water``, ``cost`` or ``balanced``) and replay every plan with those releases;
            False serves them as they arrive. Baselines run with the scenario's own
            ``routing.deferral``. ``shift_solver``: ``greedy`` (default) or ``exact`` (a
            min-cost flow; slower, see :func:`~slit.optimize.shifting.exact_shift`).
        spill_variants: decision variants also replayed under live control, as
            ``<variant>+spill`` rows (:class:`~slit.sim.policies.PlanSpill`: the plan, with
            requests spilled elsewhere when the planned datacenter's queue would break the
            SLO); empty for none.

    Returns:
        an :class:`OptimizeResult`: the tables of the folder ``slit optimize`` writes and the
        :class:`~slit.sim.results.SimResult` of the balanced plan's replay.
    """
    from slit.sim.policies import policy_names

    if phase_split not in ("scenario", "on", "off", "by_gpu"):
        raise SlitError(
            f"phase_split must be 'scenario', 'on', 'off' or 'by_gpu', not {phase_split!r}"
        )
    bad = [v for v in spill_variants if v not in VARIANTS]
    if bad:
        raise SlitError(f"unknown decision variant {bad[0]!r} to replay with spill; valid: "
                        f"{', '.join(VARIANTS)}")  # fmt: skip
    unknown = [b for b in baselines if b not in policy_names()]
    if unknown:
        raise SlitError(f"unknown baseline policy {unknown[0]!r}; valid: "
                        f"{', '.join(policy_names())}")  # fmt: skip
    seed = scenario.config.seed if seed is None else seed
    t0 = time.perf_counter()
    slo = scenario.config.slo.ttft_s
    result = optimise_horizon(
        scenario, algorithm, evaluations=evaluations, pop_size=pop_size, seed=seed,
        forecaster=forecaster, signal_error=signal_error, time_budget_s=time_budget_s,
        ttft_slo_s=slo if ttft_slo else None,
        progress=(lambda i, n: progress("optimising", i, n)) if progress else None,
        termination=termination, warm_start=warm_start, slo_scope=slo_scope,
        shift=shift, shift_objective=shift_objective, shift_solver=shift_solver,
    )  # fmt: skip
    t_opt = time.perf_counter() - t0

    totals = result.totals
    # the plans replayed in the simulator: every decision variant and every plan the evaluator
    # predicts non-dominated, each distinct allocation once (a weight vector often picks the
    # same members as a variant: its replay is that variant's)
    candidates = list(VARIANTS) + front_subset(totals, front_replays)
    same_as: dict[str, str] = {}
    for name in candidates:
        same_as[name] = next(
            (k for k in same_as.values() if np.array_equal(result.plans[k], result.plans[name])),
            name,
        )
    distinct = list(dict.fromkeys(same_as.values()))
    fronts = pd.concat(
        [pd.DataFrame(fr.objectives, columns=list(OBJECTIVES)).assign(epoch=fr.epoch,
                                                                        feasible=fr.feasible)
         .reset_index(names="member") for fr in result.fronts], ignore_index=True)  # fmt: skip
    ev = result.evaluator
    plan_tables = {}
    for name, plan in result.plans.items():
        e, o, d = np.meshgrid(range(plan.shape[0]), range(plan.shape[1]), range(plan.shape[2]),
                              indexing="ij")  # fmt: skip
        plan_tables[name] = pd.DataFrame({
            "epoch": e.ravel(), "origin": np.array(ev.region_ids)[o.ravel()],
            "datacenter": np.array(ev.datacenter_ids)[d.ravel()], "share": plan.ravel(),
        })  # fmt: skip

    # capacity control: each plan's powered replicas per epoch, per datacenter and LLM
    capacity_tables: dict[str, list[dict[str, dict[str, int]]]] = {}
    for name in distinct:
        powered = result.powered(name)
        if powered is None:
            continue
        rows = []
        for e in range(powered.shape[0]):
            table: dict[str, dict[str, int]] = {}
            for k, pool in enumerate(ev.pools):
                dc_id = ev.datacenter_ids[pool.datacenter]
                row = table.setdefault(dc_id, {})
                row[pool.model_id] = row.get(pool.model_id, 0) + int(round(powered[e, k]))
            rows.append(table)
        capacity_tables[name] = rows
        plan_tables[f"{name}_capacity"] = pd.DataFrame(
            [{"epoch": e, "datacenter": dc, "model": m, "powered_replicas": n}
             for e, t in enumerate(rows) for dc, r in t.items() for m, n in r.items()])  # fmt: skip
    if result.shift is not None:
        rel = result.shift.released
        e, o, m, d = np.nonzero(rel)
        plan_tables["shift"] = pd.DataFrame({
            "epoch": e, "origin": np.array(ev.region_ids)[o],
            "model": np.array(ev.model_ids)[m], "datacenter": np.array(ev.datacenter_ids)[d],
            "planned_requests": rel[e, o, m, d],
            "fraction_of_backlog": result.shift.fractions[e, o, m, d],
        })  # fmt: skip
    raw = scenario.resolved_dict()
    if phase_split != "scenario":
        raw = copy.deepcopy(raw)
        for dc in raw["datacenters"]:
            split = dc.setdefault("phase_split", {})
            split["enabled"] = phase_split in ("on", "by_gpu")
            if phase_split == "by_gpu":
                split["roles"] = "by_gpu"
    jobs_list: list[tuple[Any, ...]] = [
        (raw, v, result.plans[v], seed, v == REPLAY_KEPT, result.shift,
         capacity_tables.get(v), False)
        for v in distinct
    ]  # fmt: skip
    # the same plans under live control: plan+spill sends a request elsewhere when the
    # planned datacenter's queue would break the SLO
    jobs_list += [
        (raw, f"{v}+spill", result.plans[v], seed, False, result.shift, capacity_tables.get(v),
         True)
        for v in spill_variants
    ]  # fmt: skip
    jobs_list += [(raw, b, None, seed, False, None, None, False) for b in baselines]
    t1 = time.perf_counter()
    replays = []
    if jobs > 1:
        from slit.processes import worker_pool

        with worker_pool(jobs) as pool:
            for i, rep in enumerate(pool.map(_simulate_one, jobs_list)):
                replays.append(rep)
                if progress:
                    progress("validating", i + 1, len(jobs_list))
    else:
        for i, job in enumerate(jobs_list):
            replays.append(_simulate_one(job))
            if progress:
                progress("validating", i + 1, len(jobs_list))
    validated = _with_copies(pd.DataFrame([r["row"] for r in replays]), same_as)
    validated_dc = _with_copies(
        pd.DataFrame([d for r in replays for d in r["per_datacenter"]]), same_as
    )
    replay = next(r["result"] for r in replays if r["result"] is not None)
    validated["ttft_slo_met_p95"] = validated["ttft_p95_s"] <= slo
    validated["forecaster"] = np.where(validated["kind"] != "baseline",
                                       forecast_label(forecaster), "")  # fmt: skip
    pred = totals.set_index("plan")
    errors: dict[str, dict[str, float]] = {}
    for key, col in (("ttft_mean_s", "ttft_s"), ("ttft_p95_s", "ttft_p95_s"),
                     ("carbon_kg", "carbon_kg"), ("water_l", "water_l"),
                     ("cost_usd", "cost_usd")):  # fmt: skip
        validated[f"predicted_{key}"] = (
            validated["name"].map(pred[col]).where(validated["kind"] == "plan")
        )
    for r in validated[validated["kind"] == "plan"].itertuples():
        errors[str(r.name)] = {
            key: _relative_error(getattr(r, f"predicted_{key}"), getattr(r, key))
            for key in EVALUATOR_CHECKED
        }
    t_val = time.perf_counter() - t1
    pareto = simulated_front(totals, validated, candidates, slo, forecast_label(forecaster))
    scales = _epoch_scales(result)  # shared by the per-epoch and per-generation hypervolumes
    hv_epochs = hypervolumes(result, scales)
    # epochs the algorithm searched: not the drain, and not an epoch whose forecast was empty
    # (the first one, before any history): there the front is the nearest schedule alone
    decided = [e for e, fr in enumerate(result.fronts) if fr.evaluations > 1]
    indicators = {
        "algorithm": algorithm if isinstance(algorithm, str) else type(algorithm).__name__,
        "termination": None if termination is None else repr(termination),
        "front_replays": front_replays,
        "evaluations_per_epoch": evaluations,
        "pop_size": pop_size,
        "seed": seed,
        "forecaster": forecaster,
        "signal_error": signal_error,
        "warm_start": warm_start,
        "phase_split": phase_split,
        "slo_scope": slo_scope,
        "shift": result.meta.get("shift"),
        "shift_objective": result.meta.get("shift_objective"),
        "shift_solver": result.meta.get("shift_solver"),
        "shift_overflow_requests": result.meta.get("shift_overflow_requests"),
        "capacity_control": result.evaluator.capacity_target is not None,
        "time_budget_s": time_budget_s,
        "ttft_slo_s": slo if ttft_slo else None,
        "epochs": len(result.fronts),
        "hypervolume_per_epoch": hv_epochs,
        # drain epochs have no arrivals and nothing to decide: their front is one point, which
        # scores the trivial maximum, so the mean leaves them out
        "hypervolume_epochs": decided,
        "hypervolume_mean": float(np.mean([hv_epochs[e] for e in decided])) if decided else None,
        "hypervolume_reference": "objectives normalised per epoch between the ideal point and "
        "the nadir of the front and the nearest-datacenter schedule; reference point 1.1",
        "evaluator_relative_error": errors,
        # (None where no replay has the figure, e.g. TTFT when every request is deferrable)
        "evaluator_max_abs_error": {
            key: _over(errors, key, np.max) for key in EVALUATOR_CHECKED
        } if errors else {},
        # the acceptance figures: the median over the replayed plans of the absolute relative
        # error, and whether it is within EVALUATOR_TOLERANCE
        "evaluator_median_abs_error": {
            key: _over(errors, key, np.median) for key in EVALUATOR_CHECKED
        } if errors else {},
        "evaluator_within_tolerance": {
            key: (None if (m := _over(errors, key, np.median)) is None else bool(m <= tol))
            for key, tol in EVALUATOR_TOLERANCE.items()
        } if errors else {},
        "evaluator_tolerance": EVALUATOR_TOLERANCE,
        "wall_s": {"optimise": t_opt, "validate": t_val,
                   "per_epoch_mean": float(np.mean([f.wall_s for f in result.fronts]))},
    }  # fmt: skip
    return OptimizeResult(
        pareto=pareto,
        fronts=fronts,
        convergence=convergence_table(result, scales),
        plans=plan_tables,
        validated=validated,
        validated_datacenters=validated_dc,
        indicators=indicators,
        replay=replay,
    )
