"""When requests were served and how many replicas were powered, over the run."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slit.plot.routing import time_axis
from slit.plot.style import OKABE_ITO


def shows_when(timeseries: pd.DataFrame) -> bool:
    """Whether a run's time series has something for :func:`plot_when_and_capacity`:
    deferrable requests, or a number of powered replicas that changed."""
    deferred = "deferrable_arrivals" in timeseries and timeseries["deferrable_arrivals"].any()
    changed = "powered_replicas" in timeseries and bool(
        (timeseries.groupby("datacenter", observed=True)["powered_replicas"].nunique() > 1).any()
    )
    return bool(deferred or changed)


def plot_when_and_capacity(timeseries: pd.DataFrame, fig: Any = None, *,
                           width_in: float = 7.0) -> Any:  # fmt: skip
    """Requests released per epoch (interactive and deferrable, stacked) above the replicas
    each datacenter powered at each epoch's start and the carbon intensity of its region.

    Args:
        timeseries: ``timeseries.parquet`` of a run (one row per epoch × datacenter).
        fig: a matplotlib Figure to draw on (a new one when None).
        width_in: width of a new figure, inches.

    Returns:
        The Figure: requests, powered replicas and carbon intensity, one panel each.
    """
    import matplotlib.pyplot as plt

    ts = timeseries
    x_col = "time_utc" if "time_utc" in ts else "start_s"
    dcs = list(dict.fromkeys(ts["datacenter"].astype(str)))
    per_epoch = ts.groupby(x_col, sort=True)[["arrivals", "deferrable_arrivals"]].sum()
    xs = per_epoch.index.to_numpy()
    deferred = per_epoch["deferrable_arrivals"].to_numpy(float)
    interactive = per_epoch["arrivals"].to_numpy(float) - deferred
    if fig is None:
        fig = plt.figure(figsize=(width_in, width_in * 0.75), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1.4, 1, 1]})
    axes[0].stackplot(xs, interactive, deferred, labels=["interactive", "deferrable"],
                      colors=[OKABE_ITO[0], OKABE_ITO[1]], step="post", alpha=0.9)  # fmt: skip
    axes[0].set_ylabel("requests\nreleased")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    colors = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(dcs))]
    for ax, col, label in ((axes[1], "powered_replicas", "powered\nreplicas"),
                           (axes[2], "carbon_g_per_kwh", "carbon\n[gCO2e/kWh]")):  # fmt: skip
        wide = ts.pivot_table(index=x_col, columns="datacenter", values=col, aggfunc="mean",
                              observed=True)[dcs]  # fmt: skip
        for dc, c in zip(dcs, colors, strict=True):
            ax.step(wide.index.to_numpy(), wide[dc].to_numpy(float), where="post", color=c,
                    lw=0.9, label=dc if ax is axes[1] else None)  # fmt: skip
        ax.set_ylabel(label)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    time_axis(fig, axes, x_col)
    return fig
