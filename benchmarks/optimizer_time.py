"""Wall time of one SLIT epoch decision and of a full 24-hour rolling optimisation.

    python benchmarks/optimizer_time.py [--evaluations 2000] [--repeats 3] [--skip-day]

1. One epoch decision: SLIT with 2,000 evaluations and a population of 30, under the scenario's
   TTFT SLO (a per-origin p95 constraint, as `slit optimize` decides), on one epoch of the
   ten-datacenter scenario (`bench_scenarios.py`, 10 origins × 10 datacenters); the median of
   ``repeats`` decisions after a first one that also computes the reference directions (which a
   process does once).
2. The day: `optimise_horizon` on the bundled default scenario (97 epochs of 15 minutes,
   SLIT, 2,000 evaluations per epoch, population 40), the optimisation alone; and the whole of
   `slit optimize` (optimisation plus the 14 replays in the simulator on 2 processes).

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bench_scenarios import ten_datacenter_scenario

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import FastEvaluator
from slit.optimize.rolling import optimise_epoch, optimise_horizon
from slit.optimize.slit_algorithm import SlitGuide


def epoch_times(evaluations: int, repeats: int) -> tuple[float, list[float]]:
    scenario = ten_datacenter_scenario()
    demands, models = oracle_demands(scenario)
    ev = FastEvaluator.from_scenario(scenario, models)
    walls = []
    for r in range(repeats + 1):
        t0 = time.perf_counter()
        # as slit optimize decides: the scenario's TTFT SLO as a per-origin p95 constraint
        optimise_epoch(ev, demands[1], 1, "slit", evaluations, 30, seed=r,
                       ttft_slo_s=scenario.config.slo.ttft_s,
                       context={"guide": SlitGuide()})  # fmt: skip
        walls.append(time.perf_counter() - t0)
    return walls[0], walls[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-day", action="store_true", help="only the epoch decision")
    args = parser.parse_args()
    first, walls = epoch_times(args.evaluations, args.repeats)
    out = {"benchmark": "optimizer_time", "epoch_first_wall_s": first,
           "epoch_wall_s_median": statistics.median(walls), "epoch_wall_s": walls,
           "epoch_origins": 10, "epoch_datacenters": 10, "evaluations": args.evaluations}
    if not args.skip_day:
        from slit.optimize.run import run_optimize
        from slit.scenario.loader import load_scenario

        scenario = load_scenario(None)
        t0 = time.perf_counter()
        result = optimise_horizon(scenario, "slit", evaluations=args.evaluations, pop_size=40,
                                  ttft_slo_s=scenario.config.slo.ttft_s)  # fmt: skip
        out["day_optimise_wall_s"] = time.perf_counter() - t0
        out["day_epochs"] = len(result.fronts)
        t0 = time.perf_counter()
        run_optimize(scenario, "slit", evaluations=args.evaluations, pop_size=40, jobs=2)
        out["day_slit_optimize_wall_s"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
