"""Fidelity of the latency model against public GPU profiles, before and after calibration.

    python benchmarks/fidelity.py --from DATA_DIR [--json]

DATA_DIR is the raw data folder holding ``gpu_profiles/`` (not bundled with slit). Prints, per
GPU x model x metric, the MAPE, maximum absolute error (%) and number of points with the
default efficiencies and with efficiencies fitted per GPU, then the fitted parameters as
YAML-ready text. Writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

import pandas as pd

from slit.calibration import fit_efficiency, load_mlenergy, load_vidur_prefill
from slit.calibration.fit import ASSUMED_PROMPT_TOKENS, PREFILL_TOKENS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="data_dir", required=True, help="raw data folder")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--prompt-tokens",
        type=float,
        default=ASSUMED_PROMPT_TOKENS,
        help="assumed prompt length of ML.ENERGY requests (default %(default)s)",
    )
    args = parser.parse_args(argv)

    vidur = load_vidur_prefill(args.data_dir)
    mlenergy = load_mlenergy(args.data_dir)
    result = fit_efficiency(vidur, mlenergy, prompt_tokens=args.prompt_tokens)
    keys = ["gpu", "model", "metric"]
    table = result.before.merge(result.after, on=keys, suffixes=("_before", "_after"))
    table = table.drop(columns=["n_after"]).rename(columns={"n_before": "n"})

    if args.json:
        doc = {
            "prompt_tokens": args.prompt_tokens,
            "prefill_tokens": list(PREFILL_TOKENS),
            "rows": {"vidur": len(vidur), "mlenergy": len(mlenergy)},
            "errors": table.to_dict(orient="records"),
            "params": {gpu: asdict(p) for gpu, p in result.params.items()},
            "fitted_on": {gpu: list(m) for gpu, m in result.fitted.items()},
        }
        json.dump(doc, sys.stdout, indent=2)
        print()
        return 0

    print(f"Vidur dense prefill: {len(vidur)} rows; ML.ENERGY decode: {len(mlenergy)} rows")
    print(
        f"prefill: {PREFILL_TOKENS[0]}-{PREFILL_TOKENS[1]} tokens, dense part only (no attention,"
        " no all-reduce); decode: median ITL, context = "
        f"{args.prompt_tokens:g} + output/2 tokens (capped by KV capacity)\n"
    )
    cols = ["mape_pct", "max_abs_pct", "bias_pct"]
    shown = table[keys + [f"{c}_{s}" for s in ("before", "after") for c in cols] + ["n"]]
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(shown.round(1).to_string(index=False))
    print(
        "\n# fitted EfficiencyParams per GPU (data used: "
        + ", ".join(f"{g}: {'+'.join(m)}" for g, m in sorted(result.fitted.items()))
        + ")"
    )
    print(result.yaml_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
