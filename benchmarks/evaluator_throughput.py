"""Candidate evaluations per second of the fast evaluator: population 100, 10 origins × 10
datacenters.

    python benchmarks/evaluator_throughput.py [--population 100] [--repeats 50] [--slo-s S]

Evaluates random allocations (Dirichlet rows) of one busy epoch of the ten-datacenter scenario
(`bench_scenarios.py`) in calls of ``population`` candidates, as the optimiser does, and prints
one JSON line with the median evaluations per second over the calls. With ``--slo-s`` each
call also builds the TTFT distribution and the share of each origin's requests above the SLO,
as the epoch problem's p95 constraint does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from bench_scenarios import ten_datacenter_scenario

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import FastEvaluator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--slo-s", type=float, default=None, help="also the SLO constraint")
    args = parser.parse_args()
    scenario = ten_datacenter_scenario()
    demands, models = oracle_demands(scenario)
    ev = FastEvaluator.from_scenario(scenario, models)
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    demand = demands[1]
    x = np.random.default_rng(0).dirichlet(np.ones(n_d), size=(args.population, n_o))
    tail = args.slo_s is not None

    def call() -> None:
        out = ev.evaluate(x, demand, tail=tail)
        if out.tail is not None:
            out.tail.exceedance(args.slo_s)

    call()  # warm caches
    rates = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        call()
        rates.append(args.population / (time.perf_counter() - t0))
    print(json.dumps({"benchmark": "evaluator_throughput", "origins": n_o, "datacenters": n_d,
                      "population": args.population, "slo_s": args.slo_s,
                      "evaluations_per_s_median": statistics.median(rates),
                      "evaluations_per_s_min": min(rates),
                      "evaluations_per_s_max": max(rates)}))  # fmt: skip


if __name__ == "__main__":
    main()
