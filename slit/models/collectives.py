"""Time of the tensor-parallel all-reduce: measured latency-bandwidth lines per GPU and degree.

A replica with tensor parallelism ``tp`` all-reduces the activations of every token twice per
decoder layer (after attention and after the MLP). One all-reduce of ``n`` bytes takes

    t_ar(n) = alpha_tp + n / bw_tp                                    (s)

with ``alpha_tp`` (s) and ``bw_tp`` (bytes/s, the algorithm bandwidth, i.e. message bytes over
time) fitted per GPU and degree to Vidur's measured NCCL all-reduce times
(``slit/data/catalog/collectives.csv``, written by :mod:`slit.calibration.collectives`).

GPU types or degrees without a measurement are estimated and say so (:attr:`AllReduceLine.source`):

* a degree between measured ones takes the nearest measured degree's ``alpha`` and the
  bandwidth interpolated linearly in ``tp`` (beyond the largest measured degree, the largest);
* a GPU without a profile takes, at each degree, the median ``alpha`` of the measured GPUs and
  the H100 bandwidth scaled by the ratio of the GPUs' interconnect bandwidths (NVLink 4 on
  H100: 900 GB/s; a PCIe part's 64 GB/s gives about 1/14 of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from slit.catalogue.gpus import GpuSpec, bundled_gpus

#: The topology the catalog's multi-GPU replicas are assumed to sit on (NVSwitch boards).
DEFAULT_TOPOLOGY = "dgx"
#: The measured GPU whose bandwidth is scaled for GPUs without a profile.
REFERENCE_GPU = "h100-80gb"


@dataclass(frozen=True)
class AllReduceLine:
    """``t = alpha_s + bytes / bandwidth_bytes_per_s`` of one all-reduce among ``tp`` GPUs.

    Attributes:
        alpha_s: fixed latency of one all-reduce (launch, synchronisation), s.
        bandwidth_bytes_per_s: message bytes moved per second at large sizes, bytes/s.
        source: ``measured`` or how the values were estimated.
    """

    alpha_s: float
    bandwidth_bytes_per_s: float
    source: str = "measured"

    def time_s(self, n_bytes: float) -> float:
        """Time of one all-reduce of ``n_bytes`` bytes, s."""
        return self.alpha_s + n_bytes / self.bandwidth_bytes_per_s


NO_ALLREDUCE = AllReduceLine(0.0, float("inf"), "tp = 1: no all-reduce")


@cache
def collective_table() -> pd.DataFrame:
    """The shipped all-reduce fits (``slit/data/catalog/collectives.csv``)."""
    path = resources.files("slit").joinpath("data/catalog/collectives.csv")
    return pd.read_csv(str(path), comment="#")


def _gpu_id(gpu: str | GpuSpec) -> str:
    if isinstance(gpu, str):
        return gpu
    return next((k for k, v in bundled_gpus().items() if v == gpu), "")


def _measured(gpu_id: str, topology: str) -> pd.DataFrame:
    t = collective_table()
    return t[(t["gpu"] == gpu_id) & (t["topology"] == topology)].sort_values("tp")


def _at_degree(rows: pd.DataFrame, tp: int) -> tuple[float, float, bool]:
    """``(alpha_s, bandwidth bytes/s, exact)`` of measured rows at ``tp`` (see module doc)."""
    tps = rows["tp"].to_numpy(int)
    bws = rows["bandwidth_gb_per_s"].to_numpy(float) * 1e9
    alphas = rows["alpha_s"].to_numpy(float)
    if tp in tps:
        i = int(np.flatnonzero(tps == tp)[0])
        return float(alphas[i]), float(bws[i]), True
    nearest = int(np.argmin(np.abs(tps - tp)))
    return float(alphas[nearest]), float(np.interp(tp, tps, bws)), False


@cache
def _line_cached(
    gpu_id: str, interconnect_gb_per_s: float, tp: int, topology: str
) -> AllReduceLine:
    rows = _measured(gpu_id, topology)
    if len(rows):
        alpha, bw, exact = _at_degree(rows, tp)
        return AllReduceLine(alpha, bw, "measured" if exact else f"interpolated in tp for {gpu_id}")
    ref = _measured(REFERENCE_GPU, topology)
    _, bw_ref, _ = _at_degree(ref, tp)
    table = collective_table()
    table = table[table["topology"] == topology]
    alphas = [_at_degree(g.sort_values("tp"), tp)[0] for _, g in table.groupby("gpu")]
    ref_link = bundled_gpus()[REFERENCE_GPU].interconnect_gb_per_s
    return AllReduceLine(
        float(np.median(alphas)),
        bw_ref * interconnect_gb_per_s / ref_link,
        f"estimated: median measured alpha, {REFERENCE_GPU} bandwidth x interconnect ratio",
    )


def allreduce_line(gpu: str | GpuSpec, tp: int, topology: str = DEFAULT_TOPOLOGY) -> AllReduceLine:
    """The all-reduce line of ``tp`` GPUs of type ``gpu`` (catalog id or spec).

    ``tp = 1`` needs no all-reduce (:data:`NO_ALLREDUCE`). See the module doc for how GPU types
    and degrees without a measurement are estimated.
    """
    if tp <= 1:
        return NO_ALLREDUCE
    spec = bundled_gpus().get(gpu) if isinstance(gpu, str) else gpu
    link = spec.interconnect_gb_per_s if spec is not None else 600.0
    return _line_cached(_gpu_id(gpu), float(link), int(tp), topology)
