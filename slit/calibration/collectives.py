"""Vidur's measured all-reduce profiles -> the per-GPU, per-degree latency/bandwidth table.

Source: ``gpu_profiles/vidur/profiling/network/{a100,h100}_{dgx,pairwise_nvlink}/all_reduce.csv.gz``
(microsoft/vidur, MIT): NCCL all-reduce times (ms; min/max/mean/median/std over repeats) of a
message of ``size`` bytes among ``num_workers`` GPUs with ``devices_per_node`` of them in one
node. Only single-node groups (``devices_per_node == num_workers``) are kept: tensor
parallelism stays inside a node.

For each GPU x topology x degree the median time of every message size is fitted with the
alpha-beta (latency-bandwidth) line

    t(bytes) = alpha + bytes / bw

by least squares on relative error with a soft-L1 loss (the small-message times scatter by
tens of microseconds between repeats). The line keeps the decode and prefill time linear in the
tokens of an iteration, which the simulator's closed-form sums over decode iterations need.
The fit's own MAPE over the measured sizes is kept in the table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

VIDUR_NETWORK = Path("gpu_profiles") / "vidur" / "profiling" / "network"

#: Vidur network folder prefix -> slit GPU catalog ids measured by it. The A100 profiles
#: come from 80 GB A100 SXM nodes; the 40 GB part has the same NVLink 3 fabric.
NETWORK_GPUS: dict[str, tuple[str, ...]] = {
    "a100": ("a100-80gb", "a100-40gb"),
    "h100": ("h100-80gb",),
}

#: Topologies: ``dgx`` (NVSwitch, every GPU pair at full NVLink bandwidth; the HGX/DGX boards
#: the catalog's SXM GPUs sit on) and ``pairwise_nvlink`` (NVLink bridges between pairs).
TOPOLOGIES = ("dgx", "pairwise_nvlink")

TABLE_COLUMNS = (
    "gpu", "topology", "tp", "alpha_s", "bandwidth_gb_per_s", "fit_mape_pct", "sizes",
    "min_bytes", "max_bytes",
)  # fmt: skip


def fit_alpha_beta(size_bytes: np.ndarray, time_s: np.ndarray) -> tuple[float, float, float]:
    """``(alpha_s, bandwidth_bytes_per_s, mape_pct)`` of ``t = alpha + bytes / bw``."""
    x = np.asarray(size_bytes, float)
    y = np.asarray(time_s, float)

    def residuals(p: np.ndarray) -> np.ndarray:
        return (p[0] + x / p[1]) / y - 1.0

    sol = least_squares(
        residuals,
        [2e-5, 1e11],
        x_scale=[1e-5, 1e10],
        bounds=([0.0, 1e9], [1e-2, 1e13]),
        loss="soft_l1",
        f_scale=0.2,
    )
    mape = 100.0 * float(np.mean(np.abs(residuals(sol.x))))
    return float(sol.x[0]), float(sol.x[1]), mape


def derive_collective_table(data_dir: str | Path) -> pd.DataFrame:
    """The alpha-beta table of every measured GPU x topology x degree (see module doc)."""
    root = Path(data_dir) / VIDUR_NETWORK
    if not root.is_dir():
        raise FileNotFoundError(f"Vidur network profiles not found under {root}")
    rows = []
    for prefix, gpus in NETWORK_GPUS.items():
        for topology in TOPOLOGIES:
            path = root / f"{prefix}_{topology}" / "all_reduce.csv.gz"
            if not path.is_file():
                continue
            raw = pd.read_csv(path)
            raw = raw[raw["devices_per_node"] == raw["num_workers"]]
            for _, group in raw.groupby("num_workers"):
                tp = int(group["num_workers"].iloc[0])
                med = group.groupby("size")["time_stats.all_reduce.median"].median()
                x = med.index.to_numpy(float)
                alpha, bw, mape = fit_alpha_beta(x, med.to_numpy(float) / 1e3)
                for gpu in gpus:
                    rows.append(
                        {
                            "gpu": gpu,
                            "topology": topology,
                            "tp": tp,
                            "alpha_s": alpha,
                            "bandwidth_gb_per_s": bw / 1e9,
                            "fit_mape_pct": mape,
                            "sizes": len(x),
                            "min_bytes": int(x.min()),
                            "max_bytes": int(x.max()),
                        }
                    )
    out = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return out.sort_values(["gpu", "topology", "tp"], ignore_index=True)


def write_collective_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the table as CSV with 4 significant digits and a provenance header."""
    from slit.calibration.tables import write_commented_csv

    return write_commented_csv(
        table,
        path,
        "# All-reduce time t = alpha_s + bytes / (bandwidth_gb_per_s * 1e9), fitted by\n"
        "# `slit calibrate --write-collectives` to the median NCCL all-reduce times of\n"
        "# Vidur's network profiles (github:microsoft/vidur@7d475133, MIT), single-node groups.\n"
        "# fit_mape_pct: the line's own error over the `sizes` measured message sizes.\n",
    )
