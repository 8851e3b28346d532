"""How well the fast evaluator predicts what the simulator then measures, plan by plan.

    python benchmarks/evaluator_tail.py [--plans 12] [--seed 0] [--scenarios NAME ...] [--json]

For each scenario it draws random routing plans (a category, not one example): Dirichlet rows
mixed with nearest routing in random proportions, some constant over the horizon and some that
change every epoch, some concentrated on one datacenter; it scores every plan with the
evaluator (mean TTFT, TTFT p95 from the tail model, per-origin p95, carbon, water, cost) and
replays it in the simulator with the same seed (the same requests and signals). Prints, per
scenario, the median and largest relative error of each quantity over the plans, and the
relative error of each plan. Plans the evaluator calls overloaded (a pool above utilisation
0.95) are reported apart: their predicted TTFT is a placeholder, not a forecast.

Nothing here is fitted: the tail model has no free parameter, so every scenario is out of
sample. Scenarios: the bundled ones by name, plus ``azure-conv-real-grid`` when the real data
is present (``SLIT_DATA``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

import numpy as np

from slit.inputs import compile_inputs
from slit.optimize.demand import demands_of
from slit.optimize.evaluator import FastEvaluator, ttft_quantile
from slit.optimize.rolling import plan_outcomes
from slit.scenario.loader import load_scenario
from slit.sim.policies import Plan
from slit.sim.simulate import simulate

DEFAULT_SCENARIOS = ("one-hour", "carbon-aware", "capacity-bound", "default")
SHORTER = {
    "default": 6 * 3600, "capacity-bound": 3 * 3600, "carbon-aware": 6 * 3600,
    "residency": 6 * 3600,
}  # fmt: skip
"""Horizons cut to keep the run short (s); the regions, pools and signals are the scenario's."""


def random_plans(
    n: int, n_epochs: int, nearest: np.ndarray, rng: np.random.Generator, busiest: object
) -> list:
    """``n`` plans ``[epoch, origin, datacenter]``: nearest, then three kinds in turn: mixes of
    nearest and random rows (constant or per epoch, Dirichlet alpha 1 or 0.2), and packed
    plans that move load towards one random datacenter until the evaluator's busiest pool
    reaches a random utilisation in [0.6, 0.93] (the regime an optimiser pushes plans into).
    ``busiest(plan)`` is the evaluator's highest pool utilisation over the horizon."""
    n_o, n_d = nearest.shape
    plans = [np.broadcast_to(nearest, (n_epochs, n_o, n_d)).copy()]
    for i in range(n - 1):
        if i % 3 == 2:
            target = rng.uniform(0.6, 0.93)
            toward = np.zeros((n_o, n_d))
            toward[:, rng.integers(n_d)] = 1.0
            lo, hi = 0.0, 1.0
            if busiest(np.broadcast_to(toward, (n_epochs, n_o, n_d))) < target:  # type: ignore[operator]
                lo = hi = 1.0
            for _ in range(20):  # the share moved that reaches the target utilisation
                mid = (lo + hi) / 2
                mix = (1 - mid) * nearest + mid * toward
                if busiest(np.broadcast_to(mix, (n_epochs, n_o, n_d))) < target:  # type: ignore[operator]
                    lo = mid
                else:
                    hi = mid
            plan = (1 - lo) * nearest + lo * toward
            plans.append(np.broadcast_to(plan, (n_epochs, n_o, n_d)).copy())
            continue
        alpha = 0.2 if i % 3 == 0 else 1.0
        beta = rng.uniform(0.2, 1.0)
        per_epoch = i % 2 == 1
        rows = rng.dirichlet(np.full(n_d, alpha), size=(n_epochs if per_epoch else 1, n_o))
        plan = (1 - beta) * nearest[None] + beta * rows
        plans.append(np.broadcast_to(plan, (n_epochs, n_o, n_d)).copy())
    return plans


def score(name: str, n_plans: int, seed: int) -> dict:
    overrides = []
    if name in SHORTER:
        overrides.append(f"time.horizon_s={SHORTER[name]}")
    scenario = load_scenario(f"bundled:{name}", overrides)
    inputs = compile_inputs(scenario)
    demands = demands_of(inputs)
    ev = FastEvaluator(inputs.fleet)
    nearest = np.zeros((len(ev.region_ids), len(ev.datacenter_ids)))
    nearest[np.arange(len(ev.region_ids)), np.argmin(ev.rtt_s, axis=1)] = 1.0
    rng = np.random.default_rng(seed)
    rows = []
    weight = np.array([d.rate_per_s.sum() * d.epoch_s for d in demands])

    def busiest(plan: np.ndarray) -> float:
        return max(float(ev.evaluate(plan[e][None], d).max_utilization[0])
                   for e, d in enumerate(demands) if d.rate_per_s.any())  # fmt: skip

    for i, plan in enumerate(random_plans(n_plans, len(demands), nearest, rng, busiest)):
        outs = plan_outcomes(ev, demands, plan)
        busy = [o for o, d in zip(outs, demands, strict=True) if d.rate_per_s.any()]
        pred_p95 = float(ttft_quantile([o.tail for o in busy], 0.95)[0])  # type: ignore[misc]
        pred = {
            "ttft_mean_s": float(
                sum(o.ttft_mean_s[0] * w for o, w in zip(outs, weight, strict=True)) / weight.sum()
            ),
            "ttft_p95_s": pred_p95,
            "carbon_kg": float(sum(o.carbon_kg[0] for o in outs)),
            "water_l": float(sum(o.water_l[0] for o in outs)),
            "cost_usd": float(sum(o.cost_usd[0] for o in outs)),
        }
        util = float(max(o.max_utilization[0] for o in outs))
        res = simulate(scenario, Plan(matrix=plan))
        s = res.summary
        sim = {
            "ttft_mean_s": s["ttft_s"]["mean"], "ttft_p95_s": s["ttft_s"]["p95"],
            "carbon_kg": s["carbon_kg"], "water_l": s["water_l"], "cost_usd": s["cost_usd"],
        }  # fmt: skip
        err = {k: (pred[k] - sim[k]) / sim[k] for k in pred}
        # per origin: p95 over that origin's requests
        req = res.requests[res.requests["completed"]]
        per_origin = {}
        for o, region in enumerate(ev.region_ids):
            sim_o = req.loc[req["origin"] == region, "ttft_s"]
            if len(sim_o) < 50:
                continue
            tails = [_origin_tail(b.tail, o) for b in busy]
            p = float(ttft_quantile([t for t in tails if t is not None], 0.95)[0])
            per_origin[region] = (p - float(sim_o.quantile(0.95))) / float(sim_o.quantile(0.95))
        rows.append({"plan": i, "max_utilization": util, "predicted": pred, "simulated": sim,
                     "error": err, "origin_p95_error": per_origin})  # fmt: skip
    return {"scenario": name, "plans": rows}


def _origin_tail(tail, o):  # type: ignore[no-untyped-def]
    """The tail model restricted to one origin's requests."""
    from dataclasses import replace

    flow = np.zeros_like(tail.flow_per_s)
    flow[:, o] = tail.flow_per_s[:, o]
    return replace(tail, flow_per_s=flow) if flow.any() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--plans", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCENARIOS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = list(args.scenarios)
    if os.environ.get("SLIT_DATA") and args.scenarios == list(DEFAULT_SCENARIOS):
        names += ["azure-conv-real-grid", "residency"]
    report = []
    for name in names:
        r = score(name, args.plans, args.seed)
        report.append(r)
        ok = [p for p in r["plans"] if p["max_utilization"] < 0.95]
        line = {"scenario": name, "plans": len(r["plans"]), "not_overloaded": len(ok)}
        for key in ("ttft_mean_s", "ttft_p95_s", "carbon_kg", "water_l", "cost_usd"):
            errs = [abs(p["error"][key]) for p in ok]
            if errs:
                line[key] = {"median_abs_pct": round(100 * statistics.median(errs), 1),
                             "max_abs_pct": round(100 * max(errs), 1)}  # fmt: skip
        o_errs = [abs(v) for p in ok for v in p["origin_p95_error"].values()]
        if o_errs:
            line["origin_p95"] = {"median_abs_pct": round(100 * statistics.median(o_errs), 1),
                                  "max_abs_pct": round(100 * max(o_errs), 1)}  # fmt: skip
        print(json.dumps(line), flush=True)
        if not args.json:
            for p in r["plans"]:
                sim_p95, pred_p95 = p["simulated"]["ttft_p95_s"], p["predicted"]["ttft_p95_s"]
                print(f"   plan {p['plan']} util {p['max_utilization']:.2f}",
                      {k: round(100 * v, 1) for k, v in p["error"].items()},
                      f"p95 simulated {sim_p95:.3f} s, predicted {pred_p95:.3f} s")  # fmt: skip
    if args.json:
        json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
