"""How far the greedy shift plan is from the optimal one, and how long each takes.

    python benchmarks/shift_plan_gap.py [SCENARIO ...] [--set key=value ...]

For each scenario (default: the bundled ``deferrable`` scenario at hourly epochs), the shift
problem of ``slit optimize`` (:func:`slit.optimize.shifting.shift_problem`, on the oracle
demand and the true signals) is solved twice: by the greedy placement the optimiser uses
(:func:`~slit.optimize.shifting.greedy_shift`) and exactly, as a min-cost flow
(:func:`~slit.optimize.shifting.exact_shift`, a min-cost flow). Prints the cost of each
plan (in the score's unit x kWh), the greedy's gap to the optimum, the overflow and the wall
times.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from slit.inputs import compile_inputs
from slit.optimize.demand import demands_of
from slit.optimize.shifting import deferrable_lots, exact_shift, greedy_shift, shift_problem
from slit.scenario.loader import load_scenario


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenarios", nargs="*", default=["bundled:deferrable"])
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--objective", default="carbon")
    args = p.parse_args(argv)
    overrides = args.overrides or ["time.epoch_s=3600"]
    print("| scenario | lots | requests | greedy cost | optimal cost | gap | overflow "
          "(greedy / optimal) | greedy s | optimal s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.scenarios:
        scenario = load_scenario(name, overrides)
        inputs = compile_inputs(scenario)
        lots = deferrable_lots(inputs)
        interactive = np.stack([d.rate_per_s for d in demands_of(inputs, interactive_only=True)])
        pad = np.zeros((inputs.timeline.n_epochs - len(interactive),) + interactive.shape[1:])
        rate = np.concatenate([interactive, pad])
        sig = inputs.signals
        signals = {"carbon": sig.carbon_g_per_it_kwh, "water": sig.water_l_per_it_kwh,
                   "cost": sig.price_usd_per_it_mwh}  # fmt: skip
        cap = scenario.config.capacity
        problem = shift_problem(inputs, lots, rate, signals, objective=args.objective,
                                target_utilization=cap.target_utilization,
                                allowed=inputs.fleet.allowed)  # fmt: skip
        t0 = time.perf_counter()
        greedy = greedy_shift(problem)
        t1 = time.perf_counter()
        optimal = exact_shift(problem)
        t2 = time.perf_counter()
        cg, co = problem.total_cost(greedy.released), problem.total_cost(optimal.released)
        n_lots = int((lots > 0).sum())
        print(f"| {name} {' '.join(overrides)} | {n_lots:,} | {int(lots.sum()):,} | {cg:.6g} | "
              f"{co:.6g} | {100 * (cg / co - 1):+.2f} % | {greedy.overflow_requests:,.0f} / "
              f"{optimal.overflow_requests:,.0f} | {t1 - t0:.2f} | {t2 - t1:.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
