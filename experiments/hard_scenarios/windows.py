"""How many (epoch, origin) windows of a run meet the TTFT SLO at p95.

    python experiments/hard_scenarios/windows.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a `slit run` or `slit optimize` folder (for the latter, its balanced replay).
Prints the run's TTFT p95 over all its requests, the share of its (epoch, origin) windows
whose p95 is within the scenario's SLO (`slit.sim.results.slo_windows_met`, the SLO as the
optimiser's default `--slo-scope epoch` reads it) and the number of epochs whose p95 over all
origins exceeds the SLO.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from slit.sim.results import slo_windows_met


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    for folder in args.folders:
        cfg = yaml.safe_load((folder / "config.resolved.yaml").read_text(encoding="utf-8"))
        slo, epoch_s = float(cfg["slo"]["ttft_s"]), float(cfg["time"]["epoch_s"])
        req = pd.read_parquet(folder / "requests.parquet",
                              columns=["arrival_s", "origin", "ttft_s"])  # fmt: skip
        ttft = req["ttft_s"].to_numpy(dtype=float)
        ttft = np.where(np.isnan(ttft), np.inf, ttft)
        epoch = (req["arrival_s"].to_numpy(dtype=float) // epoch_s).astype(np.int64)
        late = pd.Series(ttft > slo).groupby(epoch).mean()
        print(f"{folder}: p95 {np.quantile(ttft, 0.95):.3f} s; (epoch, origin) windows within "
              f"the SLO {100 * slo_windows_met(req, epoch_s, slo):.1f} %; epochs with p95 above "
              f"it {int((late > 0.05).sum())} of {len(late)}")  # fmt: skip


if __name__ == "__main__":
    main()
