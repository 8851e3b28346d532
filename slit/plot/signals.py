"""Plots of grid signals and request traces over time."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slit.plot.style import OKABE_ITO
from slit.traces.summary import unit_of


def plot_signal(series: pd.Series, ax: Any = None, *, label: str | None = None,
                title: str | None = None) -> Any:  # fmt: skip
    """Draw one time-indexed signal as a step line; the y label carries the column's unit.

    Args:
        series: values indexed by UTC time (hourly signals hold from their timestamp on).
        ax: matplotlib Axes to draw on; a new figure is made when None.
        label: legend label (default: the series name).
        title: Axes title.

    Returns:
        The Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 2.8), layout="constrained")
    name = str(series.name or "value")
    unit = unit_of(name)
    n = len(ax.get_lines())
    ax.step(series.index, series.to_numpy(float), where="post", lw=0.9,
            color=OKABE_ITO[n % len(OKABE_ITO)], label=label or name)  # fmt: skip
    ax.set_ylabel(f"{name} [{unit}]" if unit else name)
    ax.set_xlabel("time [UTC]")
    if isinstance(series.index, pd.DatetimeIndex):
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def plot_arrival_rate(arrival_s: pd.Series, ax: Any = None, *, bin_s: float = 60.0,
                      title: str | None = None) -> Any:  # fmt: skip
    """Arrivals per second in bins of ``bin_s`` seconds of a request trace."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 2.8), layout="constrained")
    t = arrival_s.to_numpy(float)
    # whole bins only: a trailing partial bin would read as a drop in the rate
    n_bins = max(1, int((t.max() if len(t) else 0.0) // bin_s))
    edges = np.arange(n_bins + 1) * bin_s
    counts, _ = np.histogram(t, bins=edges)
    ax.step(edges[:-1], counts / bin_s, where="post", lw=0.9, color=OKABE_ITO[0])
    ax.set_xlabel("time since first request [s]")
    ax.set_ylabel(f"arrival rate [1/s, {bin_s:g} s bins]")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def plot_trace_frame(frame: pd.DataFrame, column: str | None, title: str) -> Any:
    """Draw one numeric column of a trace table read by :func:`slit.traces.files.read_trace_file`
    (the first numeric one when ``column`` is None): a request trace's arrivals as a rate, its
    other columns against the arrival time, a grid signal against UTC time.

    Raises:
        SlitError: ``column`` is not a numeric column (the message lists them).

    Returns:
        The Axes.
    """
    from slit.errors import SlitError

    numeric = [c for c in frame.columns if frame[c].dtype != bool and frame[c].dtype.kind in "fi"]
    column = column or (numeric[0] if numeric else None)
    if column not in frame.columns:
        raise SlitError(f"--signal {column!r} is not a column; columns: {', '.join(numeric)}")
    if "arrival_s" in frame.columns and column == "arrival_s":
        return plot_arrival_rate(frame["arrival_s"], title=title)
    if "arrival_s" in frame.columns:
        ax = plot_signal(frame.set_index("arrival_s")[column], title=title)
        ax.set_xlabel("time since first request [s]")
        return ax
    return plot_signal(frame[column], title=title)
