"""Carbon, water and cost by datacenter, stacked, for one run or for every replayed plan."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slit.metrics import metric_label
from slit.plot.style import OKABE_ITO

IMPACTS = tuple((key, metric_label(key)) for key in ("carbon_kg", "water_l", "cost_usd"))
"""The stacked quantities: column and axis label (from the metric catalogue)."""


def per_datacenter_from_summary(summary: dict[str, Any], name: str = "run") -> pd.DataFrame:
    """The ``per_datacenter`` block of ``summary.json`` as rows of (name, datacenter, totals)."""
    return pd.DataFrame(
        [
            {"name": name, "datacenter": dc, **{k: v[k] for k, _ in IMPACTS}}
            for dc, v in summary["per_datacenter"].items()
        ]  # fmt: skip
    )


def plot_datacenter_impacts(per_dc: pd.DataFrame, fig: Any = None, *,
                            width_in: float = 7.0) -> Any:  # fmt: skip
    """One panel per impact (carbon, water, cost): a bar per plan or policy (``name``), stacked
    by datacenter.

    Args:
        per_dc: rows of (name, datacenter, carbon_kg, water_l, cost_usd), e.g.
            ``validated_datacenters.csv`` or :func:`per_datacenter_from_summary`.
        fig: a matplotlib Figure to draw on (a new one when None).
        width_in: width of a new figure, inches.

    Returns:
        The Figure (three Axes).
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(per_dc["name"].astype(str)))
    dcs = list(dict.fromkeys(per_dc["datacenter"].astype(str)))
    if fig is None:
        height = max(2.4, 0.18 * len(names) + 1.2)
        fig = plt.figure(figsize=(width_in, height), layout="constrained")
    axes = fig.subplots(1, len(IMPACTS), sharey=True)
    y = np.arange(len(names))
    for ax, (col, label) in zip(axes, IMPACTS, strict=True):
        wide = (
            per_dc.pivot_table(index="name", columns="datacenter", values=col, aggfunc="sum")
            .reindex(index=names, columns=dcs)
            .fillna(0.0)
        )
        left = np.zeros(len(names))
        for k, dc in enumerate(dcs):
            v = wide[dc].to_numpy(float)
            ax.barh(y, v, left=left, color=OKABE_ITO[k % len(OKABE_ITO)], label=dc, height=0.7)
            left += v
        ax.set_xlabel(label)
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(y, [n.replace("_", " ") for n in names])
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    ncol = min(len(dcs), max(1, int(width_in / 1.9)))
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)
    return fig
