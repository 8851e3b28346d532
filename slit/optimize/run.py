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
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from slit.optimize.decide import VARIANTS
from slit.optimize.problem import OBJECTIVES
from slit.optimize.rolling import HorizonResult, optimise_horizon
from slit.scenario.loader import Scenario

BASELINES = (
    "nearest", "round_robin", "least_loaded", "lowest_carbon", "lowest_water", "lowest_cost",
    "helix", "splitwise",
)  # fmt: skip
"""Routing policies replayed beside the optimised plans (splitwise with phase split on)."""


def _simulate_one(args: tuple[dict[str, Any], str, Any, int]) -> dict[str, Any]:
    """Worker: one replay (runs in a separate process, so it takes plain data)."""
    from slit.scenario.loader import scenario_from_dict
    from slit.sim.policies import Plan
    from slit.sim.simulate import simulate

    raw, name, plan, seed = args
    raw = copy.deepcopy(raw)  # in one process the jobs share the dict; each edits its own
    if name == "splitwise":
        for dc in raw["datacenters"]:
            dc.setdefault("phase_split", {})["enabled"] = True
    scenario = scenario_from_dict(raw)
    policy = Plan(matrix=plan) if plan is not None else name
    s = simulate(scenario, policy, seed=seed).summary
    return {
        "name": name,
        "kind": "plan" if plan is not None else "baseline",
        "requests": s["requests"],
        "dropped": s["dropped"],
        "ttft_mean_s": s["ttft_s"]["mean"],
        "ttft_p95_s": s["ttft_s"]["p95"],
        "tpot_p95_s": s["tpot_s"]["p95"],
        "slo_attainment": s["slo_attainment"],
        "energy_kwh": s["energy_kwh"],
        "carbon_kg": s["carbon_kg"],
        "water_l": s["water_l"],
        "cost_usd": s["cost_usd"],
    }


def hypervolumes(result: HorizonResult) -> list[float]:
    """Hypervolume of each epoch's front on objectives normalised to [0, 1] between the
    epoch's ideal point and its nadir over the front and the nearest-datacenter schedule;
    reference point 1.1 in every objective (pymoo's HV)."""
    from pymoo.indicators.hv import HV

    ev = result.evaluator
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    out = []
    for fr, demand in zip(result.fronts, result.demands, strict=True):
        nearest = ev.evaluate(np.eye(n_o, n_d)[None], demand).objectives()
        pts = np.vstack([fr.objectives, nearest])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        out.append(float(HV(ref_point=np.full(len(OBJECTIVES), 1.1))((fr.objectives - lo) / span)))
    return out


def run_optimize(
    scenario: Scenario,
    algorithm: str = "slit",
    *,
    evaluations: int = 2000,
    pop_size: int = 40,
    seed: int | None = None,
    jobs: int = 2,
    forecaster: str = "oracle",
    signal_error: float = 0.0,
    time_budget_s: float | None = None,
    ttft_slo: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Optimise, validate and tabulate; returns the tables and the indicators document."""
    seed = scenario.config.seed if seed is None else seed
    t0 = time.perf_counter()
    slo = scenario.config.slo.ttft_s
    result = optimise_horizon(
        scenario, algorithm, evaluations=evaluations, pop_size=pop_size, seed=seed,
        forecaster=forecaster, signal_error=signal_error, time_budget_s=time_budget_s,
        ttft_slo_s=slo if ttft_slo else None,
        progress=(lambda i, n: progress("optimising", i, n)) if progress else None,
    )  # fmt: skip
    t_opt = time.perf_counter() - t0

    totals = result.totals
    pareto = totals[totals["non_dominated"]].drop_duplicates(subset=list(OBJECTIVES))
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

    raw = scenario.resolved_dict()
    jobs_list = [(raw, v, result.plans[v], seed) for v in VARIANTS]
    jobs_list += [(raw, b, None, seed) for b in BASELINES]
    t1 = time.perf_counter()
    rows = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for i, row in enumerate(pool.map(_simulate_one, jobs_list)):
                rows.append(row)
                if progress:
                    progress("validating", i + 1, len(jobs_list))
    else:
        for i, job in enumerate(jobs_list):
            rows.append(_simulate_one(job))
            if progress:
                progress("validating", i + 1, len(jobs_list))
    validated = pd.DataFrame(rows)
    validated["ttft_slo_met_p95"] = validated["ttft_p95_s"] <= slo
    pred = totals.set_index("plan")
    errors: dict[str, dict[str, float]] = {}
    for key, col in (("ttft_mean_s", "ttft_s"), ("carbon_kg", "carbon_kg"),
                     ("water_l", "water_l"), ("cost_usd", "cost_usd")):  # fmt: skip
        validated[f"predicted_{key}"] = (
            validated["name"].map(pred[col]).where(validated["kind"] == "plan")
        )
    for r in validated[validated["kind"] == "plan"].itertuples():
        errors[r.name] = {
            key: float(getattr(r, f"predicted_{key}") / getattr(r, key) - 1.0)
            for key in ("ttft_mean_s", "carbon_kg", "water_l", "cost_usd")
        }
    t_val = time.perf_counter() - t1
    indicators = {
        "algorithm": algorithm,
        "evaluations_per_epoch": evaluations,
        "pop_size": pop_size,
        "seed": seed,
        "forecaster": forecaster,
        "signal_error": signal_error,
        "time_budget_s": time_budget_s,
        "ttft_slo_s": slo if ttft_slo else None,
        "epochs": len(result.fronts),
        "hypervolume_per_epoch": hypervolumes(result),
        "hypervolume_reference": "objectives normalised per epoch between the ideal point and "
        "the nadir of the front and the nearest-datacenter schedule; reference point 1.1",
        "evaluator_relative_error": errors,
        "evaluator_max_abs_error": {
            key: float(max(abs(e[key]) for e in errors.values()))
            for key in ("ttft_mean_s", "carbon_kg", "water_l", "cost_usd")
        } if errors else {},
        "wall_s": {"optimise": t_opt, "validate": t_val,
                   "per_epoch_mean": float(np.mean([f.wall_s for f in result.fronts]))},
    }  # fmt: skip
    return {
        "pareto": pareto,
        "fronts": fronts,
        "plans": plan_tables,
        "validated": validated,
        "indicators": indicators,
    }
