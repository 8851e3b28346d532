"""Every registered algorithm at an equal evaluation budget: hypervolume, IGD+, paired wins.

    python benchmarks/optimizer_compare.py [--scenarios default capacity-bound] [--seeds 5]
        [--evaluations 2000] [--epochs 4] [--pop-size 40] [--algorithms NAME ...] [--json]

For each scenario, seed and algorithm, the rolling optimiser solves ``--epochs`` consecutive
epochs around the day's busiest one, as ``slit optimize`` does: the scenario's TTFT SLO as a
per-origin p95 constraint, SLIT's demand forecast, and what an algorithm keeps from one epoch
to the next (SLIT's guide; the previous epoch's final population, offered to every algorithm
as part of its initial population). Every algorithm gets exactly ``--evaluations`` evaluations
per epoch (the problem refuses more, :class:`slit.optimize.problem.EpochProblem`).

**Shared normalisation.** Per scenario, seed and epoch, the fronts of all algorithms are
normalised together, between the ideal point and the nadir of their union's non-dominated
set; hypervolume uses the reference point 1.1 in every objective, and IGD+ the distance to the
union's non-dominated front (both from pymoo). An infeasible front (no member meets the
constraints) scores hypervolume 0. Prints, per scenario and algorithm, the median over seeds
of the epoch-averaged hypervolume and IGD+, the interquartile range, the paired wins of SLIT
(problems, i.e. seed x epoch, where SLIT's hypervolume is higher) and the mean wall time of
one epoch decision.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from slit.inputs import compile_inputs
from slit.optimize.algorithms import algorithm_names
from slit.optimize.demand import demands_of
from slit.optimize.evaluator import FastEvaluator
from slit.optimize.forecast import make_forecaster
from slit.optimize.indicators import shared_indicators
from slit.optimize.problem import OBJECTIVES
from slit.optimize.rolling import optimise_epoch
from slit.optimize.slit_algorithm import SlitGuide
from slit.scenario.loader import load_scenario


def available_algorithms() -> list[str]:
    """Every registered algorithm that can run here (AGE-MOEA2 needs numba)."""
    names = list(algorithm_names())
    try:
        import numba  # noqa: F401
    except ImportError:
        names = [n for n in names if n != "agemoea2"]
    return names


def solve_sequence(
    scenario_demands: list[Any], evaluator: FastEvaluator, epochs: list[int], algorithm: str,
    evaluations: int, pop_size: int, seed: int, slo_s: float, warm_start: bool = True,
) -> tuple[list[np.ndarray], list[float]]:  # fmt: skip
    """One algorithm over consecutive epochs, as the rolling optimiser runs it; returns each
    epoch's feasible front (empty if none) and wall time."""
    predict = make_forecaster("slit")
    context: dict[str, object] = {"guide": SlitGuide()}
    if warm_start:
        context["warm_start"] = None  # the rolling optimiser keeps each final population here
    fronts, walls = [], []
    for e in epochs:
        true = scenario_demands[e]
        history = np.stack([d.rate_per_s for d in scenario_demands[:e]]) if e else None
        if history is not None:
            seen = replace(true, rate_per_s=predict(history, true.rate_per_s))
        else:
            seen = true
        t0 = time.perf_counter()
        fr = optimise_epoch(evaluator, seen, e, algorithm, evaluations, pop_size,
                            seed + 1009 * e, slo_s, context)  # fmt: skip
        walls.append(time.perf_counter() - t0)
        fronts.append(fr.objectives if fr.feasible else np.zeros((0, 4)))
    return fronts, walls


def compare(
    name: str, algorithms: list[str], seeds: int, evaluations: int, n_epochs: int,
    pop_size: int, warm_start: bool = True, seed_offset: int = 0,
) -> dict[str, Any]:  # fmt: skip
    scenario = load_scenario(f"bundled:{name}")
    inputs = compile_inputs(scenario)
    demands = demands_of(inputs)
    evaluator = FastEvaluator(inputs.fleet)
    busiest = int(np.argmax([d.rate_per_s.sum() for d in demands]))
    n_h = inputs.timeline.n_horizon_epochs
    start = int(np.clip(busiest - n_epochs // 2, 1, max(1, n_h - n_epochs)))
    epochs = list(range(start, min(n_h, start + n_epochs)))
    slo = scenario.config.slo.ttft_s
    hv: dict[str, list[list[float]]] = {a: [] for a in algorithms}
    igd: dict[str, list[list[float]]] = {a: [] for a in algorithms}
    wall: dict[str, list[float]] = {a: [] for a in algorithms}
    for seed in range(seed_offset, seed_offset + seeds):
        fronts = {}
        for a in algorithms:
            # "NAME:cold" is NAME without the warm start (for the ablation)
            algo, cold = a.removesuffix(":cold"), a.endswith(":cold")
            fronts[a], w = solve_sequence(demands, evaluator, epochs, algo, evaluations, pop_size,
                                          1000 * seed, slo, warm_start and not cold)  # fmt: skip
            wall[a] += w
            hv[a].append([])
            igd[a].append([])
        # one shared normalisation per epoch: slit compare's indicators
        tables = {
            a: pd.concat(
                [pd.DataFrame(f, columns=list(OBJECTIVES)).assign(epoch=e, feasible=True)
                 for e, f in zip(epochs, fronts[a], strict=True)],
                ignore_index=True,
            )
            for a in algorithms
        }  # fmt: skip
        scored = shared_indicators(tables, epochs).set_index(["run", "epoch"])
        for a in algorithms:
            hv[a][-1] += [float(scored.loc[(a, e), "hypervolume"]) for e in epochs]
            igd[a][-1] += [float(scored.loc[(a, e), "igd_plus"]) for e in epochs]
    ref = "slit" if "slit" in algorithms else algorithms[0]
    rows = {}
    for a in algorithms:
        per_seed = [float(np.mean(v)) for v in hv[a]]
        per_seed_igd = [float(np.nanmean(v)) for v in igd[a]]
        pairs = [(s, o) for hs, ho in zip(hv[ref], hv[a], strict=True)
                 for s, o in zip(hs, ho, strict=True)]  # fmt: skip
        rows[a] = {
            "hypervolume_median": float(np.median(per_seed)),
            "hypervolume_iqr": [float(np.percentile(per_seed, 25)),
                                float(np.percentile(per_seed, 75))],
            "igd_plus_median": float(np.median(per_seed_igd)),
            f"{ref}_wins": sum(s > o for s, o in pairs),
            f"{ref}_ties": sum(s == o for s, o in pairs),
            "problems": len(pairs),
            "epoch_wall_s": float(np.mean(wall[a])),
        }  # fmt: skip
    return {"scenario": name, "epochs": epochs, "seeds": seeds, "evaluations_per_epoch":
            evaluations, "pop_size": pop_size, "ttft_slo_s": slo, "warm_start": warm_start,
            "seed_offset": seed_offset,
            "algorithms": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["default", "capacity-bound"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument(
        "--seed-offset", type=int, default=100,
        help="first seed (SLIT's settings were chosen on seeds 0 and 1)",
    )  # fmt: skip
    parser.add_argument("--pop-size", type=int, default=40)
    parser.add_argument(
        "--algorithms", nargs="+", default=None,
        help="default: every registered algorithm that can run here; NAME:cold runs NAME "
        "without the warm start",
    )  # fmt: skip
    parser.add_argument(
        "--warm-start", action=argparse.BooleanOptionalAction, default=True,
        help="seed each epoch with the previous epoch's final population",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON line per scenario only")
    args = parser.parse_args(argv)
    algorithms = args.algorithms or available_algorithms()
    for name in args.scenarios:
        out = compare(name, algorithms, args.seeds, args.evaluations, args.epochs, args.pop_size,
                      args.warm_start, args.seed_offset)
        print(json.dumps(out), flush=True)
        if not args.json:
            ref = "slit" if "slit" in algorithms else algorithms[0]
            print(f"# {name}: epochs {out['epochs']}, {args.seeds} seeds")
            order = sorted(out["algorithms"].items(), key=lambda kv: -kv[1]["hypervolume_median"])
            for a, r in order:
                print(f"  {a:13s} HV {r['hypervolume_median']:.3f} "
                      f"[{r['hypervolume_iqr'][0]:.3f}, {r['hypervolume_iqr'][1]:.3f}]  "
                      f"IGD+ {r['igd_plus_median']:.3f}  {ref} wins {r[f'{ref}_wins']}/"
                      f"{r['problems']}  {r['epoch_wall_s']:.2f} s/epoch")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
