"""Every LLM-Inference-Bench vLLM closed batch replayed through the simulator itself.

    python benchmarks/replay_closed_batches.py --from DATA_DIR [--gpu GPU ...] [--json]

DATA_DIR is the raw data folder holding ``gpu_profiles/`` (not bundled with slit). Fits every
GPU family as ``slit calibrate`` does, then runs each measured closed batch (B requests of L
tokens in and L out, all arriving at once) through ``slit.sim.simulate`` with the parameters
fitted to that run's software (vLLM of 2024), and through the calibration's closed form (KV
waves). Prints, per GPU x TP, the MAPE and signed bias of the batch latency for both, n, and how
many runs the simulator preempted in. The simulator admits requests by their current tokens and
preempts the newest when the cache fills, as vLLM does; the closed form waits for room for whole
requests. Writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd
from rich.progress import Progress

from slit.calibration.argonne import load_argonne_runs
from slit.calibration.joint import fit_all
from slit.calibration.pipeline import load_observations
from slit.calibration.replay import replay_runs


def summary(rep: pd.DataFrame, by: tuple[str, ...] = ("gpu", "tp")) -> pd.DataFrame:
    """MAPE and signed bias (%) of the simulator and the closed form per group, with n and the
    runs the simulator preempted in."""
    g = rep.assign(
        engine_abs=rep["engine_error_pct"].abs(),
        formula_abs=rep["formula_error_pct"].abs(),
        preempted=rep["preemptions"] > 0,
    ).groupby(list(by))
    return g.agg(
        engine_mape_pct=("engine_abs", "mean"),
        engine_bias_pct=("engine_error_pct", "mean"),
        formula_mape_pct=("formula_abs", "mean"),
        formula_bias_pct=("formula_error_pct", "mean"),
        n=("engine_abs", "size"),
        preempted_runs=("preempted", "sum"),
    ).reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--from", dest="data_dir", required=True, help="raw data folder")
    parser.add_argument("--gpu", nargs="+", default=None, help="only these GPU ids")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    fits = fit_all(load_observations(args.data_dir))
    runs = load_argonne_runs(args.data_dir)
    runs = runs[runs["framework"] == "vllm"]
    if args.gpu:
        runs = runs[runs["gpu"].isin(args.gpu)]
    with Progress(transient=True, disable=args.json) as bar:
        task = bar.add_task("replaying closed batches", total=len(runs))
        rep = replay_runs(runs, fits, progress=lambda i, n: bar.update(task, completed=i))
    wall_s = time.perf_counter() - t0
    table = summary(rep)
    kv_short = summary(rep[rep["waves"] > 1])
    if args.json:
        doc = {"runs": len(rep), "wall_s": wall_s,
               "by_gpu_tp": table.to_dict(orient="records"),
               "kv_short_by_gpu_tp": kv_short.to_dict(orient="records")}  # fmt: skip
        json.dump(doc, sys.stdout, indent=1, default=float)
        print()
        return 0
    with pd.option_context("display.width", 200, "display.precision", 1):
        print(f"{len(rep)} closed batches replayed in {wall_s:.0f} s")
        print("\nbatch latency, every run (engine = slit.sim.simulate; formula = KV waves)")
        print(table.to_string(index=False))
        print("\nruns whose batch does not fit the KV cache at full length (more than one wave)")
        print(kv_short.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
