"""SLIT against pymoo algorithms at an equal evaluation budget: hypervolume and IGD+.

    python benchmarks/optimizer_compare.py [--seeds 5] [--evaluations 2000] [--epochs 4]

For each seed and each of ``--epochs`` epochs of the bundled default scenario (spread over the
day), every algorithm solves the epoch problem with the same budget. Per epoch and seed, the
objectives of all algorithms' fronts are normalised between the ideal point and the nadir of
their union; hypervolume uses the reference point 1.1 in every objective and IGD+ measures the
distance to the union's non-dominated front (both from pymoo). Prints one JSON line: per
algorithm the mean and standard deviation over seeds of the epoch-averaged indicators, and the
mean wall time of one epoch decision.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from pymoo.indicators.hv import HV
from pymoo.indicators.igd_plus import IGDPlus
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from slit.optimize.demand import oracle_demands
from slit.optimize.evaluator import FastEvaluator
from slit.optimize.rolling import optimise_epoch
from slit.optimize.slit_algorithm import SlitGuide
from slit.scenario.loader import load_scenario

ALGORITHMS = ("slit", "nsga2", "moead", "random")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--pop-size", type=int, default=30)
    args = parser.parse_args()

    scenario = load_scenario(None)
    demands, models = oracle_demands(scenario)
    evaluator = FastEvaluator.from_scenario(scenario, models)
    picks = np.linspace(0, 95, args.epochs).astype(int)
    hv: dict[str, list[float]] = {a: [] for a in ALGORITHMS}
    igd: dict[str, list[float]] = {a: [] for a in ALGORITHMS}
    wall: dict[str, list[float]] = {a: [] for a in ALGORITHMS}
    for seed in range(args.seeds):
        per_hv = {a: [] for a in ALGORITHMS}
        per_igd = {a: [] for a in ALGORITHMS}
        guide = SlitGuide()  # SLIT learns over the epochs of one run, as in a rolling horizon
        for e in picks:
            fronts = {}
            for a in ALGORITHMS:
                t0 = time.perf_counter()
                fr = optimise_epoch(
                    evaluator,
                    demands[e],
                    int(e),
                    a,
                    args.evaluations,
                    args.pop_size,
                    1000 * seed + int(e),
                    context={"guide": guide},
                )
                wall[a].append(time.perf_counter() - t0)
                fronts[a] = fr.objectives
            union = np.vstack(list(fronts.values()))
            lo, hi = union.min(axis=0), union.max(axis=0)
            span = np.where(hi > lo, hi - lo, 1.0)
            ref_front = (union - lo) / span
            ref_front = ref_front[
                NonDominatedSorting().do(ref_front, only_non_dominated_front=True)
            ]
            hv_ind = HV(ref_point=np.full(union.shape[1], 1.1))
            igd_ind = IGDPlus(ref_front)
            for a, f in fronts.items():
                z = (f - lo) / span
                per_hv[a].append(float(hv_ind(z)))
                per_igd[a].append(float(igd_ind(z)))
        for a in ALGORITHMS:
            hv[a].append(float(np.mean(per_hv[a])))
            igd[a].append(float(np.mean(per_igd[a])))
    out = {
        "evaluations_per_epoch": args.evaluations,
        "pop_size": args.pop_size,
        "seeds": args.seeds,
        "epochs": [int(e) for e in picks],
        "hypervolume": {a: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1))
                            if len(v) > 1 else 0.0} for a, v in hv.items()},
        "igd_plus": {a: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1))
                         if len(v) > 1 else 0.0} for a, v in igd.items()},
        "epoch_wall_s": {a: float(np.mean(v)) for a, v in wall.items()},
    }  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
