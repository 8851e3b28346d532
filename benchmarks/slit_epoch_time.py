"""Wall time of one SLIT epoch decision with 10 datacenters and 10 origins.

    python benchmarks/slit_epoch_time.py [--evaluations 2000] [--repeats 3]

The scenario is the bundled default with four more regions and datacenters (Texas, Ontario,
Tokyo, São Paulo), all with the default's pools. Prints one JSON line with the median wall time
of one epoch decision (2,000 evaluations, population 30) and the evaluator's throughput.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import FastEvaluator
from slit.optimize.rolling import optimise_epoch
from slit.optimize.slit_algorithm import SlitGuide
from slit.scenario.loader import load_scenario

EXTRA = [("us-south", "US-TEX-ERCO"), ("ca-east", "CA-ON"), ("ap-tokyo", "JP-TK"),
         ("sa-east", "BR-SP")]  # fmt: skip


def ten_datacenter_scenario():  # noqa: ANN201
    base = load_scenario(None, ["time.horizon_s=3600"])
    raw = base.resolved_dict()
    template = raw["datacenters"][0]
    for rid, zone in EXTRA:
        raw["regions"].append({"id": rid, "zone": zone})
        dc = dict(template, id=f"dc-{rid}", region=rid)
        raw["datacenters"].append(dc)
        raw["workload"]["origins"][rid] = 1.0
    from slit.scenario.loader import scenario_from_dict

    return scenario_from_dict(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenario = ten_datacenter_scenario()
    demands, models = oracle_demands(scenario)
    ev = FastEvaluator.from_scenario(scenario, models)
    n_o, n_d = len(ev.region_ids), len(ev.datacenter_ids)
    walls = []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        optimise_epoch(ev, demands[1], 1, "slit", args.evaluations, 30, seed=r,
                       context={"guide": SlitGuide()})  # fmt: skip
        walls.append(time.perf_counter() - t0)
    x = np.random.default_rng(0).dirichlet(np.ones(n_d), size=(100, n_o))
    ev.evaluate(x, demands[1])
    t0 = time.perf_counter()
    for _ in range(20):
        ev.evaluate(x, demands[1])
    per_eval = (time.perf_counter() - t0) / (20 * 100)
    print(json.dumps({"origins": n_o, "datacenters": n_d, "evaluations": args.evaluations,
                      "epoch_wall_s_median": statistics.median(walls), "epoch_wall_s": walls,
                      "evaluator_evaluations_per_s": 1.0 / per_eval}))  # fmt: skip


if __name__ == "__main__":
    main()
