"""Fidelity of the latency and power models against public measurements, out of sample.

    python benchmarks/fidelity.py --from DATA_DIR [--json] [--hold-out tp|model ...]

DATA_DIR is the raw data folder holding ``gpu_profiles/`` (not bundled with slit). Fits every
GPU family on all its data (in-sample), then refits without each tensor-parallel degree and
without each model and predicts what was left out (held-out). Prints, per GPU x TP, the MAPE,
signed bias and n of prefill time, decode step time, average power and energy per output token,
held-out and in-sample, and whether each held-out cell meets its target. Writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd

from slit.calibration.joint import calibrate
from slit.calibration.pipeline import (
    TARGET_BIAS_PCT,
    TARGET_MAPE_PCT,
    acceptance_table,
    headline_table,
    load_observations,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--from", dest="data_dir", required=True, help="raw data folder")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--hold-out", nargs="+", default=["tp", "model"], choices=["tp", "model"],
        help="what a held-out fold leaves out (default: both, one after the other)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    obs = load_observations(args.data_dir)
    cal = calibrate(obs, tuple(args.hold_out))
    wall_s = time.perf_counter() - t0
    if args.json:
        doc = {
            "observations": int(len(obs)),
            "wall_s": wall_s,
            "targets": {"mape_pct": TARGET_MAPE_PCT, "abs_bias_pct": TARGET_BIAS_PCT},
            "in_sample": headline_table(cal.in_sample).to_dict(orient="records"),
            "held_out": {
                h: acceptance_table(cal, h).to_dict(orient="records") for h in args.hold_out
            },  # fmt: skip
            "fits": {
                f: {
                    "fitted": list(g.fitted),
                    "borrowed": list(g.borrowed),
                    "sources": list(g.sources),
                }
                for f, g in cal.fits.items()
            },  # fmt: skip
        }
        json.dump(doc, sys.stdout, indent=1, default=float)
        print()
        return 0
    print(f"{len(obs)} observations; fit and cross-validation in {wall_s:.0f} s")
    with pd.option_context("display.width", 200, "display.max_rows", None):
        for h in args.hold_out:
            table = acceptance_table(cal, h)
            print(f"\nheld out: each {h} predicted by a fit without it")
            print(table.round(1).to_string(index=False))
            print(f"cells meeting their target: {int(table['meets'].sum())} of {len(table)}")
        print("\nin-sample (fitted on everything)")
        print(headline_table(cal.in_sample).round(1).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
