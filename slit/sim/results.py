"""Results of one simulation: flat per-request records, per-epoch per-datacenter series, summary.

Summary keys (see docs/metrics.md): ``requests``, ``completed``, ``dropped``, ``ttft_s``,
``tpot_s``, ``e2e_s`` (each ``{mean, p50, p95, p99}`` over completed requests), ``slo_attainment``
(share of *all* requests that completed within both SLOs), ``energy_kwh`` (facility),
``it_energy_kwh``, ``carbon_kg``, ``water_l`` (on-site + off-site, scarcity-weighted),
``cost_usd``, and ``per_datacenter`` (the same totals by datacenter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


def _stats(values: pd.Series) -> dict[str, float | None]:
    v = values.dropna().to_numpy(float)
    if len(v) == 0:
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return {"mean": float(v.mean()), "p50": float(p50), "p95": float(p95), "p99": float(p99)}


TOTAL_COLUMNS = (
    "it_energy_kwh",
    "energy_kwh",
    "carbon_kg",
    "water_l",
    "water_onsite_l",
    "water_offsite_l",
    "cost_usd",
)


def summary_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """The flat per-run metrics of a summary (units in the names), as sweeps and the
    optimiser's replays tabulate them: requests, completed, dropped, TTFT mean and p95, TPOT
    p95, end-to-end p95, SLO attainment, energy, carbon, water, cost."""
    return {
        "requests": summary["requests"], "completed": summary["completed"],
        "dropped": summary["dropped"], "ttft_mean_s": summary["ttft_s"]["mean"],
        "ttft_p95_s": summary["ttft_s"]["p95"], "tpot_p95_s": summary["tpot_s"]["p95"],
        "e2e_p95_s": summary["e2e_s"]["p95"], "slo_attainment": summary["slo_attainment"],
        "energy_kwh": summary["energy_kwh"], "carbon_kg": summary["carbon_kg"],
        "water_l": summary["water_l"], "cost_usd": summary["cost_usd"],
    }  # fmt: skip


def summarize(requests: pd.DataFrame, timeseries: pd.DataFrame) -> dict[str, Any]:
    """The summary dictionary of a run (see the module docstring for the keys)."""
    done = requests[requests["completed"]]
    totals = timeseries[list(TOTAL_COLUMNS)].sum()
    per_dc: dict[str, Any] = {}
    for dc, grp in timeseries.groupby("datacenter", sort=False):
        served = requests[requests["datacenter"] == dc]
        per_dc[str(dc)] = {
            "requests": int(len(served)),
            "completed": int(served["completed"].sum()),
            **{k: float(grp[k].sum()) for k in TOTAL_COLUMNS},
            "gpu_utilization": float(grp["busy_gpu_s"].sum() / max(grp["gpu_s"].sum(), 1e-12)),
        }
    n = len(requests)
    return {
        "requests": int(n),
        "completed": int(requests["completed"].sum()),
        "dropped": int((~requests["completed"]).sum()),
        "drop_reasons": {
            str(k): int(v)
            for k, v in requests.loc[~requests["completed"], "drop_reason"]
            .astype(str)
            .value_counts()
            .sort_index()
            .items()
        },
        "ttft_s": _stats(done["ttft_s"]),
        "tpot_s": _stats(done["tpot_s"]),
        "e2e_s": _stats(done["e2e_s"]),
        "slo_attainment": float(requests["slo_met"].sum() / n) if n else None,
        **{k: float(totals[k]) for k in TOTAL_COLUMNS},
        "per_datacenter": per_dc,
    }


@dataclass
class SimResult:
    """Everything one simulation produced.

    Attributes:
        requests: one row per request (see docs/metrics.md for the columns and units).
        timeseries: one row per epoch x datacenter.
        summary: totals and latency statistics (see :func:`summarize`).
        metadata: seed, timings and counters of the run.
    """

    requests: pd.DataFrame
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    def summary_json(self) -> str:
        """The summary as stable, pretty JSON text (what ``summary.json`` holds)."""
        return json.dumps(self.summary, indent=2, sort_keys=False) + "\n"
