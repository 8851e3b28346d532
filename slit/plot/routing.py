"""Where requests were served over the day, against each region's carbon, water and price."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slit.plot.style import OKABE_ITO

SIGNAL_PANELS = (
    ("carbon_g_per_kwh", "carbon\n[gCO2e/kWh]"),
    ("water_l_per_it_kwh", "water\n[L/kWh IT]"),
    ("price_usd_per_mwh", "price\n[USD/MWh]"),
)
"""The signal panels under the routing share: column of ``timeseries.parquet`` and label."""


def water_intensity_l_per_it_kwh(timeseries: pd.DataFrame) -> pd.Series:
    """Litres of water per IT kWh: on-site WUE plus PUE × off-site EWIF (docs/models.md)."""
    return timeseries["wue_l_per_kwh"] + timeseries["pue"] * timeseries["ewif_l_per_kwh"]


def plot_routing_share(timeseries: pd.DataFrame, fig: Any = None, *,
                       width_in: float = 7.0) -> Any:  # fmt: skip
    """Share of the arrivals each datacenter served per epoch (stacked), above the carbon
    intensity, water intensity and electricity price of each datacenter's region.

    Args:
        timeseries: ``timeseries.parquet`` of a run (one row per epoch × datacenter).
        fig: a matplotlib Figure to draw on (a new one when None).
        width_in: width of a new figure, inches.

    Returns:
        The Figure; ``fig.axes[0]`` is the share, the next three the signals.
    """
    import matplotlib.pyplot as plt

    ts = timeseries.copy()
    ts["water_l_per_it_kwh"] = water_intensity_l_per_it_kwh(ts)
    x_col = "time_utc" if "time_utc" in ts else "start_s"
    dcs = list(dict.fromkeys(ts["datacenter"].astype(str)))
    arrivals = ts.pivot_table(index=x_col, columns="datacenter", values="arrivals",
                              aggfunc="sum", observed=True)[dcs]  # fmt: skip
    active = arrivals.sum(axis=1) > 0  # the drain has no arrivals: no share to show
    share = arrivals[active].div(arrivals[active].sum(axis=1), axis=0)
    if fig is None:
        fig = plt.figure(figsize=(width_in, width_in * 0.9), layout="constrained")
    axes = fig.subplots(1 + len(SIGNAL_PANELS), 1, sharex=True,
                        gridspec_kw={"height_ratios": [2] + [1] * len(SIGNAL_PANELS)})  # fmt: skip
    colors = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(dcs))]
    xs = share.index.to_numpy()
    if len(share):
        axes[0].stackplot(xs, share.to_numpy(float).T, labels=dcs, colors=colors, step="post",
                          alpha=0.9)  # fmt: skip
    else:  # every request was dropped before a datacenter took it: say so, show the signals
        active[:] = True
        axes[0].text(0.5, 0.5, "no request reached a datacenter", ha="center", va="center",
                     transform=axes[0].transAxes)  # fmt: skip
        for dc, c in zip(dcs, colors, strict=True):
            axes[0].fill_between([], [], color=c, label=dc)
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("share of\nrequests")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    for ax, (col, label) in zip(axes[1:], SIGNAL_PANELS, strict=True):
        wide = ts.pivot_table(index=x_col, columns="datacenter", values=col, aggfunc="mean",
                              observed=True)[dcs]  # fmt: skip
        wide = wide[active.reindex(wide.index, fill_value=False)]
        for dc, c in zip(dcs, colors, strict=True):
            ax.step(wide.index.to_numpy(), wide[dc].to_numpy(float), where="post", color=c,
                    lw=0.9)  # fmt: skip
        ax.set_ylabel(label)
    time_axis(fig, axes, x_col)
    return fig


def time_axis(fig: Any, axes: Any, x_col: str) -> None:
    """Label the shared time axis of stacked panels (UTC dates, or seconds) and align their
    y labels."""
    axes[-1].set_xlabel("time [UTC]" if x_col == "time_utc" else "time [s]")
    fig.align_ylabels(axes)
    if x_col == "time_utc":
        import matplotlib.dates as mdates

        # few enough ticks that their labels never run together, at any figure width
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def routing_share_table(timeseries: pd.DataFrame) -> pd.DataFrame:
    """Share of all arrivals served by each datacenter over the run (column ``share``)."""
    total = timeseries.groupby("datacenter", observed=True, sort=False)["arrivals"].sum()
    return (total / max(int(total.sum()), 1)).rename("share").reset_index()
